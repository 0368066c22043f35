package socketio

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// handshakeInfo is what the first HTTP request of a connection told us. All
// sockets of the connection share it, for the whole life of the connection,
// so it is kept compact: the headers in one string and the query unparsed.
// [Socket.Handshake] builds the maps on its first call and keeps them, so
// only connections whose handshake is asked for (FetchSockets, for one) pay
// for them, and they pay once.
type handshakeInfo struct {
	view atomic.Pointer[handshakeView]

	// headers holds "Canonical-Key\x00value\x00" per header value, in the
	// request's order. net/http refuses control characters in header
	// fields; a request built by hand that has one keeps a map instead.
	headers  string
	fallback http.Header
	url      string // request URI, with the query
	rawQuery string // a substring of url
	address  string
	time     time.Time
	secure   bool
	xdomain  bool
}

func newHandshakeInfo(r *http.Request) *handshakeInfo {
	hs := &handshakeInfo{
		address: remoteIP(r.RemoteAddr),
		time:    time.Now(),
		url:     r.RequestURI,
		secure:  r.TLS != nil,
		xdomain: r.Header.Get("Origin") != "",
	}
	if hs.url == "" { // a request not read by net/http's server
		hs.url = r.URL.RequestURI()
	}
	if i := strings.IndexByte(hs.url, '?'); i >= 0 {
		hs.rawQuery = hs.url[i+1:]
	}
	n := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				hs.fallback = r.Header.Clone()
				return hs
			}
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	for k, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	hs.headers = b.String()
	return hs
}

// each calls fn for every header value until fn returns false.
func (hs *handshakeInfo) each(fn func(key, value string) bool) {
	rest := hs.headers
	for rest != "" {
		k, after, _ := strings.Cut(rest, "\x00")
		v, after2, _ := strings.Cut(after, "\x00")
		if !fn(k, v) {
			return
		}
		rest = after2
	}
}

// header returns the first value of the header name, as http.Header.Get.
func (hs *handshakeInfo) header(name string) string {
	if hs.fallback != nil {
		return hs.fallback.Get(name)
	}
	name = textproto.CanonicalMIMEHeaderKey(name)
	var out string
	hs.each(func(k, v string) bool {
		if k == name {
			out = v
			return false
		}
		return true
	})
	return out
}

// handshakeView is the expanded form [Socket.Handshake] returns.
type handshakeView struct {
	headers http.Header
	query   url.Values
	time    string
}

// expanded returns the view, building it on first use.
func (hs *handshakeInfo) expanded() *handshakeView {
	if v := hs.view.Load(); v != nil {
		return v
	}
	v := &handshakeView{
		headers: hs.headerMap(),
		query:   hs.query(),
		time:    hs.time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"),
	}
	if hs.view.CompareAndSwap(nil, v) {
		return v
	}
	return hs.view.Load()
}

// headerMap returns a fresh copy of the headers.
func (hs *handshakeInfo) headerMap() http.Header {
	if hs.fallback != nil {
		return hs.fallback.Clone()
	}
	h := make(http.Header)
	hs.each(func(k, v string) bool {
		h[k] = append(h[k], v)
		return true
	})
	return h
}

// query parses the handshake's query string.
func (hs *handshakeInfo) query() url.Values {
	q, _ := url.ParseQuery(hs.rawQuery)
	return q
}
