package luckystack

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestNormalizeOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		secure bool
		want   string // "" = invalid
	}{
		{"http://example.com", false, "http://example.com"},
		{"HTTP://Example.COM", false, "http://example.com"},
		{"  http://a.example  ", false, "http://a.example"},
		{"http://example.com:80", false, "http://example.com"},
		{"https://example.com:443", false, "https://example.com"},
		{"https://example.com:80", false, "https://example.com:80"},
		{"http://example.com:443", false, "http://example.com:443"},
		{"http://example.com:8080/", false, "http://example.com:8080"},
		{"https://app.example/some/page?q=1#frag", false, "https://app.example"}, // a Referer
		{"example.com", false, "http://example.com"},
		{"example.com", true, "https://example.com"},
		{"example.com:3000", false, "http://example.com:3000"},
		{"example.com:443", true, "https://example.com"},
		{"http://[::1]:3000", false, "http://[::1]:3000"},
		{"[::1]:3000", false, "http://[::1]:3000"},
		{"http://[::1]:80", false, "http://[::1]"},
		{"", false, ""},
		{"null", false, ""},
		{"ftp://example.com", false, ""},
		{"http://", false, ""},
		{"http://user@example.com", false, ""},
		{"http://example.com:99999", false, ""},
		{"http://example.com:abc", false, ""},
		{"javascript:alert(1)", false, ""},
	}
	for _, tc := range tests {
		got, ok := normalizeOrigin(tc.in, tc.secure)
		assert.Equal(t, tc.want != "", ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q secure=%v", tc.in, tc.secure)
	}
}

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		allow   []string
		deny    []string
		sameAdd bool // also check the bound same-origin
	}{
		{
			name:  "same origin only by default",
			opts:  Options{},
			allow: []string{"http://127.0.0.1", "HTTP://127.0.0.1:80"},
			deny:  []string{"http://localhost", "http://127.0.0.1:8080", "https://127.0.0.1", "https://evil.example", "null", ""},
		},
		{
			name:  "localhost flag",
			opts:  Options{Config: Config{HTTP: HTTPConfig{CORS: CORSConfig{AllowLocalhost: true}}}},
			allow: []string{"http://localhost:5173", "https://localhost", "http://127.0.0.1:9999", "http://[::1]:8080", "localhost:3000"},
			deny:  []string{"http://localhost.evil.example", "http://127.0.0.2", "http://evil.example"},
		},
		{
			name:  "list is normalised",
			opts:  Options{Config: Config{HTTP: HTTPConfig{CORS: CORSConfig{AllowedOrigins: []string{"HTTPS://App.Example:443", "partner.example", "http://dev.example:8080/"}}}}},
			allow: []string{"https://app.example", "https://APP.example:443", "http://partner.example", "http://dev.example:8080"},
			deny:  []string{"http://app.example", "https://partner.example", "http://dev.example", "http://localhost"},
		},
		{
			name:  "bare list entries are https when secure",
			opts:  Options{Config: Config{HTTP: HTTPConfig{SessionCookieSecure: ptr(true), CORS: CORSConfig{AllowedOrigins: []string{"partner.example"}}}}},
			allow: []string{"https://partner.example", "https://127.0.0.1:80"},
			deny:  []string{"http://partner.example", "http://127.0.0.1"},
		},
		{
			name: "predicate sees the normalised origin",
			opts: Options{Config: Config{HTTP: HTTPConfig{CORS: CORSConfig{AllowOrigin: func(n string) bool {
				return n == "https://pred.example" || strings.HasSuffix(n, ".trusted.example")
			}}}}},
			allow: []string{"HTTPS://PRED.example:443", "https://a.trusted.example", "http://127.0.0.1"},
			deny:  []string{"http://pred.example", "https://trusted.example.evil"},
		},
		{
			name:  "EXTERNAL_ORIGINS",
			opts:  Options{Getenv: envMap(map[string]string{"EXTERNAL_ORIGINS": "https://ext.example, http://other.example:81"})},
			allow: []string{"https://ext.example", "http://other.example:81"},
			deny:  []string{"https://other.example"},
		},
		{
			name:  "SERVER_IP is the same origin",
			opts:  Options{Port: 8080, Getenv: envMap(map[string]string{"SERVER_IP": "10.1.2.3"})},
			allow: []string{"http://10.1.2.3:8080"},
			deny:  []string{"http://127.0.0.1:8080", "http://10.1.2.3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.opts)
			for _, o := range tc.allow {
				assert.True(t, srv.AllowedOrigin(o), "allow %q", o)
			}
			for _, o := range tc.deny {
				assert.False(t, srv.AllowedOrigin(o), "deny %q", o)
			}
		})
	}
}

// corsLog records corsRejected dispatches.
type corsLog struct {
	mu  sync.Mutex
	evs []CORSRejectedEvent
}

func watchCORS(srv *Server) *corsLog {
	l := &corsLog{}
	RegisterHook(srv, CORSRejected, func(_ context.Context, e *CORSRejectedEvent) error {
		l.mu.Lock()
		l.evs = append(l.evs, *e)
		l.mu.Unlock()
		return StopWith("ignored", 0) // a stop changes nothing here
	})
	return l
}

func (l *corsLog) take() []CORSRejectedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.evs
	l.evs = nil
	return out
}

func TestHTTPOriginGate(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{HTTP: HTTPConfig{CORS: CORSConfig{AllowedOrigins: []string{"https://app.example"}}}}})
	cors := watchCORS(srv)

	res := do(t, ts, "GET", "/livez", nil, "")
	assert.Equal(t, 200, res.code, "GET without Origin passes")
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	for _, m := range []string{"POST", "PUT", "DELETE"} {
		res = do(t, ts, m, "/livez", nil, "")
		assert.Equal(t, 403, res.code, "%s without Origin or Referer", m)
		assert.Equal(t, "Forbidden\n", res.body)
	}
	evs := cors.take()
	require.Len(t, evs, 3)
	assert.Equal(t, CORSRejectedEvent{Method: "POST", Route: "/livez"}, evs[0])

	res = do(t, ts, "POST", "/livez", hdr("Referer", "https://app.example/page"), "")
	assert.Equal(t, 200, res.code, "an allowed Referer stands in for Origin")

	res = do(t, ts, "POST", "/livez", hdr("Origin", "https://APP.example:443"), "")
	assert.Equal(t, 200, res.code)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))

	res = do(t, ts, "GET", "/livez", hdr("Origin", "https://evil.example"), "")
	assert.Equal(t, 403, res.code, "a refused Origin is refused on GET too")
	res = do(t, ts, "POST", "/livez", hdr("Referer", "https://evil.example/x"), "")
	assert.Equal(t, 403, res.code)
	evs = cors.take()
	require.Len(t, evs, 2)
	assert.Equal(t, CORSRejectedEvent{Origin: "https://evil.example", NormalizedOrigin: "https://evil.example", Method: "GET", Route: "/livez"}, evs[0])
	assert.Equal(t, "https://evil.example/x", evs[1].Origin)

	res = do(t, ts, "OPTIONS", "/api/x", hdr("Origin", "https://app.example"), "")
	assert.Equal(t, 204, res.code, "preflight")
	assert.Equal(t, "GET, POST, PUT, DELETE, OPTIONS", res.header.Get("Access-Control-Allow-Methods"))
}

func TestSocketHandshakeOriginGate(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{HTTP: HTTPConfig{CORS: CORSConfig{AllowedOrigins: []string{"https://app.example"}}}}})
	cors := watchCORS(srv)
	var connects, middlewares atomic.Int32
	RegisterHook(srv, OnSocketConnect, func(context.Context, *SocketConnectEvent) error { connects.Add(1); return nil })
	srv.RegisterSocketMiddleware("count", func(context.Context, *socketio.Socket) error { middlewares.Add(1); return nil })

	// Polling handshake.
	res := do(t, ts, "GET", "/socket.io/?EIO=4&transport=polling", hdr("Origin", "https://evil.example"), "")
	assert.Equal(t, 403, res.code)
	assert.JSONEq(t, `{"code":4,"message":"Forbidden"}`, res.body)
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	// WebSocket handshake.
	_, err := dialErr(t, ts, sioclient.Options{Header: hdr("Origin", "https://evil.example")})
	var he *sioclient.HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)

	evs := cors.take()
	require.Len(t, evs, 2)
	for _, e := range evs {
		assert.Equal(t, "https://evil.example", e.NormalizedOrigin)
		assert.Equal(t, "/socket.io/", e.Route)
	}
	assert.Zero(t, middlewares.Load(), "refused before any middleware")
	assert.Zero(t, connects.Load(), "refused before any connect handler")

	// Allowed and absent origins pass on both transports.
	res = do(t, ts, "GET", "/socket.io/?EIO=4&transport=polling", hdr("Origin", "https://app.example"), "")
	assert.Equal(t, 200, res.code)
	assert.True(t, strings.HasPrefix(res.body, `0{"sid":`), res.body)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	res = do(t, ts, "GET", "/socket.io/?EIO=4&transport=polling", nil, "")
	assert.Equal(t, 200, res.code, "a handshake without Origin is admitted")

	dial(t, ts, sioclient.Options{Header: hdr("Origin", "https://app.example")})
	dial(t, ts, sioclient.Options{})
	dial(t, ts, sioclient.Options{Header: hdr("Origin", ts.Origin)})
	assert.Equal(t, int32(3), connects.Load())
	assert.Empty(t, cors.take())
}

func TestSanitizeOrigin(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "http://a.example", sanitizeOrigin("http://a.\x00exa\nmple\x7f"))
	assert.Equal(t, "ab", sanitizeOrigin("aé😀b"))
	assert.Len(t, sanitizeOrigin(strings.Repeat("x", 2000)), 512)
}
