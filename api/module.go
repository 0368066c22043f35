package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/internal/registry"
)

// Translator produces the message of an error envelope in lang. Without
// one the message is the error code, which the browser client translates
// itself.
type Translator func(lang, code string, params []events.ErrorParam) string

// Options configures [New]. The zero value is a working module: strict
// validation, no timeout, 16 requests in flight per socket, and the
// original's rate limits in memory.
type Options struct {
	// MaxInFlight bounds the socket requests one client may have running at
	// once; beyond it a request is answered at once with
	// [CodeTooManyInFlight] (429) rather than queued, so a flooding client
	// holds no memory. Zero means 16; negative means no bound.
	MaxInFlight int
	// Timeout bounds every handler whose route sets none. Zero means no
	// timeout (the original's default). An expired handler's context is
	// cancelled and the caller gets api.timeout (504).
	Timeout time.Duration
	// RateLimit configures the rate limits.
	RateLimit RateLimitOptions
	// ErrorFormatter reshapes error envelopes of routes without their own.
	// Nil formats nothing.
	ErrorFormatter ErrorFormatter
	// Translate produces error messages. Nil means message = error code.
	Translate Translator
	// StreamParam is the query parameter that asks for server-sent events
	// over HTTP (value "true" or "1"); it is removed from the data. Zero
	// means "stream".
	StreamParam string
}

// RateLimitOptions configures rate limiting (luckystack-wire.md §13.3):
// a per-route bucket per caller, then a global bucket per IP.
type RateLimitOptions struct {
	// Disabled turns rate limiting off.
	Disabled bool
	// DefaultAPILimit is the per-route limit of routes that set none. Zero
	// means 60; negative means routes are unlimited unless they set one.
	DefaultAPILimit int
	// DefaultIPLimit is the global per-IP limit over all routes. Zero means
	// 100; negative turns the global bucket off.
	DefaultIPLimit int
	// Window is the fixed window. Zero means one minute.
	Window time.Duration
	// Store counts hits. Nil means in memory (per instance); use
	// [NewRedisStore] to share limits across instances.
	Store Store
	// OnStoreError applies when Store fails. Zero means FallbackToMemory.
	OnStoreError StoreErrorPolicy
	// Identity names the caller of a per-route bucket. Nil, or an empty
	// scope, means ("user", user id) for sessions and ("ip", address)
	// otherwise.
	Identity func(req *Request) (scope, id string)
	// SkipLoopback exempts loopback addresses from the global IP bucket
	// (development behind a local proxy). Default false.
	SkipLoopback bool
}

// Module is the API feature: typed request/response routes over the
// socket (apiRequest) and HTTP (/api/...). Create it with [New], register
// routes with [Register], and pass it in luckystack.Options.Modules. A
// module belongs to one server.
type Module struct {
	opts     Options
	problems []string
	limiter  *Limiter

	routes registry.Registry[*entry]

	srv    atomic.Pointer[luckystack.Server]
	closed atomic.Bool

	flightsMu sync.Mutex // Protects following.
	// flights are the running socket requests by client and index, so
	// that apiCancel finds them; inFlight counts them per client for
	// MaxInFlight. Two flat maps rather than a map per client: a request
	// then allocates nothing here. Keyed by the client itself, one per
	// connected socket: a pointer hashes in a fraction of a socket id's
	// time.
	flights  map[flightKey]*flight
	inFlight map[*luckystack.Client]int
}

var (
	_ luckystack.Module   = (*Module)(nil)
	_ luckystack.Verifier = (*Module)(nil)
	_ luckystack.Closer   = (*Module)(nil)
)

// New returns a module with opts; zero fields take their defaults. Invalid
// values are reported by Verify at bootstrap, all at once.
func New(opts Options) *Module {
	m := &Module{flights: map[flightKey]*flight{}, inFlight: map[*luckystack.Client]int{}}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 16
	}
	if opts.Timeout < 0 {
		m.problems = append(m.problems, fmt.Sprintf("Timeout %v is negative", opts.Timeout))
		opts.Timeout = 0
	}
	rl := &opts.RateLimit
	m.problems = append(m.problems, rl.ApplyDefaults()...)
	if opts.StreamParam == "" {
		opts.StreamParam = "stream"
	}
	m.opts = opts
	m.limiter = NewLimiter(LimiterOptions{Store: rl.Store, OnStoreError: rl.OnStoreError})
	return m
}

// Name implements luckystack.Module.
func (m *Module) Name() string { return "api" }

// Verify implements luckystack.Verifier: it reports invalid options.
func (m *Module) Verify(*luckystack.Server) []string { return m.problems }

// Install implements luckystack.Module: it handles apiRequest and
// apiCancel on the socket and /api/ over HTTP.
func (m *Module) Install(s *luckystack.Server) error {
	if !m.srv.CompareAndSwap(nil, s) && m.srv.Load() != s {
		return errors.New("api: module already installed on another server")
	}
	s.HandleSocketEvent(string(events.NameAPIRequest), m.onAPIRequest)
	s.HandleSocketEvent(string(events.NameAPICancel), m.onAPICancel)
	s.HandleAPI(http.HandlerFunc(m.serveHTTP))
	return nil
}

// Close implements luckystack.Closer. Requests still running were cancelled
// when the server stopped its goroutines; Close only refuses new ones. The
// rate-limit store's client belongs to the caller and stays open.
func (m *Module) Close(context.Context) error {
	m.closed.Store(true)
	return nil
}

// Limiter returns the module's rate limiter, so other modules (sync) can
// count in the same store.
func (m *Module) Limiter() *Limiter { return m.limiter }

// server returns the server the module is installed on (nil before).
func (m *Module) server() *luckystack.Server { return m.srv.Load() }

// flightKey names a socket request: the client and the request's index.
type flightKey struct {
	cl    *luckystack.Client
	index int
}

// flight is a running socket request as apiCancel finds it, and the
// source of its context.
//
// The context is made on first use: most handlers of small requests never
// look at theirs, and a context derived from the client's cost a quarter
// of the api layer's own CPU per request (an allocation, and a child
// registered with the client's context and removed again; issue 4). Until
// then the flight keeps what would have cancelled it: an apiCancel's
// cause, or the request's end. The context it hands out forwards every
// method, Value included, to the real one, so context.Cause, AfterFunc and
// derived contexts behave exactly as with the real one.
type flight struct {
	mu     sync.Mutex // Protects following.
	parent context.Context
	ctx    context.Context // nil until first use
	cancel context.CancelCauseFunc
	cause  error // an abort before ctx exists
	ended  bool  // the request is over; a context made now is cancelled
}

// start makes the flight ready to give out the request's context, derived
// from parent when first used.
func (f *flight) start(parent context.Context) context.Context {
	f.mu.Lock()
	f.parent = parent
	f.mu.Unlock()
	return (*flightCtx)(f)
}

// real returns the request's context, making it now if needed.
func (f *flight) real() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx == nil {
		f.ctx, f.cancel = context.WithCancelCause(f.parent)
		switch {
		case f.cause != nil:
			f.cancel(f.cause)
		case f.ended:
			f.cancel(nil)
		}
	}
	return f.ctx
}

// done reports whether the request's context has ended, without making it.
func (f *flight) done() bool {
	f.mu.Lock()
	ctx, cause, parent := f.ctx, f.cause, f.parent
	f.mu.Unlock()
	switch {
	case ctx != nil:
		return ctx.Err() != nil
	case cause != nil:
		return true
	default:
		return parent.Err() != nil
	}
}

// abort cancels the request with cause, now or as soon as its context is
// made.
func (f *flight) abort(cause error) {
	f.mu.Lock()
	cancel := f.cancel
	if cancel == nil && f.cause == nil {
		f.cause = cause
	}
	f.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// end cancels the context when the request is over, as a derived context
// is; one made later (by a goroutine the handler left running) starts
// cancelled.
func (f *flight) end() {
	f.mu.Lock()
	f.ended = true
	cancel := f.cancel
	f.mu.Unlock()
	if cancel != nil {
		cancel(nil)
	}
}

// flightCtx is the context a flight hands out.
type flightCtx flight

// Deadline is the request context's deadline.
func (c *flightCtx) Deadline() (time.Time, bool) { return (*flight)(c).real().Deadline() }

// Done is the request context's Done channel.
func (c *flightCtx) Done() <-chan struct{} { return (*flight)(c).real().Done() }

// Err is the request context's error.
func (c *flightCtx) Err() error { return (*flight)(c).real().Err() }

// Value is the request context's value for key; context.Cause finds the
// real context's cause through it.
func (c *flightCtx) Value(key any) any { return (*flight)(c).real().Value(key) }

// ctxEnded reports whether ctx has ended; a flight's context is asked
// without being made.
func ctxEnded(ctx context.Context) bool {
	if fc, ok := ctx.(*flightCtx); ok {
		return (*flight)(fc).done()
	}
	return ctx.Err() != nil
}

// acquire reserves a slot for request index of socket sid. A reused index
// takes over the cancel registration (the browser never reuses one).
func (m *Module) acquire(cl *luckystack.Client, index int, f *flight) bool {
	m.flightsMu.Lock()
	defer m.flightsMu.Unlock()
	n := m.inFlight[cl]
	if m.opts.MaxInFlight > 0 && n >= m.opts.MaxInFlight {
		return false
	}
	m.inFlight[cl] = n + 1
	m.flights[flightKey{cl, index}] = f
	return true
}

// release frees the slot; the client's entries go with its last request,
// so disconnected clients leave nothing behind.
func (m *Module) release(cl *luckystack.Client, index int, f *flight) {
	m.flightsMu.Lock()
	defer m.flightsMu.Unlock()
	n, ok := m.inFlight[cl]
	if !ok {
		return
	}
	if k := (flightKey{cl, index}); m.flights[k] == f {
		delete(m.flights, k)
	}
	if n <= 1 {
		delete(m.inFlight, cl)
	} else {
		m.inFlight[cl] = n - 1
	}
}

// cancelFlight aborts request index of client cl, if running.
func (m *Module) cancelFlight(cl *luckystack.Client, index int) bool {
	m.flightsMu.Lock()
	f := m.flights[flightKey{cl, index}]
	m.flightsMu.Unlock()
	if f == nil {
		return false
	}
	f.abort(ErrCanceled)
	return true
}

// onAPICancel handles apiCancel {responseIndex} (a number or a decimal
// string). Unknown indexes are ignored; there is no reply.
func (m *Module) onAPICancel(_ context.Context, c *luckystack.Client, payload json.RawMessage) {
	var msg events.APICancel
	if json.Unmarshal(payload, &msg) != nil || !msg.ResponseIndex.Valid {
		return
	}
	m.cancelFlight(c, msg.ResponseIndex.Value)
}

// ApplyDefaults fills the zero fields of o with the documented defaults
// (60 per route, 100 per IP, a one-minute window) and returns what is
// invalid, for a module's Verify. The api and sync modules share it, so
// both read one RateLimitOptions the same way.
func (o *RateLimitOptions) ApplyDefaults() []string {
	var problems []string
	if o.DefaultAPILimit == 0 {
		o.DefaultAPILimit = 60
	}
	if o.DefaultIPLimit == 0 {
		o.DefaultIPLimit = 100
	}
	if o.Window == 0 {
		o.Window = time.Minute
	}
	if o.Window < 0 {
		problems = append(problems, fmt.Sprintf("RateLimit.Window %v is negative", o.Window))
		o.Window = time.Minute
	}
	if o.OnStoreError != FallbackToMemory && o.OnStoreError != DenyOnStoreError {
		problems = append(problems, fmt.Sprintf("RateLimit.OnStoreError %d is unknown", int(o.OnStoreError)))
	}
	return problems
}
