package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Validation is a route's input validation mode. The zero value is
// [ValidationStrict], so a route is strict unless it says otherwise.
type Validation int

const (
	// ValidationStrict refuses unknown fields and wrong types, and calls the
	// input's Validate() error method when it has one.
	ValidationStrict Validation = iota
	// ValidationRelaxed ignores unknown fields and skips Validate; wrong
	// types are still refused, because the input must decode into the
	// handler's Go type.
	ValidationRelaxed
	// ValidationSkip refuses nothing: unknown fields are ignored and fields
	// of the wrong type keep their zero value.
	ValidationSkip
)

// String returns "strict", "relaxed" or "skip".
func (v Validation) String() string {
	switch v {
	case ValidationStrict:
		return "strict"
	case ValidationRelaxed:
		return "relaxed"
	case ValidationSkip:
		return "skip"
	}
	return fmt.Sprintf("Validation(%d)", int(v))
}

// NoRateLimit as [Route].RateLimit exempts a route from its per-route
// bucket (the global per-IP bucket still applies).
const NoRateLimit = -1

// HandlerFunc handles one typed request. Returning an *[Error] answers its
// code; any other error answers api.internalServerError (500). The output
// must encode as a JSON object; its fields are spread onto the success
// envelope next to status and httpStatus (an "httpStatus" field sets the
// reply's status). The context ends when the client cancels, disconnects or
// the timeout expires.
type HandlerFunc[In, Out any] func(ctx context.Context, req *Request, in In) (Out, error)

// ErrorFormatter reshapes an error envelope before it is sent (never a
// success one). It returns the object to send instead; an error, or a value
// that is not a JSON object, keeps the unformatted envelope.
type ErrorFormatter func(env *Envelope, info FormatInfo) (any, error)

// FormatInfo tells an [ErrorFormatter] where the error came from.
type FormatInfo struct {
	// RouteName is the canonical route key, or "api/unknown".
	RouteName string
	// Transport tells how the request arrived.
	Transport Transport
	// Request is nil for errors raised before the route was known.
	Request *Request
}

// Route is one API route: its handler and policies.
type Route[In, Out any] struct {
	// Handler runs the route. Required.
	Handler HandlerFunc[In, Out]
	// Auth is the access rule. The zero value admits everybody.
	Auth Auth
	// RateLimit is the per-route bucket's limit per window. Zero means the
	// module default; [NoRateLimit] exempts the route.
	RateLimit int
	// Method is the HTTP method the route answers ("GET", "POST", "PUT" or
	// "DELETE"). Zero means inferred from the route name ([InferMethod]).
	Method string
	// Validation is the input validation mode. Zero means strict.
	Validation Validation
	// Timeout bounds the handler. Zero means the module's
	// [Options].Timeout; negative means none even when the module has one.
	// It never applies to HTTP server-sent-event requests.
	Timeout time.Duration
	// ErrorFormatter reshapes this route's error envelopes. Nil means the
	// module's [Options].ErrorFormatter.
	ErrorFormatter ErrorFormatter
}

// entry is a registered route with its types erased, so that one registry
// holds routes of every In and Out.
type entry struct {
	key, service, route string
	version             int

	auth       Auth
	rateLimit  int
	method     string
	validation Validation
	timeout    time.Duration
	formatter  ErrorFormatter

	// decode turns the raw input object into an *In (boxed: a pointer
	// boxes without another allocation); the error's text is the detail
	// for PostAPIValidate.
	decode func(raw json.RawMessage, mode Validation) (any, error)
	// call runs the handler on a decoded *In and returns its Out (boxed).
	call func(ctx context.Context, req *Request, in any) (any, error)
	// flatOut, when not nil, writes the success envelope of an Out.
	flatOut *flatEncoder
}

// Register adds a route to m under name: "<service>/<route...>/v<N>", with
// or without the leading "api/", or "<route>/v<N>" for service "system".
// It refuses an invalid name, a nil handler, an unknown method or
// validation mode, a malformed auth predicate, and a key already present
// ([ErrDuplicateRoute]). Safe to call while serving.
//
// It is a function because Go methods cannot have type parameters.
func Register[In, Out any](m *Module, name string, r Route[In, Out]) error {
	if m == nil {
		return errors.New("api: Register on a nil module")
	}
	if r.Handler == nil {
		return fmt.Errorf("api: route %q has no handler", name)
	}
	key, service, route, version, err := parseRegistrationName("api", name)
	if err != nil {
		return err
	}
	e := &entry{
		key: key, service: service, route: route, version: version,
		rateLimit: r.RateLimit, validation: r.Validation,
		timeout: r.Timeout, formatter: r.ErrorFormatter,
	}
	e.method = strings.ToUpper(r.Method)
	switch e.method {
	case "":
		e.method = InferMethod(route)
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return fmt.Errorf("api: route %q: method %q is not GET, POST, PUT or DELETE", key, r.Method)
	}
	if r.Validation < ValidationStrict || r.Validation > ValidationSkip {
		return fmt.Errorf("api: route %q: unknown validation mode %d", key, int(r.Validation))
	}
	if r.RateLimit < NoRateLimit {
		return fmt.Errorf("api: route %q: rate limit %d is negative", key, r.RateLimit)
	}
	e.auth.Login = r.Auth.Login
	for _, p := range r.Auth.Additional {
		cp, err := p.compile()
		if err != nil {
			return fmt.Errorf("api: route %q: %w", key, err)
		}
		e.auth.Additional = append(e.auth.Additional, cp)
	}
	h := r.Handler
	flat := newFlatDecoder(reflect.TypeFor[In]())
	e.flatOut = newFlatEncoder(reflect.TypeFor[Out]())
	e.decode = func(raw json.RawMessage, mode Validation) (any, error) {
		in := new(In)
		return in, decodeInto(in, raw, mode, flat)
	}
	e.call = func(ctx context.Context, req *Request, in any) (any, error) {
		var v In // the zero In should decode ever fail to produce one
		if p, ok := in.(*In); ok && p != nil {
			v = *p
		}
		return h(ctx, req, v)
	}
	return m.add(e)
}

// validator is the optional self-check of an input type.
type validator interface{ Validate() error }

// decodeInput decodes raw into an In according to mode.
func decodeInput[In any](raw json.RawMessage, mode Validation) (In, error) {
	var in In
	err := decodeInto(&in, raw, mode, nil)
	return in, err
}

// decodeInto decodes raw into *in, which is zero, according to mode; flat,
// when not nil, is In's flatDecoder, tried first.
func decodeInto[In any](in *In, raw json.RawMessage, mode Validation, flat *flatDecoder) error {
	if mode == ValidationSkip {
		// Type mismatches leave zero values and the other fields decoded;
		// the data is a valid object, so nothing else can fail.
		_ = json.Unmarshal(raw, in)
		return nil
	}
	if flat == nil || !flat.decode(raw, reflect.ValueOf(in).Elem()) {
		// encoding/json decides, from the zero value the flat decoder may
		// have written to.
		var zero In
		*in = zero
		if err := decodePooled(raw, in, mode == ValidationStrict); err != nil {
			return err
		}
	}
	if mode != ValidationStrict {
		return nil
	}
	// The pointer's method set holds a struct's value methods too, and
	// boxing it allocates nothing; boxing a struct In would copy it.
	if v, ok := any(in).(validator); ok {
		return v.Validate()
	}
	// An In that is itself a pointer: decoding an object always allocates
	// it, so a Validate with a pointer receiver never sees nil here.
	if k := reflect.TypeFor[In]().Kind(); k == reflect.Pointer || k == reflect.Interface {
		if v, ok := any(*in).(validator); ok {
			return v.Validate()
		}
	}
	return nil
}

// add stores e unless its key is taken.
func (m *Module) add(e *entry) error {
	if !m.routes.Add(e.key, e) {
		return fmt.Errorf("%w: %s", ErrDuplicateRoute, e.key)
	}
	return nil
}

func (m *Module) lookup(key string) *entry {
	e, _ := m.routes.Get(key)
	return e
}

// Routes returns the registered route keys, sorted.
func (m *Module) Routes() []string { return m.routes.Keys() }

// pooledDecoder is a json.Decoder reading from a source that can be
// pointed at the next input. A Decoder cannot be reset, and a new one per
// request (with its read buffer) was a quarter of the api path's
// allocations; a reused one also decodes faster than json.Unmarshal.
type pooledDecoder struct {
	src bytes.Reader
	dec *json.Decoder
}

// decoders holds relaxed decoders at 0 and strict ones (unknown fields
// refused) at 1.
var decoders = [2]sync.Pool{
	{New: func() any { return newPooledDecoder(false) }},
	{New: func() any { return newPooledDecoder(true) }},
}

func newPooledDecoder(strict bool) *pooledDecoder {
	d := &pooledDecoder{}
	d.dec = json.NewDecoder(&d.src)
	if strict {
		d.dec.DisallowUnknownFields()
	}
	return d
}

// maxPooledInput bounds the inputs whose decoder goes back to the pool: the
// decoder keeps a buffer the size of the largest input it read.
const maxPooledInput = 16 << 10

// decodePooled decodes raw, one complete JSON value, into v.
func decodePooled(raw json.RawMessage, v any, strict bool) error {
	pool := &decoders[0]
	if strict {
		pool = &decoders[1]
	}
	d := pool.Get().(*pooledDecoder)
	d.src.Reset(raw)
	start := d.dec.InputOffset()
	err := d.dec.Decode(v)
	// A failed Decode leaves the decoder unusable, and bytes it has not
	// consumed would be read as the next input: such a decoder is dropped.
	if err == nil && d.src.Len() == 0 && d.dec.InputOffset()-start == int64(len(raw)) && len(raw) <= maxPooledInput {
		d.src.Reset(nil)
		pool.Put(d)
	}
	return err
}

// outputEncoder encodes handler outputs into a reused buffer: the output
// is copied into its envelope right after, so json.Marshal's own copy
// would be one allocation per request for nothing.
type outputEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder // HTML-escaping, as json.Marshal
}

var outputEncoders = sync.Pool{New: func() any {
	e := &outputEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

func getOutputEncoder() *outputEncoder {
	e := outputEncoders.Get().(*outputEncoder)
	e.buf.Reset()
	return e
}

func putOutputEncoder(e *outputEncoder) {
	if e.buf.Cap() <= maxPooledInput {
		outputEncoders.Put(e)
	}
}
