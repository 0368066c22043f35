package api

import (
	"encoding/json"
	"time"

	"github.com/luckystack/luckystack-go"
)

// SocketMessageEvent is the payload of [PreSocketMessage].
type SocketMessageEvent struct {
	// Channel is "api" or "sync".
	Channel string
	// SocketID is the sending socket.
	SocketID string
	// IP is the client address.
	IP string
	// Authenticated reports whether the client presented a session token.
	// The session itself is read after this hook, so a stale token still
	// counts.
	Authenticated bool
	// RouteName is the name as sent, when it is a string ("" otherwise).
	RouteName string
	// Client is the sending client.
	Client *luckystack.Client
}

// ValidateEvent is the payload of [PreAPIValidate] and [PostAPIValidate].
type ValidateEvent struct {
	// RouteName is the canonical route key.
	RouteName string
	// Data is the raw input object.
	Data json.RawMessage
	// User is the caller's session (nil when anonymous).
	User *luckystack.Session
	// Transport tells how the request arrived.
	Transport Transport
	// Validation is the outcome; set for PostAPIValidate only.
	Validation *ValidationResult
}

// ValidationResult is the outcome of input validation. Message carries the
// decoder's or Validate's detail, which never reaches the client.
type ValidationResult struct {
	// OK reports whether the input was accepted.
	OK bool
	// Mode is the route's validation mode.
	Mode Validation
	// Message explains a refusal.
	Message string
}

// ExecuteEvent is the payload of [PreAPIExecute] and [PostAPIExecute]; the
// same value is passed to both.
type ExecuteEvent struct {
	// RouteName is the canonical route key.
	RouteName string
	// Data is the raw input object.
	Data json.RawMessage
	// User is the caller's session (nil when anonymous).
	User *luckystack.Session
	// Transport tells how the request arrived.
	Transport Transport
	// Request is the handler's request.
	Request *Request
	// Result is the handler's output (PostAPIExecute only).
	Result any
	// Error is the handler's error (PostAPIExecute only).
	Error error
	// Duration is the handler's run time (PostAPIExecute only).
	Duration time.Duration
}

// RespondEvent is the payload of [PreAPIRespond], [TransformAPIResponse]
// and [PostAPIRespond].
type RespondEvent struct {
	// RouteName is the canonical key, or "api/unknown" before the name
	// parsed.
	RouteName string
	// Data is the raw input object (nil when it was not one).
	Data json.RawMessage
	// User is the caller's session (nil when anonymous or not yet read).
	User *luckystack.Session
	// Transport tells how the request arrived.
	Transport Transport
	// Request is nil for replies sent before the route was known.
	Request *Request
	// Response is the reply. PreAPIRespond and TransformAPIResponse may
	// change it; a nil Response is answered with api.emptyResponse.
	Response *Envelope
}

// AuthRejectedEvent is the payload of [APIAuthRejected].
type AuthRejectedEvent struct {
	// RouteName is the canonical route key.
	RouteName string
	// Reason is "login-required", "additional-failed" or
	// "invalid-condition".
	Reason string
	// UserID is the caller's user id ("" when anonymous).
	UserID string
	// IP is the client address.
	IP string
	// Transport tells how the request arrived.
	Transport Transport
	// FailedKey is the predicate key that failed ("" for login-required).
	FailedKey string
}

// RateLimitEvent is the payload of [RateLimitExceeded].
type RateLimitEvent struct {
	// Scope is "route" for a per-route bucket and "ip" for the global
	// per-IP bucket (sync and auth limiters may add their own).
	Scope string
	// Key is the bucket.
	Key string
	// Limit is the bucket's limit per window.
	Limit int
	// Window is the bucket's fixed window.
	Window time.Duration
	// Count is the hits in the window so far, the refused one included.
	Count int64
	// Route is the route key, when there is one.
	Route string
	// IP is the client address.
	IP string
	// UserID is the caller's user id ("" when anonymous).
	UserID string
}

// APIErrorEvent is the payload of [APIError].
type APIErrorEvent struct {
	// Route is the route key, or "api/unknown" before the name parsed.
	Route string
	// Method is the HTTP method.
	Method string
	// RequestID is the X-Request-Id of the response.
	RequestID string
	// Error is the recovered panic value.
	Error any
}

// LogoutEvent is the payload of [PreLogout] and [PostLogout].
type LogoutEvent struct {
	// UserID is the session's user id ("" when it could not be read).
	UserID string
	// Token is the session token being deleted.
	Token string
}

// Hooks of the API pipeline (luckystack-wire.md §8.2). Pre-hooks marked
// "stoppable" refuse the request when a handler returns a *luckystack.Stop;
// the others ignore stops. All run synchronously on the request's goroutine,
// in the order of the pipeline.
var (
	// PreSocketMessage (stoppable) runs first for every apiRequest and sync
	// message. A stop answers {status:"error", errorCode, httpStatus}
	// without a message and without the respond hooks, as the original.
	PreSocketMessage = luckystack.NewHook[SocketMessageEvent]("preSocketMessage")
	// PreAPIValidate runs before input validation.
	PreAPIValidate = luckystack.NewHook[ValidateEvent]("preApiValidate")
	// PostAPIValidate runs after it with the outcome and its detail.
	PostAPIValidate = luckystack.NewHook[ValidateEvent]("postApiValidate")
	// PreAPIExecute (stoppable) runs before the handler; a stop answers its
	// code with its status (403 when zero).
	PreAPIExecute = luckystack.NewHook[ExecuteEvent]("preApiExecute")
	// PostAPIExecute runs after the handler (not after a timeout).
	PostAPIExecute = luckystack.NewHook[ExecuteEvent]("postApiExecute")
	// PreAPIRespond (stoppable) may change the reply, or stop to replace it
	// with an error envelope (403 when the stop has no status).
	PreAPIRespond = luckystack.NewHook[RespondEvent]("preApiRespond")
	// TransformAPIResponse may change the reply.
	TransformAPIResponse = luckystack.NewHook[RespondEvent]("transformApiResponse")
	// PostAPIRespond runs after the reply was sent.
	PostAPIRespond = luckystack.NewHook[RespondEvent]("postApiRespond")
	// APIAuthRejected runs when a route's Auth refused the caller.
	APIAuthRejected = luckystack.NewHook[AuthRejectedEvent]("apiAuthRejected")
	// RateLimitExceeded runs when a bucket refused a request.
	RateLimitExceeded = luckystack.NewHook[RateLimitEvent]("rateLimitExceeded")
	// APIError runs when the HTTP handler itself failed (a panic outside the
	// route's handler).
	APIError = luckystack.NewHook[APIErrorEvent]("apiError")
	// PreLogout (stoppable) runs before the socket logout shortcut deletes
	// the session; a stop keeps it and answers the stop's code.
	PreLogout = luckystack.NewHook[LogoutEvent]("preLogout")
	// PostLogout runs after the session was deleted.
	PostLogout = luckystack.NewHook[LogoutEvent]("postLogout")
)
