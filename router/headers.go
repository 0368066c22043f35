package router

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 section 7.6.1, plus the legacy Proxy-Connection); a proxy never
// forwards them. Headers named in Connection are hop-by-hop too.
var hopByHop = [...]string{
	"Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Proxy-Connection",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopByHop deletes the hop-by-hop headers of h, including those its
// Connection header lists.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		delete(h, name)
	}
}

// internalPrefix marks headers between the router and its backends; clients
// can neither send nor receive them.
const internalPrefix = "X-Luckystack-"

// removeInternal deletes X-Luckystack-* headers.
func removeInternal(h http.Header) {
	for k := range h {
		if isInternal(k) {
			delete(h, k)
		}
	}
}

// isForwardingHeader reports whether canonical key k carries a client or
// proxy address that only a trusted peer may set.
func isForwardingHeader(k string) bool {
	return strings.HasPrefix(k, "X-Forwarded-") || k == "X-Real-Ip" || k == "Forwarded"
}

// peerIP returns the address part of a RemoteAddr, canonical (IPv4-mapped
// IPv6 unmapped, zone dropped); invalid when it cannot be parsed.
func peerIP(remoteAddr string) netip.Addr {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// trusts reports whether peer is one of the configured trusted proxies.
func (rt *Router) trusts(peer netip.Addr) bool {
	if !peer.IsValid() {
		return false
	}
	for _, p := range rt.trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// setForwarding writes the forwarding headers of out, the upstream copy of
// in's headers. From an untrusted peer every client-sent forwarding header
// is dropped, so a client cannot pose as another address; from a trusted
// proxy they are kept and X-Forwarded-For is extended with that proxy.
// Internal headers are always dropped.
func (rt *Router) setForwarding(out http.Header, in *http.Request) {
	peer := peerIP(in.RemoteAddr)
	trusted := rt.trusts(peer)
	for k := range out {
		if isForwardingHeader(k) {
			delete(out, k)
		}
	}
	removeInternal(out)
	if trusted {
		for k, v := range in.Header {
			if isForwardingHeader(k) {
				out[k] = v
			}
		}
	}
	peerStr := "unknown"
	if peer.IsValid() {
		peerStr = peer.String()
	}
	xff := peerStr
	if prior := in.Header["X-Forwarded-For"]; trusted && len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + peerStr
	}
	out["X-Forwarded-For"] = []string{xff}
	if out.Get("X-Forwarded-Host") == "" {
		out["X-Forwarded-Host"] = []string{in.Host}
	}
	if out.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if in.TLS != nil {
			proto = "https"
		}
		out["X-Forwarded-Proto"] = []string{proto}
	}
}

// headSize estimates the bytes of r's request head as sent on the wire.
func headSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 // spaces, CRLF
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + 2
}

// originForm reports whether a request target is in origin form ("/path"),
// the only form a router in front of its own backends accepts: an absolute
// ("http://other/") or protocol-relative ("//other/") target could make a
// backend build URLs to another host.
func originForm(target string) bool {
	return len(target) > 0 && target[0] == '/' && (len(target) == 1 || target[1] != '/')
}
