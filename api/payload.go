package api

import (
	"encoding/json"
	"strconv"

	"github.com/luckystack/luckystack-go/events"
)

// maxScanDepth matches encoding/json's nesting limit, so the scanner
// accepts exactly the payloads json.Valid accepts.
const maxScanDepth = 10000

// apiPayload is the apiRequest payload read in one pass: the route name,
// the raw input and the response index.
type apiPayload struct {
	name    string
	nameOK  bool // name was a JSON string (or null), as json.Unmarshal judges it
	data    json.RawMessage
	dataObj bool // data is a JSON object
	ri      events.ResponseIndex

	// The scanner's raw finds, kept here rather than on the event loop's
	// small stack.
	rawName, rawIndex []byte
}

// parseAPIPayload reads the apiRequest payload. It reports false when the
// payload is not a valid JSON object, which is dropped.
//
// It runs on the client's event-loop goroutine, which socketio starts
// fresh for each burst of events: encoding/json's reflection and recursion
// grew that small stack on every request (a stack copy was ~15% of the api
// path's CPU in the benchmark). This scanner is iterative and shallow, and
// reads the three fields without reflection; keys it cannot match
// byte-for-byte (escapes, non-ASCII, which encoding/json may fold to a
// field name) send the payload to encoding/json instead, so the result is
// the same for every input.
func parseAPIPayload(p *apiPayload, payload json.RawMessage) bool {
	// data and the name point into payload, which is ours to keep
	// (socketio never reuses an event's memory; see socketio.Args.Raw).
	if ok, fast := scanAPIPayload(p, payload); fast {
		return ok
	}
	*p = apiPayload{}
	return decodeAPIPayload(p, payload)
}

// decodeAPIPayload is the general decoder: encoding/json's own rules for
// field names (case folding, escapes, duplicates).
func decodeAPIPayload(p *apiPayload, payload json.RawMessage) bool {
	if !events.IsObject(payload) {
		return false
	}
	var msg struct {
		Name          json.RawMessage `json:"name"`
		Data          json.RawMessage `json:"data"`
		ResponseIndex json.RawMessage `json:"responseIndex"`
	}
	if json.Unmarshal(payload, &msg) != nil {
		return false
	}
	p.nameOK = json.Unmarshal(msg.Name, &p.name) == nil
	if len(msg.ResponseIndex) > 0 {
		_ = json.Unmarshal(msg.ResponseIndex, &p.ri)
	}
	p.data = msg.Data
	p.dataObj = len(p.data) > 0 && p.data[0] == '{'
	return true
}

// scanAPIPayload is the fast path. fast is false when a key needs
// encoding/json's rules; ok is false when the payload is not a valid
// JSON object.
func scanAPIPayload(p *apiPayload, b []byte) (ok, fast bool) {
	s := jsonScan{b: b}
	fast = true
	ok = s.object(func(key []byte, esc, ascii bool) bool {
		if esc || !ascii {
			fast = false
			return false
		}
		vs := s.i
		if !s.value() {
			return false
		}
		switch {
		case asciiFold(key, "name"):
			p.rawName = b[vs:s.i]
		case asciiFold(key, "data"):
			p.data = b[vs:s.i]
		case asciiFold(key, "responseindex"):
			p.rawIndex = b[vs:s.i]
		}
		return true
	})
	if !fast {
		return false, false
	}
	if !ok {
		return false, true
	}
	p.finish()
	return true, true
}

// finish reads the index and data the scanner found; the name waits for
// resolveName, off the event loop.
func (p *apiPayload) finish() {
	if p.rawIndex != nil {
		p.ri = scanIndex(p.rawIndex)
		p.rawIndex = nil
	}
	p.dataObj = len(p.data) > 0 && p.data[0] == '{'
}

// resolveName decodes the name the scanner found (a no-op otherwise). A
// name that is a key registered in m (what the browser client sends) takes
// the key's string instead of a copy of its own.
func (p *apiPayload) resolveName(m *Module) {
	name := p.rawName
	if name == nil {
		return
	}
	p.rawName = nil
	if name[0] == '"' && !hasByte(name, '\\') {
		inner := name[1 : len(name)-1]
		if e, ok := m.routes.GetBytes(inner); ok {
			p.name, p.nameOK = e.key, true
			return
		}
		p.name, p.nameOK = string(inner), true
		return
	}
	var n string
	p.nameOK = json.Unmarshal(name, &n) == nil
	p.name = n
}

// scanIndex reads a response index; a plain integer (what every client
// sends) without encoding/json, anything else by the type's own rules.
func scanIndex(raw []byte) events.ResponseIndex {
	// Up to 18 digits cannot overflow an int64; by hand, as strconv's
	// call would grow the event loop's stack.
	digits, neg := raw, false
	if digits[0] == '-' {
		digits, neg = digits[1:], true
	}
	if n := len(digits); n > 0 && n <= 18 && strconv.IntSize == 64 {
		v := 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				v = -1
				break
			}
			v = v*10 + int(c-'0')
		}
		if v >= 0 {
			if neg {
				v = -v
			}
			return events.Index(v)
		}
	}
	var ri events.ResponseIndex
	_ = ri.UnmarshalJSON(raw)
	return ri
}

// asciiFold reports whether key equals lower (all lower-case ASCII)
// ignoring ASCII case, the folding encoding/json applies to ASCII keys.
func asciiFold(key []byte, lower string) bool {
	if len(key) != len(lower) {
		return false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// jsonScan is a validating JSON scanner without recursion.
type jsonScan struct {
	b []byte
	i int
}

// ws skips whitespace. The common case, none, is decided inline.
func (s *jsonScan) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	s.skipWS()
}

func (s *jsonScan) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object scans the whole input as one JSON object, whitespace around it
// allowed. For each member it calls member with the key's inside, whether
// the key holds an escape or only ASCII bytes, and s at the member's value,
// which member must consume; member returning false ends the scan. It
// reports whether the input was such an object and every member accepted.
func (s *jsonScan) object(member func(key []byte, esc, ascii bool) bool) bool {
	s.ws()
	if !s.eat('{') {
		return false
	}
	s.ws()
	if !s.eat('}') {
		for {
			ks := s.i
			esc, ascii, ok := s.str()
			if !ok {
				return false
			}
			key := s.b[ks+1 : s.i-1]
			s.ws()
			if !s.eat(':') {
				return false
			}
			s.ws()
			if !member(key, esc, ascii) {
				return false
			}
			s.ws()
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return false
			}
			s.ws()
		}
	}
	s.ws()
	return s.i == len(s.b)
}

// str skips a string starting at s.i and reports whether it held an escape
// or only ASCII bytes.
func (s *jsonScan) str() (esc, ascii, ok bool) {
	if !s.eat('"') {
		return false, false, false
	}
	ascii = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return esc, ascii, true
		case c < 0x20:
			return esc, ascii, false
		case c >= 0x80:
			ascii = false
		case c == '\\':
			esc = true
			if s.i >= len(s.b) {
				return esc, ascii, false
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 > len(s.b) {
					return esc, ascii, false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !isHex(h) {
						return esc, ascii, false
					}
				}
				s.i += 4
			default:
				return esc, ascii, false
			}
		}
	}
	return esc, ascii, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() bool {
	s.eat('-')
	if s.eat('0') {
		// no further integer digits
	} else if s.i >= len(s.b) || s.b[s.i] < '1' || s.b[s.i] > '9' || !s.digits() {
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// value skips one JSON value starting at s.i. The open containers are
// bits of a word (1 for an object) rather than frames of the goroutine's
// stack, which stays small; nesting deeper than 64 goes on a slice.
func (s *jsonScan) value() bool {
	var bits uint64 // the innermost 64 open containers, innermost lowest
	var deeper []uint64
	depth := 0
	for {
		// One scalar or an opened container.
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch c := s.b[s.i]; {
		case c == '{' || c == '[':
			s.i++
			s.ws()
			if s.eat(c + 2) { // '}' is '{'+2, ']' is '['+2
				break
			}
			if depth >= maxScanDepth {
				return false
			}
			if depth >= 64 && depth%64 == 0 {
				deeper = append(deeper, bits)
				bits = 0
			}
			depth++
			bits <<= 1
			if c == '{' {
				bits |= 1
				if !s.member() {
					return false
				}
			}
			continue
		case c == '"':
			if _, _, ok := s.str(); !ok {
				return false
			}
		case c == '-' || '0' <= c && c <= '9':
			if !s.number() {
				return false
			}
		case c == 't':
			if !s.literal("true") {
				return false
			}
		case c == 'f':
			if !s.literal("false") {
				return false
			}
		case c == 'n':
			if !s.literal("null") {
				return false
			}
		default:
			return false
		}
		// A value ended: close containers until one wants another value.
		for {
			if depth == 0 {
				return true
			}
			object := bits&1 == 1
			s.ws()
			if s.eat(',') {
				if object && !s.member() {
					return false
				}
				break
			}
			if object && !s.eat('}') || !object && !s.eat(']') {
				return false
			}
			depth--
			bits >>= 1
			if depth >= 64 && depth%64 == 0 {
				bits = deeper[len(deeper)-1]
				deeper = deeper[:len(deeper)-1]
			}
		}
	}
}

// member skips an object key and its colon.
func (s *jsonScan) member() bool {
	s.ws()
	if _, _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	return s.eat(':')
}
