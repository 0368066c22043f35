package api

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// flatDecoder decodes the common shape of an API input, a JSON object of
// strings, booleans and numbers, into a struct of such fields without
// encoding/json. encoding/json was about a quarter of the api path's CPU
// for such inputs (docs/PERFORMANCE.md, issue 4).
//
// It takes only the plain case and reports false on anything else: a key
// that is not exactly a field's name (encoding/json would also try it
// case-insensitively, or refuse or skip it as unknown), an escape in a key
// or string, invalid UTF-8, null, a number that does not fit its field or
// has a fraction or exponent for an integer field, or input that is not a
// single object. The caller then decodes with encoding/json from a zero
// value, so what is accepted, what is refused and every error text stay
// encoding/json's; FuzzFlatDecoder holds the two to the same result.
type flatDecoder struct {
	fields []flatField
}

// flatField is one settable field: its JSON name and where it is.
type flatField struct {
	name  string
	index int
	kind  reflect.Kind
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// flatStructField is a field of a flat struct as encoding/json names it.
type flatStructField struct {
	name  string
	index int
	kind  reflect.Kind
	omit  bool // omitempty or omitzero, which skip the same scalar values
}

// flatStructFields lists the fields encoding/json reads and writes in
// struct type t, or reports false when t is not flat: it or a field codes
// itself (per selfCoded), a field is embedded (its own name rules), of a
// kind other than string, bool, integer or (with floats) float, coded
// from a string (",string"), has a tag name this package does not vouch
// for, or shares its name with another (encoding/json then drops both).
func flatStructFields(t reflect.Type, floats bool, selfCoded func(reflect.Type) bool) ([]flatStructField, bool) {
	if t.Kind() != reflect.Struct || selfCoded(t) {
		return nil, false
	}
	var fields []flatStructField
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		if !f.IsExported() {
			continue // encoding/json ignores it too
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if hasOption(opts, "string") {
			return nil, false
		}
		if name == "" {
			name = f.Name
		}
		if !plainTagName(name) || seen[name] || selfCoded(f.Type) {
			return nil, false
		}
		switch k := f.Type.Kind(); k {
		case reflect.String, reflect.Bool,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		case reflect.Float32, reflect.Float64:
			if !floats {
				return nil, false
			}
		default:
			return nil, false
		}
		seen[name] = true
		fields = append(fields, flatStructField{name: name, index: i, kind: f.Type.Kind(),
			omit: hasOption(opts, "omitempty") || hasOption(opts, "omitzero")})
	}
	return fields, true
}

// newFlatDecoder returns the decoder of struct type t, or nil when t is
// not flat (flatStructFields).
func newFlatDecoder(t reflect.Type) *flatDecoder {
	fields, ok := flatStructFields(t, true, decodesItself)
	if !ok {
		return nil
	}
	d := &flatDecoder{}
	for _, f := range fields {
		d.fields = append(d.fields, flatField{name: f.name, index: f.index, kind: f.kind})
	}
	return d
}

func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType)
}

func encodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonMarshalerType) || p.Implements(textMarshalerType)
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// plainTagName accepts the names that mean themselves in encoding/json for
// certain and need no escaping: letters, digits, '_' and '-'.
func plainTagName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// decode decodes raw into v, a settable struct of the decoder's type, and
// reports whether it could. On false v may be partly written.
func (d *flatDecoder) decode(raw []byte, v reflect.Value) bool {
	s := jsonScan{b: raw}
	return s.object(func(key []byte, esc, _ bool) bool {
		if esc {
			return false
		}
		f := d.field(key)
		return f != nil && d.value(&s, f, v.Field(f.index))
	})
}

func (d *flatDecoder) field(key []byte) *flatField {
	for i := range d.fields {
		if d.fields[i].name == string(key) {
			return &d.fields[i]
		}
	}
	return nil
}

// value decodes the value at s into fv, a field of kind f.kind.
func (d *flatDecoder) value(s *jsonScan, f *flatField, fv reflect.Value) bool {
	switch f.kind {
	case reflect.String:
		start := s.i
		esc, ascii, ok := s.str()
		if !ok || esc {
			return false
		}
		b := s.b[start+1 : s.i-1]
		if !ascii && !utf8.Valid(b) {
			return false // encoding/json replaces invalid bytes
		}
		fv.SetString(string(b))
		return true
	case reflect.Bool:
		switch {
		case s.literal("true"):
			fv.SetBool(true)
		case s.literal("false"):
			fv.SetBool(false)
		default:
			return false
		}
		return true
	}
	start := s.i
	if !s.number() {
		return false
	}
	lit := s.b[start:s.i]
	switch f.kind {
	case reflect.Float32, reflect.Float64:
		bits := 64
		if f.kind == reflect.Float32 {
			bits = 32
		}
		x, err := strconv.ParseFloat(string(lit), bits)
		if err != nil {
			return false
		}
		fv.SetFloat(x)
		return true
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var n uint64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return false // a fraction or an exponent
		}
		if n > (1<<64-1)/10 {
			return false
		}
		n2 := n*10 + uint64(c-'0')
		if n2 < n {
			return false
		}
		n = n2
	}
	switch f.kind {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if neg || fv.OverflowUint(n) {
			return false
		}
		fv.SetUint(n)
		return true
	}
	var x int64
	switch {
	case !neg && n <= 1<<63-1:
		x = int64(n)
	case neg && n <= 1<<63:
		x = int64(-n) // wraps to -1<<63 for n == 1<<63, which is right
	default:
		return false
	}
	if fv.OverflowInt(x) {
		return false
	}
	fv.SetInt(x)
	return true
}
