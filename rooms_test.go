package luckystack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// roomEnv is a served server with one logged-in session.
type roomEnv struct {
	srv *Server
	ts  *testHTTP
	tok string
}

func newRoomEnv(t *testing.T, opts Options) *roomEnv {
	t.Helper()
	srv, ts := newHTTPServer(t, opts)
	tok, err := srv.CreateSession(wctx(t), &Session{ID: "u1", CSRFToken: "c"})
	require.NoError(t, err)
	return &roomEnv{srv: srv, ts: ts, tok: tok}
}

func (e *roomEnv) tab(t *testing.T) *sioclient.Client { return dial(t, e.ts, cookieOpts(e.tok)) }

// room sends a room event and returns the raw reply.
func room(t *testing.T, c *sioclient.Client, event string, group any, idx int) string {
	t.Helper()
	require.NoError(t, c.Emit(event, map[string]any{"group": group, "responseIndex": idx}))
	return string(expect(t, c, fmt.Sprintf("%s-%d", event, idx)))
}

const (
	authRequired   = `{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":400}`
	roomInvalid    = `{"status":"error","message":"room.invalid","errorCode":"room.invalid","httpStatus":400}`
	sessNotFound   = `{"status":"error","message":"session.notFound","errorCode":"session.notFound","httpStatus":400}`
	joinBlocked    = `{"status":"error","message":"room.joinBlocked","errorCode":"room.joinBlocked","httpStatus":400}`
	leaveBlocked   = `{"status":"error","message":"room.leaveBlocked","errorCode":"room.leaveBlocked","httpStatus":400}`
	roomsAuthError = `{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":400,"rooms":[]}`
)

func TestRoomRepliesByteForByte(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	c := e.tab(t)

	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, c, 1)))
	assert.Equal(t, `{"rooms":["lobby"]}`, room(t, c, "joinRoom", "lobby", 2))
	assert.Equal(t, `{"rooms":["lobby","game-1"]}`, room(t, c, "joinRoom", "  game-1  ", 3), "trimmed, in join order")
	assert.Equal(t, `{"rooms":["lobby","game-1","b"]}`, room(t, c, "joinRoom", "b", 4))
	assert.Equal(t, `{"rooms":["lobby","game-1","b"]}`, room(t, c, "joinRoom", "lobby", 5), "joining twice changes nothing")
	assert.Equal(t, `{"rooms":["lobby","game-1","b"]}`, string(roundTrip(t, c, 6)))
	assert.Equal(t, `{"rooms":["lobby","b"]}`, room(t, c, "leaveRoom", "game-1", 7))
	assert.Equal(t, `{"rooms":["lobby","b"]}`, room(t, c, "leaveRoom", "never-joined", 8), "leaving an unknown code is fine")
	assert.Equal(t, `{"rooms":["lobby","b","game-1"]}`, room(t, c, "joinRoom", "game-1", 9))
	assert.Equal(t, `{"rooms":["lobby","b","game-1"]}`, string(roundTrip(t, c, 0)), "index 0 is valid")

	sess, err := e.srv.GetSession(wctx(t), e.tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"lobby", "b", "game-1"}, sess.RoomCodes, "roomCodes persisted")
}

func TestRoomErrors(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	anon := dial(t, e.ts, sioclient.Options{})
	assert.Equal(t, authRequired, room(t, anon, "joinRoom", "a", 1))
	assert.Equal(t, authRequired, room(t, anon, "leaveRoom", "a", 2))
	assert.Equal(t, roomsAuthError, string(roundTrip(t, anon, 3)))

	c := e.tab(t)
	tests := []struct {
		name  string
		group any
		want  string
	}{
		{"empty", "", roomInvalid},
		{"blank", "   ", roomInvalid},
		{"not a string", 42, roomInvalid},
		{"missing", nil, roomInvalid},
		{"257 chars", strings.Repeat("a", 257), roomInvalid},
		{"129 astral chars are 258 UTF-16 units", strings.Repeat("😀", 129), roomInvalid},
		{"internal prefix", internalRoomPrefix + "session:" + e.tok, roomInvalid},
		{"256 chars", strings.Repeat("a", 256), `{"rooms":["` + strings.Repeat("a", 256) + `"]}`},
	}
	for i, tc := range tests {
		assert.Equal(t, tc.want, room(t, c, "joinRoom", tc.group, 10+i), tc.name)
	}
	assert.Equal(t, roomInvalid, room(t, c, "leaveRoom", "", 30))

	stale := dial(t, e.ts, cookieOpts("stale-token"))
	assert.Equal(t, sessNotFound, room(t, stale, "joinRoom", "a", 1))
	assert.Equal(t, sessNotFound, room(t, stale, "leaveRoom", "a", 2))
	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, stale, 3)), "getJoinedRooms reads the socket, not the session")
}

func TestRoomRequestsWithoutIndexAreIgnored(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	c := e.tab(t)
	for _, payload := range []any{
		map[string]any{"group": "a"},
		map[string]any{"group": "a", "responseIndex": "x"},
		map[string]any{"group": "a", "responseIndex": 1.5},
		map[string]any{"group": "a", "responseIndex": true},
		map[string]any{"group": "a", "responseIndex": nil},
		"not an object",
		nil,
	} {
		require.NoError(t, c.Emit("joinRoom", payload))
		require.NoError(t, c.Emit("getJoinedRooms", payload))
	}
	require.NoError(t, c.Emit("joinRoom"))
	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, c, 99)), "nothing was joined")
	for _, ev := range c.Buffered() {
		assert.NotContains(t, ev.Name, "joinRoom-", "no reply to %s", ev.Name)
		assert.NotContains(t, ev.Name, "getJoinedRooms-", "no reply to %s", ev.Name)
	}
}

func TestRoomHooks(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	var (
		mu    sync.Mutex
		pre   []RoomEvent
		posts []RoomChangedEvent
	)
	RegisterHook(e.srv, PreRoomJoin, func(_ context.Context, ev *RoomEvent) error {
		mu.Lock()
		pre = append(pre, *ev)
		mu.Unlock()
		switch ev.Room {
		case "vip":
			return StopWith("room.vipOnly", 403) // the status is not forwarded
		case "closed":
			return &Stop{}
		}
		return nil
	})
	RegisterHook(e.srv, PreRoomLeave, func(_ context.Context, ev *RoomEvent) error {
		if ev.Room == "sticky" {
			return &Stop{}
		}
		return nil
	})
	record := func(_ context.Context, ev *RoomChangedEvent) error {
		mu.Lock()
		posts = append(posts, *ev)
		mu.Unlock()
		return nil
	}
	RegisterHook(e.srv, PostRoomJoin, record)
	RegisterHook(e.srv, PostRoomLeave, record)

	c := e.tab(t)
	assert.Equal(t, `{"status":"error","message":"room.vipOnly","errorCode":"room.vipOnly","httpStatus":400}`, room(t, c, "joinRoom", "vip", 1))
	assert.Equal(t, joinBlocked, room(t, c, "joinRoom", "closed", 2))
	assert.Equal(t, `{"rooms":["sticky"]}`, room(t, c, "joinRoom", "sticky", 3))
	assert.Equal(t, leaveBlocked, room(t, c, "leaveRoom", "sticky", 4))
	assert.Equal(t, `{"rooms":["sticky","x"]}`, room(t, c, "joinRoom", "x", 5))
	assert.Equal(t, `{"rooms":["sticky"]}`, room(t, c, "leaveRoom", "x", 6))

	sess, _ := e.srv.GetSession(wctx(t), e.tok)
	assert.Equal(t, []string{"sticky"}, sess.RoomCodes, "blocked operations persist nothing")

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []RoomEvent{{e.tok, "vip"}, {e.tok, "closed"}, {e.tok, "sticky"}, {e.tok, "x"}}, pre)
	assert.Equal(t, []RoomChangedEvent{
		{Token: e.tok, Room: "sticky", AllRooms: []string{"sticky"}},
		{Token: e.tok, Room: "x", AllRooms: []string{"sticky", "x"}},
		{Token: e.tok, Room: "x", AllRooms: []string{"sticky"}},
	}, posts)
}

func TestRoomJoinPushesUpdateSession(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	require.NoError(t, e.srv.Sessions().Set(wctx(t), e.tok, &Session{ID: "u1", Extra: map[string]json.RawMessage{
		"code": json.RawMessage(`"legacy"`), "codes": json.RawMessage(`["legacy"]`), "plan": json.RawMessage(`"pro"`),
	}}))
	c := e.tab(t)
	other := e.tab(t)
	room(t, c, "joinRoom", "r", 1)
	for _, tab := range []*sioclient.Client{c, other} {
		var s string
		require.NoError(t, json.Unmarshal(expect(t, tab, "updateSession"), &s))
		assert.JSONEq(t, `{"id":"u1","roomCodes":["r"],"plan":"pro"}`, s, "legacy code/codes keys are stripped")
	}
	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, other, 2)), "only the joining socket enters the room")
}

func TestMaxRoomsPerSessionEvictsOnEverySocket(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{Config: Config{Socket: SocketConfig{MaxRoomsPerSession: 2}}})
	a, b := e.tab(t), e.tab(t)
	stranger := dial(t, e.ts, cookieOpts(mustSession(t, e.srv, "u2")))
	assert.Equal(t, `{"rooms":["r1"]}`, room(t, a, "joinRoom", "r1", 1))
	assert.Equal(t, `{"rooms":["r1","r2"]}`, room(t, a, "joinRoom", "r2", 2))
	assert.Equal(t, `{"rooms":["r1"]}`, room(t, b, "joinRoom", "r1", 1))
	assert.Equal(t, `{"rooms":["r1","r2"]}`, room(t, b, "joinRoom", "r2", 2))
	assert.Equal(t, `{"rooms":["r1"]}`, room(t, stranger, "joinRoom", "r1", 1))

	assert.Equal(t, `{"rooms":["r1","r2"]}`, room(t, a, "joinRoom", "r1", 3), "re-joining a held room evicts nothing")
	assert.Equal(t, `{"rooms":["r2","r3"]}`, room(t, a, "joinRoom", "r3", 4), "the oldest is evicted")
	assert.Equal(t, `{"rooms":["r2"]}`, string(roundTrip(t, b, 5)), "the other tab left the evicted room too")
	assert.Equal(t, `{"rooms":["r1"]}`, string(roundTrip(t, stranger, 2)), "other sessions keep theirs")
	sess, _ := e.srv.GetSession(wctx(t), e.tok)
	assert.Equal(t, []string{"r2", "r3"}, sess.RoomCodes)

	t.Run("unbounded", func(t *testing.T) {
		t.Parallel()
		e := newRoomEnv(t, Options{Config: Config{Socket: SocketConfig{MaxRoomsPerSession: -1}}})
		c := e.tab(t)
		for i := range 60 {
			room(t, c, "joinRoom", fmt.Sprint("r", i), i)
		}
		sess, _ := e.srv.GetSession(wctx(t), e.tok)
		assert.Len(t, sess.RoomCodes, 60)
	})
}

func mustSession(t *testing.T, srv *Server, id string) string {
	t.Helper()
	tok, err := srv.CreateSession(wctx(t), &Session{ID: id})
	require.NoError(t, err)
	return tok
}

func TestConcurrentJoinsOfOneSession(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	tabs := []*sioclient.Client{e.tab(t), e.tab(t), e.tab(t)}
	const perTab = 10
	var wg sync.WaitGroup
	for ti, c := range tabs {
		wg.Go(func() {
			for i := range perTab {
				assert.NoError(t, c.Emit("joinRoom", map[string]any{"group": fmt.Sprintf("t%d-%d", ti, i), "responseIndex": i}))
			}
			for i := range perTab {
				_, err := c.Expect(wctx(t), fmt.Sprint("joinRoom-", i))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	sess, _ := e.srv.GetSession(wctx(t), e.tok)
	assert.Len(t, sess.RoomCodes, len(tabs)*perTab, "no join was lost")
}

func TestKeyedMutex(t *testing.T) {
	t.Parallel()
	var k keyedMutex
	var inside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				unlock := k.lock("a")
				assert.Equal(t, int32(1), inside.Add(1), "one holder per key")
				inside.Add(-1)
				unlock()
			}
		})
	}
	// Another key is independent: holding "b" does not block "a".
	unlockB := k.lock("b")
	unlockA := k.lock("a")
	unlockA()
	unlockB()
	wg.Wait()
	k.mu.Lock()
	assert.Empty(t, k.locks, "entries are dropped when unused")
	k.mu.Unlock()
}

func TestRejoinBeforeFirstEvent(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	c := e.tab(t)
	room(t, c, "joinRoom", "b-room", 1)
	room(t, c, "joinRoom", "a-room", 2)
	require.NoError(t, c.Close())

	again := e.tab(t)
	// The very first event already sees the persisted rooms, in order.
	assert.Equal(t, `{"rooms":["b-room","a-room"]}`, string(roundTrip(t, again, 1)))
	require.NoError(t, e.srv.IO().To("a-room").Emit("ping-room", "hi"))
	assert.JSONEq(t, `"hi"`, string(expect(t, again, "ping-room")))
}

func TestTokenNamedLikeARoom(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	member := e.tab(t)
	room(t, member, "joinRoom", "game-123", 1)

	// A client that picks a room name as its token (no session) ...
	intruder := dial(t, e.ts, cookieOpts("game-123"))
	// ... and one whose real session token happens to equal a room name.
	require.NoError(t, e.srv.Sessions().Set(wctx(t), "lobby", &Session{ID: "u9"}))
	lucky := dial(t, e.ts, cookieOpts("lobby"))
	room(t, member, "joinRoom", "lobby", 2)

	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, intruder, 1)))
	assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, lucky, 1)))
	require.NoError(t, e.srv.IO().To("game-123").Emit("secret", 1))
	require.NoError(t, e.srv.IO().To("lobby").Emit("secret", 2))
	expect(t, member, "secret")
	expect(t, member, "secret")
	roundTrip(t, intruder, 2)
	roundTrip(t, lucky, 2)
	assert.False(t, intruder.Has("secret"), "a token never puts a socket in a content room")
	assert.False(t, lucky.Has("secret"))

	// Identity rooms still reach the sessions.
	_, err := e.srv.UpdateSession(wctx(t), "lobby", func(s *Session) error { s.Name = "L"; return nil })
	require.NoError(t, err)
	expect(t, lucky, "updateSession")
}

func TestSessionCreatedAfterConnect(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	tok := NewToken()
	c := dial(t, e.ts, cookieOpts(tok)) // connects before the login
	require.NoError(t, e.srv.Sessions().Set(wctx(t), tok, &Session{ID: "late"}))
	assert.Equal(t, `{"rooms":["r"]}`, room(t, c, "joinRoom", "r", 1))
	expect(t, c, "updateSession")
	_, err := e.srv.UpdateSession(wctx(t), tok, func(s *Session) error { s.Name = "x"; return nil })
	require.NoError(t, err)
	expect(t, c, "updateSession")
}

func TestUpdateLocation(t *testing.T) {
	t.Parallel()
	t.Run("disabled by default", func(t *testing.T) {
		t.Parallel()
		e := newRoomEnv(t, Options{})
		c := e.tab(t)
		require.NoError(t, c.Emit("updateLocation", map[string]any{"pathName": "/x"}))
		roundTrip(t, c, 1)
		sess, _ := e.srv.GetSession(wctx(t), e.tok)
		assert.Nil(t, sess.Location)
		assert.False(t, c.Has("updateSession"))
	})

	e := newRoomEnv(t, Options{Config: Config{LocationProviderEnabled: true}})
	var (
		mu  sync.Mutex
		evs []LocationEvent
	)
	RegisterHook(e.srv, OnLocationUpdate, func(_ context.Context, ev *LocationEvent) error {
		mu.Lock()
		evs = append(evs, *ev)
		mu.Unlock()
		return nil
	})
	c := e.tab(t)
	location := func() *Location {
		sess, err := e.srv.GetSession(wctx(t), e.tok)
		require.NoError(t, err)
		return sess.Location
	}
	idx := 0
	send := func(payload any) {
		require.NoError(t, c.Emit("updateLocation", payload))
		idx++
		roundTrip(t, c, idx)
	}

	send(map[string]any{"pathName": "/games/chess", "searchParams": map[string]any{"tab": "2"}, "extra": strings.Repeat("x", 1000)})
	assert.Equal(t, &Location{PathName: "/games/chess", SearchParams: map[string]string{"tab": "2"}}, location())
	var pushed string
	require.NoError(t, json.Unmarshal(expect(t, c, "updateSession"), &pushed))
	assert.Contains(t, pushed, `"location":{"pathName":"/games/chess","searchParams":{"tab":"2"}}`, "only pathName and searchParams are stored")
	assert.NotContains(t, pushed, "extra")

	send(map[string]any{"pathName": "/home"})
	assert.Equal(t, &Location{PathName: "/home"}, location())

	many := map[string]any{}
	for i := range 51 {
		many[fmt.Sprint("k", i)] = "v"
	}
	invalid := []any{
		map[string]any{"pathName": "relative"},
		map[string]any{"pathName": ""},
		map[string]any{"pathName": 5},
		map[string]any{"pathName": "/" + strings.Repeat("a", 2048)},
		map[string]any{"pathName": "/nul\x00"},
		map[string]any{"pathName": "/x", "searchParams": []any{"a"}},
		map[string]any{"pathName": "/x", "searchParams": "a=1"},
		map[string]any{"pathName": "/x", "searchParams": map[string]any{"n": 1}},
		map[string]any{"pathName": "/x", "searchParams": many},
		map[string]any{"pathName": "/x", "searchParams": map[string]any{strings.Repeat("k", 257): "v"}},
		map[string]any{"pathName": "/x", "searchParams": map[string]any{"k": strings.Repeat("v", 1025)}},
		map[string]any{},
		"string",
		nil,
	}
	for _, p := range invalid {
		send(p)
	}
	assert.Equal(t, &Location{PathName: "/home"}, location(), "invalid updates are dropped silently")

	send(map[string]any{"pathName": "/" + strings.Repeat("a", 2047), "searchParams": map[string]any{strings.Repeat("k", 256): strings.Repeat("v", 1024)}})
	assert.Len(t, location().PathName, 2048, "the limits are inclusive")

	anon := dial(t, e.ts, sioclient.Options{})
	require.NoError(t, anon.Emit("updateLocation", map[string]any{"pathName": "/anon"}))
	roundTrip(t, anon, 1)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, evs, 3)
	assert.Equal(t, LocationEvent{Token: e.tok, OldLocation: nil, NewLocation: &Location{PathName: "/games/chess", SearchParams: map[string]string{"tab": "2"}}}, evs[0])
	assert.Equal(t, &Location{PathName: "/games/chess", SearchParams: map[string]string{"tab": "2"}}, evs[1].OldLocation)
	assert.Equal(t, &Location{PathName: "/home"}, evs[1].NewLocation)
}

func TestRoomCodeFromPath(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"/games/chess/room-abc":      "room-abc",
		"/games/chess/room-abc/":     "room-abc",
		"/games/chess/room-abc?x=1":  "room-abc",
		"/games/chess/room-abc#frag": "room-abc",
		"room-abc":                   "room-abc",
		"/":                          "",
		"":                           "",
	}
	for in, want := range tests {
		assert.Equal(t, want, RoomCodeFromPath(in), in)
	}
}

func TestJSLen(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 3, jsLen("abc"))
	assert.Equal(t, 1, jsLen("é"))
	assert.Equal(t, 2, jsLen("😀"))
}

func TestRoomsWithRedisSessions(t *testing.T) {
	t.Parallel()
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := NewRedisSessionStore(b.new(t), RedisSessionOptions{})
			e := newRoomEnv(t, Options{Sessions: st, Config: Config{Socket: SocketConfig{MaxRoomsPerSession: 2}}})
			a, other := e.tab(t), e.tab(t)
			assert.Equal(t, `{"rooms":["r1"]}`, room(t, a, "joinRoom", "r1", 1))
			assert.Equal(t, `{"rooms":["r1","r2"]}`, room(t, a, "joinRoom", "r2", 2))
			assert.Equal(t, `{"rooms":["r1"]}`, room(t, other, "joinRoom", "r1", 1))
			assert.Equal(t, `{"rooms":["r2","r3"]}`, room(t, a, "joinRoom", "r3", 3))
			assert.Equal(t, `{"rooms":[]}`, string(roundTrip(t, other, 2)))
			require.NoError(t, a.Close())
			again := e.tab(t)
			assert.Equal(t, `{"rooms":["r2","r3"]}`, string(roundTrip(t, again, 1)))
			assert.Equal(t, `{"rooms":["r2"]}`, room(t, again, "leaveRoom", "r3", 2))
			sess, err := st.Get(wctx(t), e.tok)
			require.NoError(t, err)
			assert.Equal(t, []string{"r2"}, sess.RoomCodes)
		})
	}
}
