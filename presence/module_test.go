package presence

// Tests of the module on real servers and websocket clients: the seam,
// the socket events, and two instances sharing a real Redis.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/redisadapter"
)

const waitFor = 10 * time.Second

// shortWindows keeps the real-clock tests fast.
func shortWindows() Options {
	return Options{DisconnectTimers: DisconnectTimers{TabSwitch: 600 * time.Millisecond, TransportClose: 600 * time.Millisecond, Default: 600 * time.Millisecond}}
}

// node is one served luckystack.Server with the presence module and a
// record of its presence hooks.
type node struct {
	srv *luckystack.Server
	pm  *Module
	url string

	mu  sync.Mutex
	log []string
}

func (n *node) record(s string) {
	n.mu.Lock()
	n.log = append(n.log, s)
	n.mu.Unlock()
}

func (n *node) has(s string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Contains(n.log, s)
}

func (n *node) hooks() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.log)
}

func newNode(t *testing.T, opts Options, lo luckystack.Options) *node {
	t.Helper()
	pm := New(opts)
	lo.Args = []string{"0"}
	lo.IP = "127.0.0.1"
	lo.Getenv = func(string) string { return "" }
	lo.Modules = append(lo.Modules, pm)
	lo.Config.Session.BasedToken = true
	lo.Config.SocketActivityBroadcaster = true
	srv, err := luckystack.NewServer(lo)
	require.NoError(t, err)
	n := &node{srv: srv, pm: pm}
	luckystack.RegisterHook(srv, luckystack.OnSocketConnect, func(_ context.Context, e *luckystack.SocketConnectEvent) error {
		n.record("onSocketConnect " + e.Token)
		return nil
	})
	luckystack.RegisterHook(srv, luckystack.OnSocketDisconnect, func(_ context.Context, e *luckystack.SocketDisconnectEvent) error {
		n.record("onSocketDisconnect " + e.Token + " " + e.Reason)
		return nil
	})
	luckystack.RegisterHook(srv, PostSocketReconnect, func(_ context.Context, e *ReconnectEvent) error {
		n.record(fmt.Sprintf("postSocketReconnect %s %v", e.UserID, e.RoomCodes))
		return nil
	})
	luckystack.RegisterHook(srv, PostDisconnectGraceExpired, func(_ context.Context, e *GraceExpiredEvent) error {
		n.record(fmt.Sprintf("postDisconnectGraceExpired %s %s deleted=%v", e.UserID, e.Reason, e.SessionDeleted))
		return nil
	})
	n.url = servetest.Serve(t, srv, waitFor)
	return n
}

func tab(t *testing.T, n *node, token string) *sioclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := sioclient.Dial(ctx, n.url, sioclient.Options{Auth: map[string]any{"token": token}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	// A round trip proves the connect handlers (rooms, presence) ran.
	require.NoError(t, c.Emit("getJoinedRooms", map[string]any{"responseIndex": 1}))
	_, err = c.Expect(ctx, "getJoinedRooms-1")
	require.NoError(t, err)
	return c
}

func expectEvent(t *testing.T, c *sioclient.Client, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := c.Expect(ctx, name)
	require.NoError(t, err, "waiting for %s", name)
	return string(ev.Arg(0))
}

// waitGrace waits until token's grace window is in the store: the server
// has handled the disconnect.
func waitGrace(t *testing.T, n *node, token string) {
	t.Helper()
	require.Eventually(t, func() bool {
		switch s := n.pm.opts.Store.(type) {
		case *MemoryStore:
			s.mu.Lock()
			defer s.mu.Unlock()
			_, ok := s.graces[token]
			return ok
		case *RedisStore:
			c, err := s.client.Exists(context.Background(), s.graceKey(token)).Result()
			return err == nil && c == 1
		}
		return false
	}, waitFor, 2*time.Millisecond)
}

func login(t *testing.T, n *node, user string, rooms ...string) string {
	t.Helper()
	tok, err := n.srv.CreateSession(context.Background(), &luckystack.Session{ID: user, RoomCodes: rooms})
	require.NoError(t, err)
	return tok
}

func TestModuleOnARealServer(t *testing.T) {
	t.Parallel()
	n := newNode(t, shortWindows(), luckystack.Options{})
	ta, tb := login(t, n, "alice", "r"), login(t, n, "bob", "r")
	bob := tab(t, n, tb)

	t.Run("page refresh is a warm reconnect", func(t *testing.T) {
		a := tab(t, n, ta)
		require.NoError(t, a.Close())
		// A browser loads the new page after the old connection closed.
		waitGrace(t, n, ta)
		a2 := tab(t, n, ta)
		assert.JSONEq(t, `{"userId":"alice"}`, expectEvent(t, bob, "userBack"))
		assert.Eventually(t, func() bool { return n.has("postSocketReconnect alice [r]") }, waitFor, 10*time.Millisecond)
		time.Sleep(900 * time.Millisecond) // past the window
		assert.False(t, bob.Has("userLeft"))
		s, err := n.srv.GetSession(context.Background(), ta)
		require.NoError(t, err)
		assert.NotNil(t, s)
		_ = a2.Close()
		expectEvent(t, bob, "userLeft")
	})

	t.Run("tab switch", func(t *testing.T) {
		ta := login(t, n, "alice", "r")
		a := tab(t, n, ta)
		before := time.Now()
		require.NoError(t, a.Emit("intentionalDisconnect"))
		var afk struct {
			UserID  string `json:"userId"`
			EndTime int64  `json:"endTime"`
		}
		require.NoError(t, json.Unmarshal([]byte(expectEvent(t, bob, "userAfk")), &afk))
		assert.Equal(t, "alice", afk.UserID)
		assert.InDelta(t, before.Add(600*time.Millisecond).UnixMilli(), afk.EndTime, 500)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		reason, err := a.WaitDisconnect(ctx)
		require.NoError(t, err)
		assert.Equal(t, "io server disconnect", reason)
		assert.Eventually(t, func() bool {
			return n.has("postDisconnectGraceExpired alice server namespace disconnect deleted=false")
		}, waitFor, 10*time.Millisecond)
		s, err := n.srv.GetSession(context.Background(), ta)
		require.NoError(t, err)
		assert.NotNil(t, s, "a tab switch keeps the session")
	})

	t.Run("onSocketDisconnect is the final event", func(t *testing.T) {
		ta := login(t, n, "carol", "r")
		a := tab(t, n, ta)
		require.NoError(t, a.Close())
		time.Sleep(300 * time.Millisecond)
		assert.False(t, n.has("onSocketDisconnect "+ta+" client namespace disconnect"), "held for the window")
		require.Eventually(t, func() bool { return n.has("onSocketDisconnect " + ta + " client namespace disconnect") }, waitFor, 10*time.Millisecond)
		log := n.hooks()
		i := slices.Index(log, "postDisconnectGraceExpired carol client namespace disconnect deleted=true")
		j := slices.Index(log, "onSocketDisconnect "+ta+" client namespace disconnect")
		assert.True(t, i >= 0 && i < j, "expiry before the final onSocketDisconnect: %v", log)
	})

	t.Run("room presence", func(t *testing.T) {
		p, err := n.pm.GetRoomPresence(context.Background(), "r")
		require.NoError(t, err)
		require.Len(t, p, 1)
		assert.Equal(t, bob.ID(), p[0].SocketID)
		assert.Equal(t, "bob", p[0].UserID)
		assert.Equal(t, StateActive, p[0].AFK)
	})
}

func TestModuleInstallAndVerify(t *testing.T) {
	t.Parallel()
	pm := New(Options{DisconnectTimers: DisconnectTimers{Default: -1}})
	_, err := luckystack.NewServer(luckystack.Options{Args: []string{"0"}, Getenv: func(string) string { return "" }, Modules: []luckystack.Module{pm}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DisconnectTimers.Default")

	_, err = New(Options{}).GetRoomPresence(context.Background(), "r")
	assert.ErrorIs(t, err, ErrNotInstalled)
}

// redisNode is a node on a shared Redis: Redis adapter, sessions and
// presence store.
func redisNode(t *testing.T, addr string) *node {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	ra, err := redisadapter.New(rc, redisadapter.Options{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = ra.Close(ctx)
		_ = rc.Close()
	})
	opts := shortWindows()
	opts.Store = NewRedisStore(rc, RedisStoreOptions{})
	n := newNode(t, opts, luckystack.Options{Adapter: ra.For, Sessions: luckystack.NewRedisSessionStore(rc, luckystack.RedisSessionOptions{})})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, ra.Ready(ctx))
	return n
}

func TestTwoInstancesOnRedis(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	a, b := redisNode(t, addr), redisNode(t, addr)
	ta, tb := login(t, a, "alice", "r"), login(t, a, "bob", "r")
	bob := tab(t, a, tb)
	outer := t

	t.Run("reconnect on the other instance", func(t *testing.T) {
		alice := tab(t, a, ta)
		require.NoError(t, alice.Close())
		waitGrace(t, a, ta)
		tab(outer, b, ta) // stays open: its close would be a userLeft later
		assert.JSONEq(t, `{"userId":"alice"}`, expectEvent(t, bob, "userBack"), "warm across instances")
		assert.Eventually(t, func() bool { return b.has("postSocketReconnect alice [r]") }, waitFor, 10*time.Millisecond)
		// A's window ends quietly: its socket's disconnect, no expiry.
		require.Eventually(t, func() bool { return a.has("onSocketDisconnect " + ta + " client namespace disconnect") }, waitFor, 10*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		assert.False(t, bob.Has("userLeft"), "no userLeft")
		for _, n := range []*node{a, b} {
			for _, h := range n.hooks() {
				assert.NotContains(t, h, "postDisconnectGraceExpired")
			}
		}
		s, err := a.srv.GetSession(context.Background(), ta)
		require.NoError(t, err)
		assert.NotNil(t, s, "no session delete")
	})

	t.Run("room joins from two instances lose nothing", func(t *testing.T) {
		tc := login(t, a, "carol")
		ca, cb := tab(t, a, tc), tab(t, b, tc)
		const perTab = 10
		var wg sync.WaitGroup
		for i, c := range []*sioclient.Client{ca, cb} {
			wg.Go(func() {
				for j := range perTab {
					idx := 100 + j
					assert.NoError(t, c.Emit("joinRoom", map[string]any{"group": fmt.Sprintf("g%d-%d", i, j), "responseIndex": idx}))
					expectEvent(t, c, fmt.Sprintf("joinRoom-%d", idx))
				}
			})
		}
		wg.Wait()
		s, err := b.srv.GetSession(context.Background(), tc)
		require.NoError(t, err)
		assert.Len(t, s.RoomCodes, 2*perTab)
	})

	t.Run("browser closed", func(t *testing.T) {
		td := login(t, b, "dave", "r")
		d := tab(t, b, td)
		require.NoError(t, d.Close())
		assert.JSONEq(t, `{"userId":"dave"}`, expectEvent(t, bob, "userLeft"), "bob on A hears dave leave B")
		require.Eventually(t, func() bool { return b.has("postDisconnectGraceExpired dave client namespace disconnect deleted=true") }, waitFor, 10*time.Millisecond)
		s, err := a.srv.GetSession(context.Background(), td)
		require.NoError(t, err)
		assert.Nil(t, s, "session deleted")
	})
}
