package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/lstest"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

// testEnv is a real luckystack.Server with the api module, listening on
// 127.0.0.1:0 in token mode (auth.token / Bearer), torn down by t.Cleanup.
type testEnv struct {
	lstest.HTTP // Do, Post, Base, Client
	t           testing.TB
	srv         *luckystack.Server
	mod         *Module
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
	client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * waitFor}
	t.Cleanup(client.CloseIdleConnections)
	base := servetest.Serve(t, srv, waitFor)
	return &testEnv{HTTP: lstest.HTTP{T: t, Base: base, Client: client}, t: t, srv: srv, mod: mod}
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
	c, err := sioclient.Dial(ctx, e.Base, opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// reply is a decoded envelope.
type reply = lstest.Reply

// expect waits for event name and decodes its first argument.
func expect(t testing.TB, c *sioclient.Client, name string) reply {
	t.Helper()
	return lstest.Expect(t, c, name, waitFor)
}

// mustExpect waits for event name.
func mustExpect(t testing.TB, c *sioclient.Client, name string) sioclient.Event {
	t.Helper()
	return lstest.ExpectEvent(t, c, name, waitFor)
}

// request sends apiRequest {name, data, responseIndex: idx} and returns the
// apiResponse-idx envelope.
func request(t testing.TB, c *sioclient.Client, idx int, name string, data any) reply {
	t.Helper()
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": name, "data": data, "responseIndex": idx}))
	return expect(t, c, "apiResponse-"+itoa(idx))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// recorder collects hook names in the order they ran.
type recorder = lstest.Recorder

// record registers a handler on h that adds h's name to r.
func record[P any](srv *luckystack.Server, r *recorder, h luckystack.Hook[P]) {
	lstest.Record(srv, r, h)
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
