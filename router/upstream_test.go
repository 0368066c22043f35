package router

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpstreamHeadersMatchTheMapRules checks the forwarder's inline header
// filter against the map-based rules the upgrade path applies to a clone
// (removeHopByHop, setForwarding), over requests that exercise each rule.
func TestUpstreamHeadersMatchTheMapRules(t *testing.T) {
	t.Parallel()
	base := http.Header{
		"Accept":              {"*/*"},
		"Accept-Encoding":     {"gzip"},
		"Cookie":              {"a=1", "b=2"},
		"Content-Length":      {"5"},
		"Expect":              {"100-continue"},
		"Keep-Alive":          {"timeout=5"},
		"Te":                  {"trailers"},
		"Transfer-Encoding":   {"chunked"},
		"Upgrade":             {"h2c"},
		"Proxy-Authorization": {"secret"},
		"X-Custom":            {"kept unless listed"},
		"X-Luckystack-Env":    {"prod"},
		"X-Forwarded-For":     {"6.6.6.6", "7.7.7.7"},
		"X-Forwarded-Host":    {"evil.example"},
		"X-Forwarded-Proto":   {"https"},
		"X-Real-Ip":           {"6.6.6.6"},
		"Forwarded":           {"for=6.6.6.6"},
	}
	with := func(k string, v ...string) http.Header {
		h := base.Clone()
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	cases := []struct {
		name       string
		remote     string
		header     http.Header
		tls        bool
		handshake  bool
		trustedNet []string
	}{
		{name: "untrusted", remote: "127.0.0.1:5000", header: base},
		{name: "trusted", remote: "10.1.2.3:5000", header: base, trustedNet: []string{"10.0.0.0/8"}},
		{name: "trusted, empty forwarded host", remote: "10.1.2.3:5000", header: with("X-Forwarded-Host", ""), trustedNet: []string{"10.0.0.0/8"}},
		{name: "trusted, no prior hops", remote: "10.1.2.3:5000", header: with("X-Forwarded-For"), trustedNet: []string{"10.0.0.0/8"}},
		{name: "connection names headers", remote: "127.0.0.1:5000", header: with("Connection", "keep-alive, x-custom", "Cookie")},
		{name: "trusted, connection names a forwarding header", remote: "10.1.2.3:5000",
			header: with("Connection", "X-Forwarded-Host"), trustedNet: []string{"10.0.0.0/8"}},
		{name: "ipv6 peer", remote: "[2001:db8::1%eth0]:5000", header: base},
		{name: "ipv4-mapped peer", remote: "[::ffff:10.1.2.3]:5000", header: base, trustedNet: []string{"10.0.0.0/8"}},
		{name: "unparsable peer", remote: "pipe", header: base},
		{name: "tls, handshake", remote: "127.0.0.1:5000", header: base, tls: true, handshake: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt, err := New(Config{Services: map[string][]string{"system": {"http://127.0.0.1:1"}}, TrustedProxies: tc.trustedNet})
			require.NoError(t, err)
			r := &http.Request{Method: http.MethodGet, Host: "front.example", RemoteAddr: tc.remote, Header: tc.header.Clone()}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}

			want := r.Header.Clone()
			removeHopByHop(want)
			rt.setForwarding(want, r)
			delete(want, "Content-Length")
			delete(want, "Expect")
			if tc.handshake {
				delete(want, "Accept-Encoding")
			}

			got := http.Header{}
			rt.upstreamHeaders(r, tc.handshake, func(k, v string) { got[k] = append(got[k], v) })
			assert.Equal(t, want, got)
			assert.Equal(t, tc.header, r.Header, "the client's request is left as it was")
		})
	}
}
