package luckystack

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"encoding/json"

	"github.com/luckystack/luckystack-go/socketio"
)

// ExtractTokenFromSocket returns the session token of a socket: in token mode
// handshake auth.token first, else the session cookie; in cookie mode the
// cookie only (auth.token too with AcceptBearerInCookieMode).
func (s *Server) ExtractTokenFromSocket(sock *socketio.Socket) string {
	return s.extractTokenFromSocket(sock)
}

func (s *Server) extractTokenFromSocket(sock *socketio.Socket) string {
	cookie := cookieValue(sock.Header("Cookie"), s.cfg.HTTP.SessionCookieName)
	var auth struct {
		Token json.RawMessage `json:"token"`
	}
	var authToken string
	if raw := sock.Auth(); len(raw) > 0 && json.Unmarshal(raw, &auth) == nil {
		_ = json.Unmarshal(auth.Token, &authToken) // only a string counts
	}
	return s.pickToken(cookie, authToken)
}

// ExtractTokenFromRequest returns the session token of an HTTP request, with
// Authorization: Bearer in the role of auth.token.
func (s *Server) ExtractTokenFromRequest(r *http.Request) string {
	// The same parser as the handshake's, so both transports agree on odd
	// cookies; HTTP/2 may split the header, hence the join.
	cookie := cookieValue(strings.Join(r.Header.Values("Cookie"), "; "), s.cfg.HTTP.SessionCookieName)
	bearer := ""
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		if v, ok := strings.CutPrefix(h[0], "Bearer "); ok {
			bearer = strings.TrimSpace(v)
		}
	}
	return s.pickToken(cookie, bearer)
}

func (s *Server) pickToken(cookie, bearer string) string {
	if s.cfg.Session.BasedToken {
		if bearer != "" {
			return bearer
		}
		return cookie
	}
	if cookie != "" {
		return cookie
	}
	if s.cfg.HTTP.AcceptBearerInCookieMode {
		return bearer
	}
	return ""
}

// cookieValue finds name in a Cookie header, URL-decoded (raw when decoding
// fails); an empty value counts as absent.
func cookieValue(header, name string) string {
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		return decodeCookie(strings.TrimSpace(v))
	}
	return ""
}

// decodeCookie decodes like JavaScript's decodeURIComponent: "+" stays a
// plus, and a malformed escape or invalid UTF-8 leaves the value raw.
func decodeCookie(v string) string {
	if d, err := url.PathUnescape(v); err == nil && utf8.ValidString(d) {
		return d
	}
	return v
}

// localeFromHeaders picks the first language of x-language, else of
// accept-language (q-values ignored, order kept), as a short lowercase code.
// RequestLocale is the caller's preferred language from X-Language, else
// Accept-Language, as a short lower-case code ("" when none): the locale
// the api and sync modules translate error messages into over HTTP, as the
// socket layer does from the handshake headers.
func RequestLocale(r *http.Request) string {
	return localeFromHeaders(r.Header.Get("X-Language"), r.Header.Get("Accept-Language"))
}

func localeFromHeaders(xLanguage, acceptLanguage string) string {
	for _, h := range []string{xLanguage, acceptLanguage} {
		for _, part := range strings.Split(h, ",") {
			tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			code, _, _ := strings.Cut(tag, "-")
			code = strings.ToLower(strings.TrimSpace(code))
			if code != "" && code != "*" {
				return code
			}
		}
	}
	return ""
}

// ClientIP returns the client address of a request: the peer, or with trusted
// proxies the X-Forwarded-For hop TrustedProxyHopCount from the right, else
// X-Real-IP. A peer inside Config.HTTP.TrustedProxies is trusted even
// without TrustProxy, so backends behind the router see real clients.
func (s *Server) ClientIP(r *http.Request) string {
	return s.resolveIP(r.RemoteAddr, r.Header)
}

func (s *Server) clientIPFromSocket(sock *socketio.Socket) string {
	return s.resolveIP(sock.RemoteAddr(), http.Header{
		"X-Forwarded-For": {sock.Header("X-Forwarded-For")},
		"X-Real-Ip":       {sock.Header("X-Real-IP")},
	})
}

func (s *Server) resolveIP(remote string, h http.Header) string {
	peer := canonicalIP(remote)
	if !s.trusts(peer) {
		return peer
	}
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				hops = append(hops, p)
			}
		}
	}
	if len(hops) > 0 {
		i := len(hops) - s.cfg.HTTP.TrustedProxyHopCount
		if i < 0 {
			i = 0
		}
		if ip := canonicalIP(hops[i]); ip != "unknown" {
			return ip
		}
	}
	if ip := canonicalIP(h.Get("X-Real-IP")); ip != "unknown" {
		return ip
	}
	return peer
}

func (s *Server) trusts(peer string) bool {
	if s.cfg.HTTP.TrustProxy {
		return true
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil {
		return false
	}
	for _, c := range s.cfg.HTTP.TrustedProxies {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// canonicalIP strips ports, zones and the IPv4-mapped prefix; "unknown" when
// there is no address.
func canonicalIP(a string) string {
	a = strings.TrimSpace(a)
	if host, _, err := net.SplitHostPort(a); err == nil {
		a = host
	}
	a = strings.Trim(a, "[]")
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return "unknown"
	}
	return addr.Unmap().WithZone("").String()
}
