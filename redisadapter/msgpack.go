package redisadapter

// This file is the MessagePack layer: the subset notepack.io 3.0.1 (the codec
// @socket.io/redis-adapter 8.x uses by default) writes and reads. It is written
// here rather than imported so the core module keeps no msgpack dependency, and
// so the writer can copy notepack's choices byte for byte (smallest int form,
// floats always float64, bin for Buffers), which generic Go msgpack libraries
// do not all make.

import (
	"encoding/binary"
	"fmt"
	"math"
)

const (
	// maxDepth bounds container nesting on decode and on JSON transcoding. Real
	// Socket.IO payloads are shallow; the bound keeps a hostile message from
	// driving recursion (and goroutine stack growth) through the roof.
	maxDepth = 256
	// maxMessageSize bounds what the encoders produce. It is Redis's default
	// proto-max-bulk-len (512 MB): anything larger could not be published, and
	// the bound also keeps every msgpack length within its 32-bit field.
	maxMessageSize = 512 << 20
)

// appendNil appends msgpack nil; notepack writes it for null and undefined.
func appendNil(b []byte) []byte { return append(b, 0xc0) }

// appendBool appends msgpack false or true.
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// appendInt appends v in the smallest form notepack picks: non-negative values
// go through appendUint (notepack never uses int8..int64 for them), negative
// ones use negative fixint, then int8, int16, int32, int64.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
	}
}

// appendUint appends v as positive fixint, uint8, uint16, uint32 or uint64.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
	}
}

// appendFloat64 appends v as float64; notepack never writes float32.
func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(v))
}

// appendNumber appends a JavaScript number the way notepack does: a finite
// integral value becomes the smallest int form, anything else float64. Unlike
// notepack, integral values outside the 64-bit ranges stay float64 instead of
// being written as a wrapped (wrong) uint64.
func appendNumber(b []byte, f float64) []byte {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		switch {
		case f >= 0 && f < 1<<64: // also -0, which notepack writes as 0
			return appendUint(b, uint64(f))
		case f < 0 && f >= -(1<<63):
			return appendInt(b, int64(f))
		}
	}
	return appendFloat64(b, f)
}

// appendStr appends s as fixstr, str8, str16 or str32 (smallest form).
func appendStr[S string | []byte](b []byte, s S) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// appendBin appends p as bin8, bin16 or bin32, which is how notepack writes a
// Buffer, ArrayBuffer or typed array.
func appendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

// appendArrayHeader appends the header of an n-element array.
func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

// appendMapHeader appends the header of an n-entry map.
func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
	}
}

// mpKind classifies a decoded msgpack header.
type mpKind uint8

const (
	mpNil mpKind = iota + 1
	mpBool
	mpInt   // signed int family and negative fixint; value in head.i
	mpUint  // positive fixint and uint family; value in head.u
	mpFloat // float32 (widened, as JavaScript does) or float64; value in head.f
	mpStr   // head.n payload bytes follow
	mpBin   // head.n payload bytes follow
	mpArray // head.n elements follow
	mpMap   // head.n key/value pairs follow
	mpExt   // head.n payload bytes of extension head.ext follow
)

// String returns the kind's msgpack family name, for error messages.
func (k mpKind) String() string {
	switch k {
	case mpNil:
		return "nil"
	case mpBool:
		return "bool"
	case mpInt, mpUint:
		return "int"
	case mpFloat:
		return "float"
	case mpStr:
		return "str"
	case mpBin:
		return "bin"
	case mpArray:
		return "array"
	case mpMap:
		return "map"
	case mpExt:
		return "ext"
	}
	return "unknown"
}

// mpHead is one decoded msgpack header. For str, bin and ext the payload is
// not consumed yet; for arrays and maps the elements follow.
type mpHead struct {
	kind   mpKind
	b      bool
	i      int64
	u      uint64
	f      float64
	n      int  // payload length (str, bin, ext) or element count (array, map)
	ext    int8 // extension type
	fixext bool // ext came from fixext1..16, which matters for notepack's legacy type 0
}

// mpReader decodes msgpack from an in-memory message. Every length is checked
// against the bytes left before anything is allocated, so a hostile header
// such as "array of 4 billion elements" fails fast with errTruncated.
type mpReader struct {
	buf []byte
	off int
}

// remaining returns the number of unread bytes.
func (r *mpReader) remaining() int { return len(r.buf) - r.off }

// readN consumes and returns the next n bytes, aliasing the input.
func (r *mpReader) readN(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, errTruncated
	}
	p := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

// readUint reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (r *mpReader) readUint(size int) (uint64, error) {
	p, err := r.readN(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

// readLen reads a size-byte length or count and checks that at least
// per*count bytes follow, the minimum any valid encoding needs.
func (r *mpReader) readLen(size, per int) (int, error) {
	v, err := r.readUint(size)
	if err != nil {
		return 0, err
	}
	if v > uint64(r.remaining()/per) {
		return 0, fmt.Errorf("%w: declared length %d exceeds the %d bytes left", errTruncated, v, r.remaining())
	}
	return int(v), nil
}

// head decodes the next header.
func (r *mpReader) head() (mpHead, error) {
	if r.remaining() < 1 {
		return mpHead{}, errTruncated
	}
	c := r.buf[r.off]
	r.off++
	var (
		h   mpHead
		err error
	)
	switch {
	case c < 0x80:
		return mpHead{kind: mpUint, u: uint64(c)}, nil
	case c < 0x90:
		h.kind = mpMap
		h.n, err = r.checkCount(int(c&0x0f), 2)
	case c < 0xa0:
		h.kind = mpArray
		h.n, err = r.checkCount(int(c&0x0f), 1)
	case c < 0xc0:
		h.kind = mpStr
		h.n, err = r.checkCount(int(c&0x1f), 1)
	case c >= 0xe0:
		return mpHead{kind: mpInt, i: int64(int8(c))}, nil
	default:
		return r.headC0(c)
	}
	return h, err
}

// checkCount checks a fix-format count the same way readLen checks others.
func (r *mpReader) checkCount(n, per int) (int, error) {
	if n > r.remaining()/per {
		return 0, errTruncated
	}
	return n, nil
}

// headC0 decodes the headers 0xc0..0xdf.
func (r *mpReader) headC0(c byte) (mpHead, error) {
	var (
		h   mpHead
		v   uint64
		err error
	)
	switch c {
	case 0xc0:
		h.kind = mpNil
	case 0xc2, 0xc3:
		h.kind, h.b = mpBool, c == 0xc3
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		h.kind = mpBin
		h.n, err = r.readLen(1<<(c-0xc4), 1)
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		h.kind = mpExt
		if h.n, err = r.readLen(1<<(c-0xc7), 1); err == nil {
			h.ext, err = r.extType(h.n)
		}
	case 0xca:
		h.kind = mpFloat
		v, err = r.readUint(4)
		h.f = float64(math.Float32frombits(uint32(v)))
	case 0xcb:
		h.kind = mpFloat
		v, err = r.readUint(8)
		h.f = math.Float64frombits(v)
	case 0xcc, 0xcd, 0xce, 0xcf:
		h.kind = mpUint
		h.u, err = r.readUint(1 << (c - 0xcc))
	case 0xd0:
		h.kind = mpInt
		v, err = r.readUint(1)
		h.i = int64(int8(v))
	case 0xd1:
		h.kind = mpInt
		v, err = r.readUint(2)
		h.i = int64(int16(v))
	case 0xd2:
		h.kind = mpInt
		v, err = r.readUint(4)
		h.i = int64(int32(v))
	case 0xd3:
		h.kind = mpInt
		v, err = r.readUint(8)
		h.i = int64(v)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		h.kind, h.fixext, h.n = mpExt, true, 1<<(c-0xd4)
		h.ext, err = r.extType(h.n)
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		h.kind = mpStr
		h.n, err = r.readLen(1<<(c-0xd9), 1)
	case 0xdc, 0xdd: // array 16/32
		h.kind = mpArray
		h.n, err = r.readLen(2<<(c-0xdc), 1)
	case 0xde, 0xdf: // map 16/32
		h.kind = mpMap
		h.n, err = r.readLen(2<<(c-0xde), 2)
	default: // 0xc1 is reserved ("never used")
		return h, fmt.Errorf("%w: reserved byte 0x%02x", errInvalidMsgpack, c)
	}
	return h, err
}

// extType reads an extension's type byte and checks that its n-byte payload
// is present.
func (r *mpReader) extType(n int) (int8, error) {
	v, err := r.readUint(1)
	if err != nil {
		return 0, err
	}
	if n > r.remaining() {
		return 0, errTruncated
	}
	return int8(v), nil
}

// expect decodes a header and checks its kind.
func (r *mpReader) expect(kind mpKind) (mpHead, error) {
	h, err := r.head()
	if err == nil && h.kind != kind {
		err = fmt.Errorf("%w: got %v, want %v", errInvalidMsgpack, h.kind, kind)
	}
	return h, err
}

// readString reads a str value.
func (r *mpReader) readString() (string, error) {
	h, err := r.expect(mpStr)
	if err != nil {
		return "", err
	}
	p, err := r.readN(h.n)
	return string(p), err
}

// readNumber reads any int or float as a JavaScript number would hold it.
func (r *mpReader) readNumber() (float64, error) {
	h, err := r.head()
	if err != nil {
		return 0, err
	}
	return h.number()
}

// number returns the numeric value of an int or float head.
func (h mpHead) number() (float64, error) {
	switch h.kind {
	case mpInt:
		return float64(h.i), nil
	case mpUint:
		return float64(h.u), nil
	case mpFloat:
		return h.f, nil
	}
	return 0, fmt.Errorf("%w: got %v, want a number", errInvalidMsgpack, h.kind)
}

// readInt reads an integer. Integral floats are accepted because other
// JavaScript msgpack encoders write numbers such as 1000 as float64.
func (r *mpReader) readInt() (int64, error) {
	h, err := r.head()
	if err != nil {
		return 0, err
	}
	switch h.kind {
	case mpInt:
		return h.i, nil
	case mpUint:
		if h.u <= math.MaxInt64 {
			return int64(h.u), nil
		}
	case mpFloat:
		if h.f == math.Trunc(h.f) && h.f >= -(1<<63) && h.f < 1<<63 {
			return int64(h.f), nil
		}
	}
	return 0, fmt.Errorf("%w: got %v, want an int64", errInvalidMsgpack, h.kind)
}

// skip consumes one value of any kind; depth counts the enclosing containers.
func (r *mpReader) skip(depth int) error {
	h, err := r.head()
	if err != nil {
		return err
	}
	switch h.kind {
	case mpStr, mpBin, mpExt:
		_, err = r.readN(h.n)
	case mpArray, mpMap:
		if depth >= maxDepth {
			return errTooDeep
		}
		n := h.n
		if h.kind == mpMap {
			n *= 2
		}
		for i := 0; i < n && err == nil; i++ {
			err = r.skip(depth + 1)
		}
	}
	return err
}

// end reports errTrailingBytes unless the whole input was consumed.
func (r *mpReader) end() error {
	if r.remaining() != 0 {
		return fmt.Errorf("%w: %d", errTrailingBytes, r.remaining())
	}
	return nil
}
