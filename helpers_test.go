package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

func ptr[T any](v T) *T { return &v }

// envMap is an Options.Getenv over a fixed map, so tests never read the
// process environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newServer builds a server that is shut down when the test ends. Unless the
// test sets one, Getenv is empty.
func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = envMap(nil)
	}
	srv, err := NewServer(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// testHTTP is a server listening on a free loopback port.
type testHTTP struct {
	URL    string
	Origin string // the server's own origin
}

// newHTTPServer builds a server and serves it on 127.0.0.1:0 through
// Bind/Serve, so its same-origin entry is its real address.
func newHTTPServer(t *testing.T, opts Options) (*Server, *testHTTP) {
	t.Helper()
	if opts.Port == 0 && opts.Args == nil {
		opts.Args = []string{"0"}
	}
	srv := newServer(t, opts)
	ln, err := srv.Bind()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		select {
		case err := <-done:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-ctx.Done():
			t.Error("Serve did not return after Shutdown")
		}
	})
	return srv, &testHTTP{URL: "http://" + srv.Addr(), Origin: "http://" + srv.Addr()}
}

type response struct {
	code   int
	body   string
	header http.Header
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// do sends one request and reads the whole answer.
func do(t *testing.T, ts *testHTTP, method, path string, h http.Header, body string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ts.URL+path, rd)
	require.NoError(t, err)
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{code: res.StatusCode, body: string(b), header: res.Header}
}

// dial connects a test client and waits until the server finished its
// connect handler (the client sees CONNECT before that handler ran, but
// its first event is handled after it). It is closed when the test ends.
func dial(t *testing.T, ts *testHTTP, opts sioclient.Options) *sioclient.Client {
	t.Helper()
	c, err := dialErr(t, ts, opts)
	require.NoError(t, err)
	roundTrip(t, c, readyIndex)
	return c
}

// readyIndex is the responseIndex dial uses; tests use small ones.
const readyIndex = -424242

func dialErr(t *testing.T, ts *testHTTP, opts sioclient.Options) (*sioclient.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, ts.URL, opts)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func cookieOpts(token string) sioclient.Options {
	return sioclient.Options{Header: hdr("Cookie", "token="+token)}
}

func wctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// expect waits for event name and returns its first argument as raw JSON.
func expect(t *testing.T, c *sioclient.Client, name string) json.RawMessage {
	t.Helper()
	ev, err := c.Expect(wctx(t), name)
	require.NoError(t, err, "waiting for %s", name)
	return ev.Arg(0)
}

// roundTrip emits getJoinedRooms and waits for the reply. Events of one socket
// are delivered in order, so anything the server sent to this socket before
// handling it is buffered afterwards: a way to assert that something did
// not happen without sleeping.
func roundTrip(t *testing.T, c *sioclient.Client, idx int) json.RawMessage {
	t.Helper()
	require.NoError(t, c.Emit("getJoinedRooms", map[string]any{"responseIndex": idx}))
	return expect(t, c, "getJoinedRooms-"+itoa(idx))
}

type sioclientClient = sioclient.Client

const (
	wctxDeadline = 10 * time.Second
	pollEvery    = 5 * time.Millisecond
)
