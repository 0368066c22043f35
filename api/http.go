package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// ldataKey carries a whole JSON data object in one parameter, which is how
// the client's routed GET invocations send typed data in a query string.
const ldataKey = "__luckystack_data"

// sseErrorFrame is what an SSE response gets when the pipeline itself fails
// after the stream opened (the status line is already sent).
var sseErrorFrame = json.RawMessage(`{"status":"error","httpStatus":500,"message":"api.invalidRequestFormat","errorCode":"api.invalidRequestFormat"}`)

// serveHTTP is the HTTP twin of the socket pipeline (luckystack-wire.md
// §3.4): GET, POST, PUT and DELETE on /api/<service>/<route...>/v<N>. The
// root dispatcher has already applied the origin gate, preHttpRequest, CSRF
// and the body cap. The handler's context ends when the client goes away.
func (m *Module) serveHTTP(w http.ResponseWriter, r *http.Request) {
	srv := m.server()
	ctx := r.Context()
	sse := WantsSSE(r, m.opts.StreamParam)
	req := &Request{
		RouteName: unknownRoute, Transport: TransportHTTP, HTTP: r,
		IP: srv.ClientIP(r), Locale: luckystack.RequestLocale(r), Token: srv.ExtractTokenFromRequest(r),
		header: w.Header(),
	}
	sw := NewSSEWriter(w)
	out := &output{canStream: sse, sink: chunkFunc(func(b json.RawMessage) error { return sw.Frame("stream", b) })}
	req.out = out
	c := &call{m: m, req: req, sse: sse, w: w}
	c.sink = deliverFunc(func(env *Envelope) {
		if !out.close() {
			return
		}
		// The stream opens lazily: a refusal before any chunk is plain JSON
		// with its real status, which SSE could no longer carry.
		if sw.Opened() || (sse && !env.IsError()) {
			_ = sw.Frame("final", env.bytes())
			return
		}
		luckystack.WriteJSON(w, env.HTTPStatus(), env.bytes())
		// A timed-out handler may still be running; flush so the caller
		// has the reply now rather than when the handler returns.
		_ = http.NewResponseController(w).Flush()
	})
	defer func() {
		rec := recover()
		if rec == nil {
			// Also when no reply was sent (client gone): a goroutine the
			// handler left behind must not write to a finished response.
			out.close()
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		srv.Logger().Error("api: http pipeline panicked", "route", req.RouteName, "panic", rec, "stack", string(debug.Stack()))
		luckystack.DispatchHook(context.WithoutCancel(ctx), srv, APIError, &APIErrorEvent{
			Route: req.RouteName, Method: r.Method, RequestID: w.Header().Get("X-Request-Id"), Error: rec,
		})
		if out.close() {
			if sw.Opened() {
				_ = sw.Event("error", sseErrorFrame)
				return
			}
			luckystack.WriteJSON(w, http.StatusInternalServerError, bareError(events.CodeAPIServerExecutionFailed, http.StatusInternalServerError))
		}
	}()
	sess, err := srv.GetSession(ctx, req.Token)
	if err != nil {
		srv.Logger().Warn("api: session read failed", "err", err)
	}
	req.Session = sess
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/")
	if strings.Trim(name, "/") == "" {
		m.respond(ctx, c, m.fail(req, events.CodeAPIInvalidName))
		return
	}
	if !strings.HasPrefix(name, "api/") {
		name = "api/" + name
	}
	data, env := m.readData(r, req)
	if env != nil {
		m.respond(ctx, c, env)
		return
	}
	req.Data = data
	key, service, route, version, err := ParseRouteName("api", name)
	if err != nil {
		m.respond(ctx, c, m.fail(req, events.CodeRoutingInvalidServiceRouteName, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	req.RouteName, req.Service, req.Route, req.Version = key, service, route, version
	e := m.lookup(key)
	if e == nil {
		m.respond(ctx, c, m.fail(req, events.CodeAPINotFound, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	c.e = e
	if env := m.run(ctx, c); env != nil {
		m.respond(ctx, c, env)
	}
}

// readData returns the request's data object: the query string for GET,
// else a JSON object or form body. The stream parameter is dropped, and a
// __luckystack_data string replaces everything with the object it holds.
func (m *Module) readData(r *http.Request, req *Request) (json.RawMessage, *Envelope) {
	var (
		fields map[string]json.RawMessage
		body   []byte
	)
	if r.Method == http.MethodGet {
		fields = flatten(r.URL.Query())
	} else {
		var err error
		body, err = io.ReadAll(r.Body)
		if err != nil {
			if luckystack.IsBodyTooLarge(err) {
				return nil, m.fail(req, events.CodeAPIPayloadTooLarge)
			}
			return nil, m.fail(req, events.CodeAPIInvalidRequestFormat)
		}
		body = bytes.TrimSpace(body)
		if len(body) == 0 {
			fields = map[string]json.RawMessage{}
			body = nil
		} else {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			switch mt {
			case "application/json":
				if !json.Valid(body) {
					return nil, m.fail(req, events.CodeAPIInvalidRequestFormat)
				}
				if !events.IsObject(body) {
					return nil, m.fail(req, events.CodeAPIInvalidDataObject)
				}
				_ = json.Unmarshal(body, &fields)
			case "application/x-www-form-urlencoded":
				vals, err := url.ParseQuery(string(body))
				if err != nil {
					return nil, m.fail(req, events.CodeAPIInvalidRequestFormat)
				}
				fields = flatten(vals)
				body = nil
			default:
				return nil, m.fail(req, events.CodeAPIUnsupportedMediaType)
			}
		}
	}
	if _, ok := fields[m.opts.StreamParam]; ok {
		delete(fields, m.opts.StreamParam)
		body = nil
	}
	if raw, ok := fields[ldataKey]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if !events.IsObject(json.RawMessage(s)) {
				return nil, m.fail(req, events.CodeAPIInvalidRequestFormat)
			}
			return json.RawMessage(s), nil
		}
	}
	if body != nil {
		// Untouched JSON bodies are passed on as sent.
		return body, nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, m.fail(req, events.CodeAPIInvalidRequestFormat)
	}
	return b, nil
}

// flatten turns query or form values into a flat string map; the last
// value of a repeated key wins, as Object.fromEntries does.
func flatten(v url.Values) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(v))
	for k, vs := range v {
		if len(vs) == 0 {
			continue
		}
		b, _ := json.Marshal(vs[len(vs)-1])
		out[k] = b
	}
	return out
}
