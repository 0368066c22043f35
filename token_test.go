package luckystack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

func TestSocketTokenPrecedence(t *testing.T) {
	t.Parallel()
	cookieMode := Config{}
	cookieBearer := Config{HTTP: HTTPConfig{AcceptBearerInCookieMode: true}}
	tokenMode := Config{Session: SessionConfig{BasedToken: true}}
	custom := Config{HTTP: HTTPConfig{SessionCookieName: "sid"}}
	tests := []struct {
		name   string
		cfg    Config
		cookie string // Cookie header
		auth   any
		want   string
	}{
		{"cookie mode: cookie", cookieMode, "token=c1", nil, "c1"},
		{"cookie mode: auth ignored", cookieMode, "", map[string]any{"token": "a1"}, ""},
		{"cookie mode: cookie beats auth", cookieMode, "token=c1", map[string]any{"token": "a1"}, "c1"},
		{"cookie mode + bearer: auth fallback", cookieBearer, "", map[string]any{"token": "a1"}, "a1"},
		{"cookie mode + bearer: cookie first", cookieBearer, "token=c1", map[string]any{"token": "a1"}, "c1"},
		{"cookie mode + bearer: empty cookie is absent", cookieBearer, "token=", map[string]any{"token": "a1"}, "a1"},
		{"token mode: auth", tokenMode, "", map[string]any{"token": "a1"}, "a1"},
		{"token mode: auth beats cookie", tokenMode, "token=c1", map[string]any{"token": "a1"}, "a1"},
		{"token mode: cookie fallback", tokenMode, "token=c1", nil, "c1"},
		{"token mode: non-string auth token", tokenMode, "token=c1", map[string]any{"token": 42}, "c1"},
		{"token mode: empty auth", tokenMode, "", map[string]any{}, ""},
		{"url-decoded cookie", cookieMode, "token=a%2Fb%3D", nil, "a/b="},
		{"plus stays a plus", cookieMode, "token=a+b", nil, "a+b"},
		{"malformed escape stays raw", cookieMode, "token=a%zzb", nil, "a%zzb"},
		{"invalid utf-8 escape stays raw", cookieMode, "token=%ff", nil, "%ff"},
		{"empty cookie is absent", cookieMode, "token=", nil, ""},
		{"among other cookies", cookieMode, "a=1; token=c1; b=2", nil, "c1"},
		{"name must match exactly", cookieMode, "xtoken=c1; tokenx=c2", nil, ""},
		{"first occurrence wins", cookieMode, "token=first; token=second", nil, "first"},
		{"custom cookie name", custom, "token=c1; sid=s1", nil, "s1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, ts := newHTTPServer(t, Options{Config: tc.cfg})
			got := make(chan string, 1)
			RegisterHook(srv, OnSocketConnect, func(_ context.Context, e *SocketConnectEvent) error {
				got <- e.Token
				assert.Equal(t, e.Token, e.Client.Token())
				return nil
			})
			opts := sioclient.Options{Auth: tc.auth}
			if tc.cookie != "" {
				opts.Header = hdr("Cookie", tc.cookie)
			}
			dial(t, ts, opts)
			assert.Equal(t, tc.want, <-got)
		})
	}
}

func TestRequestTokenPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		headers http.Header
		want    string
	}{
		{"cookie mode: cookie", Config{}, hdr("Cookie", "token=c1"), "c1"},
		{"cookie mode: bearer ignored", Config{}, hdr("Authorization", "Bearer b1"), ""},
		{"cookie mode: cookie beats bearer", Config{}, hdr("Cookie", "token=c1", "Authorization", "Bearer b1"), "c1"},
		{"cookie mode + bearer", Config{HTTP: HTTPConfig{AcceptBearerInCookieMode: true}}, hdr("Authorization", "Bearer b1"), "b1"},
		{"token mode: bearer beats cookie", Config{Session: SessionConfig{BasedToken: true}}, hdr("Cookie", "token=c1", "Authorization", "Bearer b1"), "b1"},
		{"token mode: cookie fallback", Config{Session: SessionConfig{BasedToken: true}}, hdr("Cookie", "token=c1"), "c1"},
		{"token mode: first Authorization value", Config{Session: SessionConfig{BasedToken: true}}, hdr("Authorization", "Bearer first", "Authorization", "Bearer second"), "first"},
		{"token mode: not a bearer", Config{Session: SessionConfig{BasedToken: true}}, hdr("Authorization", "Basic Zm9v"), ""},
		{"url-decoded cookie", Config{}, hdr("Cookie", "token=a%20b"), "a b"},
		{"split cookie headers", Config{}, hdr("Cookie", "a=1", "Cookie", "token=c1"), "c1"},
		{"empty cookie is absent", Config{}, hdr("Cookie", "token="), ""},
		{"cookie with a quote", Config{}, hdr("Cookie", `token=a"b`), `a"b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, Options{Config: tc.cfg})
			r := httptest.NewRequest("GET", "/", nil)
			r.Header = tc.headers
			assert.Equal(t, tc.want, srv.ExtractTokenFromRequest(r))
		})
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trust := Config{HTTP: HTTPConfig{TrustProxy: true}}
	trust2 := Config{HTTP: HTTPConfig{TrustProxy: true, TrustedProxyHopCount: 2}}
	trust9 := Config{HTTP: HTTPConfig{TrustProxy: true, TrustedProxyHopCount: 9}}
	cidr := Config{HTTP: HTTPConfig{TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}}}
	tests := []struct {
		name    string
		cfg     Config
		remote  string
		headers http.Header
		want    string
	}{
		{"peer", Config{}, "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted forwarding headers are ignored", Config{}, "203.0.113.5:1234", hdr("X-Forwarded-For", "1.1.1.1", "X-Real-IP", "2.2.2.2"), "203.0.113.5"},
		{"IPv4-mapped peer", Config{}, "[::ffff:192.0.2.1]:80", nil, "192.0.2.1"},
		{"IPv6 peer lower-cased, zone dropped", Config{}, "[FE80::1%eth0]:80", nil, "fe80::1"},
		{"no peer", Config{}, "", nil, "unknown"},
		{"one hop: rightmost entry", trust, "10.0.0.1:1", hdr("X-Forwarded-For", "6.6.6.6, 1.1.1.1"), "1.1.1.1"},
		{"two hops", trust2, "10.0.0.1:1", hdr("X-Forwarded-For", "6.6.6.6, 1.1.1.1, 10.0.0.2"), "1.1.1.1"},
		{"hop count beyond the list clamps to the leftmost", trust9, "10.0.0.1:1", hdr("X-Forwarded-For", "1.1.1.1, 10.0.0.2"), "1.1.1.1"},
		{"repeated headers form one list", trust, "10.0.0.1:1", hdr("X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "1.1.1.1"), "1.1.1.1"},
		{"mapped forwarded entry", trust, "10.0.0.1:1", hdr("X-Forwarded-For", "::ffff:1.2.3.4"), "1.2.3.4"},
		{"garbage hop falls back to X-Real-IP", trust, "10.0.0.1:1", hdr("X-Forwarded-For", "nonsense", "X-Real-IP", "2.2.2.2"), "2.2.2.2"},
		{"X-Real-IP", trust, "10.0.0.1:1", hdr("X-Real-IP", "2.2.2.2"), "2.2.2.2"},
		{"nothing forwarded: peer", trust, "10.0.0.1:1", nil, "10.0.0.1"},
		{"trusted CIDR peer", cidr, "10.9.8.7:1", hdr("X-Forwarded-For", "1.1.1.1"), "1.1.1.1"},
		{"trusted CIDR mapped peer", cidr, "[::ffff:10.9.8.7]:1", hdr("X-Forwarded-For", "1.1.1.1"), "1.1.1.1"},
		{"trusted IPv6 CIDR peer", cidr, "[fd00::5]:1", hdr("X-Real-IP", "2001:db8::9"), "2001:db8::9"},
		{"peer outside the CIDRs", cidr, "192.0.2.9:1", hdr("X-Forwarded-For", "1.1.1.1"), "192.0.2.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, Options{Config: tc.cfg})
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.headers != nil {
				r.Header = tc.headers
			}
			assert.Equal(t, tc.want, srv.ClientIP(r))
		})
	}
}

func TestSocketClientIP(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{HTTP: HTTPConfig{TrustedProxies: []string{"127.0.0.0/8"}}}})
	got := make(chan string, 2)
	RegisterHook(srv, OnSocketConnect, func(_ context.Context, e *SocketConnectEvent) error {
		got <- e.IP
		return nil
	})
	dial(t, ts, sioclient.Options{Header: hdr("X-Forwarded-For", "6.6.6.6, 198.51.100.7")})
	assert.Equal(t, "198.51.100.7", <-got)
	dial(t, ts, sioclient.Options{})
	assert.Equal(t, "127.0.0.1", <-got)
}

func TestLocaleFromHeaders(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "nl", localeFromHeaders("nl-NL", "en-US"))
	assert.Equal(t, "de", localeFromHeaders("", "de-DE;q=0.5, en;q=0.9"), "q-values ignored, order kept")
	assert.Equal(t, "fr", localeFromHeaders("*, FR", ""))
	assert.Empty(t, localeFromHeaders("", ""))
	require.Equal(t, "en", localeFromHeaders(" , en", ""))
}
