package socketio

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rawArgs(t *testing.T, data string, att ...[]byte) Args {
	t.Helper()
	elems, err := splitArray([]byte(data))
	require.NoError(t, err)
	return NewArgs(elems, att)
}

func TestArgsDecode(t *testing.T) {
	t.Parallel()
	a := rawArgs(t, `[1,"two",{"b":{"_placeholder":true,"num":0},"n":3},[{"_placeholder":true,"num":1}],null]`, []byte{0xAA}, []byte("bin"))
	assert.Equal(t, 5, a.Len())
	assert.Equal(t, `"two"`, string(a.Raw(1)))
	assert.Nil(t, a.Raw(5))
	assert.Nil(t, a.Raw(-1))
	assert.Len(t, a.Attachments(), 2)

	var n int
	require.NoError(t, a.Decode(0, &n))
	assert.Equal(t, 1, n)
	var s string
	require.NoError(t, a.Decode(1, &s))
	assert.Equal(t, "two", s)
	var obj struct {
		B []byte
		N int
	}
	require.NoError(t, a.Decode(2, &obj))
	assert.Equal(t, []byte{0xAA}, obj.B)
	assert.Equal(t, 3, obj.N)
	var list [][]byte
	require.NoError(t, a.Decode(3, &list))
	assert.Equal(t, [][]byte{[]byte("bin")}, list)
	var anyv any
	require.NoError(t, a.Decode(2, &anyv))
	assert.Equal(t, map[string]any{"b": []byte{0xAA}, "n": 3.0}, anyv)
	var p *int
	require.NoError(t, a.Decode(4, &p))
	assert.Nil(t, p)

	require.ErrorIs(t, a.Decode(5, &n), ErrNoArg)
	require.ErrorIs(t, a.Decode(-1, &n), ErrNoArg)
	require.Error(t, a.Decode(1, &n), "type mismatch")
	_, err := a.Value(9)
	require.ErrorIs(t, err, ErrNoArg)

	vals, err := a.Values()
	require.NoError(t, err)
	assert.Equal(t, []any{1.0, "two", map[string]any{"b": []byte{0xAA}, "n": 3.0}, []any{[]byte("bin")}, nil}, vals)
}

func TestArgsWithoutAttachments(t *testing.T) {
	t.Parallel()
	// Without attachments placeholders are plain data.
	a := rawArgs(t, `[{"_placeholder":true,"num":0}]`)
	v, err := a.Value(0)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"_placeholder": true, "num": 0.0}, v)
}

// TestArgsHostilePlaceholders: Args built by an adapter from a peer's data
// are not validated by the decoder; bad placeholders must not crash.
func TestArgsHostilePlaceholders(t *testing.T) {
	t.Parallel()
	for _, num := range []string{"1e300", "-1e300", "9223372036854775807", "18446744073709551616", "-1", "1", "0.5", `"0"`, "null"} {
		t.Run(num, func(t *testing.T) {
			a := rawArgs(t, `[{"_placeholder":true,"num":`+num+`}]`, []byte{1})
			assert.NotPanics(t, func() {
				_, _ = a.Value(0)
				var v any
				_ = a.Decode(0, &v)
				var b []byte
				_ = a.Decode(0, &b)
			})
		})
	}
}

func TestEncodeArray(t *testing.T) {
	t.Parallel()
	var ep encoderPool
	type withBytes struct {
		B []byte `json:"b"`
	}
	one := []byte{1}
	tests := []struct {
		name string
		head string
		args []any
		want string
		att  [][]byte
	}{
		{"empty", "", nil, `[]`, nil},
		{"head only", "ev", nil, `["ev"]`, nil},
		{"scalars", "ev", []any{1, int64(2), 2.5, "s", true, nil}, `["ev",1,2,2.5,"s",true,null]`, nil},
		{"no HTML escaping", "", []any{"<a>&"}, `["<a>&"]`, nil},
		{"raw JSON", "", []any{json.RawMessage(`{"x":1}`), json.RawMessage(nil)}, `[{"x":1},null]`, nil},
		{"bytes", "ev", []any{[]byte{1, 2}}, `["ev",{"_placeholder":true,"num":0}]`, [][]byte{{1, 2}}},
		{"nested bytes", "", []any{map[string]any{"a": []any{[]byte{1}, "x", map[string][]byte{"b": {2}}}}},
			`[{"a":[{"_placeholder":true,"num":0},"x",{"b":{"_placeholder":true,"num":1}}]}]`, [][]byte{{1}, {2}}},
		{"pointer to bytes", "", []any{&one}, `[{"_placeholder":true,"num":0}]`, [][]byte{{1}}},
		{"array of bytes", "", []any{[2][]byte{{1}, {2}}}, `[[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]]`, [][]byte{{1}, {2}}},
		{"nil bytes in a slice", "", []any{[]any{[]byte(nil), []byte{3}}}, `[[null,{"_placeholder":true,"num":0}]]`, [][]byte{{3}}},
		{"struct bytes stay base64", "", []any{withBytes{B: []byte{1}}}, `[{"b":"AQ=="}]`, nil},
		{"map without binary", "", []any{map[string]int{"a": 1}}, `[{"a":1}]`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, att, err := ep.encodeArray(tc.head, tc.args)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(data))
			assert.Equal(t, tc.att, att)
			assert.True(t, json.Valid(data))
		})
	}
}

func TestEncodeArrayErrors(t *testing.T) {
	t.Parallel()
	var ep encoderPool
	_, _, err := ep.encodeArray("", []any{math.NaN()})
	require.Error(t, err)
	_, _, err = ep.encodeArray("", []any{make(chan int)})
	require.Error(t, err)
	_, _, err = ep.encodeArray("", []any{map[int]any{1: []byte{1}}})
	require.Error(t, err)
	// The pool is still usable after errors.
	data, _, err := ep.encodeArray("ok", nil)
	require.NoError(t, err)
	assert.Equal(t, `["ok"]`, string(data))
}

// TestEncodeDecodeRoundTrip: what the server encodes, Args decodes back.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	var ep encoderPool
	in := map[string]any{"name": "x", "files": []any{[]byte{1, 2}, []byte{}}, "n": 3.0}
	data, att, err := ep.encodeArray("ev", []any{in})
	require.NoError(t, err)
	text := appendPacket(nil, &Packet{Type: PacketEvent, ID: -1, Data: data, Attachments: att})
	p, n, err := decodePacket(text)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, checkPlaceholders(p.Data, len(att)))
	elems, err := splitArray(p.Data)
	require.NoError(t, err)
	v, err := NewArgs(elems[1:], att).Value(0)
	require.NoError(t, err)
	assert.Equal(t, in, v)
}
