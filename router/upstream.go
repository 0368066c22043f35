package router

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// upstreamHeaders calls emit for each header line of the request head the
// backend gets for r: r's headers less the hop-by-hop ones and those its
// Connection header names, less Content-Length and Expect (the router
// frames the body itself and sends it at once), internal headers, the
// client's forwarding headers unless the peer is a trusted proxy, and
// Accept-Encoding on an Engine.IO handshake (its open packet must arrive
// uncompressed to be read); then X-Forwarded-For/Host/Proto. It is
// removeHopByHop and setForwarding applied to a clone of r.Header, without
// building the clone, whose map and sorted write cost a tenth of the
// router's CPU per small request.
func (rt *Router) upstreamHeaders(r *http.Request, handshake bool, emit func(k, v string)) {
	peerStr, peer := peerString(r.RemoteAddr)
	trusted := rt.trusts(peer)
	var listed []string // canonical names the Connection header makes hop-by-hop
	for _, v := range r.Header["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				listed = append(listed, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	var hasHost, hasProto bool
	for k, vs := range r.Header {
		switch {
		case isForwardingHeader(k):
			// From a trusted proxy they are kept even when Connection
			// names them, as setForwarding does.
			if !trusted || k == "X-Forwarded-For" {
				continue // X-Forwarded-For is extended below
			}
			if k == "X-Forwarded-Host" || k == "X-Forwarded-Proto" {
				if len(vs) == 0 || vs[0] == "" {
					continue // replaced below
				}
				hasHost = hasHost || k == "X-Forwarded-Host"
				hasProto = hasProto || k == "X-Forwarded-Proto"
			}
		case isHopByHop(k), k == "Content-Length", k == "Expect", isInternal(k),
			handshake && k == "Accept-Encoding", listed != nil && containsString(listed, k):
			continue
		}
		for _, v := range vs {
			emit(k, v)
		}
	}
	xff := peerStr
	if prior := r.Header["X-Forwarded-For"]; trusted && len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + peerStr
	}
	emit("X-Forwarded-For", xff)
	if !hasHost {
		emit("X-Forwarded-Host", r.Host)
	}
	if !hasProto {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		emit("X-Forwarded-Proto", proto)
	}
}

// peerString returns the address part of a RemoteAddr as
// X-Forwarded-For carries it ("unknown" when it cannot be parsed) and
// parsed as peerIP does. An IPv4 address is used as written, which is its
// canonical form, instead of being formatted again.
func peerString(remoteAddr string) (string, netip.Addr) {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown", netip.Addr{}
	}
	if a.Is4() {
		return host, a
	}
	a = a.Unmap().WithZone("")
	return a.String(), a
}

// isHopByHop reports whether canonical key k is in hopByHop.
func isHopByHop(k string) bool {
	for _, h := range hopByHop {
		if k == h {
			return true
		}
	}
	return false
}

func isInternal(k string) bool {
	return len(k) >= len(internalPrefix) && strings.EqualFold(k[:len(internalPrefix)], internalPrefix)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeHeaderLine writes "k: v\r\n", keeping it one line whatever a hook
// put in k or v.
func writeHeaderLine(bw *bufio.Writer, k, v string) {
	bw.WriteString(oneLine(k))
	bw.WriteString(": ")
	bw.WriteString(oneLine(v))
	bw.WriteString("\r\n")
}

// oneLine is sanitize without an allocation for the usual clean value.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		return sanitize(s)
	}
	return s
}
