package sync

import (
	"context"
	"encoding/json"
	"io"
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
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

// testEnv is a real luckystack.Server with the sync module (and the api
// module, for parity tests), in token mode on 127.0.0.1:0.
type testEnv struct {
	t    testing.TB
	srv  *luckystack.Server
	mod  *Module
	base string
	http *http.Client
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
	ln, err := srv.Bind()
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * waitFor}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		client.CloseIdleConnections()
		select {
		case err := <-served:
			require.ErrorIs(t, err, luckystack.ErrServerClosed)
		case <-ctx.Done():
			t.Error("Serve did not return after Shutdown")
		}
	})
	return &testEnv{t: t, srv: srv, mod: mod, base: "http://" + srv.Addr(), http: client}
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
	c, err := sioclient.Dial(ctx, e.base, opts)
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
type reply map[string]any

func (r reply) code() string { s, _ := r["errorCode"].(string); return s }

func (r reply) status() int { f, _ := r["httpStatus"].(float64); return int(f) }

func (r reply) obj(key string) map[string]any { m, _ := r[key].(map[string]any); return m }

// expectEvent waits for event name.
func expectEvent(t testing.TB, c *sioclient.Client, name string) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := c.Expect(ctx, name)
	require.NoError(t, err, "waiting for %s", name)
	return ev
}

// expect waits for event name and decodes its first argument.
func expect(t testing.TB, c *sioclient.Client, name string) reply {
	t.Helper()
	var r reply
	require.NoError(t, expectEvent(t, c, name).Decode(0, &r))
	return r
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

// do sends an HTTP request with a same-origin Origin and the Bearer token.
func (e *testEnv) do(method, path, token string, body string, hdr http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Origin", e.base)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, b
}

// post sends a JSON body to path and decodes the JSON reply.
func (e *testEnv) post(path, token string, body any) (int, reply) {
	e.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(e.t, err)
	resp, rb := e.do(http.MethodPost, path, token, string(b), nil)
	var r reply
	require.NoError(e.t, json.Unmarshal(rb, &r), "body %s", rb)
	return resp.StatusCode, r
}

// recorder collects names in the order they were added.
type recorder struct {
	mu    stdsync.Mutex
	names []string
}

func (r *recorder) add(name string) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

func record[P any](srv *luckystack.Server, r *recorder, h luckystack.Hook[P]) {
	luckystack.RegisterHook(srv, h, func(context.Context, *P) error {
		r.add(h.Name())
		return nil
	})
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
