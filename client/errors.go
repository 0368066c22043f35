package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/luckystack/luckystack-go/events"
)

// ErrClosed is wrapped by the errors of calls made on, or interrupted by, a
// closed [Client].
var ErrClosed = errors.New("client: closed")

// ErrNotConnected is returned by the plain Socket.IO calls ([Client.Emit],
// [Client.EmitWithAck]) while the client has no connection; they are never
// queued.
var ErrNotConnected = errors.New("client: not connected")

// ErrBinaryUnsupported is returned for a []byte event argument: the client
// does not send Socket.IO binary attachments.
var ErrBinaryUnsupported = errors.New("client: binary arguments are not supported")

// Error is a LuckyStack error envelope as a Go error: either the server's
// reply (Raw holds it) or one the client produced itself for the same
// situations the browser client does (request.aborted, api.disconnected,
// api.timeout, sync.requestTimeout, offline.queueFull, offline.dropped, ...).
// Callers branch on Code; [Code] extracts it from any error.
type Error struct {
	// Code is the envelope's errorCode, e.g. "auth.required".
	Code string
	// Message is the envelope's message (the code when the server has no
	// translator).
	Message string
	// Params are the envelope's errorParams.
	Params []events.ErrorParam
	// HTTPStatus is the envelope's httpStatus.
	HTTPStatus int
	// Raw is the server's envelope; nil for client-made errors.
	Raw json.RawMessage

	// err is the cause of a client-made error (a context error, ErrClosed,
	// an offline queue error), for errors.Is and errors.As.
	err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := "client: " + e.Code
	if e.Message != "" && e.Message != e.Code {
		msg += ": " + e.Message
	}
	if e.err != nil {
		msg += " (" + e.err.Error() + ")"
	}
	return msg
}

// Unwrap returns the cause of a client-made error.
func (e *Error) Unwrap() error { return e.err }

// Param returns the value of the error param named key, or nil.
func (e *Error) Param(key string) any {
	for _, p := range e.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// Code returns the error code of err if it is (or wraps) an [*Error], else "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// newError builds a client-made error with the catalogue's status for code.
func newError(code string, cause error, params ...events.ErrorParam) *Error {
	return &Error{Code: code, Message: code, Params: params, HTTPStatus: events.DefaultStatus(code), err: cause}
}

// errorFromEnvelope decodes a server error envelope. Envelopes the server
// sends without a message or status (the API crash fallback, the
// preSocketMessage stop) are normalised as the browser client does.
func errorFromEnvelope(raw json.RawMessage) *Error {
	var env events.ErrorEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return &Error{Code: events.CodeAPIInvalidServerResponse, Message: events.CodeAPIInvalidServerResponse,
			HTTPStatus: http.StatusBadGateway, Raw: raw, err: err}
	}
	env = env.Normalize(events.DefaultHTTPStatus)
	return &Error{Code: env.ErrorCode, Message: env.Message, Params: env.ErrorParams, HTTPStatus: env.HTTPStatus, Raw: raw}
}

// HandshakeError is a refused websocket handshake: the server answered the
// upgrade request with an HTTP error (a forbidden origin, say). The client
// keeps retrying after it.
type HandshakeError struct {
	// StatusCode is the HTTP status of the refusal.
	StatusCode int
	// Err is the dialer's error.
	Err error
}

// Error implements the error interface.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: handshake refused with HTTP %d: %v", e.StatusCode, e.Err)
}

// Unwrap returns the dialer's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// ConnectError is the server's CONNECT_ERROR: a socket middleware refused
// the connection. Like socket.io-client, the client does not retry on its
// own after it; [Client.Reconnect] or [Client.Resume] tries again, usually
// after [Client.SetToken].
type ConnectError struct {
	// Message is the refusal's message.
	Message string `json:"message"`
	// Data is the optional payload the middleware attached.
	Data json.RawMessage `json:"data,omitempty"`
}

// Error implements the error interface.
func (e *ConnectError) Error() string { return "client: connect_error: " + e.Message }
