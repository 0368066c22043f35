package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
)

// Args are the arguments of a received event or ack, kept as raw JSON until
// a handler asks for them so that nothing is decoded twice or for nobody.
//
// Binary values sent by the client are reachable through [Args.Decode] (into
// []byte fields or values) and [Args.Value] (as []byte).
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
}

// NewArgs builds Args from raw JSON values and the attachments their
// placeholders refer to. Adapters use it for values that arrive from peers.
func NewArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return Args{raw: raw, attachments: attachments}
}

// Len reports the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as received (binary values as placeholders), or nil
// when i is out of range. Its memory is never reused by the server, so a
// handler may keep it, or parts of it, after it returns; it must not
// modify it, since [Args.Decode] and other handlers of the event read it.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Attachments returns the binary attachments the placeholders refer to.
func (a Args) Attachments() [][]byte { return a.attachments }

// ErrNoArg is returned when an argument index is out of range.
var ErrNoArg = errors.New("socketio: no such argument")

// Decode unmarshals argument i into v with encoding/json. Binary values
// decode into []byte fields (they are handed to encoding/json as base64).
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("%w: %d of %d", ErrNoArg, i, len(a.raw))
	}
	if p, ok := v.(*any); ok {
		val, err := a.Value(i)
		*p = val
		return err
	}
	raw := a.raw[i]
	if len(a.attachments) > 0 {
		var err error
		if raw, err = a.inlineBinary(raw); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

// Value decodes argument i into generic Go values (map[string]any, []any,
// float64, string, bool, nil) with binary values as []byte.
func (a Args) Value(i int) (any, error) {
	if i < 0 || i >= len(a.raw) {
		return nil, fmt.Errorf("%w: %d of %d", ErrNoArg, i, len(a.raw))
	}
	var v any
	if err := json.Unmarshal(a.raw[i], &v); err != nil {
		return nil, err
	}
	if len(a.attachments) == 0 {
		return v, nil
	}
	return substituteBinary(v, a.attachments), nil
}

// Values decodes every argument with [Args.Value].
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	for i := range a.raw {
		v, err := a.Value(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func substituteBinary(v any, att [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			x[i] = substituteBinary(e, att)
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			// Compared as floats: int(1e300) is negative. Args from adapters
			// carry peers' data that the decoder never checked.
			if num, ok := x["num"].(float64); ok && num >= 0 && num < float64(len(att)) {
				return att[int(num)]
			}
		}
		for k, e := range x {
			x[k] = substituteBinary(e, att)
		}
	}
	return v
}

// inlineBinary rewrites placeholders as base64 JSON strings, which is what
// encoding/json expects for []byte.
func (a Args) inlineBinary(raw json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	v = substituteBinary(v, a.attachments)
	return json.Marshal(v) // []byte marshals as base64
}

// encoder state is pooled: emits are hot and encoding/json's Encoder keeps a
// reusable buffer.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

type encoderPool struct{ p sync.Pool }

func (ep *encoderPool) get() *jsonEncoder {
	if e, ok := ep.p.Get().(*jsonEncoder); ok {
		e.buf.Reset()
		return e
	}
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	// JSON.stringify does not escape <, > and &; neither do we, so payloads are
	// byte-identical to what a Node server sends.
	e.enc.SetEscapeHTML(false)
	return e
}

func (ep *encoderPool) put(e *jsonEncoder) {
	if e.buf.Cap() <= 64<<10 {
		ep.p.Put(e)
	}
}

// encodeArray encodes head (when non-empty) followed by args as one JSON
// array, extracting []byte values (at any depth of maps, slices, arrays,
// pointers and interfaces) as binary attachments. Structs are encoded by
// encoding/json as they are, so a []byte field inside a struct travels as a
// base64 string; put binary in maps or slices to send it as binary.
func (ep *encoderPool) encodeArray(head string, args []any) (json.RawMessage, [][]byte, error) {
	e := ep.get()
	defer ep.put(e)
	att, err := encodeArrayInto(e, head, args)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, e.buf.Len())
	copy(out, e.buf.Bytes())
	return out, att, nil
}

// encodeArrayInto is encodeArray writing into e's buffer, for callers that
// copy the result into a larger buffer anyway.
func encodeArrayInto(e *jsonEncoder, head string, args []any) ([][]byte, error) {
	var att [][]byte
	e.buf.WriteByte('[')
	n := 0
	if head != "" {
		if err := e.enc.Encode(head); err != nil {
			return nil, err
		}
		trimNewline(&e.buf)
		n++
	}
	for _, a := range args {
		if n > 0 {
			e.buf.WriteByte(',')
		}
		n++
		if err := encodeValue(e, a, &att); err != nil {
			return nil, err
		}
	}
	e.buf.WriteByte(']')
	return att, nil
}

func trimNewline(b *bytes.Buffer) {
	if n := b.Len(); n > 0 && b.Bytes()[n-1] == '\n' {
		b.Truncate(n - 1)
	}
}

func encodeValue(e *jsonEncoder, v any, att *[][]byte) error {
	switch x := v.(type) {
	case nil:
		e.buf.WriteString("null")
		return nil
	case json.RawMessage:
		if len(x) == 0 {
			e.buf.WriteString("null")
			return nil
		}
		e.buf.Write(x)
		return nil
	case []byte:
		e.buf.WriteString(`{"_placeholder":true,"num":`)
		e.buf.WriteString(strconv.Itoa(len(*att)))
		e.buf.WriteByte('}')
		*att = append(*att, x)
		return nil
	case string, bool, int, int64, float64:
		if err := e.enc.Encode(x); err != nil {
			return err
		}
		trimNewline(&e.buf)
		return nil
	}
	if hasBinary(reflect.ValueOf(v), 0) {
		return encodeGeneric(e, reflect.ValueOf(v), att, 0)
	}
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	trimNewline(&e.buf)
	return nil
}

var bytesType = reflect.TypeFor[[]byte]()
var rawType = reflect.TypeFor[json.RawMessage]()

// hasBinary reports whether v holds a []byte inside containers we rewrite.
func hasBinary(v reflect.Value, depth int) bool {
	if depth > maxNesting || !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false
		}
		return hasBinary(v.Elem(), depth+1)
	case reflect.Slice:
		if v.Type() == rawType {
			return false
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return !v.IsNil()
		}
		fallthrough
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if hasBinary(v.Index(i), depth+1) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if hasBinary(it.Value(), depth+1) {
				return true
			}
		}
	}
	return false
}

// encodeGeneric writes v as JSON, replacing []byte by placeholders. It only
// runs for values hasBinary found binary in.
func encodeGeneric(e *jsonEncoder, v reflect.Value, att *[][]byte, depth int) error {
	if depth > maxNesting {
		return errTooDeep
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		return encodeGeneric(e, v.Elem(), att, depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && v.Type() != rawType {
			if v.IsNil() {
				e.buf.WriteString("null")
				return nil
			}
			return encodeValue(e, v.Bytes(), att)
		}
		if !hasBinary(v, depth) {
			return encodeValue(e, v.Interface(), att)
		}
		e.buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := encodeGeneric(e, v.Index(i), att, depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
		return nil
	case reflect.Map:
		if !hasBinary(v, depth) {
			return encodeValue(e, v.Interface(), att)
		}
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("socketio: cannot encode binary inside map with %s keys", v.Type().Key())
		}
		e.buf.WriteByte('{')
		it := v.MapRange()
		first := true
		for it.Next() {
			if !first {
				e.buf.WriteByte(',')
			}
			first = false
			if err := e.enc.Encode(it.Key().String()); err != nil {
				return err
			}
			trimNewline(&e.buf)
			e.buf.WriteByte(':')
			if err := encodeGeneric(e, it.Value(), att, depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
		return nil
	}
	return encodeValue(e, v.Interface(), att)
}

// base64Std is the encoding Engine.IO uses for binary over polling.
var base64Std = base64.StdEncoding
