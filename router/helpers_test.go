package router

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// newTestRouter builds a router and serves it as cmd/luckystack-router
// does, the own loop in front of net/http's server (with
// ROUTER_TEST_NETHTTP=1 net/http's server alone); both stop when t ends.
func newTestRouter(t *testing.T, cfg Config) (*Router, *httptest.Server) {
	t.Helper()
	return serveTestRouter(t, cfg, os.Getenv("ROUTER_TEST_NETHTTP") == "")
}

// serveTestRouter is newTestRouter with the own loop on or off.
func serveTestRouter(t *testing.T, cfg Config, ownLoop bool) (*Router, *httptest.Server) {
	t.Helper()
	return serveRouterOn(t, cfg, func(rt *Router, ln net.Listener) net.Listener {
		if ownLoop {
			return rt.Listener(ln)
		}
		return ln
	})
}

// serveRouterOn serves a router on the listener listen returns, given
// the router and a loopback listener.
func serveRouterOn(t *testing.T, cfg Config, listen func(rt *Router, ln net.Listener) net.Listener) (*Router, *httptest.Server) {
	t.Helper()
	rt, err := New(cfg)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(rt)
	ts.Listener = listen(rt, ts.Listener)
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx))
		ts.Close()
	})
	return rt, ts
}

// seen is what an echo backend reports about a request.
type seen struct {
	Backend string      `json:"backend"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

// echoBackend answers every request with a JSON description of it.
func echoBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Luckystack-Internal", "secret")
		w.Header().Set("Set-Cookie", "a=b")
		_ = json.NewEncoder(w).Encode(seen{Backend: name, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Header: r.Header})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// get sends a GET through the router and decodes the echo.
func get(t *testing.T, c *http.Client, url string, header http.Header) (int, seen) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var s seen
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	}
	return resp.StatusCode, s
}

// rawBackend is a TCP server whose connections handle serves; it stops
// (closing what it accepted) when t ends.
func rawBackend(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// rawRequest writes head to the router and returns the connection and a
// reader positioned at the response.
func rawRequest(t *testing.T, ts *httptest.Server, head string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, head)
	require.NoError(t, err)
	return c, bufio.NewReader(c)
}

// upgradeHead is a websocket upgrade request head for path.
func upgradeHead(path string, extra ...string) string {
	h := "GET " + path + " HTTP/1.1\r\nHost: front.example\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n"
}

// readHead reads an HTTP/1.1 request head from c.
func readHead(c net.Conn) (*http.Request, *bufio.Reader, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	return req, br, err
}

// waitUntil polls cond every 5ms for up to d.
func waitUntil(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tunnelCount(rt *Router) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.tunnels)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// eachTunnelMode runs a tunnel test with the tunnels on an event loop and
// as goroutine pairs.
func eachTunnelMode(t *testing.T, test func(t *testing.T, loops int)) {
	t.Parallel()
	for _, m := range []struct {
		name  string
		loops int
	}{{"loop", 1}, {"goroutines", -1}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			test(t, m.loops)
		})
	}
}

// tunnelsOnLoop counts the router's tunnels an event loop carries.
func tunnelsOnLoop(rt *Router) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := 0
	for tn := range rt.tunnels {
		tn.mu.Lock()
		if tn.lp != nil {
			n++
		}
		tn.mu.Unlock()
	}
	return n
}
