package redisadapter

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendIntMatchesNotepack checks every range boundary of notepack's
// integer encoder: non-negative values never use the signed family.
func TestAppendIntMatchesNotepack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    int64
		want string
	}{
		{0, "\x00"},
		{127, "\x7f"},
		{128, "\xcc\x80"},
		{255, "\xcc\xff"},
		{256, "\xcd\x01\x00"},
		{65535, "\xcd\xff\xff"},
		{65536, "\xce\x00\x01\x00\x00"},
		{math.MaxUint32, "\xce\xff\xff\xff\xff"},
		{math.MaxUint32 + 1, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"},
		{math.MaxInt64, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"},
		{-1, "\xff"},
		{-32, "\xe0"},
		{-33, "\xd0\xdf"},
		{-128, "\xd0\x80"},
		{-129, "\xd1\xff\x7f"},
		{-32768, "\xd1\x80\x00"},
		{-32769, "\xd2\xff\xff\x7f\xff"},
		{math.MinInt32, "\xd2\x80\x00\x00\x00"},
		{math.MinInt32 - 1, "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"},
		{math.MinInt64, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range tests {
		assert.Equal(t, []byte(tc.want), appendInt(nil, tc.v), "appendInt(%d)", tc.v)
		r := &mpReader{buf: []byte(tc.want)}
		got, err := r.readInt()
		require.NoError(t, err)
		assert.Equal(t, tc.v, got)
	}
	assert.Equal(t, []byte("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), appendUint(nil, math.MaxUint64))
}

// TestAppendNumber checks the JavaScript-number rule: integral values become
// ints, others float64, and -0 becomes 0 as in notepack.
func TestAppendNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    float64
		want string
	}{
		{1, "\x01"},
		{-1, "\xff"},
		{math.Copysign(0, -1), "\x00"},
		{1.5, "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"},
		{1 << 63, "\xcf\x80\x00\x00\x00\x00\x00\x00\x00"},
		{-(1 << 63), "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"},
		{1 << 64, "\xcb\x43\xf0\x00\x00\x00\x00\x00\x00"}, // notepack would wrap; we keep the value
		{math.Inf(1), "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range tests {
		assert.Equal(t, []byte(tc.want), appendNumber(nil, tc.f), "appendNumber(%v)", tc.f)
	}
}

// TestAppendHeadersSmallestForm checks str, bin, array and map headers at
// each size boundary.
func TestAppendHeadersSmallestForm(t *testing.T) {
	t.Parallel()
	prefix := func(b []byte, n int) []byte { return b[:n] }
	assert.Equal(t, []byte{0xbf}, prefix(appendStr(nil, strings.Repeat("x", 31)), 1))
	assert.Equal(t, []byte{0xd9, 32}, prefix(appendStr(nil, strings.Repeat("x", 32)), 2))
	assert.Equal(t, []byte{0xd9, 255}, prefix(appendStr(nil, strings.Repeat("x", 255)), 2))
	assert.Equal(t, []byte{0xda, 1, 0}, prefix(appendStr(nil, strings.Repeat("x", 256)), 3))
	assert.Equal(t, []byte{0xdb, 0, 1, 0, 0}, prefix(appendStr(nil, strings.Repeat("x", 65536)), 5))
	assert.Equal(t, []byte{0xc4, 0}, appendBin(nil, nil))
	assert.Equal(t, []byte{0xc5, 1, 0}, prefix(appendBin(nil, make([]byte, 256)), 3))
	assert.Equal(t, []byte{0xc6, 0, 1, 0, 0}, prefix(appendBin(nil, make([]byte, 65536)), 5))
	assert.Equal(t, []byte{0x9f}, appendArrayHeader(nil, 15))
	assert.Equal(t, []byte{0xdc, 0, 16}, appendArrayHeader(nil, 16))
	assert.Equal(t, []byte{0xdd, 0, 1, 0, 0}, appendArrayHeader(nil, 65536))
	assert.Equal(t, []byte{0x8f}, appendMapHeader(nil, 15))
	assert.Equal(t, []byte{0xde, 0, 16}, appendMapHeader(nil, 16))
	assert.Equal(t, []byte{0xdf, 0, 1, 0, 0}, appendMapHeader(nil, 65536))
}

// TestReaderHeads decodes one value of each family.
func TestReaderHeads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want mpHead
	}{
		{"nil", "\xc0", mpHead{kind: mpNil}},
		{"true", "\xc3", mpHead{kind: mpBool, b: true}},
		{"false", "\xc2", mpHead{kind: mpBool}},
		{"float32", "\xca\x3f\xc0\x00\x00", mpHead{kind: mpFloat, f: 1.5}},
		{"float64", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", mpHead{kind: mpFloat, f: 1.5}},
		{"uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", mpHead{kind: mpUint, u: math.MaxUint64}},
		{"int16", "\xd1\xff\x7f", mpHead{kind: mpInt, i: -129}},
		{"fixstr", "\xa2ab", mpHead{kind: mpStr, n: 2}},
		{"str8", "\xd9\x01a", mpHead{kind: mpStr, n: 1}},
		{"bin16", "\xc5\x00\x01a", mpHead{kind: mpBin, n: 1}},
		{"array16", "\xdc\x00\x01\xc0", mpHead{kind: mpArray, n: 1}},
		{"map32", "\xdf\x00\x00\x00\x01\xc0\xc0", mpHead{kind: mpMap, n: 1}},
		{"fixext4", "\xd6\xff\x00\x00\x00\x00", mpHead{kind: mpExt, n: 4, ext: -1, fixext: true}},
		{"ext8", "\xc7\x01\x05\x00", mpHead{kind: mpExt, n: 1, ext: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &mpReader{buf: []byte(tc.in)}
			h, err := r.head()
			require.NoError(t, err)
			assert.Equal(t, tc.want, h)
			require.NoError(t, r.skipPayload(h))
			assert.NoError(t, r.end())
		})
	}
}

// skipPayload consumes what follows a head, for tests.
func (r *mpReader) skipPayload(h mpHead) error {
	switch h.kind {
	case mpStr, mpBin, mpExt:
		_, err := r.readN(h.n)
		return err
	case mpArray, mpMap:
		n := h.n
		if h.kind == mpMap {
			n *= 2
		}
		for range n {
			if err := r.skip(1); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestReaderHostile feeds malformed input: every error must be reported, with
// no panic and no allocation sized by a lying header.
func TestReaderHostile(t *testing.T) {
	t.Parallel()
	deep := bytes.Repeat([]byte{0x91}, maxDepth+1)
	deep = append(deep, 0xc0)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", errTruncated},
		{"reserved", "\xc1", errInvalidMsgpack},
		{"str32 huge", "\xdb\xff\xff\xff\xffabc", errTruncated},
		{"bin32 huge", "\xc6\x7f\xff\xff\xff", errTruncated},
		{"array32 huge", "\xdd\xff\xff\xff\xff\xc0", errTruncated},
		{"map32 huge", "\xdf\xff\xff\xff\xff\xc0\xc0", errTruncated},
		{"fixmap short", "\x82\xc0\xc0\xc0", errTruncated},
		{"ext32 huge", "\xc9\xff\xff\xff\xff\x01", errTruncated},
		{"fixext16 short", "\xd8\x01\x00", errTruncated},
		{"uint64 short", "\xcf\x00\x00", errTruncated},
		{"float32 short", "\xca\x00", errTruncated},
		{"too deep", string(deep), errTooDeep},
		{"trailing", "\xc0\xc0", errTrailingBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &mpReader{buf: []byte(tc.in)}
			err := r.skip(0)
			if err == nil {
				err = r.end()
			}
			require.ErrorIs(t, err, tc.want)

			r = &mpReader{buf: []byte(tc.in)}
			var atts [][]byte
			_, _, err = appendMsgpackAsJSON(nil, r, &atts, 0)
			if err == nil {
				err = r.end()
			}
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestReaderTruncatedEverywhere cuts every golden message at every length.
func TestReaderTruncatedEverywhere(t *testing.T) {
	t.Parallel()
	for _, msg := range [][]byte{goldenBroadcastRoom1, goldenBroadcastBinary, goldenBroadcastAckReq, goldenAckResp} {
		for n := range len(msg) {
			_, err := decodeBroadcast(msg[:n])
			assert.Error(t, err, "decodeBroadcast(%q)", msg[:n])
			r := &mpReader{buf: msg[:n]}
			assert.Error(t, r.skip(0), "skip(%q)", msg[:n])
		}
	}
}

// TestReadIntRejects checks the kinds readInt refuses.
func TestReadIntRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", "\xa1a", "\xc0"} {
		r := &mpReader{buf: []byte(in)}
		_, err := r.readInt()
		assert.ErrorIs(t, err, errInvalidMsgpack, "%q", in)
	}
	r := &mpReader{buf: []byte("\xcb\x40\x8f\x40\x00\x00\x00\x00\x00")} // 1000.0
	v, err := r.readInt()
	require.NoError(t, err)
	assert.Equal(t, int64(1000), v)
}
