package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// httpHandler serves POST /sync/<service>/<route...>/v<N>.
type httpHandler struct{ m *Module }

// httpBody is the HTTP sync body (§4.8) with its fields left raw.
type httpBody struct {
	Data       json.RawMessage `json:"data"`
	Receiver   json.RawMessage `json:"receiver"`
	IgnoreSelf json.RawMessage `json:"ignoreSelf"`
	CB         json.RawMessage `json:"cb"`
}

// httpSuccess is the HTTP success body.
type httpSuccess struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

// sseErrorFrame is what an SSE response gets when the pipeline itself fails
// after the stream opened.
var sseErrorFrame = json.RawMessage(`{"status":"error","httpStatus":500,"message":"sync.invalidRequestFormat","errorCode":"sync.invalidRequestFormat"}`)

// ServeHTTP is the HTTP twin of the socket pipeline. The root dispatcher
// has applied the origin gate, preHttpRequest, CSRF and the body cap. The
// handler's context ends when the client goes away; delivery, once
// started, completes.
func (h httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	srv := m.server()
	ctx := r.Context()
	sse := api.WantsSSE(r, m.opts.StreamParam)
	req := &Request{
		RouteName: unknownRoute, Transport: api.TransportHTTP, HTTP: r, m: m,
		IP: srv.ClientIP(r), Locale: luckystack.RequestLocale(r), Token: srv.ExtractTokenFromRequest(r),
	}
	sw := api.NewSSEWriter(w)
	req.out = &output{canStream: sse, send: func(b json.RawMessage) error { return sw.Frame("stream", b) }}
	c := &call{m: m, req: req, bg: context.WithoutCancel(ctx)}
	write := func(status int, body json.RawMessage, ok bool) {
		// A refusal before any chunk is plain JSON with its real status,
		// which an SSE stream could no longer carry.
		req.out.close()
		if sw.Opened() || (sse && ok) {
			_ = sw.Frame("final", body)
			return
		}
		luckystack.WriteJSON(w, status, body)
	}
	c.replyErr = func(body json.RawMessage, status int) { write(status, body, false) }
	c.replyOK = func(out json.RawMessage) {
		msg := req.RouteName + " sync success"
		var probe struct {
			Message any `json:"message"`
		}
		if json.Unmarshal(out, &probe) == nil {
			if s, ok := probe.Message.(string); ok {
				msg = s
			}
		}
		b, _ := json.Marshal(httpSuccess{Status: events.StatusSuccess, Message: msg, Result: out})
		write(http.StatusOK, b, true)
	}
	defer func() {
		rec := recover()
		if rec == nil {
			req.out.close()
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		srv.Logger().Error("sync: http pipeline panicked", "route", req.RouteName, "panic", rec, "stack", string(debug.Stack()))
		luckystack.DispatchHook(context.WithoutCancel(ctx), srv, SyncError, &ErrorEvent{
			Route: req.RouteName, Method: r.Method, RequestID: w.Header().Get("X-Request-Id"), Error: rec,
		})
		if !c.answered {
			c.answered = true
			if sw.Opened() {
				_ = sw.Event("error", sseErrorFrame)
				return
			}
			luckystack.WriteJSON(w, http.StatusInternalServerError, encodeEnv(m.failCode(req, events.CodeSyncServerExecutionFailed)))
		}
	}()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.fail(m.failCode(req, events.CodeSyncMethodNotAllowed, events.ErrorParam{Key: "method", Value: r.Method}))
		return
	}
	sess, err := srv.GetSession(ctx, req.Token)
	if err != nil {
		srv.Logger().Warn("sync: session read failed", "err", err)
	}
	req.Session = sess
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/sync"), "/")
	if strings.Trim(name, "/") == "" {
		c.fail(m.failCode(req, events.CodeSyncInvalidName))
		return
	}
	if !strings.HasPrefix(name, "sync/") {
		name = "sync/" + name
	}
	body, env := m.readBody(r, req)
	if env != nil {
		c.fail(*env)
		return
	}
	req.Data = body.Data
	key, service, route, version, err := api.ParseRouteName("sync", name)
	if err != nil {
		c.fail(m.failCode(req, events.CodeRoutingInvalidServiceRouteName, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	req.RouteName, req.Service, req.Route, req.Version = key, service, route, version
	var receiver string
	_ = json.Unmarshal(body.Receiver, &receiver)
	if req.Receiver = strings.TrimSpace(receiver); req.Receiver == "" {
		c.fail(m.failCode(req, events.CodeSyncMissingReceiver))
		return
	}
	_ = json.Unmarshal(body.IgnoreSelf, &req.IgnoreSelf)
	e := m.lookup(key)
	if e == nil {
		c.fail(m.failCode(req, events.CodeSyncNotFound, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	c.e, req.e = e, e
	m.run(ctx, c)
}

// readBody reads {data, receiver, ignoreSelf, cb}. An absent or null data
// is {}; any other non-object data is refused, as on the socket (the
// original let primitives through as {}, §14.3 item 24). The client's cb
// is read but never used: frames carry the resolved key (§14.1 item 3).
func (m *Module) readBody(r *http.Request, req *Request) (*httpBody, *events.ErrorEnvelope) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		code := events.CodeSyncInvalidRequestFormat
		if luckystack.IsBodyTooLarge(err) {
			code = events.CodeAPIPayloadTooLarge
		}
		env := m.failCode(req, code)
		return nil, &env
	}
	raw = bytes.TrimSpace(raw)
	var body httpBody
	if len(raw) > 0 {
		if !json.Valid(raw) {
			env := m.failCode(req, events.CodeSyncInvalidRequestFormat)
			return nil, &env
		}
		if !events.IsObject(raw) || json.Unmarshal(raw, &body) != nil {
			env := m.failCode(req, events.CodeSyncInvalidRequest)
			return nil, &env
		}
	}
	if d := bytes.TrimSpace(body.Data); len(d) == 0 || bytes.Equal(d, []byte("null")) {
		body.Data = json.RawMessage(`{}`)
	} else if !events.IsObject(d) {
		env := m.failCode(req, events.CodeSyncInvalidRequest)
		return nil, &env
	}
	return &body, nil
}
