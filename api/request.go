package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// Transport names the way a request arrived. Hooks receive it because the
// same route is reachable over both.
type Transport string

const (
	// TransportSocket is an apiRequest event on the Socket.IO connection.
	TransportSocket Transport = "socket"
	// TransportHTTP is a GET, POST, PUT or DELETE on /api/....
	TransportHTTP Transport = "http"
)

// ErrCanceled is the cause ([context.Cause]) of a handler context the client
// cancelled with apiCancel. A disconnect or a vanished HTTP client cancels
// the context with the transport's own cause instead.
var ErrCanceled = errors.New("api: request cancelled by the client")

// ErrTimeout is the cause of a handler context cancelled by a route or
// module timeout; the caller gets api.timeout (504).
var ErrTimeout = errors.New("api: request timed out")

// ErrStreamClosed is returned by [Request.Stream] once the request was
// answered, cancelled or timed out: nothing may follow the final reply.
var ErrStreamClosed = errors.New("api: stream closed")

// CodeTooManyInFlight is the error code (status 429) of a socket request
// refused because the client already has [Options.MaxInFlight] requests
// running. It is not part of the original catalogue, which had no bound.
const CodeTooManyInFlight = "api.tooManyInFlight"

// Request is what a handler knows about the call besides its typed input.
// It is valid until the handler returns; Stream may be called from other
// goroutines meanwhile.
type Request struct {
	// RouteName is the canonical key, e.g. "api/users/getUser/v1".
	RouteName string
	// Service and Route are the key's parts ("users", "getUser").
	Service, Route string
	// Version is N of the key's vN.
	Version int
	// Transport tells how the request arrived.
	Transport Transport
	// Session is the caller's session, nil when anonymous. Handlers must
	// not modify it; use the server's UpdateSession.
	Session *luckystack.Session
	// Token is the caller's session token ("" when anonymous).
	Token string
	// IP is the client address, honouring the trusted-proxy settings.
	IP string
	// Locale is the preferred language of the caller ("" when unknown).
	Locale string
	// Data is the raw input object as received.
	Data json.RawMessage
	// Client is the socket the request came from (nil over HTTP).
	Client *luckystack.Client
	// HTTP is the HTTP request (nil over the socket). Its body has been read.
	HTTP *http.Request

	out    *output
	header http.Header // the HTTP response's (nil over the socket)
}

// UserID returns the session's user id, or "".
func (r *Request) UserID() string {
	if r.Session == nil {
		return ""
	}
	return r.Session.ID
}

// Streaming reports whether [Request.Stream] reaches the caller: always on
// the socket, only for server-sent-event requests over HTTP.
func (r *Request) Streaming() bool { return r.out != nil && r.out.canStream }

// Stream sends payload to the caller before the final reply: an
// apiStream-<i> event on the socket, an "event: stream" frame over HTTP SSE.
// A nil payload is sent as {}. Over plain HTTP it does nothing and returns
// nil, as the original does. It returns [ErrStreamClosed] once the request
// is answered, cancelled or timed out, so a late chunk never follows the
// final reply. Safe for concurrent use.
func (r *Request) Stream(payload any) error {
	if r.out == nil || !r.out.canStream {
		return nil
	}
	b := json.RawMessage(`{}`)
	if payload != nil {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			return err
		}
	}
	return r.out.stream(b)
}

// language picks the error-message language: the session's (short code,
// lower-cased), else the request locale, else def.
func (r *Request) language(def string) string {
	if r.Session != nil && r.Session.Language != "" {
		code, _, _ := strings.Cut(r.Session.Language, "-")
		return strings.ToLower(code)
	}
	if r.Locale != "" {
		return r.Locale
	}
	return def
}

// chunkSink sends a stream chunk (see replySink for why an interface).
type chunkSink interface{ sendChunk(b json.RawMessage) error }

// chunkFunc is a chunkSink made of a function.
type chunkFunc func(b json.RawMessage) error

func (f chunkFunc) sendChunk(b json.RawMessage) error { return f(b) }

// output serialises what goes to the caller: stream chunks may come from
// any goroutine, and the final reply closes the stream for good.
type output struct {
	canStream bool
	sink      chunkSink

	mu     sync.Mutex      // Protects following.
	ctx    context.Context // the handler's; once it ends chunks are refused
	closed bool
}

// bind ties the stream to the handler's context.
func (o *output) bind(ctx context.Context) {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
}

func (o *output) stream(b json.RawMessage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || (o.ctx != nil && o.ctx.Err() != nil) {
		return ErrStreamClosed
	}
	return o.sink.sendChunk(b)
}

// close refuses further chunks and reports whether it was still open.
func (o *output) close() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	was := !o.closed
	o.closed = true
	return was
}

// Error is an error a handler returns to answer with a specific error
// envelope instead of api.internalServerError. Code is a catalogue or
// project code the client's translator knows.
type Error struct {
	// Code is the errorCode, e.g. "users.notFound". Empty becomes
	// error.invalidResponse.
	Code string
	// Params fill the translated message's placeholders.
	Params []events.ErrorParam
	// HTTPStatus is the envelope's status. Zero means 400.
	HTTPStatus int
	// Message replaces the translated message when set.
	Message string
}

// NewError returns an *Error with code, status (zero means 400) and params.
func NewError(code string, status int, params ...events.ErrorParam) *Error {
	return &Error{Code: code, HTTPStatus: status, Params: params}
}

// Error implements error.
func (e *Error) Error() string { return "api: " + e.Code }
