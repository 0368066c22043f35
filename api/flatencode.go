package api

import (
	"reflect"
	"strconv"
)

// flatEncoder writes the success envelope of a flat handler output, a
// struct of strings, booleans and integers, in one pass: the bytes
// json.Marshal gives for the output with `"status":"success",
// "httpStatus":200` added at the end, which is what encoding the output
// and spreadResult give. That path was most of the api path's reply cost
// for such outputs (docs/PERFORMANCE.md, issue 4).
//
// It reports false for a string it would have to escape (a quote, a
// backslash, a control or non-ASCII byte, or <, > and &, which
// encoding/json writes as \u003c and the like); the caller then takes the
// encoding/json path. FuzzFlatEncoder holds its bytes to that path's.
type flatEncoder struct {
	typ    reflect.Type
	fields []flatOutField
}

// flatOutField is one field written: its `"name":` prefix and its rules.
type flatOutField struct {
	key       string // `"name":`
	index     int
	kind      reflect.Kind
	omitEmpty bool
}

// newFlatEncoder returns the encoder of struct type t, or nil when t is not
// flat (flatStructFields; floats are left to encoding/json too, whose
// number format this encoder does not repeat) or has a field that the
// envelope's own "status" or "httpStatus" would have to override.
func newFlatEncoder(t reflect.Type) *flatEncoder {
	fields, ok := flatStructFields(t, false, encodesItself)
	if !ok {
		return nil
	}
	e := &flatEncoder{typ: t}
	for _, f := range fields {
		if f.name == "status" || f.name == "httpStatus" {
			return nil
		}
		e.fields = append(e.fields, flatOutField{key: `"` + f.name + `":`, index: f.index, kind: f.kind, omitEmpty: f.omit})
	}
	return e
}

// successTail closes a success envelope.
const successTail = `"status":"success","httpStatus":200}`

// envelope returns the success envelope of out, a value of the encoder's
// type, or false.
func (e *flatEncoder) envelope(out any) ([]byte, bool) {
	if out == nil {
		return nil, false
	}
	v := reflect.ValueOf(out)
	if v.Type() != e.typ {
		return nil, false
	}
	b := make([]byte, 0, 64+16*len(e.fields))
	b = append(b, '{')
	for i := range e.fields {
		f := &e.fields[i]
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.String:
			s := fv.String()
			if f.omitEmpty && s == "" {
				continue
			}
			if !plainJSONString(s) {
				return nil, false
			}
			b = append(b, f.key...)
			b = append(b, '"')
			b = append(b, s...)
			b = append(b, '"')
		case reflect.Bool:
			x := fv.Bool()
			if f.omitEmpty && !x {
				continue
			}
			b = append(b, f.key...)
			b = strconv.AppendBool(b, x)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			x := fv.Uint()
			if f.omitEmpty && x == 0 {
				continue
			}
			b = append(b, f.key...)
			b = strconv.AppendUint(b, x, 10)
		default:
			x := fv.Int()
			if f.omitEmpty && x == 0 {
				continue
			}
			b = append(b, f.key...)
			b = strconv.AppendInt(b, x, 10)
		}
		b = append(b, ',')
	}
	return append(b, successTail...), true
}

// plainJSONString reports whether encoding/json writes s between quotes
// unchanged.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
