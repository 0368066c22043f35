package sync

import (
	"encoding/json"

	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// ErrorFormatter reshapes an error answer before the sender gets it (the
// sync-<i> error acknowledgement, the HTTP error body or SSE final frame);
// success answers and fan-out frames are never formatted. It returns the
// object to send instead. An error, a panic, nil or a value that is not a
// JSON object keeps the unformatted envelope. Over HTTP an "httpStatus"
// number between 100 and 599 in the result sets the response status.
type ErrorFormatter func(env events.ErrorEnvelope, info FormatInfo) (any, error)

// FormatInfo tells an [ErrorFormatter] where the error came from.
type FormatInfo struct {
	// RouteName is the canonical route key, or "sync/unknown".
	RouteName string
	// Transport tells how the request arrived.
	Transport api.Transport
	// Request is the request (read-only); nil for a socket request refused
	// before it was read (sync.tooManyInFlight).
	Request *Request
}

// formatErr encodes env through the route's formatter, else the module's,
// and returns the body with its HTTP status.
func (m *Module) formatErr(req *Request, e *entry, env events.ErrorEnvelope) (body json.RawMessage, status int) {
	f := m.opts.ErrorFormatter
	if e != nil && e.formatter != nil {
		f = e.formatter
	}
	if f == nil {
		return encodeEnv(env), env.HTTPStatus
	}
	info := FormatInfo{RouteName: unknownRoute}
	if req != nil {
		info = FormatInfo{RouteName: req.RouteName, Transport: req.Transport, Request: req}
	}
	out, ok := m.runFormatter(f, env, info)
	if !ok {
		return encodeEnv(env), env.HTTPStatus
	}
	status = env.HTTPStatus
	var probe struct {
		HTTPStatus *int `json:"httpStatus"`
	}
	if json.Unmarshal(out, &probe) == nil && probe.HTTPStatus != nil && *probe.HTTPStatus >= 100 && *probe.HTTPStatus <= 599 {
		status = *probe.HTTPStatus
	}
	return out, status
}

// runFormatter calls f, containing its panic; ok is false when its result
// is not to be used.
func (m *Module) runFormatter(f ErrorFormatter, env events.ErrorEnvelope, info FormatInfo) (out json.RawMessage, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			m.server().Logger().Error("sync: error formatter panicked", "route", info.RouteName, "panic", r)
			out, ok = nil, false
		}
	}()
	v, err := f(env, info)
	if err != nil || v == nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil || !events.IsObject(b) {
		return nil, false
	}
	return b, true
}
