package redisadapter

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toJSON transcodes a whole msgpack message, for tests.
func toJSON(t *testing.T, msg []byte) (string, [][]byte) {
	t.Helper()
	r := &mpReader{buf: msg}
	var atts [][]byte
	out, _, err := appendMsgpackAsJSON(nil, r, &atts, 0)
	require.NoError(t, err)
	require.NoError(t, r.end())
	return string(out), atts
}

// TestJSONToMsgpack covers numbers, strings, key order and nesting.
func TestJSONToMsgpack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"golden data", `["ev",{"a":1,"b":"x"},42]`, "\x93\xa2ev\x82\xa1a\x01\xa1b\xa1x*"},
		{"key order kept", `{"b":1,"a":2}`, "\x82\xa1b\x01\xa1a\x02"},
		{"whitespace", " [ 1 , { \"k\" : null } ] ", "\x92\x01\x81\xa1k\xc0"},
		{"bools", `[true,false]`, "\x92\xc3\xc2"},
		{"integral float literal", `[1.0,1e2,-0,-0.0]`, "\x94\x01\x64\x00\x00"},
		{"fraction", `0.5`, "\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00"},
		{"uint64 literal", `18446744073709551615`, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"beyond 2^53 kept exact", `9007199254740993`, "\xcf\x00\x20\x00\x00\x00\x00\x00\x01"},
		{"beyond uint64", `18446744073709551616`, "\xcb\x43\xf0\x00\x00\x00\x00\x00\x00"},
		{"overflow is Infinity", `1e400`, "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"},
		{"underflow is zero", `[1e-400,-1e-400]`, "\x92\x00\x00"},
		{"negative", `[-1,-33,-129]`, "\x93\xff\xd0\xdf\xd1\xff\x7f"},
		{"escapes", `"a\"\\\n\u00e9\ud83d\ude00"`, "\xaaa\"\\\n\xc3\xa9\xf0\x9f\x98\x80"},
		{"lone surrogate", `"\ud800"`, "\xa3\xef\xbf\xbd"},
		{"empty containers", `[[],{}]`, "\x92\x90\x80"},
		{"placeholder-like but false", `{"_placeholder":false,"num":0}`, "\x82\xac_placeholder\xc2\xa3num\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := appendJSONAsMsgpack(nil, []byte(tc.in), nil)
			require.NoError(t, err)
			assert.Equal(t, []byte(tc.want), got)
		})
	}
}

// TestJSONToMsgpackLargeContainers checks the header shift for 16- and 32-bit
// counts.
func TestJSONToMsgpackLargeContainers(t *testing.T) {
	t.Parallel()
	for _, n := range []int{15, 16, 65535, 65536} {
		in := "[" + strings.TrimSuffix(strings.Repeat("1,", n), ",") + "]"
		got, err := appendJSONAsMsgpack(nil, []byte(in), nil)
		require.NoError(t, err)
		want := appendArrayHeader(nil, n)
		for range n {
			want = append(want, 1)
		}
		assert.Equal(t, want, got, "n=%d", n)
		j, _ := toJSON(t, got)
		assert.Equal(t, in, j)
	}
}

// TestPlaceholdersBecomeBin maps attachments in and out, renumbering them in
// order of appearance on the way back.
func TestPlaceholdersBecomeBin(t *testing.T) {
	t.Parallel()
	atts := [][]byte{{1, 2, 3}, {}, {9}}
	in := `["bin",{"_placeholder":true,"num":2},{"x":{"num":0,"_placeholder":true}},{"_placeholder":true,"num":1}]`
	got, err := appendJSONAsMsgpack(nil, []byte(in), atts)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x94\xa3bin\xc4\x01\x09\x81\xa1x\xc4\x03\x01\x02\x03\xc4\x00"), got)

	j, back := toJSON(t, got)
	assert.Equal(t, `["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":2}]`, j)
	assert.Equal(t, [][]byte{{9}, {1, 2, 3}, {}}, back)

	// Attachments are copies: the Redis buffer may be reused.
	got[len(got)-5] = 0xff
	assert.Equal(t, []byte{1, 2, 3}, back[1])
}

// TestBadPlaceholder mirrors socket.io-parser's "illegal attachments".
func TestBadPlaceholder(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"_placeholder":true,"num":1}`,
		`{"_placeholder":true,"num":-1}`,
		`{"_placeholder":true,"num":0.5}`,
		`{"_placeholder":true,"num":"0"}`,
		`{"_placeholder":true}`,
	} {
		_, err := appendJSONAsMsgpack(nil, []byte(in), [][]byte{{1}})
		assert.ErrorIs(t, err, errBadPlaceholder, in)
	}
}

// TestJSONToMsgpackRejects checks invalid and too-deep JSON.
func TestJSONToMsgpackRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `[`, `{"a":}`, `[1,]`, `nul`, `"\x"`, `[1] 2`} {
		_, err := appendJSONAsMsgpack(nil, []byte(in), nil)
		assert.ErrorIs(t, err, errInvalidJSON, in)
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	_, err := appendJSONAsMsgpack(nil, []byte(deep), nil)
	assert.ErrorIs(t, err, errTooDeep)
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	_, err = appendJSONAsMsgpack(nil, []byte(ok), nil)
	assert.NoError(t, err)
}

// TestMsgpackToJSON covers the JSON.stringify view of each msgpack family.
func TestMsgpackToJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"scalars", "\x95\xc0\xc3\x7f\xe0\xcf\xff\xff\xff\xff\xff\xff\xff\xff", `[null,true,127,-32,18446744073709551615]`},
		{"float32 widened", "\xca\x3d\xcc\xcc\xcd", `0.10000000149011612`},
		{"float64", "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a", `0.1`},
		{"NaN is null", "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", `null`},
		{"neg zero", "\xcb\x80\x00\x00\x00\x00\x00\x00\x00", `0`},
		{"string escapes", "\xa9\"\\\n\x01<&\u2028", `"\"\\\n\u0001<&` + "\u2028" + `"`},
		{"invalid utf8", "\xa3a\xffb", `"a` + "\ufffd" + `b"`},
		{"numeric keys", "\x84\x01\x01\xff\x02\xc3\x03\xc0\x04", `{"1":1,"-1":2,"true":3,"null":4}`},
		{"float key", "\x81\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x01", `{"1.5":1}`},
		{"NaN key", "\x81\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x01", `{"NaN":1}`},
		{"legacy undefined in array", "\x92\xd4\x00\x00\x01", `[null,1]`},
		{"legacy undefined in map", "\x83\xa1a\x01\xa1u\xd4\x00\x00\xa1b\x02", `{"a":1,"b":2}`},
		{"legacy undefined first", "\x82\xa1u\xd4\x00\x00\xa1b\x02", `{"b":2}`},
		{"timestamp32", "\xd6\xff\x39\x45\x79\x80", `"2000-06-13T00:00:00.000Z"`},
		{"legacy date", "\xd7\x00\x00\x00\x00\xdf\xb7\x62\x9c\x00", `"2000-06-13T00:00:00.000Z"`},
		{"legacy arraybuffer", "\xc7\x02\x00\xab\xcd", `{"_placeholder":true,"num":0}`},
		{"duplicate keys kept", "\x82\xa1a\x01\xa1a\x02", `{"a":1,"a":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := toJSON(t, []byte(tc.in))
			assert.Equal(t, tc.want, got)
		})
	}
}

// tsExt builds a timestamp extension the way the msgpack spec lays it out.
func tsExt(sec int64, nsec uint32) []byte {
	switch {
	case sec >= 0 && sec < 1<<34 && nsec == 0 && sec < 1<<32:
		return binary.BigEndian.AppendUint32([]byte{0xd6, 0xff}, uint32(sec))
	case sec >= 0 && sec < 1<<34:
		return binary.BigEndian.AppendUint64([]byte{0xd7, 0xff}, uint64(nsec)<<34|uint64(sec))
	default:
		b := binary.BigEndian.AppendUint32([]byte{0xc7, 12, 0xff}, nsec)
		return binary.BigEndian.AppendUint64(b, uint64(sec))
	}
}

// TestTimestampToISO checks dates as JSON.stringify(new Date(...)) prints them.
func TestTimestampToISO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"ts64 millis", tsExt(960854400, 123_000_000), `"2000-06-13T00:00:00.123Z"`},
		{"ts64 sub-millis truncated", tsExt(960854400, 500_000), `"2000-06-13T00:00:00.000Z"`},
		// s*1e3 + 0.999999 rounds up to the next millisecond in float64, in
		// JavaScript as here; the same operations give the same Date.
		{"ts64 float rounding as in JS", tsExt(960854400, 999_999), `"2000-06-13T00:00:00.001Z"`},
		{"ts64 beyond 2106", tsExt(1<<33, 0), `"2242-03-16T12:56:32.000Z"`},
		{"ts96 before epoch", tsExt(-1, 500_000_000), `"1969-12-31T23:59:59.500Z"`},
		{"year 0", tsExt(-62167219200, 0), `"0000-01-01T00:00:00.000Z"`},
		{"year -1", tsExt(-62198755200, 0), `"-000001-01-01T00:00:00.000Z"`},
		{"year 10000", tsExt(253402300800, 0), `"+010000-01-01T00:00:00.000Z"`},
		{"max date", tsExt(8.64e12, 0), `"+275760-09-13T00:00:00.000Z"`},
		{"min date", tsExt(-8.64e12, 0), `"-271821-04-20T00:00:00.000Z"`},
		{"invalid date", tsExt(8.64e12+1, 0), `null`},
		{"huge seconds", tsExt(math.MaxInt64, 0), `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := toJSON(t, tc.in)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestUnsupportedExt checks that extensions without a JSON meaning fail.
func TestUnsupportedExt(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"\xd4\x05\x00",                     // fixext1 type 5
		"\xc7\x01\x01\x31",                 // notepack 2.x BigInt
		"\xd5\xff\x00\x00",                 // timestamp of a bad length
		"\xd5\x00\x00\x00",                 // legacy type 0 of another length
		"\xc7\x05\xff\x00\x00\x00\x00\x00", // timestamp ext8 of 5 bytes
	} {
		r := &mpReader{buf: []byte(in)}
		var atts [][]byte
		_, _, err := appendMsgpackAsJSON(nil, r, &atts, 0)
		assert.ErrorIs(t, err, errUnsupportedExt, "%q", in)
	}
	r := &mpReader{buf: []byte("\x81\x91\x01\x01")}
	var atts [][]byte
	_, _, err := appendMsgpackAsJSON(nil, r, &atts, 0)
	assert.ErrorIs(t, err, errInvalidMsgpack, "array as map key")
}

// TestAppendJSFloat compares with Number.prototype.toString results.
func TestAppendJSFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"},
		{-1.5, "-1.5"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{123456789012345680000, "123456789012345680000"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{1.5e-10, "1.5e-10"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(-1), "null"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, string(appendJSFloat(nil, tc.f)))
	}
}

// TestAppendJSONString compares with JSON.stringify escaping.
func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"\b\f\n\r\t\x00\x1f\x7f", `"\b\f\n\r\t\u0000\u001f` + "\x7f" + `"`},
		{`<a href="x">&`, `"<a href=\"x\">&"`},
		{"é😀\ufffd", `"é😀` + "\ufffd" + `"`},
		{"\xed\xa0\x80", `"` + strings.Repeat("\ufffd", 3) + `"`},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, string(appendJSONString(nil, tc.in)))
	}
}
