package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flatOutput has a field of every kind the flat encoder writes.
type flatOutput struct {
	S      string `json:"s"`
	Empty  string `json:"empty,omitempty"`
	B      bool   `json:"b"`
	BOmit  bool   `json:"bOmit,omitzero"`
	I      int    `json:"i"`
	I8     int8   `json:"i8,omitempty"`
	I64    int64  `json:"i64"`
	U16    uint16 `json:"u16"`
	U64    uint64 `json:"u64,omitempty"`
	Plain  string
	Hidden string `json:"-"`
	inner  string
}

// generalEnvelope is the reply the encoding/json path builds for out.
func generalEnvelope(t *testing.T, out any) string {
	t.Helper()
	b, err := json.Marshal(out)
	require.NoError(t, err)
	env, f := spreadResult(b)
	require.Nil(t, f)
	return string(env.bytes())
}

func TestFlatEncoderTakesOnlyFlatStructs(t *testing.T) {
	type withFloat struct {
		F float64 `json:"f"`
	}
	type withStatus struct {
		Status string `json:"status"`
	}
	type withHTTPStatus struct {
		HTTPStatus int `json:"httpStatus"`
	}
	type withTime struct {
		T time.Time `json:"t"`
	}
	type withString struct {
		N int `json:"n,string"`
	}
	require.NotNil(t, newFlatEncoder(reflect.TypeFor[flatOutput]()))
	require.NotNil(t, newFlatEncoder(reflect.TypeFor[struct{}]()))
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withFloat](), reflect.TypeFor[withStatus](), reflect.TypeFor[withHTTPStatus](),
		reflect.TypeFor[withTime](), reflect.TypeFor[withString](), reflect.TypeFor[*flatOutput](),
		reflect.TypeFor[map[string]any](), reflect.TypeFor[json.RawMessage](),
	} {
		require.Nil(t, newFlatEncoder(typ), typ.String())
	}
}

func TestFlatEncoderWritesTheGeneralEnvelope(t *testing.T) {
	e := newFlatEncoder(reflect.TypeFor[flatOutput]())
	for _, out := range []flatOutput{
		{},
		{S: "x", Empty: "y", B: true, BOmit: true, I: -1, I8: -128, I64: 1 << 62, U16: 65535, U64: 1<<64 - 1, Plain: "p", Hidden: "h", inner: "i"},
	} {
		got, ok := e.envelope(out)
		require.True(t, ok)
		require.Equal(t, generalEnvelope(t, out), string(got))
	}
	got, ok := newFlatEncoder(reflect.TypeFor[struct{}]()).envelope(struct{}{})
	require.True(t, ok)
	require.Equal(t, generalEnvelope(t, struct{}{}), string(got))
}

func TestFlatEncoderLeavesEscapesToEncodingJSON(t *testing.T) {
	e := newFlatEncoder(reflect.TypeFor[flatOutput]())
	for _, s := range []string{`"`, `\`, "<b>", "a&b", "\n", "é", "\x7f", "\u2028"} {
		_, ok := e.envelope(flatOutput{S: s})
		require.False(t, ok, "%q", s)
	}
	_, ok := e.envelope(nil)
	require.False(t, ok)
	_, ok = e.envelope(&flatOutput{})
	require.False(t, ok, "another type")
}

// A route whose output the flat encoder writes answers the same bytes as
// one whose output goes through encoding/json.
func TestResultWithFlatEncoderMatchesEncodingJSON(t *testing.T) {
	m := New(Options{})
	out := flatOutput{S: "x", I: 7, U16: 3}
	var dst Envelope
	flat := m.result(&Request{}, &entry{flatOut: newFlatEncoder(reflect.TypeFor[flatOutput]())}, out, nil, &dst)
	require.Same(t, &dst, flat)
	general := m.result(&Request{}, &entry{}, out, nil, nil)
	require.Equal(t, string(general.bytes()), string(flat.bytes()))
	require.Equal(t, general.Status(), flat.Status())
	require.Equal(t, general.HTTPStatus(), flat.HTTPStatus())
}

func FuzzFlatEncoder(f *testing.F) {
	f.Add("x", "", true, false, int64(-1), int8(0), uint16(7), uint64(0), "p")
	f.Add("<", "\"", false, true, int64(1)<<62, int8(-128), uint16(65535), uint64(1<<64-1), "é")
	e := newFlatEncoder(reflect.TypeFor[flatOutput]())
	f.Fuzz(func(t *testing.T, s, empty string, b, bOmit bool, i64 int64, i8 int8, u16 uint16, u64 uint64, plain string) {
		out := flatOutput{S: s, Empty: empty, B: b, BOmit: bOmit, I: int(i64 >> 1), I8: i8, I64: i64, U16: u16, U64: u64, Plain: plain}
		got, ok := e.envelope(out)
		if !ok {
			for _, x := range []string{s, empty, plain} {
				if plainJSONString(x) {
					continue
				}
				return // a string to escape: encoding/json's
			}
			t.Fatalf("flat encoder refused %+v", out)
		}
		if want := generalEnvelope(t, out); want != string(got) {
			t.Fatalf("%+v: flat %s, encoding/json %s", out, got, want)
		}
	})
}
