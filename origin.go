package luckystack

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORSRejectedEvent is the payload of CORSRejected.
type CORSRejectedEvent struct {
	Origin           string
	NormalizedOrigin string
	Method           string
	Route            string
}

// CORSRejected fires (synchronously, stop ignored) when an origin is refused.
var CORSRejected = NewHook[CORSRejectedEvent]("corsRejected")

// errOriginRefused is the handshake refusal; its text reaches the client's
// 403 body.
var errOriginRefused = errors.New("Forbidden")

// originPolicy decides which browser origins may talk to the server.
type originPolicy struct {
	srv  *Server
	list []string // normalised
}

func newOriginPolicy(s *Server) *originPolicy {
	p := &originPolicy{srv: s}
	for _, o := range s.cfg.HTTP.CORS.AllowedOrigins {
		if n, ok := normalizeOrigin(o, s.secure()); ok {
			p.list = append(p.list, n)
		}
	}
	return p
}

func (s *Server) secure() bool { return *s.cfg.HTTP.SessionCookieSecure }

// normalizeOrigin folds an origin (or a Referer URL) to scheme://host[:port]
// lowercase, without the scheme's default port. A bare host gets http://, or
// https:// when secure.
func normalizeOrigin(raw string, secure bool) (string, bool) {
	raw = strings.ToLower(strings.TrimSpace(raw))
	if raw == "" || raw == "null" {
		return "", false
	}
	if !strings.Contains(raw, "://") {
		if secure {
			raw = "https://" + raw
		} else {
			raw = "http://" + raw
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return "", false
	}
	host, port := u.Hostname(), u.Port()
	if _, ok := atoiOK(port); port != "" && !ok {
		return "", false
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return u.Scheme + "://" + host + ":" + port, true
	}
	return u.Scheme + "://" + host, true
}

func isLocalhostOrigin(n string) bool {
	u, err := url.Parse(n)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// sameOrigin is the server's own origin, from its bind address.
func (p *originPolicy) sameOrigin() string {
	scheme := "http"
	if p.srv.secure() {
		scheme = "https"
	}
	port := p.srv.port
	if addr := p.srv.Addr(); addr != "" {
		if _, ps, err := net.SplitHostPort(addr); err == nil {
			if n, ok := atoiOK(ps); ok {
				port = n
			}
		}
	}
	n, _ := normalizeOrigin(scheme+"://"+net.JoinHostPort(p.srv.ip, itoa(port)), p.srv.secure())
	return n
}

// allowed reports whether a (raw) origin may use the server.
func (p *originPolicy) allowed(origin string) bool {
	n, ok := normalizeOrigin(origin, p.srv.secure())
	if !ok {
		return false
	}
	cors := p.srv.cfg.HTTP.CORS
	switch {
	case cors.AllowLocalhost && isLocalhostOrigin(n):
		return true
	case n == p.sameOrigin():
		return true
	case slices.Contains(p.list, n):
		return true
	case cors.AllowOrigin != nil && cors.AllowOrigin(n):
		return true
	}
	return false
}

// AllowedOrigin reports whether origin passes the server's origin policy.
func (s *Server) AllowedOrigin(origin string) bool { return s.origins.allowed(origin) }

// checkRequestOrigin applies the HTTP origin gate: GET, HEAD and OPTIONS
// without Origin/Referer pass; state-changing methods need one that is
// allowed.
func (s *Server) checkRequestOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return true
		}
		s.rejectOrigin(r, "")
		return false
	}
	if s.origins.allowed(origin) {
		return true
	}
	s.rejectOrigin(r, origin)
	return false
}

func (s *Server) rejectOrigin(r *http.Request, origin string) {
	n, _ := normalizeOrigin(origin, s.secure())
	DispatchHook(r.Context(), s, CORSRejected, &CORSRejectedEvent{Origin: sanitizeOrigin(origin), NormalizedOrigin: n, Method: r.Method, Route: r.URL.Path})
}

// sanitizeOrigin keeps a loggable, bounded form of a client-sent origin.
func sanitizeOrigin(o string) string {
	var b strings.Builder
	for _, c := range o {
		if b.Len() >= 512 {
			break
		}
		if c >= 0x20 && c < 0x7f {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// allowSocketRequest is the Engine.IO handshake gate: a handshake without
// Origin is admitted (same-origin pages and non-browser clients), one with a
// refused Origin gets 403 before any connect handler runs.
func (s *Server) allowSocketRequest(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || s.origins.allowed(origin) {
		return nil
	}
	s.rejectOrigin(r, origin)
	return errOriginRefused
}

func atoiOK(s string) (int, bool) {
	n := 0
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return n, true
}
