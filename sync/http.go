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
	sse := wantsSSE(r, m.opts.StreamParam)
	req := &Request{
		RouteName: unknownRoute, Transport: api.TransportHTTP, HTTP: r, m: m,
		IP: srv.ClientIP(r), Locale: requestLocale(r), Token: srv.ExtractTokenFromRequest(r),
	}
	sw := &sseWriter{w: w}
	req.out = &output{canStream: sse, send: func(b json.RawMessage) error { return sw.frame("stream", b) }}
	c := &call{m: m, req: req, bg: context.WithoutCancel(ctx)}
	write := func(status int, body json.RawMessage, ok bool) {
		// A refusal before any chunk is plain JSON with its real status,
		// which an SSE stream could no longer carry.
		req.out.close()
		if sw.opened || (sse && ok) {
			_ = sw.frame("final", body)
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
			if sw.opened {
				_ = sw.event("error", sseErrorFrame)
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

// wantsSSE reports whether the caller asked for server-sent events.
func wantsSSE(r *http.Request, param string) bool {
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return true
	}
	switch r.URL.Query().Get(param) {
	case "true", "1":
		return true
	}
	return false
}

// requestLocale picks the first language of X-Language, else of
// Accept-Language, as a short lower-case code.
func requestLocale(r *http.Request) string {
	for _, h := range []string{r.Header.Get("X-Language"), r.Header.Get("Accept-Language")} {
		for _, part := range strings.Split(h, ",") {
			tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			code, _, _ := strings.Cut(tag, "-")
			if code = strings.ToLower(strings.TrimSpace(code)); code != "" && code != "*" {
				return code
			}
		}
	}
	return ""
}

// sseWriter writes server-sent events, opening the stream on first use.
// Callers serialise access (the request's output lock, or the pipeline's
// goroutine after the handler returned).
type sseWriter struct {
	w      http.ResponseWriter
	opened bool
}

func (s *sseWriter) frame(event string, data json.RawMessage) error {
	if !s.opened {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache, no-transform")
		h.Set("Connection", "keep-alive")
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(s.w, ": connected\n\n")
		s.opened = true
	}
	return s.event(event, data)
}

func (s *sseWriter) event(event string, data json.RawMessage) error {
	var b bytes.Buffer
	b.Grow(len(event) + len(data) + 16)
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteString("\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return http.NewResponseController(s.w).Flush()
}
