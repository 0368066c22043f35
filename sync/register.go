package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/luckystack/luckystack-go/api"
)

// ErrDuplicateRoute is wrapped by [Register] when a route key is already
// registered on the module.
var ErrDuplicateRoute = errors.New("sync: route already registered")

// HandlerFunc is a route's server handler: it runs once per request, on the
// sender's instance. Returning an *[api.Error] answers its code; any other
// error answers sync.serverExecutionFailed. The output must encode as a JSON
// object: it is the acknowledgement's result and every frame's
// serverOutput. The context ends on syncCancel, the sender's disconnect
// (socket), the client going away (HTTP) or Shutdown.
type HandlerFunc[In, Out any] func(ctx context.Context, req *Request, in In) (Out, error)

// ClientFunc is a route's optional client handler: it runs once per
// recipient, on the sender's instance, and its output becomes that
// recipient's clientOutput (a "message" string field also becomes the
// frame's message). Returning an *[api.Error] sends that recipient an error
// frame with its code (sync.clientRejected when the code is empty); any
// other error or a panic sends sync.clientExecutionFailed, and an output
// that is not a JSON object sync.invalidClientResponse. A nil output is {}.
// in and serverOutput are the request's input and the server handler's
// output; recipients must not modify them.
type ClientFunc[In, Out any] func(ctx context.Context, rc *Recipient, in In, serverOutput Out) (any, error)

// Route is one sync route.
type Route[In, Out any] struct {
	// Server runs the route once per request. Required.
	Server HandlerFunc[In, Out]
	// Client runs once per recipient. Nil delivers the same frame to every
	// recipient with one room broadcast (unless a preSyncRecipient hook is
	// registered).
	Client ClientFunc[In, Out]
	// Auth is the sender's access rule. The zero value admits everybody.
	Auth api.Auth
	// RateLimit is the per-route bucket's limit per window. Zero means the
	// module's RateLimit.DefaultAPILimit; [api.NoRateLimit] exempts the
	// route (the global per-IP bucket still applies).
	RateLimit int
	// Validation is the input validation mode. Zero means strict.
	Validation api.Validation
	// ErrorFormatter reshapes this route's error answers to the sender.
	// Nil means the module's [Options].ErrorFormatter.
	ErrorFormatter ErrorFormatter
}

// entry is a registered route with its types erased.
type entry struct {
	key, cb, service, route string
	version                 int

	auth       api.Auth
	rateLimit  int
	validation api.Validation
	formatter  ErrorFormatter

	decode func(raw json.RawMessage) (any, error)
	call   func(ctx context.Context, req *Request, in any) (any, error)
	// client is nil for routes without a client handler.
	client func(ctx context.Context, rc *Recipient, in, out any) (any, error)
}

// Register adds a route to m under name: "<service>/<route...>/v<N>", with
// or without the leading "sync/", or "<route>/v<N>" for service "system".
// It refuses an invalid name, a nil server handler, an unknown validation
// mode, a malformed auth predicate, and a key already present
// ([ErrDuplicateRoute]). Safe to call while serving.
//
// It is a function because Go methods cannot have type parameters.
func Register[In, Out any](m *Module, name string, r Route[In, Out]) error {
	if m == nil {
		return errors.New("sync: Register on a nil module")
	}
	if r.Server == nil {
		return fmt.Errorf("sync: route %q has no server handler", name)
	}
	key, service, route, version, err := parseRegistrationName(name)
	if err != nil {
		return err
	}
	if r.Validation < api.ValidationStrict || r.Validation > api.ValidationSkip {
		return fmt.Errorf("sync: route %q: unknown validation mode %d", key, int(r.Validation))
	}
	if r.RateLimit < api.NoRateLimit {
		return fmt.Errorf("sync: route %q: rate limit %d is negative", key, r.RateLimit)
	}
	auth, err := r.Auth.Compile()
	if err != nil {
		return fmt.Errorf("sync: route %q: %w", key, err)
	}
	e := &entry{
		key: key, cb: strings.TrimPrefix(key, "sync/"), service: service, route: route, version: version,
		auth: auth, rateLimit: r.RateLimit, validation: r.Validation, formatter: r.ErrorFormatter,
	}
	mode := r.Validation
	e.decode = func(raw json.RawMessage) (any, error) { return api.DecodeInput[In](raw, mode) }
	h := r.Server
	e.call = func(ctx context.Context, req *Request, in any) (any, error) {
		v, _ := in.(In)
		return h(ctx, req, v)
	}
	if ch := r.Client; ch != nil {
		e.client = func(ctx context.Context, rc *Recipient, in, out any) (any, error) {
			iv, _ := in.(In)
			ov, _ := out.(Out)
			return ch(ctx, rc, iv, ov)
		}
	}
	return m.add(e)
}

// parseRegistrationName accepts what api.ParseRouteName accepts plus the
// root form route/vN, which belongs to service "system" (the original's
// file convention; §14.3 item 20 keeps dev and production alike).
func parseRegistrationName(name string) (key, service, route string, version int, err error) {
	key, service, route, version, err = api.ParseRouteName("sync", name)
	if err == nil {
		return key, service, route, version, nil
	}
	n := strings.Trim(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/"), "/")
	n = strings.TrimPrefix(n, "sync/")
	if strings.Count(n, "/") == 1 {
		if k, s, r, v, err2 := api.ParseRouteName("sync", "system/"+n); err2 == nil {
			return k, s, r, v, nil
		}
	}
	return "", "", "", 0, fmt.Errorf("sync: %w", err)
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
