package sync

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/lstest"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

// testEnv is a real luckystack.Server with the sync module (and the api
// module, for parity tests), in token mode on 127.0.0.1:0.
type testEnv struct {
	lstest.HTTP // Do, Post, Base, Client
	t           testing.TB
	srv         *luckystack.Server
	mod         *Module
}

// noLimits disables rate limiting for tests that do not test it.
func noLimits() Options { return Options{RateLimit: api.RateLimitOptions{Disabled: true}} }

type envConfig struct {
	adapter  func(*socketio.Namespace) socketio.Adapter
	sessions luckystack.SessionStore
	extra    []luckystack.Module
}

func newEnv(t testing.TB, opts Options, setup func(m *Module)) *testEnv {
	return newEnvWith(t, opts, envConfig{}, setup)
}

func newEnvWith(t testing.TB, opts Options, cfg envConfig, setup func(m *Module)) *testEnv {
	t.Helper()
	mod := New(opts)
	if setup != nil {
		setup(mod)
	}
	srv, err := luckystack.NewServer(luckystack.Options{
		Args:     []string{"0"},
		IP:       "127.0.0.1",
		Modules:  append([]luckystack.Module{mod}, cfg.extra...),
		Adapter:  cfg.adapter,
		Sessions: cfg.sessions,
		Getenv:   func(string) string { return "" },
		Config:   luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}},
	})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * waitFor}
	t.Cleanup(client.CloseIdleConnections)
	base := servetest.Serve(t, srv, waitFor)
	return &testEnv{HTTP: lstest.HTTP{T: t, Base: base, Client: client}, t: t, srv: srv, mod: mod}
}

// login creates a session and returns its token.
func (e *testEnv) login(id string) string {
	e.t.Helper()
	tok, err := e.srv.CreateSession(context.Background(), &luckystack.Session{ID: id, Name: id})
	require.NoError(e.t, err)
	return tok
}

// dial connects a socket with the token (anonymous when "").
func (e *testEnv) dial(token string) *sioclient.Client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var opts sioclient.Options
	if token != "" {
		opts.Auth = map[string]any{"token": token}
	}
	c, err := sioclient.Dial(ctx, e.Base, opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// member logs a new user in, connects it and joins room.
func (e *testEnv) member(id, room string) (*sioclient.Client, string) {
	e.t.Helper()
	tok := e.login(id)
	c := e.dial(tok)
	join(e.t, c, room)
	return c, tok
}

var joinSeq struct {
	stdsync.Mutex
	n int
}

// join joins room and waits for the reply.
func join(t testing.TB, c *sioclient.Client, room string) {
	t.Helper()
	joinSeq.Lock()
	joinSeq.n++
	idx := 100000 + joinSeq.n
	joinSeq.Unlock()
	require.NoError(t, c.Emit("joinRoom", map[string]any{"group": room, "responseIndex": idx}))
	r := expect(t, c, "joinRoom-"+strconv.Itoa(idx))
	require.Contains(t, r["rooms"], room)
}

// reply is a decoded envelope or frame.
type reply = lstest.Reply

// expectEvent waits for event name.
func expectEvent(t testing.TB, c *sioclient.Client, name string) sioclient.Event {
	t.Helper()
	return lstest.ExpectEvent(t, c, name, waitFor)
}

// expect waits for event name and decodes its first argument.
func expect(t testing.TB, c *sioclient.Client, name string) reply {
	t.Helper()
	return lstest.Expect(t, c, name, waitFor)
}

// syncMsg is a sync request as the browser client sends it.
func syncMsg(name string, data any, receiver string, idx int) map[string]any {
	cb := strings.TrimPrefix(name, "sync/")
	return map[string]any{"name": name, "data": data, "cb": cb, "receiver": receiver, "responseIndex": idx}
}

// send emits a sync request and returns its sync-<idx> answer.
func send(t testing.TB, c *sioclient.Client, msg map[string]any) reply {
	t.Helper()
	require.NoError(t, c.Emit("sync", msg))
	return expect(t, c, "sync-"+strconv.Itoa(msg["responseIndex"].(int)))
}

// do sends a JSON body over HTTP (see lstest.HTTP.Do).
func (e *testEnv) do(method, path, token string, body string, hdr http.Header) (*http.Response, []byte) {
	e.t.Helper()
	return e.Do(method, path, token, "application/json", strings.NewReader(body), hdr)
}

// recorder collects names in the order they were added.
type recorder = lstest.Recorder

// record registers a handler on h that adds h's name to r.
func record[P any](srv *luckystack.Server, r *recorder, h luckystack.Hook[P]) {
	lstest.Record(srv, r, h)
}

// Msg is the input and output of the test routes.
type Msg struct {
	Text string `json:"text"`
	N    int    `json:"n,omitempty"`
}

func echoServer(_ context.Context, _ *Request, in Msg) (Msg, error) { return in, nil }

func echoRoute() Route[Msg, Msg] { return Route[Msg, Msg]{Server: echoServer} }

// mustRegister registers a route or fails the test.
func mustRegister[In, Out any](t testing.TB, m *Module, name string, r Route[In, Out]) {
	t.Helper()
	require.NoError(t, Register(m, name, r))
}

// trackFanout registers a PostSyncFanout hook and returns a function
// that waits for the next fan-out to finish and returns its event. Tests use
// it before asserting that something did NOT arrive: once it returned,
// every frame of that fan-out was queued, and [testEnv.mark] then proves
// each client read past them.
func (e *testEnv) trackFanout() func() Event {
	ch := make(chan Event, 64)
	luckystack.RegisterHook(e.srv, PostSyncFanout, func(_ context.Context, ev *Event) error {
		ch <- *ev
		return nil
	})
	return func() Event {
		e.t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(waitFor):
			e.t.Fatal("no fan-out finished")
		}
		return Event{}
	}
}

var markSeq struct {
	stdsync.Mutex
	n int
}

// mark sends every socket a marker event and waits until each client got
// it: frames queued before it have been read by then (one connection
// delivers in order).
func (e *testEnv) mark(clients ...*sioclient.Client) {
	e.t.Helper()
	markSeq.Lock()
	markSeq.n++
	name := "marker-" + strconv.Itoa(markSeq.n)
	markSeq.Unlock()
	require.NoError(e.t, e.srv.IO().Sockets().Emit(name))
	for _, c := range clients {
		expectEvent(e.t, c, name)
	}
}

// count returns how many events called name are buffered on c.
func count(c *sioclient.Client, name string) int {
	n := 0
	for _, ev := range c.Buffered() {
		if ev.Name == name {
			n++
		}
	}
	return n
}
