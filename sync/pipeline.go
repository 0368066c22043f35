package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// unknownRoute names requests whose route is not known yet.
const unknownRoute = "sync/unknown"

// call is one request going through the pipeline, on either transport.
// The transports fill it up to route resolution; run takes it from auth to
// delivery. Sharing these gates keeps the transports' codes identical.
type call struct {
	m   *Module
	req *Request
	e   *entry
	ev  *Event

	// early acknowledges before delivery (socket); HTTP answers after it.
	early bool
	// sid is the sending socket ("" over HTTP), skipped by ignoreSelf.
	sid string
	// f is the socket request's flight (nil over HTTP): its turn orders the
	// client's fan-outs.
	f *flight
	// bg is the context delivery runs under once the sender was answered:
	// it ends at Shutdown (socket) or never (HTTP, whose handler Shutdown
	// waits for), not when the sender leaves.
	bg context.Context
	// answered makes the one answer the only one (§14.3 item 17).
	answered bool
	// replyErr sends an error answer, formatted (ErrorFormatter).
	replyErr func(body json.RawMessage, status int)
	replyOK  func(serverOutput json.RawMessage)
}

// fail answers the sender with an error, unless it was answered already.
func (c *call) fail(env events.ErrorEnvelope) {
	if c.answered {
		return
	}
	c.answered = true
	c.replyErr(c.m.formatErr(c.req, c.e, env))
}

// succeed answers the sender with the acknowledgement.
func (c *call) succeed(out json.RawMessage) {
	if c.answered {
		return
	}
	c.answered = true
	c.replyOK(out)
}

// event returns the request's hook payload.
func (c *call) event() *Event {
	if c.ev == nil {
		r := c.req
		c.ev = &Event{RouteName: r.RouteName, Data: r.Data, User: r.Session, Receiver: r.Receiver, Transport: r.Transport, Request: r}
	}
	return c.ev
}

// run takes a resolved request through the gates, the handler and the
// fan-out. A request cancelled before its answer gets none.
func (m *Module) run(ctx context.Context, c *call) {
	req, e, srv := c.req, c.e, m.server()
	if f := e.auth.Check(req.Session); f != nil {
		code, status := f.Code, f.Status
		if req.Session == nil {
			// The sync pipeline asks for a login before any predicate.
			code, status = events.CodeAuthRequired, http.StatusUnauthorized
		}
		var params []events.ErrorParam
		if f.Key != "" && code != events.CodeAuthRequired {
			params = []events.ErrorParam{{Key: "key", Value: f.Key}}
		}
		c.fail(m.errEnv(req, events.ErrorEnvelope{ErrorCode: code, ErrorParams: params}, status))
		return
	}
	if env := m.checkReceiver(req); env != nil {
		c.fail(*env)
		return
	}
	if env := m.checkRateLimits(ctx, req, e); env != nil {
		c.fail(*env)
		return
	}
	if stop := m.dispatchPre(ctx, c, PreSyncAuthorize); stop != nil {
		return
	}
	m.dispatchPost(ctx, c, PostSyncAuthorize)
	if stop := m.dispatchPre(ctx, c, PreSyncValidate); stop != nil {
		return
	}
	in, err := e.decode(req.Data)
	if hooked(srv, PostSyncValidate) {
		ev := c.event()
		ev.Validation = &api.ValidationResult{OK: err == nil, Mode: e.validation}
		if err != nil {
			ev.Validation.Message = err.Error()
		}
		m.dispatchPost(ctx, c, PostSyncValidate)
	}
	if err != nil {
		c.fail(m.failCode(req, events.CodeSyncInvalidInputType))
		return
	}
	if stop := m.dispatchPre(ctx, c, PreSyncExecute); stop != nil {
		return
	}
	if ctx.Err() != nil {
		return
	}
	out, herr, dur := m.invoke(ctx, c, in)
	if hooked(srv, PostSyncExecute) {
		ev := c.event()
		ev.Result, ev.Error, ev.Duration = out, herr, dur
		m.dispatchPost(ctx, c, PostSyncExecute)
	}
	if ctx.Err() != nil {
		return
	}
	raw, env := m.serverResult(req, out, herr)
	if env != nil {
		c.fail(*env)
		return
	}
	m.fanout(ctx, c, in, out, raw)
}

// dispatchPre runs a stoppable hook and answers its stop.
func (m *Module) dispatchPre(ctx context.Context, c *call, h luckystack.Hook[Event]) *luckystack.Stop {
	srv := m.server()
	if !hooked(srv, h) {
		return nil
	}
	stop := luckystack.DispatchHook(ctx, srv, h, c.event())
	if stop != nil {
		c.fail(m.stopEnv(c.req, stop))
	}
	return stop
}

func (m *Module) dispatchPost(ctx context.Context, c *call, h luckystack.Hook[Event]) {
	if srv := m.server(); hooked(srv, h) {
		luckystack.DispatchHook(context.WithoutCancel(ctx), srv, h, c.event())
	}
}

// errPanicked marks a handler that panicked.
var errPanicked = errors.New("sync: handler panicked")

// invoke runs the server handler with streams open for its duration.
func (m *Module) invoke(ctx context.Context, c *call, in any) (out any, err error, dur time.Duration) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.req.out.bind(hctx)
	defer c.req.out.close()
	start := time.Now()
	defer func() {
		dur = time.Since(start)
		if r := recover(); r != nil {
			m.server().Logger().Error("sync: server handler panicked", "route", c.req.RouteName, "panic", r, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	out, err = c.e.call(hctx, c.req, in)
	return // dur is set by the deferred function
}

// serverResult encodes the server handler's output, or turns its error
// into the sender's answer.
func (m *Module) serverResult(req *Request, out any, err error) (json.RawMessage, *events.ErrorEnvelope) {
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			env := m.errEnv(req, events.ErrorEnvelope{ErrorCode: ae.Code, ErrorParams: ae.Params, HTTPStatus: ae.HTTPStatus, Message: ae.Message}, http.StatusBadRequest)
			return nil, &env
		}
		if !errors.Is(err, errPanicked) {
			m.server().Logger().Warn("sync: server handler failed", "route", req.RouteName, "err", err)
		}
		env := m.failCode(req, events.CodeSyncServerExecutionFailed)
		return nil, &env
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		m.server().Logger().Warn("sync: encode server output", "route", req.RouteName, "err", merr)
		env := m.failCode(req, events.CodeSyncInvalidServerResponse)
		return nil, &env
	}
	obj, env := objectStatus(b)
	if env != nil {
		e := m.errEnv(req, *env, http.StatusBadRequest)
		return nil, &e
	}
	if !obj {
		e := m.failCode(req, events.CodeSyncInvalidServerResponse)
		return nil, &e
	}
	return b, nil
}

// objectStatus reports whether b is a JSON object whose "status", if any,
// is "success"; an object with status "error" is returned as the error
// envelope it describes.
func objectStatus(b []byte) (ok bool, errEnv *events.ErrorEnvelope) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false, nil
	}
	if !bytes.Contains(b, []byte(`"status"`)) {
		return true, nil
	}
	var probe struct {
		Status *string `json:"status"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return false, nil
	}
	switch {
	case probe.Status == nil, *probe.Status == events.StatusSuccess:
		return true, nil
	case *probe.Status == events.StatusError:
		var ee events.ErrorEnvelope
		_ = json.Unmarshal(b, &ee)
		return false, &ee
	}
	return false, nil
}

// checkReceiver applies the receiver rules (§4.5) and resolves the room.
func (m *Module) checkReceiver(req *Request) *events.ErrorEnvelope {
	recv := req.Receiver
	if strings.ContainsRune(recv, 0) {
		// Internal identity rooms are never addressable by name.
		env := m.failCode(req, events.CodeSyncReceiverNotAllowed)
		return &env
	}
	if recv == "all" {
		if !m.opts.AllowReceiverAll {
			env := m.failCode(req, events.CodeSyncReceiverNotAllowed)
			return &env
		}
		req.room = ""
		return nil
	}
	req.room = recv
	if req.Token != "" && recv == req.Token {
		req.room = luckystack.SessionRoom(req.Token)
	}
	if m.opts.AllowNonMembers || m.isMember(req) {
		return nil
	}
	env := m.failCode(req, events.CodeSyncNotRoomMember)
	return &env
}

// isMember: the socket is in the room; over HTTP the session is, or the
// receiver is the session's own token. Anonymous HTTP callers fail closed.
func (m *Module) isMember(req *Request) bool {
	if req.Client != nil {
		return req.Client.InRoom(req.room)
	}
	if req.Session == nil {
		return false
	}
	return (req.Token != "" && req.Receiver == req.Token) || slices.Contains(req.Session.RoomCodes, req.Receiver)
}

// checkRateLimits applies the route's bucket, then the global IP bucket.
func (m *Module) checkRateLimits(ctx context.Context, req *Request, e *entry) *events.ErrorEnvelope {
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
		if env := m.hit(ctx, req, "route", scope+":"+id+":sync:"+e.key, limit); env != nil {
			return env
		}
	}
	if rl.DefaultIPLimit < 1 {
		return nil
	}
	if rl.SkipLoopback {
		if ip := net.ParseIP(req.IP); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return m.hit(ctx, req, "ip", "ip:"+req.IP+":sync:all", rl.DefaultIPLimit)
}

func (m *Module) hit(ctx context.Context, req *Request, scope, bucket string, limit int) *events.ErrorEnvelope {
	rl := m.opts.RateLimit
	d := m.limiter.Allow(ctx, bucket, limit, rl.Window)
	if d.StoreErr != nil {
		m.server().Logger().Warn("sync: rate-limit store failed", "bucket", bucket, "err", d.StoreErr)
	}
	if d.Allowed {
		return nil
	}
	luckystack.DispatchHook(ctx, m.server(), api.RateLimitExceeded, &api.RateLimitEvent{
		Scope: scope, Key: bucket, Limit: limit, Window: rl.Window, Count: d.Count,
		Route: req.RouteName, IP: req.IP, UserID: req.UserID(),
	})
	env := m.failCode(req, events.CodeSyncRateLimitExceeded, events.ErrorParam{Key: "seconds", Value: d.RetryAfter()})
	return &env
}

func (m *Module) identity(req *Request) (scope, id string) {
	if f := m.opts.RateLimit.Identity; f != nil {
		ar := &api.Request{
			RouteName: req.RouteName, Service: req.Service, Route: req.Route, Version: req.Version,
			Transport: req.Transport, Session: req.Session, Token: req.Token, IP: req.IP,
			Locale: req.Locale, Data: req.Data, Client: req.Client, HTTP: req.HTTP,
		}
		if scope, id = f(ar); scope != "" {
			return scope, id
		}
	}
	if uid := req.UserID(); uid != "" {
		return "user", uid
	}
	return "ip", req.IP
}

// failCode builds the error of a catalogue code at its catalogue status.
// The original sent 400 for every sync error; the catalogue's statuses
// (401 auth.required, 403, 429) are used instead so that sync and API
// agree (§14.3 item 21). The client branches on errorCode only.
func (m *Module) failCode(req *Request, code string, params ...events.ErrorParam) events.ErrorEnvelope {
	return m.errEnv(req, events.ErrorEnvelope{ErrorCode: code, ErrorParams: params}, events.DefaultStatus(code))
}

// stopEnv builds the error of a hook's stop signal (403 by default).
func (m *Module) stopEnv(req *Request, stop *luckystack.Stop) events.ErrorEnvelope {
	return m.errEnv(req, events.ErrorEnvelope{ErrorCode: stop.ErrorCode, HTTPStatus: stop.HTTPStatus}, events.DefaultStopStatus)
}

// errEnv normalises an error envelope and translates its message unless it
// brought its own.
func (m *Module) errEnv(req *Request, e events.ErrorEnvelope, fallback int) events.ErrorEnvelope {
	own := e.Message != ""
	e = e.Normalize(fallback)
	if !own && m.opts.Translate != nil && req != nil {
		def := "en"
		if srv := m.server(); srv != nil && srv.Config().DefaultLanguage != "" {
			def = srv.Config().DefaultLanguage
		}
		if msg := m.opts.Translate(req.language(def), e.ErrorCode, e.ErrorParams); msg != "" {
			e.Message = msg
		}
	}
	return e
}

// encodeEnv encodes an error envelope; only its params can fail, and
// Normalize vetted them.
func encodeEnv(e any) json.RawMessage {
	b, err := json.Marshal(e)
	if err != nil {
		b, _ = json.Marshal(events.NewError(events.CodeSyncServerExecutionFailed))
	}
	return b
}
