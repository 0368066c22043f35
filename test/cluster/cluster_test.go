package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/redisadapter"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// instance is one Go server of a test cluster.
type instance struct {
	*luckystack.Server
	URL string
}

// newCluster starts n servers on one fresh redis-server, sharing sessions
// (project "cluster") and the adapter. cfg applies to every instance.
func newCluster(t *testing.T, n int, cfg luckystack.Config) []*instance {
	t.Helper()
	addr := redistest.Start(t)
	out := make([]*instance, 0, n)
	for range n {
		rc := redis.NewClient(&redis.Options{Addr: addr})
		ra, err := redisadapter.New(rc, redisadapter.Options{})
		require.NoError(t, err)
		srv, err := luckystack.NewServer(luckystack.Options{
			Args:     []string{"0"},
			Getenv:   func(string) string { return "" },
			Config:   cfg,
			Sessions: luckystack.NewRedisSessionStore(rc, luckystack.RedisSessionOptions{ProjectName: "cluster"}),
			Adapter:  ra.For,
		})
		require.NoError(t, err)
		t.Cleanup(func() { // after the server's shutdown
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, ra.Close(ctx))
			assert.NoError(t, rc.Close())
		})
		url := servetest.Serve(t, srv, 10*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, ra.Ready(ctx), "the adapter subscribed")
		cancel()
		out = append(out, &instance{Server: srv, URL: url})
	}
	return out
}

func wctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tab connects to in as the holder of token (cookie mode) and waits until
// the server ran its connect handler (one getJoinedRooms round trip).
func tab(t *testing.T, in *instance, token string) *sioclient.Client {
	t.Helper()
	opts := sioclient.Options{}
	if token != "" {
		opts.Header = map[string][]string{"Cookie": {"token=" + token}}
	}
	c, err := sioclient.Dial(wctx(t), in.URL, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	rooms(t, c, -1)
	return c
}

// call sends event with a responseIndex and returns the reply's JSON.
func call(t *testing.T, c *sioclient.Client, event string, idx int, payload map[string]any) string {
	t.Helper()
	if payload == nil {
		payload = map[string]any{}
	}
	payload["responseIndex"] = idx
	require.NoError(t, c.Emit(event, payload))
	ev, err := c.Expect(wctx(t), event+"-"+strconv.Itoa(idx))
	require.NoError(t, err)
	return string(ev.Arg(0))
}

func rooms(t *testing.T, c *sioclient.Client, idx int) string {
	t.Helper()
	return call(t, c, "getJoinedRooms", idx, nil)
}

// jsonString decodes a payload that travels as a JSON string.
func jsonString(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(raw, &s), "payload %s is a JSON string", raw)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

func TestSessionPushesReachEveryInstance(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 2, luckystack.Config{})
	a, b := nodes[0], nodes[1]
	ctx := wctx(t)
	tok, err := a.CreateSession(ctx, &luckystack.Session{ID: "u", Name: "Ann"})
	require.NoError(t, err)
	onA, onB := tab(t, a, tok), tab(t, b, tok)
	other, err := b.CreateSession(ctx, &luckystack.Session{ID: "v"})
	require.NoError(t, err)
	stranger := tab(t, b, other)

	_, err = a.UpdateSession(ctx, tok, func(s *luckystack.Session) error { s.Name = "Bea"; return nil })
	require.NoError(t, err)
	for _, c := range []*sioclient.Client{onA, onB} {
		ev, err := c.Expect(wctx(t), "updateSession")
		require.NoError(t, err)
		assert.Equal(t, "Bea", jsonString(t, ev.Arg(0))["name"])
	}
	rooms(t, stranger, 1)
	assert.False(t, stranger.Has("updateSession"), "only the session's own sockets hear it")

	t.Run("a room join on one instance updates the session seen by the other", func(t *testing.T) {
		assert.Equal(t, `{"rooms":["lobby"]}`, call(t, onB, "joinRoom", 2, map[string]any{"group": "lobby"}))
		sess, err := a.GetSession(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, []string{"lobby"}, sess.RoomCodes)
		late := tab(t, a, tok)
		assert.Equal(t, `{"rooms":["lobby"]}`, rooms(t, late, 3), "a new tab on the other instance rejoins it")
	})
}

func TestKicksAndLogoutsReachEveryInstance(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 3, luckystack.Config{})
	ctx := wctx(t)

	t.Run("a new login on one instance revokes the old session's tabs everywhere", func(t *testing.T) {
		old, err := nodes[0].CreateSession(ctx, &luckystack.Session{ID: "kick"})
		require.NoError(t, err)
		tabs := []*sioclient.Client{tab(t, nodes[0], old), tab(t, nodes[1], old), tab(t, nodes[2], old)}
		fresh, err := nodes[1].CreateSession(ctx, &luckystack.Session{ID: "kick"})
		require.NoError(t, err)
		for i, c := range tabs {
			ev, err := c.Expect(wctx(t), "sessionReplaced")
			require.NoError(t, err, "tab on instance %d", i)
			assert.Equal(t, map[string]any{"reason": "session-replaced", "userId": "kick"}, jsonString(t, ev.Arg(0)))
			ev, err = c.Expect(wctx(t), "logout")
			require.NoError(t, err, "tab on instance %d", i)
			assert.JSONEq(t, `"success"`, string(ev.Arg(0)))
			reason, err := c.WaitDisconnect(wctx(t))
			require.NoError(t, err)
			assert.Equal(t, "io server disconnect", reason, "tab on instance %d", i)
		}
		toks, err := nodes[2].Sessions().Tokens(ctx, "kick")
		require.NoError(t, err)
		assert.Equal(t, []string{fresh}, toks)
		survivor := tab(t, nodes[2], fresh)
		assert.Equal(t, `{"rooms":["x"]}`, call(t, survivor, "joinRoom", 1, map[string]any{"group": "x"}))
	})

	t.Run("deleting a session on one instance logs out its tabs everywhere", func(t *testing.T) {
		tok, err := nodes[2].CreateSession(ctx, &luckystack.Session{ID: "bye"})
		require.NoError(t, err)
		tabs := []*sioclient.Client{tab(t, nodes[0], tok), tab(t, nodes[1], tok)}
		require.NoError(t, nodes[2].DeleteSession(ctx, tok))
		for i, c := range tabs {
			ev, err := c.Expect(wctx(t), "logout")
			require.NoError(t, err, "tab on instance %d", i)
			assert.JSONEq(t, `"success"`, string(ev.Arg(0)))
			_, err = c.WaitDisconnect(wctx(t))
			require.NoError(t, err)
		}
	})
}

func TestRoomTrafficCrossesInstances(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 2, luckystack.Config{Socket: luckystack.SocketConfig{MaxRoomsPerSession: 2}})
	a, b := nodes[0], nodes[1]
	ctx := wctx(t)
	tok, err := a.CreateSession(ctx, &luckystack.Session{ID: "r"})
	require.NoError(t, err)
	onA, onB := tab(t, a, tok), tab(t, b, tok)
	assert.Equal(t, `{"rooms":["r1"]}`, call(t, onA, "joinRoom", 1, map[string]any{"group": "r1"}))
	assert.Equal(t, `{"rooms":["r2"]}`, call(t, onB, "joinRoom", 2, map[string]any{"group": "r2"}))
	outsider := tab(t, b, "")

	require.NoError(t, a.IO().To("r2").Emit("news", "from a"))
	ev, err := onB.Expect(wctx(t), "news")
	require.NoError(t, err, "a room emit on one instance reaches members on the other")
	assert.JSONEq(t, `"from a"`, string(ev.Arg(0)))
	rooms(t, outsider, 3)
	assert.False(t, outsider.Has("news"))

	// The cap is per session: a third room evicts the oldest (r1) from every
	// tab of the session, on both instances.
	assert.Equal(t, `{"rooms":["r2","r3"]}`, call(t, onB, "joinRoom", 4, map[string]any{"group": "r3"}))
	idx := 100
	require.Eventually(t, func() bool {
		idx++
		return rooms(t, onA, idx) == `{"rooms":[]}`
	}, 5*time.Second, 20*time.Millisecond, "r1 left on the other instance too")
	sess, err := b.GetSession(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"r2", "r3"}, sess.RoomCodes)
}
