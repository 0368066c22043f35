package router

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no services", Config{}, "no services"},
		{"bad scheme", Config{Services: map[string][]string{"system": {"ftp://x"}}}, "want http"},
		{"path", Config{Services: map[string][]string{"system": {"http://x/p"}}}, "no path"},
		{"missing default", Config{Services: map[string][]string{"a": {"http://x"}}}, `"system" is not configured`},
		{"bad proxy", Config{Services: map[string][]string{"system": {"http://x"}}, TrustedProxies: []string{"nope"}}, "trusted proxy"},
		{"bad name", Config{Services: map[string][]string{"system": {"http://x"}, "a/b": nil}}, "invalid service name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestRoutesByService(t *testing.T) {
	t.Parallel()
	sys := echoBackend(t, "system")
	chat := echoBackend(t, "chat")
	web := echoBackend(t, "web")
	_, ts := newTestRouter(t, Config{
		Services:       map[string][]string{"system": {sys.URL}, "chat": {chat.URL}, "web": {web.URL}},
		DefaultService: "web",
	})
	tests := []struct {
		path, want string
	}{
		{"/api/chat/send/v1", "chat"},
		{"/sync/chat/typing/v1", "chat"},
		{"/api/system/session/v1", "system"},
		{"/api/unknown/x/v1", "web"},
		{"/api/", "web"},
		{"/index.html", "web"},
		{"/", "web"},
		{"/socket.io/?EIO=4&transport=polling", "system"},
		{"/socket.io", "system"},
		{"/socket.iox", "web"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			status, s := get(t, ts.Client(), ts.URL+tc.path, nil)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, tc.want, s.Backend)
			assert.Equal(t, strings.SplitN(tc.path, "?", 2)[0], s.Path, "the path is forwarded unchanged")
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "system")
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	resp, err := ts.Client().Get(ts.URL + "/x")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Empty(t, resp.Header.Get("X-Luckystack-Internal"), "internal headers never reach the client")
	assert.Equal(t, "a=b", resp.Header.Get("Set-Cookie"), "HTTP responses keep their cookies")
}

func TestForwardingHeaders(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "system")
	spoof := http.Header{
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Port":  {"1"},
		"X-Real-Ip":         {"6.6.6.6"},
		"Forwarded":         {"for=6.6.6.6"},
		"X-Luckystack-Env":  {"prod"},
	}
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
		status, s := get(t, ts.Client(), ts.URL+"/x", spoof)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, []string{"127.0.0.1"}, s.Header["X-Forwarded-For"])
		assert.Equal(t, []string{ts.Listener.Addr().String()}, s.Header["X-Forwarded-Host"])
		assert.Equal(t, []string{"http"}, s.Header["X-Forwarded-Proto"])
		for _, k := range []string{"X-Forwarded-Port", "X-Real-Ip", "Forwarded", "X-Luckystack-Env"} {
			assert.NotContains(t, s.Header, k)
		}
		assert.Equal(t, ts.Listener.Addr().String(), s.Host, "the client's Host is kept")
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}, TrustedProxies: []string{"127.0.0.0/8"}})
		status, s := get(t, ts.Client(), ts.URL+"/x", spoof)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, []string{"6.6.6.6, 127.0.0.1"}, s.Header["X-Forwarded-For"])
		assert.Equal(t, []string{"evil.example"}, s.Header["X-Forwarded-Host"])
		assert.Equal(t, []string{"https"}, s.Header["X-Forwarded-Proto"])
		assert.Equal(t, []string{"6.6.6.6"}, s.Header["X-Real-Ip"])
		assert.Equal(t, []string{"for=6.6.6.6"}, s.Header["Forwarded"])
		assert.NotContains(t, s.Header, "X-Luckystack-Env", "internal headers are dropped even from trusted peers")
	})
}

func TestHTTPGuards(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "system")
	_, ts := newTestRouter(t, Config{
		Services: map[string][]string{"system": {be.URL}, "empty": nil},
	})
	t.Run("head over 64 KiB is 431", func(t *testing.T) {
		status, _ := get(t, ts.Client(), ts.URL+"/x", http.Header{"X-Big": {strings.Repeat("a", 65<<10)}})
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status)
	})
	t.Run("head under 64 KiB passes", func(t *testing.T) {
		status, _ := get(t, ts.Client(), ts.URL+"/x", http.Header{"X-Big": {strings.Repeat("a", 60<<10)}})
		assert.Equal(t, http.StatusOK, status)
	})
	t.Run("absolute target is 400", func(t *testing.T) {
		_, br := rawRequest(t, ts, "GET http://other.example/x HTTP/1.1\r\nHost: other.example\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("service without backends is 502", func(t *testing.T) {
		status, _ := get(t, ts.Client(), ts.URL+"/api/empty/x/v1", nil)
		assert.Equal(t, http.StatusBadGateway, status)
	})
}

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

// countingDialer counts the dials to each address.
func countingDialer() (*net.Dialer, func(addr string) int) {
	var mu sync.Mutex
	n := map[string]int{}
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, addr string, _ syscall.RawConn) error {
		mu.Lock()
		n[addr]++
		mu.Unlock()
		return nil
	}}
	return d, func(addr string) int {
		mu.Lock()
		defer mu.Unlock()
		return n[addr]
	}
}

func TestRefusedBackendSkipped(t *testing.T) {
	t.Parallel()
	dead := closedPort(t)
	good := echoBackend(t, "good")
	dialer, dials := countingDialer()
	_, ts := newTestRouter(t, Config{
		Services:       map[string][]string{"system": {dead, good.URL}},
		Dialer:         dialer,
		RefusedBackoff: 300 * time.Millisecond,
	})
	deadAddr := strings.TrimPrefix(dead, "http://")

	// The first request's turn is the dead backend: its body streams (no
	// length), so it is not sent again.
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/x", io.NopCloser(strings.NewReader("streamed payload")))
	require.NoError(t, err)
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "a streamed body is never resent")
	require.Equal(t, 1, dials(deadAddr))

	// Within the backoff, new requests skip it.
	for range 6 {
		status, s := get(t, ts.Client(), ts.URL+"/x", nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "good", s.Backend)
	}
	assert.Equal(t, 1, dials(deadAddr), "a refusing backend is skipped during the backoff")

	// After it, requests whose turn it is fall over to the next backend:
	// nothing reached the refusing one, and a small body is held until sent.
	waitUntil(t, 5*time.Second, func() bool {
		resp, err := ts.Client().Post(ts.URL+"/x", "text/plain", strings.NewReader("small"))
		require.NoError(t, err)
		var s seen
		require.Equal(t, http.StatusOK, resp.StatusCode, "a held body falls over to the next backend")
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
		resp.Body.Close()
		assert.Equal(t, "good", s.Backend)
		return dials(deadAddr) >= 2
	}, "the dead backend to be tried again after the backoff")
}

func TestAllBackendsRefusing(t *testing.T) {
	t.Parallel()
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {closedPort(t), closedPort(t)}}})
	status, _ := get(t, ts.Client(), ts.URL+"/x", nil)
	assert.Equal(t, http.StatusBadGateway, status)
}

func TestHooks(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "system")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	var mu sync.Mutex
	var gates []GateEvent
	var posts []ProxyResponseEvent
	remove := rt.OnProxyRequestGate(func(_ context.Context, ev *GateEvent) error {
		mu.Lock()
		gates = append(gates, *ev)
		mu.Unlock()
		switch ev.Path {
		case "/forbidden":
			return errors.New("no")
		case "/limited":
			return &Refusal{Status: http.StatusTooManyRequests, Message: "slow down"}
		case "/panic":
			panic("gate bug")
		}
		return nil
	})
	rt.OnPreProxyRequest(func(_ context.Context, ev *ProxyRequestEvent) {
		ev.Header.Set("X-Trace", "t1")
	})
	rt.OnPostProxyResponse(func(_ context.Context, ev *ProxyResponseEvent) {
		mu.Lock()
		posts = append(posts, *ev)
		mu.Unlock()
	})

	status, s := get(t, ts.Client(), ts.URL+"/api/nope/x/v1", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "t1", s.Header.Get("X-Trace"), "preProxyRequest may add upstream headers")

	resp, err := ts.Client().Get(ts.URL + "/limited")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "slow down\n", string(body))
	status, _ = get(t, ts.Client(), ts.URL+"/forbidden", nil)
	assert.Equal(t, http.StatusForbidden, status, "a refusal without status is 403")
	status, _ = get(t, ts.Client(), ts.URL+"/panic", nil)
	assert.Equal(t, http.StatusInternalServerError, status, "a panicking gate fails closed")

	mu.Lock()
	require.Len(t, gates, 4)
	assert.Equal(t, GateEvent{Service: "system", Path: "/api/nope/x/v1", Method: "GET", Target: be.URL, ViaFallback: true,
		RemoteAddr: gates[0].RemoteAddr, Request: gates[0].Request}, gates[0])
	require.Len(t, posts, 1, "refused requests are not forwarded")
	assert.Equal(t, http.StatusOK, posts[0].Status)
	assert.Equal(t, be.URL, posts[0].Target)
	mu.Unlock()

	remove()
	status, _ = get(t, ts.Client(), ts.URL+"/forbidden", nil)
	assert.Equal(t, http.StatusOK, status, "a removed gate no longer runs")
}

// engineBackend imitates Engine.IO's session handling: a polling
// handshake creates a session and answers its open packet; later requests
// must carry a sid this backend created.
type engineBackend struct {
	name string
	url  string
	n    atomic.Int64
	mu   sync.Mutex
	sids map[string]bool
	// gzipAsked counts handshakes that arrived with Accept-Encoding.
	gzipAsked atomic.Int64
}

func newEngineBackend(t *testing.T, name string) *engineBackend {
	e := &engineBackend{name: name, sids: map[string]bool{}}
	e.url = rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			sid := req.URL.Query().Get("sid")
			switch {
			case sid == "":
				if req.Header.Get("Accept-Encoding") != "" {
					e.gzipAsked.Add(1)
				}
				sid = fmt.Sprintf("%s-%d", e.name, e.n.Add(1))
				e.mu.Lock()
				e.sids[sid] = true
				e.mu.Unlock()
				body := fmt.Sprintf(`0{"sid":"%s","upgrades":["websocket"],"pingInterval":25000}`, sid)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			case !e.knows(sid):
				body := `{"code":1,"message":"Session ID unknown"}`
				fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			case req.Header.Get("Upgrade") != "":
				fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Backend: %s\r\n\r\n", e.name)
				return
			default:
				body := "ok " + e.name
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		}
	})
	return e
}

func (e *engineBackend) knows(sid string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sids[sid]
}

func TestStickySessions(t *testing.T) {
	t.Parallel()
	a := newEngineBackend(t, "a")
	b := newEngineBackend(t, "b")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {a.url, b.url}}})
	c := ts.Client()
	handshake := func() string {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		sid := sidFromOpen(body)
		require.NotEmpty(t, sid, "the open packet reaches the client whole: %q", body)
		return sid
	}
	var sids []string
	perBackend := map[string]int{}
	for range 6 {
		sid := handshake()
		sids = append(sids, sid)
		perBackend[strings.SplitN(sid, "-", 2)[0]]++
	}
	assert.Equal(t, map[string]int{"a": 3, "b": 3}, perBackend, "new sessions spread across backends")
	assert.Zero(t, a.gzipAsked.Load()+b.gzipAsked.Load(), "handshakes go upstream without Accept-Encoding")
	assert.Equal(t, 6, rt.sticky.len())

	for range 3 {
		for _, sid := range sids {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, _ := http.NewRequest(method, ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader("2"))
				resp, err := c.Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, sid, body)
				assert.Equal(t, "ok "+strings.SplitN(sid, "-", 2)[0], string(body))
			}
		}
	}

	// The websocket upgrade of a polling session reaches the same backend,
	// whatever its path.
	for _, sid := range sids {
		_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket&sid="+sid))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		assert.Equal(t, strings.SplitN(sid, "-", 2)[0], resp.Header.Get("X-Backend"))
	}
}

func TestStickyProbesUnknownSessions(t *testing.T) {
	t.Parallel()
	a := newEngineBackend(t, "a")
	b := newEngineBackend(t, "b")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {a.url, b.url}}})
	// Sessions whose handshake this router never saw (another instance's,
	// or from before a restart).
	direct := func(e *engineBackend) string {
		resp, err := http.Get(e.url + "/socket.io/?EIO=4&transport=polling")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return sidFromOpen(body)
	}
	send := func(method, sid string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader("2"))
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, e := range []*engineBackend{a, b} {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			sid := direct(e)
			status, body := send(method, sid)
			require.Equal(t, http.StatusOK, status, "%s %s: %s", method, sid, body)
			assert.Equal(t, "ok "+e.name, body, "the backend holding the session is found")
			assert.Equal(t, e.url, rt.sticky.get(sid, time.Now().UnixNano()).url.String(), "and remembered")
		}
		sid := direct(e)
		_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket&sid="+sid))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		assert.Equal(t, e.name, resp.Header.Get("X-Backend"), "an upgrade finds its session too")
	}

	status, body := send(http.MethodGet, "nobody-has-it")
	assert.Equal(t, http.StatusBadRequest, status, "a session no backend holds gets Engine.IO's answer")
	assert.JSONEq(t, `{"code":1,"message":"Session ID unknown"}`, body)
	_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket&sid=nobody-has-it"))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestStickyTable(t *testing.T) {
	t.Parallel()
	ba, bb := &backend{}, &backend{}
	tab := newStickyTable(time.Second, 3)
	tab.put("a", ba, 0)
	tab.put("b", bb, 0)
	assert.Same(t, ba, tab.get("a", int64(900*time.Millisecond)))
	assert.Same(t, ba, tab.get("a", int64(1800*time.Millisecond)), "a request refreshes the session")
	assert.Nil(t, tab.get("b", int64(1800*time.Millisecond)), "an idle session expires")
	tab.put("c", bb, int64(1900*time.Millisecond))
	assert.Equal(t, 2, tab.len(), "expired sessions are swept on insert")
	tab.put("d", bb, int64(1900*time.Millisecond))
	tab.put("e", bb, int64(1900*time.Millisecond))
	assert.LessOrEqual(t, tab.len(), 3, "the table stays within its cap")
	assert.Same(t, bb, tab.get("e", int64(1900*time.Millisecond)))
}

func TestSidFromOpen(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`0{"sid":"abc","upgrades":[]}`:              "abc",
		`96:0{"sid":"eio3","upgrades":[]}`:          "eio3",
		"0{\"sid\":\"x\"}\x1e40{\"sid\":\"other\"}": "x",
		`4{"sid":"not-open"}`:                       "",
		`{"sid":"no-type"}`:                         "",
		`0{"sid":`:                                  "",
		`garbage`:                                   "",
	}
	for body, want := range tests {
		assert.Equal(t, want, sidFromOpen([]byte(body)), body)
	}
}
