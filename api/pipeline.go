package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// unknownRoute is the route name of replies sent before the name parsed.
const unknownRoute = "api/unknown"

// call is one request going through the pipeline, on either transport.
// The transports fill it up to route resolution; run takes it from auth to
// the reply. Both transports share every gate below, which is what keeps
// their error codes and statuses identical.
type call struct {
	m   *Module
	req *Request
	e   *entry // nil until the route resolved

	// sink sends the final envelope to the caller, at most once.
	sink replySink
	// sse marks an HTTP server-sent-events request: no timeout applies.
	sse bool
	// w is the HTTP response (nil on the socket), for the Allow header.
	w http.ResponseWriter
	// wait, when set, blocks until a timed-out handler really returned, so
	// the socket's in-flight slot stays taken while it runs.
	wait func()
	// flight, when set, is the socket request whose context the call runs
	// with, which is then the handler's own: it serves nothing else, so a
	// second one per request would only cost.
	flight *flight
	// env holds the success reply of a flat output, saving its allocation.
	env Envelope
}

// replySink takes a call's final envelope. An interface rather than a
// func field: the socket request implements it itself, so a request
// allocates no closure for it.
type replySink interface{ deliver(env *Envelope) }

// deliverFunc is a replySink made of a function.
type deliverFunc func(env *Envelope)

func (f deliverFunc) deliver(env *Envelope) { f(env) }

// request returns the call's Request once the route is known, for hook
// payloads; before that hooks get nil.
func (c *call) request() *Request {
	if c.e == nil {
		return nil
	}
	return c.req
}

// run takes a resolved request through auth, rate limits, the HTTP method
// check, validation and execution, and returns the reply. Nil means the
// request was cancelled and nobody waits for a reply.
func (m *Module) run(ctx context.Context, c *call) *Envelope {
	req, e, srv := c.req, c.e, m.server()
	if f := checkAuth(e.auth, req.Session); f != nil {
		luckystack.DispatchHook(ctx, srv, APIAuthRejected, &AuthRejectedEvent{
			RouteName: req.RouteName, Reason: f.reason, UserID: req.UserID(), IP: req.IP,
			Transport: req.Transport, FailedKey: f.key,
		})
		return m.errEnv(req, f.envelope(), f.status)
	}
	if env := m.checkRateLimits(ctx, req, e); env != nil {
		return env
	}
	if req.Transport == TransportHTTP && req.HTTP.Method != e.method {
		if c.w != nil {
			c.w.Header().Set("Allow", e.method)
		}
		return m.fail(req, events.CodeAPIMethodNotAllowed, events.ErrorParam{Key: "method", Value: req.HTTP.Method})
	}
	in, env := m.validate(ctx, req, e)
	if env != nil {
		return env
	}
	return m.execute(ctx, c, in)
}

// checkRateLimits applies the route's bucket, then the global IP bucket; a
// refusal by the first leaves the second uncounted.
func (m *Module) checkRateLimits(ctx context.Context, req *Request, e *entry) *Envelope {
	rl := m.opts.RateLimit
	if rl.Disabled {
		return nil
	}
	limit := e.rateLimit
	if limit == 0 {
		limit = rl.DefaultAPILimit
	}
	if limit > 0 {
		scope, id := m.identity(req)
		bucket := scope + ":" + id + ":api:" + e.key
		if env := m.hit(ctx, req, "route", bucket, limit); env != nil {
			return env
		}
	}
	return m.checkIPLimit(ctx, req)
}

// checkIPLimit applies the global bucket ip:<ip>:api:all.
func (m *Module) checkIPLimit(ctx context.Context, req *Request) *Envelope {
	rl := m.opts.RateLimit
	if rl.Disabled || rl.DefaultIPLimit < 1 {
		return nil
	}
	if rl.SkipLoopback {
		if ip := net.ParseIP(req.IP); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return m.hit(ctx, req, "ip", "ip:"+req.IP+":api:all", rl.DefaultIPLimit)
}

func (m *Module) hit(ctx context.Context, req *Request, scope, bucket string, limit int) *Envelope {
	rl := m.opts.RateLimit
	d := m.limiter.Allow(ctx, bucket, limit, rl.Window)
	if d.StoreErr != nil {
		m.server().Logger().Warn("api: rate-limit store failed", "bucket", bucket, "err", d.StoreErr)
	}
	if d.Allowed {
		return nil
	}
	luckystack.DispatchHook(ctx, m.server(), RateLimitExceeded, &RateLimitEvent{
		Scope: scope, Key: bucket, Limit: limit, Window: rl.Window, Count: d.Count,
		Route: req.RouteName, IP: req.IP, UserID: req.UserID(),
	})
	return m.fail(req, events.CodeAPIRateLimitExceeded, events.ErrorParam{Key: "seconds", Value: d.RetryAfter()})
}

// identity names the caller of a per-route bucket.
func (m *Module) identity(req *Request) (scope, id string) {
	if f := m.opts.RateLimit.Identity; f != nil {
		if scope, id = f(req); scope != "" {
			return scope, id
		}
	}
	if uid := req.UserID(); uid != "" {
		return "user", uid
	}
	return "ip", req.IP
}

// validate decodes the input into the handler's type. The detail of a
// refusal goes to PostAPIValidate only; the caller learns the code.
func (m *Module) validate(ctx context.Context, req *Request, e *entry) (any, *Envelope) {
	srv := m.server()
	var ev *ValidateEvent
	if hooked(srv, PreAPIValidate) || hooked(srv, PostAPIValidate) {
		ev = &ValidateEvent{RouteName: req.RouteName, Data: req.Data, User: req.Session, Transport: req.Transport}
		luckystack.DispatchHook(ctx, srv, PreAPIValidate, ev)
	}
	in, err := e.decode(req.Data, e.validation)
	if ev != nil {
		ev.Validation = &ValidationResult{OK: err == nil, Mode: e.validation}
		if err != nil {
			ev.Validation.Message = err.Error()
		}
		luckystack.DispatchHook(ctx, srv, PostAPIValidate, ev)
	}
	if err != nil {
		return nil, m.fail(req, events.CodeAPIInvalidInputType)
	}
	return in, nil
}

// execute runs preApiExecute, the handler (raced against the timeout) and
// postApiExecute, and builds the reply.
func (m *Module) execute(ctx context.Context, c *call, in any) *Envelope {
	req, e, srv := c.req, c.e, m.server()
	var ev *ExecuteEvent
	if hooked(srv, PreAPIExecute) || hooked(srv, PostAPIExecute) {
		ev = &ExecuteEvent{RouteName: req.RouteName, Data: req.Data, User: req.Session, Transport: req.Transport, Request: req}
		if stop := luckystack.DispatchHook(ctx, srv, PreAPIExecute, ev); stop != nil {
			return m.stopEnv(req, stop)
		}
	}
	if ctxEnded(ctx) {
		return nil
	}
	timeout := e.timeout
	if timeout == 0 {
		timeout = m.opts.Timeout
	}
	if c.sse {
		timeout = 0
	}
	hctx := ctx
	var cancel context.CancelCauseFunc // for a flight, made only if needed
	if c.flight == nil {
		hctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
	}
	req.out.bind(hctx)
	var start time.Time
	if ev != nil {
		start = time.Now() // for the post hook's Duration only
	}
	out, err, finished := m.invoke(hctx, cancel, c, in, timeout)
	if !finished {
		return m.fail(req, events.CodeAPITimeout)
	}
	if ev != nil {
		ev.Result, ev.Error, ev.Duration = out, err, time.Since(start)
		luckystack.DispatchHook(context.WithoutCancel(ctx), srv, PostAPIExecute, ev)
	}
	if ctxEnded(ctx) {
		return nil
	}
	return m.result(req, e, out, err, &c.env)
}

// invoke calls the handler. With a timeout it runs on a goroutine owned by
// the server and is raced against a timer: the caller gets api.timeout
// when the timer wins even if the handler ignores its context.
func (m *Module) invoke(hctx context.Context, cancel context.CancelCauseFunc, c *call, in any, timeout time.Duration) (out any, err error, finished bool) {
	if timeout <= 0 {
		// Called directly: a closure here would be one more allocation
		// per request.
		out, err = m.callHandler(hctx, c, in)
		return out, err, true
	}
	if cancel == nil {
		cancel = c.flight.abort
	}
	run := func() (out any, err error) { return m.callHandler(hctx, c, in) }
	type result struct {
		out any
		err error
	}
	done := make(chan result, 1)
	started := m.server().Go(func(sctx context.Context) {
		// HTTP request contexts do not end at Shutdown; the server's does.
		stop := context.AfterFunc(sctx, func() { cancel(context.Canceled) })
		defer stop()
		o, e := run()
		done <- result{o, e}
	})
	if !started {
		out, err = run()
		return out, err, true
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.out, r.err, true
	case <-t.C:
		cancel(ErrTimeout)
		c.wait = func() { <-done }
		return nil, nil, false
	}
}

// callHandler runs the route's handler; a panic is its error.
func (m *Module) callHandler(hctx context.Context, c *call, in any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			m.server().Logger().Error("api: handler panicked", "route", c.req.RouteName, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("api: handler panicked: %v", r)
		}
	}()
	return c.e.call(hctx, c.req, in)
}

// result turns the handler's output or error into the reply; a flat
// output's reply is built in dst when it is not nil.
func (m *Module) result(req *Request, e *entry, out any, err error, dst *Envelope) *Envelope {
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			fallback := ae.HTTPStatus
			if fallback == 0 {
				fallback = http.StatusBadRequest
			}
			return m.errEnv(req, events.ErrorEnvelope{ErrorCode: ae.Code, ErrorParams: ae.Params, HTTPStatus: ae.HTTPStatus, Message: ae.Message}, fallback)
		}
		m.server().Logger().Warn("api: handler failed", "route", req.RouteName, "err", err)
		return m.fail(req, events.CodeAPIInternalServerError)
	}
	if e.flatOut != nil {
		if body, ok := e.flatOut.envelope(out); ok {
			if dst == nil {
				dst = new(Envelope)
			}
			dst.init(body, events.StatusSuccess, http.StatusOK)
			return dst
		}
	}
	enc := getOutputEncoder()
	defer putOutputEncoder(enc)
	if merr := enc.enc.Encode(out); merr != nil {
		m.server().Logger().Warn("api: encode handler output", "route", req.RouteName, "err", merr)
		return m.fail(req, events.CodeAPIInternalServerError)
	}
	// spreadResult copies what it keeps, so the pooled buffer may go back.
	env, f := spreadResult(enc.buf.Bytes())
	if f != nil {
		return m.errEnv(req, f.env, f.fallback)
	}
	return env
}

// respond is the respond chain every reply takes (success or error, gate
// or handler): preApiRespond (may change or stop), transformApiResponse,
// the error formatter, delivery, postApiRespond.
func (m *Module) respond(ctx context.Context, c *call, env *Envelope) {
	srv, req := m.server(), c.req
	if !hooked(srv, PreAPIRespond) && !hooked(srv, TransformAPIResponse) && !hooked(srv, PostAPIRespond) {
		if env.IsError() {
			env = m.format(c, env)
		}
		c.sink.deliver(env)
		return
	}
	// The reply must go out even when the client is leaving; hooks that
	// do I/O would otherwise fail on a cancelled context.
	ctx = context.WithoutCancel(ctx)
	ev := &RespondEvent{RouteName: req.RouteName, Data: req.Data, User: req.Session, Transport: req.Transport, Request: c.request(), Response: env}
	if stop := luckystack.DispatchHook(ctx, srv, PreAPIRespond, ev); stop != nil {
		ev.Response = m.stopEnv(req, stop)
	}
	luckystack.DispatchHook(ctx, srv, TransformAPIResponse, ev)
	if ev.Response == nil {
		ev.Response = m.fail(req, events.CodeAPIEmptyResponse)
	}
	if ev.Response.IsError() {
		ev.Response = m.format(c, ev.Response)
	}
	c.sink.deliver(ev.Response)
	luckystack.DispatchHook(ctx, srv, PostAPIRespond, ev)
}

// hooked reports whether h has handlers. Payloads are built only for hooks
// someone listens to, so the request path allocates nothing for the others.
func hooked[P any](srv *luckystack.Server, h luckystack.Hook[P]) bool {
	return luckystack.HookCount(srv, h) > 0
}

// format applies the route's error formatter, else the module's. A failing
// formatter (error, panic, non-object) leaves the envelope as it was.
func (m *Module) format(c *call, env *Envelope) (res *Envelope) {
	f := m.opts.ErrorFormatter
	if c.e != nil && c.e.formatter != nil {
		f = c.e.formatter
	}
	if f == nil {
		return env
	}
	defer func() {
		if r := recover(); r != nil {
			m.server().Logger().Error("api: error formatter panicked", "route", c.req.RouteName, "panic", r)
			res = env
		}
	}()
	out, err := f(env, FormatInfo{RouteName: c.req.RouteName, Transport: c.req.Transport, Request: c.request()})
	if err != nil || out == nil {
		return env
	}
	if o, ok := out.(*Envelope); ok && o == env {
		return env
	}
	ne := &Envelope{fallback: env.HTTPStatus()}
	if err := ne.Replace(out); err != nil {
		return env
	}
	return ne
}

// fail builds the error reply of a catalogue code at its catalogue status.
func (m *Module) fail(req *Request, code string, params ...events.ErrorParam) *Envelope {
	return m.errEnv(req, events.ErrorEnvelope{ErrorCode: code, ErrorParams: params}, events.DefaultStatus(code))
}

// stopEnv builds the error reply of a hook's stop signal (403 by default).
func (m *Module) stopEnv(req *Request, stop *luckystack.Stop) *Envelope {
	return m.errEnv(req, events.ErrorEnvelope{ErrorCode: stop.ErrorCode, HTTPStatus: stop.HTTPStatus}, events.DefaultStopStatus)
}

// errEnv normalises an error envelope and translates its message unless the
// envelope brought its own.
func (m *Module) errEnv(req *Request, e events.ErrorEnvelope, fallback int) *Envelope {
	own := e.Message != ""
	e = e.Normalize(fallback)
	if !own && m.opts.Translate != nil {
		def := "en"
		if srv := m.server(); srv != nil {
			def = srv.Config().DefaultLanguage
		}
		if msg := m.opts.Translate(req.language(def), e.ErrorCode, e.ErrorParams); msg != "" {
			e.Message = msg
		}
	}
	return errorEnvelope(e)
}

// bareError is the shape of the two replies the original sends without a
// message and without the respond chain: the preSocketMessage stop and the
// crash fallback.
func bareError(code string, status int) json.RawMessage {
	if code == "" {
		code = events.CodeInvalidResponse
	}
	b, _ := json.Marshal(events.ErrorEnvelope{Status: events.StatusError, ErrorCode: code, HTTPStatus: status})
	return b
}
