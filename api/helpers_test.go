package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

// testEnv is a real luckystack.Server with the api module, listening on
// 127.0.0.1:0 in token mode (auth.token / Bearer), torn down by t.Cleanup.
type testEnv struct {
	t    testing.TB
	srv  *luckystack.Server
	mod  *Module
	base string
	http *http.Client
}

// noLimits is the options of tests that do not test rate limiting: the
// defaults (60 per route per minute) would make them flaky.
func noLimits() Options { return Options{RateLimit: RateLimitOptions{Disabled: true}} }

func newEnv(t testing.TB, opts Options, setup func(m *Module)) *testEnv {
	t.Helper()
	mod := New(opts)
	if setup != nil {
		setup(mod)
	}
	srv, err := luckystack.NewServer(luckystack.Options{
		Args:    []string{"0"},
		IP:      "127.0.0.1",
		Modules: []luckystack.Module{mod},
		Getenv:  func(string) string { return "" },
		Config:  luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}},
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
func (e *testEnv) login(s *luckystack.Session) string {
	e.t.Helper()
	tok, err := e.srv.CreateSession(context.Background(), s)
	require.NoError(e.t, err)
	return tok
}

// dial connects a socket, with the session token when non-empty.
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

// reply is a decoded envelope.
type reply map[string]any

func (r reply) code() string { s, _ := r["errorCode"].(string); return s }

func (r reply) status() int { f, _ := r["httpStatus"].(float64); return int(f) }

// expect waits for event name and decodes its first argument.
func expect(t testing.TB, c *sioclient.Client, name string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := c.Expect(ctx, name)
	require.NoError(t, err, "waiting for %s", name)
	var r reply
	require.NoError(t, ev.Decode(0, &r))
	return r
}

// mustExpect waits for event name.
func mustExpect(t testing.TB, c *sioclient.Client, name string) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := c.Expect(ctx, name)
	require.NoError(t, err, "waiting for %s", name)
	return ev
}

// request sends apiRequest {name, data, responseIndex: idx} and returns the
// apiResponse-idx envelope.
func request(t testing.TB, c *sioclient.Client, idx int, name string, data any) reply {
	t.Helper()
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": name, "data": data, "responseIndex": idx}))
	return expect(t, c, "apiResponse-"+itoa(idx))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// do sends an HTTP request with the same-origin Origin the dispatcher
// requires for state-changing methods, and the Bearer token when set.
func (e *testEnv) do(method, path, token, contentType string, body io.Reader, hdr http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	req.Header.Set("Origin", e.base)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
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

// post sends a JSON body and decodes the JSON reply.
func (e *testEnv) post(path, token string, data any) (int, reply) {
	e.t.Helper()
	b, err := json.Marshal(data)
	require.NoError(e.t, err)
	resp, body := e.do(http.MethodPost, path, token, "application/json", strings.NewReader(string(b)), nil)
	var r reply
	require.NoError(e.t, json.Unmarshal(body, &r), "body %s", body)
	return resp.StatusCode, r
}

// recorder collects hook names in the order they ran.
type recorder struct {
	mu    sync.Mutex
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

func (r *recorder) reset() {
	r.mu.Lock()
	r.names = nil
	r.mu.Unlock()
}

// record registers a handler on h that appends h's name.
func record[P any](srv *luckystack.Server, r *recorder, h luckystack.Hook[P]) {
	luckystack.RegisterHook(srv, h, func(context.Context, *P) error {
		r.add(h.Name())
		return nil
	})
}

// Echo is the input and output of the test routes.
type Echo struct {
	N int    `json:"n"`
	S string `json:"s,omitempty"`
}

func echoRoute() Route[Echo, Echo] {
	return Route[Echo, Echo]{Handler: func(_ context.Context, _ *Request, in Echo) (Echo, error) { return in, nil }}
}

// recv receives from ch or fails the test after waitFor.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatal("timed out waiting on channel")
	}
	var zero T
	return zero
}

var errBoom = errors.New("boom")
