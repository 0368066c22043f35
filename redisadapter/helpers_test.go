package redisadapter

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial to stderr through its global logger;
	// the fault tests fail dials on purpose. Tests only: the adapter itself
	// never touches go-redis globals.
	redis.SetLogger(quietRedisLog{})
	testutil.RunWithLeakCheck(m)
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// waitFor bounds every blocking step of a test.
const waitFor = 10 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// newRedisClient returns a client for addr, closed when the test ends.
// DisableIdentity skips CLIENT SETINFO, which miniredis does not know.
func newRedisClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startMiniredis runs an in-process Redis for unit tests.
func startMiniredis(t testing.TB) *miniredis.Miniredis {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// startRedis runs a real redis-server for integration tests (skipped with a
// message when it is not installed, failing when LUCKYSTACK_REQUIRE_REDIS is
// set).
func startRedis(t testing.TB) string { return redistest.Start(t) }

// node is one socketio server with its own Redis client and adapter.
type node struct {
	t   testing.TB
	srv *socketio.Server
	ts  *httptest.Server
	ra  *Adapter
	rc  *redis.Client

	mu  sync.Mutex // Protects following.
	sse []socketio.Args
}

// newNode starts a server on an httptest listener. Its "/" namespace
// handles "join" and "leave" (argument: room, acked), and server-side
// events "hello" (recorded) and "ping" (recorded and acked with "pong" and
// the server's URL).
func newNode(t testing.TB, addr string, opts Options) *node {
	t.Helper()
	n := &node{t: t, rc: newRedisClient(t, addr)}
	ra, err := New(n.rc, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.ra = ra
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := ra.Close(ctx); err != nil {
			t.Errorf("adapter close: %v", err)
		}
	})
	n.srv = socketio.NewServer(socketio.Options{Adapter: ra.For})
	n.ts = httptest.NewServer(n.srv)
	t.Cleanup(n.ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = n.srv.Shutdown(ctx)
	})
	nsp := n.srv.Sockets()
	nsp.On("join", func(e *socketio.Event) {
		var room string
		_ = e.Args.Decode(0, &room)
		e.Socket.Join(room)
		_ = e.Ack()
	})
	nsp.On("leave", func(e *socketio.Event) {
		var room string
		_ = e.Args.Decode(0, &room)
		e.Socket.Leave(room)
		_ = e.Ack()
	})
	nsp.OnServerSideEmit("hello", func(args socketio.Args, _ func(...any)) { n.record(args) })
	nsp.OnServerSideEmit("ping", func(args socketio.Args, ack func(...any)) {
		n.record(args)
		if ack != nil {
			ack("pong", n.ts.URL)
		}
	})
	return n
}

func (n *node) record(a socketio.Args) {
	n.mu.Lock()
	n.sse = append(n.sse, a)
	n.mu.Unlock()
}

func (n *node) received() []socketio.Args {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]socketio.Args(nil), n.sse...)
}

// nsa returns the adapter of the "/" namespace.
func (n *node) nsa() *NamespaceAdapter { return n.srv.Sockets().Adapter().(*NamespaceAdapter) }

// newCluster starts count nodes on one Redis and waits until each is
// subscribed, so that every node sees the others from the first message.
func newCluster(t testing.TB, addr string, count int, opts Options) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = newNode(t, addr, opts)
	}
	ctx := testContext(t)
	for _, n := range nodes {
		if err := n.ra.Ready(ctx); err != nil {
			t.Fatalf("adapter not ready: %v", err)
		}
	}
	return nodes
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling state, not asserting on time
	}
}
