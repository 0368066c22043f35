package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flatInput has a field of every kind the flat decoder takes, and the
// fields encoding/json skips.
type flatInput struct {
	S       string  `json:"s"`
	B       bool    `json:"b,omitempty"`
	I       int     `json:"i"`
	I8      int8    `json:"i8"`
	I64     int64   `json:"i64"`
	U16     uint16  `json:"u16"`
	U64     uint64  `json:"u64"`
	F32     float32 `json:"f32"`
	F64     float64 `json:"f64"`
	Untaged string
	Skipped string `json:"-"`
	hidden  string
}

// strictDecode is what the pipeline does without the flat decoder.
func strictDecode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

func TestFlatDecoderTakesOnlyFlatStructs(t *testing.T) {
	type named string
	type embedded struct{ flatInput }
	type withPointer struct {
		P *int `json:"p"`
	}
	type withString struct {
		N int `json:"n,string"`
	}
	type withTime struct {
		T time.Time `json:"t"`
	}
	type oddTag struct {
		A int `json:"a.b"`
	}
	type twice struct {
		A int `json:"X"`
		X int
	}
	require.NotNil(t, newFlatDecoder(reflect.TypeFor[flatInput]()))
	require.NotNil(t, newFlatDecoder(reflect.TypeFor[struct{ N named }]()))
	require.NotNil(t, newFlatDecoder(reflect.TypeFor[struct{}]()))
	for _, typ := range []reflect.Type{
		reflect.TypeFor[embedded](), reflect.TypeFor[withPointer](), reflect.TypeFor[withString](),
		reflect.TypeFor[withTime](), reflect.TypeFor[oddTag](), reflect.TypeFor[twice](),
		reflect.TypeFor[map[string]any](), reflect.TypeFor[json.RawMessage](),
	} {
		require.Nil(t, newFlatDecoder(typ), typ.String())
	}
}

func TestFlatDecoderDecodesLikeEncodingJSON(t *testing.T) {
	d := newFlatDecoder(reflect.TypeFor[flatInput]())
	for _, raw := range []string{
		`{}`,
		` { "s" : "héllo" , "b":true,"i":-42,"i8":-128,"i64":-9223372036854775808,"u16":65535,"u64":18446744073709551615,"f32":1.5e3,"f64":-0.000125,"Untaged":"u"} `,
		`{"s":"a","s":"b"}`,
		`{"i":-0,"f64":-0}`,
	} {
		var got, want flatInput
		require.True(t, d.decode([]byte(raw), reflect.ValueOf(&got).Elem()), raw)
		require.NoError(t, strictDecode([]byte(raw), &want), raw)
		require.Equal(t, want, got, raw)
	}
}

func TestFlatDecoderLeavesTheRestToEncodingJSON(t *testing.T) {
	d := newFlatDecoder(reflect.TypeFor[flatInput]())
	for _, raw := range []string{
		`{"S":"case differs"}`,         // encoding/json matches it case-insensitively
		`{"x":1}`,                      // unknown
		`{"hidden":"x"}`,               // unexported: unknown to encoding/json
		`{"Skipped":"x"}`,              // json:"-"
		`{"s":"\u00e9"}`,               // escape
		`{"s":"` + "\xff" + `"}`,       // invalid UTF-8
		`{"s":null}`,                   // null leaves the field alone
		`{"i8":128}`,                   // overflow
		`{"u16":-1}`,                   // negative into unsigned
		`{"i":1.0}`,                    // fraction into an integer
		`{"i":1e2}`,                    // exponent into an integer
		`{"u64":18446744073709551616}`, // beyond 64 bits
		`{"f32":1e39}`,                 // beyond float32
		`{"b":"true"}`,                 // string into bool
		`{"s":1}`,                      // number into string
		`{"i":1}x`,                     // trailing data
		`{"i":1,}`,                     // not JSON
		`[]`, `null`, ``,
	} {
		var got flatInput
		require.False(t, d.decode([]byte(raw), reflect.ValueOf(&got).Elem()), raw)
	}
}

// The pipeline's result is encoding/json's either way, including the
// fall-back from a partly written value.
func TestDecodeIntoWithFlatDecoderMatchesEncodingJSON(t *testing.T) {
	flat := newFlatDecoder(reflect.TypeFor[flatInput]())
	for _, raw := range []string{
		`{"s":"x","i":3}`,
		`{"s":"x","S":"y"}`,
		`{"s":"x","i":"3"}`,
		`{"s":"x","unknown":1}`,
		`{"s":"x","i8":300}`,
	} {
		for _, mode := range []Validation{ValidationStrict, ValidationRelaxed} {
			var a, b flatInput
			errA := decodeInto(&a, json.RawMessage(raw), mode, flat)
			errB := decodeInto(&b, json.RawMessage(raw), mode, nil)
			require.Equal(t, errB, errA, raw)
			if errA == nil {
				require.Equal(t, b, a, raw)
			}
		}
	}
}

func FuzzFlatDecoder(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"s":"x","b":false,"i":1,"i8":-1,"i64":5,"u16":7,"u64":9,"f32":0.5,"f64":1e-7,"Untaged":""}`,
		`{"S":"y"}`, `{"i":1.5}`, `{"s":"\n"}`, `{"u64":18446744073709551615}`, `{"i64":-9223372036854775809}`,
	} {
		f.Add([]byte(s))
	}
	d := newFlatDecoder(reflect.TypeFor[flatInput]())
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got flatInput
		if !d.decode(raw, reflect.ValueOf(&got).Elem()) {
			return
		}
		var want flatInput
		if err := strictDecode(raw, &want); err != nil {
			t.Fatalf("flat decoder took %q, encoding/json refuses it: %v", raw, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q: flat decoder %+v, encoding/json %+v", raw, got, want)
		}
	})
}

// Validate runs after the flat decoder as after encoding/json.
func TestFlatDecodedInputIsValidated(t *testing.T) {
	var v validated
	err := decodeInto(&v, json.RawMessage(`{"n":-1}`), ValidationStrict, newFlatDecoder(reflect.TypeFor[validated]()))
	require.ErrorContains(t, err, "negative")
	var p ptrValidated
	err = decodeInto(&p, json.RawMessage(`{"s":""}`), ValidationStrict, newFlatDecoder(reflect.TypeFor[ptrValidated]()))
	require.ErrorContains(t, err, "required")
	p = ptrValidated{}
	require.NoError(t, decodeInto(&p, json.RawMessage(`{"s":"x"}`), ValidationStrict, newFlatDecoder(reflect.TypeFor[ptrValidated]())))
	require.Equal(t, "x", p.S)
}
