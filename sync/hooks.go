package sync

import (
	"encoding/json"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
)

// Event is the payload of the pipeline hooks (PreSyncAuthorize through
// PostSyncFanout). The same value travels through one request's hooks, so
// the fields of later stages are filled in as it goes.
type Event struct {
	// RouteName is the canonical key, e.g. "sync/chat/message/v1".
	RouteName string
	// Data is the raw input object.
	Data json.RawMessage
	// User is the sender's session (nil when anonymous).
	User *luckystack.Session
	// Receiver is the receiver as sent ("all" or a room code).
	Receiver string
	// Transport tells how the request arrived.
	Transport api.Transport
	// Request is the handler's request.
	Request *Request
	// Validation is the validation outcome (PostSyncValidate on).
	Validation *api.ValidationResult
	// Result is the server handler's output (PostSyncExecute on).
	Result any
	// Error is the server handler's error (PostSyncExecute on).
	Error error
	// Duration is the server handler's run time (PostSyncExecute on).
	Duration time.Duration
	// ServerOutput is the encoded server output (PreSyncFanout on).
	ServerOutput json.RawMessage
	// RecipientCount is how many sockets got a frame (PostSyncFanout). A
	// room broadcast counts the room's sockets cluster-wide, minus those
	// ignoreSelf skips, only because PostSyncFanout has handlers.
	RecipientCount int
}

// RecipientEvent is the payload of [PreSyncRecipient] and
// [PostSyncRecipient].
type RecipientEvent struct {
	// RouteName is the canonical key.
	RouteName string
	// Receiver is the receiver as sent.
	Receiver string
	// RecipientSocketID is the socket about to get a frame.
	RecipientSocketID string
	// RecipientUserID is its session's user id ("" when unknown).
	RecipientUserID string
	// RecipientToken is its session token ("" when anonymous).
	RecipientToken string
	// ServerOutput is the encoded server output the frame would carry.
	ServerOutput json.RawMessage
	// Request is the sender's request.
	Request *Request
	// Frame is the frame sent (PostSyncRecipient only).
	Frame json.RawMessage
}

// StreamEvent is the payload of [PreSyncStream] and [PostSyncStream].
type StreamEvent struct {
	// RouteName is the canonical key.
	RouteName string
	// Chunk is the encoded payload.
	Chunk json.RawMessage
	// Recipient says where it goes: "originator", "room:<code>", "all",
	// "tokens" or "socket:<id>" (a client handler's stream).
	Recipient string
	// ChunkIndex counts the request's chunks per Recipient, from 0
	// (PostSyncStream only).
	ChunkIndex int
}

// ErrorEvent is the payload of [SyncError].
type ErrorEvent struct {
	// Route is the route key, or "sync/unknown" before the name parsed.
	Route string
	// Method is the HTTP method.
	Method string
	// RequestID is the X-Request-Id of the response.
	RequestID string
	// Error is the recovered panic value.
	Error any
}

// Hooks of the sync pipeline (luckystack-wire.md §8.2), in pipeline order.
// Stoppable pre-hooks refuse the request with the stop's code and status
// (403 when zero); post-hooks ignore stops. All run synchronously on the
// request's goroutine; PreSyncRecipient and PostSyncRecipient run on the
// fan-out workers.
// The first hook of a socket request is api.PreSocketMessage with channel
// "sync", and refused rate limits fire api.RateLimitExceeded.
var (
	// PreSyncAuthorize (stoppable) runs after the auth, receiver and rate
	// gates. It cannot approve receiver "all": that gate runs before it.
	PreSyncAuthorize = luckystack.NewHook[Event]("preSyncAuthorize")
	// PostSyncAuthorize runs once PreSyncAuthorize let the request pass.
	PostSyncAuthorize = luckystack.NewHook[Event]("postSyncAuthorize")
	// PreSyncValidate (stoppable) runs before input validation.
	PreSyncValidate = luckystack.NewHook[Event]("preSyncValidate")
	// PostSyncValidate runs after validation with its outcome and detail.
	PostSyncValidate = luckystack.NewHook[Event]("postSyncValidate")
	// PreSyncExecute (stoppable) runs before the server handler.
	PreSyncExecute = luckystack.NewHook[Event]("preSyncExecute")
	// PostSyncExecute runs after the server handler, success or not.
	PostSyncExecute = luckystack.NewHook[Event]("postSyncExecute")
	// PreSyncFanout (stoppable) runs before the acknowledgement; a stop
	// answers the sender with its code and delivers nothing.
	PreSyncFanout = luckystack.NewHook[Event]("preSyncFanout")
	// PostSyncFanout runs after delivery with RecipientCount.
	PostSyncFanout = luckystack.NewHook[Event]("postSyncFanout")
	// PreSyncRecipient runs once per recipient. A stop without
	// OverrideOutput skips the recipient (not counted); a stop with
	// OverrideOutput delivers it (encoded as JSON) as the frame's
	// serverOutput instead, e.g. redacted. Registering it switches routes
	// without a client handler from one room broadcast to per-recipient
	// delivery.
	PreSyncRecipient = luckystack.NewHook[RecipientEvent]("preSyncRecipient")
	// PostSyncRecipient runs after a recipient's frame was handed to its
	// socket (not for skipped recipients). Like PreSyncRecipient it switches
	// delivery to per-recipient.
	PostSyncRecipient = luckystack.NewHook[RecipientEvent]("postSyncRecipient")
	// PreSyncStream runs before each stream chunk (stops are ignored).
	PreSyncStream = luckystack.NewHook[StreamEvent]("preSyncStream")
	// PostSyncStream runs after each stream chunk was sent.
	PostSyncStream = luckystack.NewHook[StreamEvent]("postSyncStream")
	// SyncError runs when the HTTP handler itself failed (a panic outside
	// the route's handlers).
	SyncError = luckystack.NewHook[ErrorEvent]("syncError")
)

func hooked[P any](srv *luckystack.Server, h luckystack.Hook[P]) bool {
	return luckystack.HookCount(srv, h) > 0
}
