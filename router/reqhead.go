package router

import (
	"bytes"
	"net/textproto"
	"strings"
)

// The router's own HTTP/1.1 loop (see serve.go) reads request heads with
// this parser instead of net/http's. It is strict on purpose: it accepts
// only the plain requests the loop forwards itself (HTTP/1.1, origin-form
// target, one Host, a small Content-Length body or none, CRLF line ends,
// no obsolete folding, no control bytes) and reports anything else as
// unusual, which hands the connection to net/http's server. Every guard and
// error status therefore stays net/http's and ServeHTTP's.

// headStatus is what scanHead found in a buffer.
type headStatus int

const (
	// headIncomplete: no end of head yet; read more.
	headIncomplete headStatus = iota
	// headComplete: the head ends within the buffer.
	headComplete
	// headUnusual: something the own loop does not handle (bare LF,
	// oversize head); net/http's server takes the connection.
	headUnusual
)

// scanHead looks for the end of a request head ("\r\n\r\n") in b and
// returns its length including that blank line. Every line must end in
// CRLF; a head longer than max is unusual.
func scanHead(b []byte, max int) (int, headStatus) {
	start := 0
	for {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			if len(b) > max {
				return 0, headUnusual
			}
			return 0, headIncomplete
		}
		end := start + i
		if end == 0 || b[end-1] != '\r' {
			return 0, headUnusual
		}
		if end+1 > max {
			return 0, headUnusual
		}
		if end == start+1 { // "\r\n" alone: the blank line
			if start == 0 {
				return 0, headUnusual // no request line
			}
			return end + 1, headComplete
		}
		start = end + 1
	}
}

// headerField is one header line, its name canonical.
type headerField struct {
	name, value string
}

// reqHead is a parsed plain request head; its strings are slices of the
// head string.
type reqHead struct {
	method, target, host string
	// path and query split target (path still escaped).
	path, query string
	fields      []headerField
	// contentLength is the body length, 0 without one.
	contentLength int64
	// close: the client sent Connection: close.
	close bool
}

// parseHead parses a complete head (as scanHead measured it) into h,
// reusing h.fields. It returns false for anything the own loop does not
// forward itself.
func parseHead(s string, h *reqHead, maxBody int64) bool {
	*h = reqHead{fields: h.fields[:0]}
	line, rest, _ := strings.Cut(s, "\r\n")
	// Request line: method SP origin-form-target SP HTTP/1.1.
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return false
	}
	h.method = line[:sp]
	line = line[sp+1:]
	sp = strings.IndexByte(line, ' ')
	if sp <= 0 || line[sp+1:] != "HTTP/1.1" {
		return false
	}
	h.target = line[:sp]
	if !originForm(h.target) || !plainTarget(h.target) {
		return false
	}
	h.path, h.query, _ = strings.Cut(h.target, "?")
	hosts, lengths := 0, 0
	for {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := headerLine(line)
		if !ok || !plainValue(value) {
			return false
		}
		switch name {
		case "Host":
			hosts++
			if value == "" || !plainHost(value) {
				return false
			}
			h.host = value
			continue // carried in the Host field, as net/http does
		case "Content-Length":
			lengths++
			n, ok := parseLength(value)
			if !ok || n > maxBody {
				return false
			}
			h.contentLength = n
		case "Connection":
			if headerValueHasToken(value, "upgrade") {
				return false
			}
			h.close = h.close || headerValueHasToken(value, "close")
		case "Transfer-Encoding", "Upgrade", "Expect", "Trailer":
			return false
		}
		h.fields = append(h.fields, headerField{name, value})
	}
	return hosts == 1 && lengths <= 1
}

// tokenChars marks the bytes of an RFC 9110 token (tchar).
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return s != ""
}

// plainTarget accepts visible ASCII without '#' and without '%' (a
// percent-escaped path would need unescaping to route, as net/http does;
// such requests take the net/http path).
func plainTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' || c == '%' {
			return false
		}
	}
	return true
}

// plainValue accepts a field value of visible ASCII, spaces and tabs.
func plainValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// plainHost accepts a reg-name or IP literal with an optional port.
func plainHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenChars[c] && c != '|' && c != '`' && c != '^' && c != '#' && c != '%' {
			continue
		}
		switch c {
		case ':', '[', ']', '(', ')', ',', ';', '=':
			continue
		}
		return false
	}
	return true
}

// parseLength reads a Content-Length value: digits only, at most 18.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// headerLine splits a header line into its canonical name and its value
// without the surrounding whitespace; false when there is no name or it is
// not a token.
func headerLine(line string) (name, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 {
		return "", "", false
	}
	if name, ok = canonicalName(line[:colon]); !ok {
		return "", "", false
	}
	return name, strings.Trim(line[colon+1:], " \t"), true
}

// canonicalName returns the canonical form of a header name, without an
// allocation when it is canonical already (as clients send them); false
// when the name is not a token.
func canonicalName(s string) (string, bool) {
	upper := true
	canonical := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !tokenChars[c] {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if s == "" {
		return "", false
	}
	if canonical {
		return s, true
	}
	return textproto.CanonicalMIMEHeaderKey(s), true
}
