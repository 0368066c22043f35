package client_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
)

func TestRoomsJoinLeaveGetAndUpdateSession(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := env.dial(client.Options{Token: env.login("u1")})
	sessions := make(chan json.RawMessage, 4)
	c.OnUpdateSession(func(s json.RawMessage) { sessions <- s })

	rooms, err := c.JoinRoom(ctxT(t), " lobby ")
	require.NoError(t, err)
	assert.Equal(t, []string{"lobby"}, rooms)
	select {
	case s := <-sessions:
		var sess luckystack.Session
		require.NoError(t, json.Unmarshal(s, &sess))
		assert.Equal(t, "u1", sess.ID)
		assert.Equal(t, []string{"lobby"}, sess.RoomCodes)
	case <-time.After(waitFor):
		t.Fatal("no updateSession after the join")
	}
	_, err = c.JoinRoom(ctxT(t), "games")
	require.NoError(t, err)
	rooms, err = c.GetJoinedRooms(ctxT(t))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"lobby", "games"}, rooms)
	assert.Equal(t, []string{"lobby", "games"}, c.Rooms())

	rooms, err = c.LeaveRoom(ctxT(t), "lobby")
	require.NoError(t, err)
	assert.Equal(t, []string{"games"}, rooms)
	assert.Equal(t, []string{"games"}, c.Rooms())
}

func TestRoomErrors(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	anon := env.dial(client.Options{})
	_, err := anon.JoinRoom(ctxT(t), "lobby")
	assert.Equal(t, events.CodeAuthRequired, client.Code(err))
	_, err = anon.GetJoinedRooms(ctxT(t))
	assert.Equal(t, events.CodeAuthRequired, client.Code(err))
	assert.Empty(t, anon.Rooms(), "a refused room is not remembered")

	c := env.dial(client.Options{Token: env.login("u1")})
	_, err = c.JoinRoom(ctxT(t), "  ")
	assert.Equal(t, events.CodeRoomInvalid, client.Code(err))
	_, err = c.JoinRoom(ctxT(t), strings.Repeat("x", 257))
	assert.Equal(t, events.CodeRoomInvalid, client.Code(err))

	stale := env.dial(client.Options{Token: "no-such-session"})
	_, err = stale.JoinRoom(ctxT(t), "lobby")
	assert.Equal(t, events.CodeSessionNotFound, client.Code(err))
}

func TestRoomOpsWhileDisconnectedFailFast(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := offlineClient(t, env, client.Options{})
	_, err := c.JoinRoom(ctxT(t), "lobby")
	assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
	assert.ErrorIs(t, err, client.ErrNotConnected)
}

// TestServerRestartMidTraffic keeps several goroutines calling the API
// while the server is shut down and started again on the same port: every
// call ends (success, or api.disconnected for those in flight at the cut),
// none hangs, the client reconnects and rejoins its room by itself, and
// traffic succeeds again afterwards.
func TestServerRestartMidTraffic(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	tok := env.login("u1")
	var statuses []client.Status
	var smu sync.Mutex
	c := env.dial(fastReconnect(client.Options{Token: tok, OnStatus: func(ev client.StatusEvent) {
		smu.Lock()
		statuses = append(statuses, ev.Status)
		smu.Unlock()
	}}))
	_, err := c.JoinRoom(ctxT(t), "lobby")
	require.NoError(t, err)

	stop := make(chan struct{})
	var okCount, discCount atomic.Int64
	var wg sync.WaitGroup
	unexpected := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				res, err := c.APIRequest(ctx, "test/echo", "v1", echoIn{Text: "w"})
				cancel()
				switch {
				case err == nil:
					var out echoOut
					if res.Decode(&out) != nil || out.Text != "w" {
						unexpected <- assert.AnError
					}
					okCount.Add(1)
				case client.Code(err) == events.CodeAPIDisconnected:
					discCount.Add(1)
				default:
					unexpected <- err
				}
				_ = w
			}
		}()
	}
	require.Eventually(t, func() bool { return okCount.Load() > 20 }, waitFor, time.Millisecond)
	env.stop()
	// The new server keeps the sessions but not the memberships: the
	// client's own rejoin must restore the room.
	_, err = env.sessions.Update(context.Background(), tok, func(s *luckystack.Session) error {
		s.RoomCodes = nil
		return nil
	})
	require.NoError(t, err)
	before := okCount.Load()
	env.start()
	require.Eventually(t, func() bool { return okCount.Load() > before+20 }, waitFor, time.Millisecond)
	close(stop)
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Errorf("unexpected result: %v", err)
	}
	rooms, err := c.GetJoinedRooms(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"lobby"}, rooms)
	smu.Lock()
	assert.Contains(t, statuses, client.StatusReconnecting)
	assert.Equal(t, client.StatusConnected, statuses[len(statuses)-1])
	smu.Unlock()
	t.Logf("ok=%d disconnected=%d", okCount.Load(), discCount.Load())
}

func TestPresenceAndSessionPushEvents(t *testing.T) {
	env := newLS(t, nil)
	// A test-only event makes the server push the presence events.
	env.server().HandleSocketEvent("test-push", func(_ context.Context, cl *luckystack.Client, _ json.RawMessage) {
		uid := "peer"
		_ = cl.Emit(string(events.NameUserAFK), events.UserAFK{UserID: "peer", EndTime: 1234})
		_ = cl.Emit(string(events.NameUserBack), events.UserBack{UserID: "peer"})
		_ = cl.Emit(string(events.NameUserLeft), events.UserLeft{UserID: &uid})
		s, _ := events.JSONString(events.SessionReplaced{Reason: events.ReasonSessionReplaced, UserID: "u1"})
		_ = cl.Emit(string(events.NameSessionReplaced), s)
		_ = cl.Emit(string(events.NameLogout), string(events.LogoutError))
	})
	c := env.dial(client.Options{})
	got := make(chan string, 8)
	c.OnUserAFK(func(ev events.UserAFK) { got <- "afk:" + ev.UserID + ":" + itoa(ev.EndTime) })
	c.OnUserBack(func(ev events.UserBack) { got <- "back:" + ev.UserID })
	c.OnUserLeft(func(ev events.UserLeft) { got <- "left:" + *ev.UserID })
	c.OnSessionReplaced(func(ev events.SessionReplaced) { got <- "replaced:" + ev.UserID })
	unregister := c.OnLogout(func(ok bool) { got <- "logout:" + map[bool]string{true: "success", false: "error"}[ok] })
	require.NoError(t, c.Emit("test-push"))
	var seen []string
	for range 5 {
		select {
		case s := <-got:
			seen = append(seen, s)
		case <-time.After(waitFor):
			t.Fatalf("only got %v", seen)
		}
	}
	assert.Equal(t, []string{"afk:peer:1234", "back:peer", "left:peer", "replaced:u1", "logout:error"}, seen,
		"callbacks run one at a time in arrival order")
	unregister()
	require.NoError(t, c.Emit("test-push"))
	for range 4 {
		<-got
	}
	select {
	case s := <-got:
		t.Fatalf("unregistered callback ran: %s", s)
	case <-time.After(50 * time.Millisecond):
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
