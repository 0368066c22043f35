package router

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Config configures [New]. Zero fields take the defaults their comments
// name, so a Config literal only sets what differs.
type Config struct {
	// Services maps a service name to the base URLs (http:// or https://,
	// no path) of its backends. At least one service is required.
	Services map[string][]string
	// DefaultService receives every request that names no known service.
	// Zero means "system".
	DefaultService string
	// WebSocketService receives every upgrade (any path) and every
	// /socket.io/ polling request, so both halves of one Socket.IO
	// connection reach the same backends. Zero means "system".
	WebSocketService string
	// TrustedProxies lists CIDRs (or bare addresses) of proxies in front of
	// the router whose X-Forwarded-*, X-Real-IP and Forwarded headers are
	// kept and extended. From any other peer those headers are dropped.
	// Nil trusts no one.
	TrustedProxies []string
	// MaxHeaderBytes caps the request head (request line and headers);
	// larger heads are answered 431. Zero means 64 KiB. The http.Server
	// in front must allow at least as much (its default is 1 MiB).
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading a request head on a connection of
	// [Router.Listener]'s own loop, from its first byte (or the
	// connection's start). Zero means 10s.
	ReadHeaderTimeout time.Duration
	// KeepAliveTimeout closes a connection of that loop idle this long
	// between requests (it also bounds reading a request body). Zero
	// means 2m; negative turns it off.
	KeepAliveTimeout time.Duration
	// HandshakeTimeout bounds an upgrade from dialling the backend to its
	// response head; beyond it the client gets 504. Zero means 30s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes an upgraded connection after this long without a
	// byte in either direction. Zero means 120s; negative turns it off
	// (the original's 0).
	IdleTimeout time.Duration
	// MaxBytesPerConnection closes an upgraded connection once this many
	// bytes crossed it in both directions together. Zero means no cap: a
	// lifetime cap disconnects busy clients for no reason (weak spot 35).
	MaxBytesPerConnection int64
	// TunnelLoops is how many event loops carry upgraded connections
	// whose legs are both plain TCP sockets of the router's own, on
	// Linux; at most GOMAXPROCS. Zero means (GOMAXPROCS+2)/4, none when
	// GOMAXPROCS is 1; negative means none: every upgraded connection is
	// then a pair of goroutines on Go's poller, which costs more system
	// calls per message (evLoop). The loops start with the first upgraded
	// connection and end with Close or Shutdown.
	TunnelLoops int
	// RefusedBackoff is how long a backend that refused a connection is
	// skipped for new sessions. Zero means 5s.
	RefusedBackoff time.Duration
	// StickyTTL is how long the router remembers which backend an
	// Engine.IO session lives on after its last request. Zero means 2m
	// (well above the 45s after which Engine.IO drops a silent session).
	StickyTTL time.Duration
	// MaxStickySessions caps that memory; the oldest sessions are forgotten
	// first. Zero means 1<<20.
	MaxStickySessions int
	// Dialer dials the backends. Nil means a net.Dialer with a 10s timeout
	// and 30s keep-alive. Its LocalAddr picks the router's source address.
	Dialer *net.Dialer
	// Logger receives diagnostics. Nil means silent.
	Logger *slog.Logger
}

// backend is one upstream server of a service.
type backend struct {
	url  *url.URL
	addr string // host:port to dial
	tls  bool
	// downUntil is the UnixNano until which the backend is skipped for new
	// sessions after refusing a connection.
	downUntil atomic.Int64
	pool      connPool
}

// service is a named list of backends with its round-robin cursor.
type service struct {
	name     string
	backends []*backend
	next     atomic.Uint64
}

func (c Config) withDefaults() Config {
	if c.DefaultService == "" {
		c.DefaultService = "system"
	}
	if c.WebSocketService == "" {
		c.WebSocketService = "system"
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.KeepAliveTimeout == 0 {
		c.KeepAliveTimeout = 2 * time.Minute
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 30 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.RefusedBackoff <= 0 {
		c.RefusedBackoff = 5 * time.Second
	}
	if c.StickyTTL <= 0 {
		c.StickyTTL = 2 * time.Minute
	}
	if c.MaxStickySessions <= 0 {
		c.MaxStickySessions = 1 << 20
	}
	if c.Dialer == nil {
		c.Dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// parseServices validates the service table.
func parseServices(in map[string][]string) (map[string]*service, error) {
	if len(in) == 0 {
		return nil, errors.New("router: no services configured")
	}
	out := make(map[string]*service, len(in))
	for name, urls := range in {
		if name == "" || strings.ContainsAny(name, "/?#") {
			return nil, fmt.Errorf("router: invalid service name %q", name)
		}
		svc := &service{name: name}
		for _, raw := range urls {
			b, err := parseBackend(raw)
			if err != nil {
				return nil, fmt.Errorf("router: service %q: %w", name, err)
			}
			svc.backends = append(svc.backends, b)
		}
		out[name] = svc
	}
	return out, nil
}

func parseBackend(raw string) (*backend, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("backend %q: want http://host[:port] or https://host[:port]", raw)
	}
	if u.Path != "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("backend %q: a backend URL has no path, query or user info", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &backend{url: u, addr: addr, tls: u.Scheme == "https"}, nil
}

// parsePrefixes reads CIDRs and bare addresses.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("router: trusted proxy %q is neither a CIDR nor an address", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// isUpgrade reports whether r asks to switch protocols.
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

// headerHasToken reports whether a field of h named name lists token, in
// any letter case, as one of its comma-separated values.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		if headerValueHasToken(v, token) {
			return true
		}
	}
	return false
}
