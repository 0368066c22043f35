package redisadapter

// This file converts packet payloads between the two shapes they take:
//
//   - inside the Go server, a JSON value in which binary values are
//     {"_placeholder":true,"num":i} objects indexing a list of attachments
//     (the socket.io-parser BINARY_EVENT shape);
//   - on Redis, the msgpack notepack.io writes for the same JavaScript value,
//     where each Buffer is a bin value in place.
//
// The JSON side is written the way JSON.stringify would write the value that
// notepack decodes on a Node peer, so the client sees the same text whichever
// server relays the packet.

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendMsgpackAsJSON reads one msgpack value from r and appends it to dst as
// JSON. Each bin value becomes a placeholder and a copy of its bytes is
// appended to *atts, numbered in order of appearance, so the receiver can
// re-emit the packet as BINARY_EVENT. depth counts the containers around the
// value; a bin counts as one because it becomes an object.
//
// undefined reports notepack's legacy "undefined" (fixext1 type 0), which
// writes nothing: arrays turn it into null and maps drop the key, as
// JSON.stringify does.
func appendMsgpackAsJSON(dst []byte, r *mpReader, atts *[][]byte, depth int) (out []byte, undefined bool, err error) {
	h, err := r.head()
	if err != nil {
		return dst, false, err
	}
	switch h.kind {
	case mpNil:
		dst = append(dst, "null"...)
	case mpBool:
		dst = strconv.AppendBool(dst, h.b)
	case mpInt:
		dst = strconv.AppendInt(dst, h.i, 10)
	case mpUint:
		dst = strconv.AppendUint(dst, h.u, 10)
	case mpFloat:
		dst = appendJSFloat(dst, h.f)
	case mpStr:
		p, err := r.readN(h.n)
		if err != nil {
			return dst, false, err
		}
		dst = appendJSONString(dst, string(p))
	case mpBin:
		p, err := r.readN(h.n)
		if err != nil {
			return dst, false, err
		}
		if depth >= maxDepth {
			return dst, false, errTooDeep
		}
		dst = appendBinaryPlaceholder(dst, atts, p)
	case mpArray:
		return appendMsgpackArrayAsJSON(dst, r, h.n, atts, depth)
	case mpMap:
		return appendMsgpackMapAsJSON(dst, r, h.n, atts, depth)
	case mpExt:
		return appendExtAsJSON(dst, r, h, atts, depth)
	}
	return dst, false, nil
}

// appendBinaryPlaceholder records a copy of p as the next attachment and
// appends its placeholder. The copy lets the caller reuse the Redis buffer.
func appendBinaryPlaceholder(dst []byte, atts *[][]byte, p []byte) []byte {
	*atts = append(*atts, append([]byte{}, p...))
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(*atts)-1), 10)
	return append(dst, '}')
}

// appendMsgpackArrayAsJSON transcodes the n elements of an array.
func appendMsgpackArrayAsJSON(dst []byte, r *mpReader, n int, atts *[][]byte, depth int) ([]byte, bool, error) {
	if depth >= maxDepth {
		return dst, false, errTooDeep
	}
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var (
			undefined bool
			err       error
		)
		if dst, undefined, err = appendMsgpackAsJSON(dst, r, atts, depth+1); err != nil {
			return dst, false, err
		}
		if undefined {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']'), false, nil
}

// appendMsgpackMapAsJSON transcodes the n entries of a map, keeping their
// order. Duplicate keys are kept too; JSON.parse and encoding/json both let
// the last one win, as notepack's decoder does.
func appendMsgpackMapAsJSON(dst []byte, r *mpReader, n int, atts *[][]byte, depth int) ([]byte, bool, error) {
	if depth >= maxDepth {
		return dst, false, errTooDeep
	}
	dst = append(dst, '{')
	written := 0
	for range n {
		mark := len(dst)
		if written > 0 {
			dst = append(dst, ',')
		}
		var (
			undefined bool
			err       error
		)
		if dst, err = appendMsgpackKeyAsJSON(dst, r); err != nil {
			return dst, false, err
		}
		dst = append(dst, ':')
		if dst, undefined, err = appendMsgpackAsJSON(dst, r, atts, depth+1); err != nil {
			return dst, false, err
		}
		if undefined {
			dst = dst[:mark] // JSON.stringify drops keys whose value is undefined
			continue
		}
		written++
	}
	return append(dst, '}'), false, nil
}

// appendMsgpackKeyAsJSON writes a map key as a JSON string. notepack assigns
// obj[key], so JavaScript turns scalar keys into their String() form; keys
// that are containers, bin or ext have no sensible string form here and are
// rejected.
func appendMsgpackKeyAsJSON(dst []byte, r *mpReader) ([]byte, error) {
	h, err := r.head()
	if err != nil {
		return dst, err
	}
	switch h.kind {
	case mpStr:
		p, err := r.readN(h.n)
		return appendJSONString(dst, string(p)), err
	case mpNil:
		return append(dst, `"null"`...), nil
	case mpBool:
		return append(strconv.AppendBool(append(dst, '"'), h.b), '"'), nil
	case mpInt, mpUint, mpFloat:
		f, _ := h.number()
		dst = append(dst, '"')
		switch {
		case h.kind == mpInt:
			dst = strconv.AppendInt(dst, h.i, 10)
		case h.kind == mpUint:
			dst = strconv.AppendUint(dst, h.u, 10)
		case math.IsNaN(f):
			dst = append(dst, "NaN"...)
		case math.IsInf(f, 1):
			dst = append(dst, "Infinity"...)
		case math.IsInf(f, -1):
			dst = append(dst, "-Infinity"...)
		default:
			dst = appendJSFloat(dst, f)
		}
		return append(dst, '"'), nil
	}
	return dst, fmt.Errorf("%w: map key of kind %v", errInvalidMsgpack, h.kind)
}

// appendExtAsJSON handles the extensions notepack.io 3.0.1 decodes:
//   - type -1, the msgpack timestamp (4, 8 or 12 bytes), which notepack turns
//     into a Date and JSON.stringify into an ISO-8601 string (null when the
//     Date is invalid);
//   - notepack 2.x legacy type 0: fixext1 is undefined, fixext8 a Date in
//     milliseconds, ext8/16/32 an ArrayBuffer (decoded as a Buffer, so binary).
//
// Any other extension is an error. notepack would hand the application a
// [type, Buffer] pair that no Socket.IO peer produces; refusing it beats
// inventing a JSON shape for it.
func appendExtAsJSON(dst []byte, r *mpReader, h mpHead, atts *[][]byte, depth int) ([]byte, bool, error) {
	p, err := r.readN(h.n)
	if err != nil {
		return dst, false, err
	}
	switch {
	case h.ext == -1 && h.n == 4: // timestamp 32: uint32 seconds
		secs := float64(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
		return appendJSDate(dst, secs*1e3), false, nil
	case h.ext == -1 && h.n == 8: // timestamp 64: 30-bit ns, 34-bit seconds
		hi := be32(p[0:4])
		secs := float64(uint64(hi&3)<<32 | uint64(be32(p[4:8])))
		// Same float operations as notepack; the conversions stop Go from fusing
		// them into an FMA, which could round differently from JavaScript.
		return appendJSDate(dst, float64(secs*1e3)+float64(float64(hi>>2)/1e6)), false, nil
	case h.ext == -1 && h.n == 12: // timestamp 96: uint32 ns, int64 seconds
		ns := float64(be32(p[0:4]))
		secs := float64(float64(int32(be32(p[4:8])))*4294967296) + float64(be32(p[8:12]))
		return appendJSDate(dst, float64(float64(secs)*1e3)+float64(ns/1e6)), false, nil
	case h.ext == 0 && h.fixext && h.n == 1:
		return dst, true, nil
	case h.ext == 0 && h.fixext && h.n == 8:
		ms := float64(float64(int32(be32(p[0:4])))*4294967296) + float64(be32(p[4:8]))
		return appendJSDate(dst, ms), false, nil
	case h.ext == 0 && !h.fixext:
		if depth >= maxDepth {
			return dst, false, errTooDeep
		}
		return appendBinaryPlaceholder(dst, atts, p), false, nil
	}
	return dst, false, fmt.Errorf("%w: type %d, %d bytes", errUnsupportedExt, h.ext, h.n)
}

// be32 decodes a big-endian uint32.
func be32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

// appendJSDate appends what JSON.stringify writes for new Date(ms): the
// quoted toISOString() form, with the six-digit signed year outside 0..9999,
// or null for an invalid Date.
func appendJSDate(dst []byte, ms float64) []byte {
	// TimeClip: NaN and |t| > 8.64e15 make an invalid Date; otherwise the
	// value is truncated toward zero, which is what int64() does.
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y >= 0 && y <= 9999:
		dst = appendPadded(dst, y, 4)
	case y < 0:
		dst = appendPadded(append(dst, '-'), -y, 6)
	default:
		dst = appendPadded(append(dst, '+'), y, 6)
	}
	dst = appendPadded(append(dst, '-'), int(t.Month()), 2)
	dst = appendPadded(append(dst, '-'), t.Day(), 2)
	dst = appendPadded(append(dst, 'T'), t.Hour(), 2)
	dst = appendPadded(append(dst, ':'), t.Minute(), 2)
	dst = appendPadded(append(dst, ':'), t.Second(), 2)
	dst = appendPadded(append(dst, '.'), t.Nanosecond()/1e6, 3)
	return append(dst, `Z"`...)
}

// appendPadded appends v (non-negative) left-padded with zeros to width.
func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendJSFloat appends f the way JSON.stringify writes a number: the
// shortest round-trip digits, exponent form below 1e-6 and from 1e21, "0" for
// -0 and null for NaN and infinities. The exponent clean-up is the one
// encoding/json uses for its ES6-compatible output.
func appendJSFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(dst, "null"...)
	case f == 0:
		return append(dst, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Go writes e-07 where JavaScript writes e-7.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSONString appends s as a JSON string, escaping exactly what
// JSON.stringify escapes (quote, backslash, control characters; not '<', '>',
// '&', U+2028 or U+2029, unlike encoding/json). Invalid UTF-8 becomes U+FFFD,
// which is also what Node's Buffer.toString does with it.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSONAsMsgpack appends the msgpack form of the JSON value data, writing
// each placeholder object as a bin holding the attachment it names. The walker
// checks the JSON grammar as it goes (it accepts exactly what json.Valid
// does, up to maxDepth; FuzzJSONWalkerValidates holds it to that): validating
// in a separate pass first cost as much as the transcoding itself on every
// broadcast.
func appendJSONAsMsgpack(dst []byte, data []byte, atts [][]byte) ([]byte, error) {
	t := jsonWalker{src: data, atts: atts, out: dst}
	if err := t.value(0); err != nil {
		return dst, err
	}
	if t.skipSpace(); t.pos != len(t.src) {
		return dst, errInvalidJSON
	}
	return t.out, nil
}

// jsonWalker validates JSON and transcodes it to msgpack in one pass.
type jsonWalker struct {
	src  []byte
	pos  int
	atts [][]byte
	out  []byte
}

// skipSpace moves past JSON whitespace.
func (t *jsonWalker) skipSpace() {
	for t.pos < len(t.src) {
		switch t.src[t.pos] {
		case ' ', '\t', '\n', '\r':
			t.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end of the input.
func (t *jsonWalker) peek() byte {
	t.skipSpace()
	if t.pos >= len(t.src) {
		return 0
	}
	return t.src[t.pos]
}

// value transcodes one value; depth counts the enclosing containers.
func (t *jsonWalker) value(depth int) error {
	switch c := t.peek(); c {
	case '{':
		return t.object(depth)
	case '[':
		return t.array(depth)
	case '"':
		s, err := t.str()
		t.out = appendStr(t.out, s)
		return err
	case 't':
		if !t.literal("true") {
			return errInvalidJSON
		}
		t.out = appendBool(t.out, true)
	case 'f':
		if !t.literal("false") {
			return errInvalidJSON
		}
		t.out = appendBool(t.out, false)
	case 'n':
		if !t.literal("null") {
			return errInvalidJSON
		}
		t.out = appendNil(t.out)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return t.number()
	default:
		return errInvalidJSON
	}
	return nil
}

// literal consumes lit when the input continues with it.
func (t *jsonWalker) literal(lit string) bool {
	if len(t.src)-t.pos < len(lit) || string(t.src[t.pos:t.pos+len(lit)]) != lit {
		return false
	}
	t.pos += len(lit)
	return true
}

// digits consumes a run of decimal digits and reports how many there were.
func (t *jsonWalker) digits() int {
	start := t.pos
	for t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
		t.pos++
	}
	return t.pos - start
}

// number transcodes a number literal. Integer literals are parsed exactly, so
// 64-bit ids survive (JSON.parse would round them past 2^53); everything else
// goes through float64 and appendNumber, as it would in JavaScript.
func (t *jsonWalker) number() error {
	start := t.pos
	integer := true
	// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
	if t.src[t.pos] == '-' {
		t.pos++
	}
	switch {
	case t.pos < len(t.src) && t.src[t.pos] == '0':
		t.pos++
	case t.digits() == 0:
		return errInvalidJSON
	}
	if t.pos < len(t.src) && t.src[t.pos] == '.' {
		integer = false
		t.pos++
		if t.digits() == 0 {
			return errInvalidJSON
		}
	}
	if t.pos < len(t.src) && (t.src[t.pos] == 'e' || t.src[t.pos] == 'E') {
		integer = false
		t.pos++
		if t.pos < len(t.src) && (t.src[t.pos] == '+' || t.src[t.pos] == '-') {
			t.pos++
		}
		if t.digits() == 0 {
			return errInvalidJSON
		}
	}
	lit := string(t.src[start:t.pos])
	if integer {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			t.out = appendInt(t.out, v)
			return nil
		}
		if v, err := strconv.ParseUint(lit, 10, 64); err == nil {
			t.out = appendUint(t.out, v)
			return nil
		}
	}
	// Out-of-range literals yield ±Inf with an error, matching JSON.parse's
	// Infinity; any other error cannot happen on validated JSON.
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) {
		return errInvalidJSON
	}
	t.out = appendNumber(t.out, f)
	return nil
}

// str consumes a string literal and returns its decoded bytes. Literals
// without escapes (the common case) are returned in place.
func (t *jsonWalker) str() ([]byte, error) {
	start := t.pos
	if start >= len(t.src) || t.src[start] != '"' {
		return nil, errInvalidJSON
	}
	escaped := false
	i := start + 1
	for ; i < len(t.src) && t.src[i] != '"'; i++ {
		switch {
		case t.src[i] < 0x20:
			return nil, errInvalidJSON // control characters must be escaped
		case t.src[i] == '\\':
			escaped = true // json.Unmarshal below checks the escapes
			i++
		}
	}
	if i >= len(t.src) {
		return nil, errInvalidJSON
	}
	t.pos = i + 1
	lit := t.src[start:t.pos]
	if !escaped && utf8.Valid(lit) {
		return lit[1 : len(lit)-1], nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return nil, errInvalidJSON
	}
	return []byte(s), nil
}

// array transcodes an array. The header size depends on the element count,
// which is only known at the end, so five bytes are reserved and the body is
// shifted down when a shorter header fits.
func (t *jsonWalker) array(depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	t.pos++ // '['
	start := len(t.out)
	t.out = append(t.out, 0, 0, 0, 0, 0)
	n := 0
	if t.peek() == ']' {
		t.pos++
		t.fixHeader(start, appendArrayHeader(nil, n))
		return nil
	}
	for {
		if err := t.value(depth + 1); err != nil {
			return err
		}
		n++
		switch t.peek() {
		case ',':
			t.pos++
		case ']':
			t.pos++
			t.fixHeader(start, appendArrayHeader(nil, n))
			return nil
		default:
			return errInvalidJSON
		}
	}
}

// object transcodes an object, or a bin when it is a placeholder. Like
// socket.io-parser's reconstructPacket, any object whose _placeholder is true
// is a placeholder, whatever else it holds; its num must index atts.
func (t *jsonWalker) object(depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	t.pos++ // '{'
	start := len(t.out)
	t.out = append(t.out, 0, 0, 0, 0, 0)
	n := 0
	placeholder := false
	var num []byte
	if t.peek() == '}' {
		return t.endObject(start, n, placeholder, num)
	}
	for {
		t.skipSpace()
		key, err := t.str()
		if err != nil {
			return err
		}
		t.out = appendStr(t.out, key)
		if t.peek() != ':' {
			return errInvalidJSON
		}
		t.pos++
		vstart := t.peek()
		vpos := t.pos
		if err := t.value(depth + 1); err != nil {
			return err
		}
		switch string(key) {
		case "_placeholder":
			placeholder = vstart == 't'
		case "num":
			num = t.src[vpos:t.pos]
		}
		n++
		switch t.peek() {
		case ',':
			t.pos++
		case '}':
			return t.endObject(start, n, placeholder, num)
		default:
			return errInvalidJSON
		}
	}
}

// endObject consumes '}' and writes the header of the object of n entries
// written from start, or its attachment when it was a placeholder.
func (t *jsonWalker) endObject(start, n int, placeholder bool, num []byte) error {
	t.pos++
	if placeholder {
		return t.placeholder(start, num)
	}
	t.fixHeader(start, appendMapHeader(nil, n))
	return nil
}

// placeholder replaces the object written from start with the bin of the
// attachment its num names.
func (t *jsonWalker) placeholder(start int, num []byte) error {
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= float64(len(t.atts)) {
		return fmt.Errorf("%w: num %q with %d attachments", errBadPlaceholder, num, len(t.atts))
	}
	t.out = appendBin(t.out[:start], t.atts[int(f)])
	return nil
}

// fixHeader writes hdr into the five bytes reserved at start and closes the
// gap left when hdr is shorter.
func (t *jsonWalker) fixHeader(start int, hdr []byte) {
	copy(t.out[start:], hdr)
	if gap := 5 - len(hdr); gap > 0 {
		copy(t.out[start+len(hdr):], t.out[start+5:])
		t.out = t.out[:len(t.out)-gap]
	}
}
