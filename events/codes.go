package events

import "net/http"

// The error codes below are the LuckyStack catalogue (luckystack-wire.md
// §2.4). They are untyped string constants because hooks may stop a request
// with codes of their own, so [ErrorEnvelope.ErrorCode] must stay a plain
// string. The browser client branches on these strings and the project's
// translator keys messages by them, so their spelling is part of the wire
// contract. Their statuses live in one place, [DefaultStatus].
const (
	// CodeInvalidResponse replaces an empty or missing error code during
	// normalisation.
	CodeInvalidResponse = "error.invalidResponse"
)

// API codes, shared by the socket and HTTP transports.
const (
	// CodeAPIInvalidRequest: a socket frame lacks a string name or an
	// object data.
	CodeAPIInvalidRequest = "api.invalidRequest"
	// CodeAPIInvalidName: empty name on HTTP /api/, or a bad name caught by
	// the client.
	CodeAPIInvalidName = "api.invalidName"
	// CodeAPIInvalidDataObject: HTTP data is not a JSON object.
	CodeAPIInvalidDataObject = "api.invalidDataObject"
	// CodeRoutingInvalidServiceRouteName: the route name does not parse as
	// service/route.../vN; params "name". Used by API and sync.
	CodeRoutingInvalidServiceRouteName = "routing.invalidServiceRouteName"
	// CodeAPINotFound: no API route under that key; params "name".
	CodeAPINotFound = "api.notFound"
	// CodeAuthRequired: the route needs a logged-in session.
	CodeAuthRequired = "auth.required"
	// CodeAuthForbidden: an additional[] auth predicate failed; params "key".
	CodeAuthForbidden = "auth.forbidden"
	// CodeAuthInvalidCondition: an additional[] predicate names a key the
	// session lacks (a server bug, hence 500); params "key".
	CodeAuthInvalidCondition = "auth.invalidCondition"
	// CodeAPIRateLimitExceeded: a rate-limit bucket is exhausted; params
	// "seconds".
	CodeAPIRateLimitExceeded = "api.rateLimitExceeded"
	// CodeAPIMethodNotAllowed: wrong HTTP method for the route (HTTP only);
	// params "method".
	CodeAPIMethodNotAllowed = "api.methodNotAllowed"
	// CodeAPIInvalidInputType: input validation failed. The validator's
	// detail is never sent.
	CodeAPIInvalidInputType = "api.invalidInputType"
	// CodeAPITimeout: the server-side race or the client timer expired.
	CodeAPITimeout = "api.timeout"
	// CodeAPIInternalServerError: the handler failed.
	CodeAPIInternalServerError = "api.internalServerError"
	// CodeAPIEmptyResponse: the handler returned nothing.
	CodeAPIEmptyResponse = "api.emptyResponse"
	// CodeAPIInvalidResponseStatus: the handler's status was neither
	// success nor error.
	CodeAPIInvalidResponseStatus = "api.invalidResponseStatus"
	// CodeAPIServerExecutionFailed: socket crash fallback, sent without a
	// message.
	CodeAPIServerExecutionFailed = "api.serverExecutionFailed"
	// CodeAPIPayloadTooLarge: HTTP body above the configured limit.
	CodeAPIPayloadTooLarge = "api.payloadTooLarge"
	// CodeAPIInvalidRequestFormat: HTTP body or __luckystack_data does not
	// parse (400); also the SSE error frame after a stream opened (500, set
	// explicitly there).
	CodeAPIInvalidRequestFormat = "api.invalidRequestFormat"
	// CodeAPIUnsupportedMediaType: HTTP body is neither JSON nor a form.
	CodeAPIUnsupportedMediaType = "api.unsupportedMediaType"
	// CodeAPIDevToolsUnavailable: development route maps failed to load.
	CodeAPIDevToolsUnavailable = "api.devToolsUnavailable"
)

// Sync codes. The original sync path passes no fallback status, so unless
// noted they travel with 400; codes shared with the API (auth.*,
// routing.invalidServiceRouteName) are listed there.
const (
	// CodeSyncInvalidRequest: the message, name or data is malformed.
	CodeSyncInvalidRequest = "sync.invalidRequest"
	// CodeSyncInvalidCallback: cb is missing or empty.
	CodeSyncInvalidCallback = "sync.invalidCallback"
	// CodeSyncMissingReceiver: the trimmed receiver is empty.
	CodeSyncMissingReceiver = "sync.missingReceiver"
	// CodeSyncNotFound: no _server entry for the route.
	CodeSyncNotFound = "sync.notFound"
	// CodeSyncReceiverNotAllowed: receiver "all" is not allowed (403).
	CodeSyncReceiverNotAllowed = "sync.receiverNotAllowed"
	// CodeSyncNotRoomMember: the sender is not in the receiver room (403).
	CodeSyncNotRoomMember = "sync.notRoomMember"
	// CodeSyncRateLimitExceeded: a rate-limit bucket is exhausted (429);
	// params "seconds".
	CodeSyncRateLimitExceeded = "sync.rateLimitExceeded"
	// CodeSyncInvalidInputType: clientInput failed validation.
	CodeSyncInvalidInputType = "sync.invalidInputType"
	// CodeSyncServerExecutionFailed: the _server handler failed, or the
	// pipeline crashed.
	CodeSyncServerExecutionFailed = "sync.serverExecutionFailed"
	// CodeSyncInvalidServerResponse: the _server status was not success.
	CodeSyncInvalidServerResponse = "sync.invalidServerResponse"
	// CodeSyncNoReceiversFound: the receiver room is empty (socket transport
	// only).
	CodeSyncNoReceiversFound = "sync.noReceiversFound"
	// CodeSyncClientExecutionFailed: a recipient's _client handler failed
	// (per-recipient fan-out frame).
	CodeSyncClientExecutionFailed = "sync.clientExecutionFailed"
	// CodeSyncClientRejected: a _client error lacked a code (per-recipient
	// fan-out frame).
	CodeSyncClientRejected = "sync.clientRejected"
	// CodeSyncInvalidClientResponse: a _client result was malformed
	// (per-recipient fan-out frame).
	CodeSyncInvalidClientResponse = "sync.invalidClientResponse"
	// CodeSyncDisabled: HTTP /sync/ while the sync feature is absent (404).
	CodeSyncDisabled = "sync.disabled"
	// CodeSyncMethodNotAllowed: HTTP sync with a method other than POST
	// (405).
	CodeSyncMethodNotAllowed = "sync.methodNotAllowed"
	// CodeSyncInvalidName: bad sync name (HTTP, and the client).
	CodeSyncInvalidName = "sync.invalidName"
	// CodeSyncDevToolsUnavailable: development route maps failed to load
	// (503).
	CodeSyncDevToolsUnavailable = "sync.devToolsUnavailable"
	// CodeSyncInvalidRequestFormat: HTTP sync body does not parse (500).
	CodeSyncInvalidRequestFormat = "sync.invalidRequestFormat"
	// CodeSyncIOUnavailable: no Socket.IO server to fan out through (HTTP,
	// and the client).
	CodeSyncIOUnavailable = "sync.ioUnavailable"
	// CodeSyncIgnore on a fan-out error frame (as errorCode or message) makes
	// the client receiver swallow the frame silently.
	CodeSyncIgnore = "sync.ignore"
)

// Room codes. Room replies always carry 400, even when a hook stops the
// request with a status of its own.
const (
	// CodeRoomInvalid: the group is empty or longer than 256 characters.
	CodeRoomInvalid = "room.invalid"
	// CodeSessionNotFound: the socket's token has no session.
	CodeSessionNotFound = "session.notFound"
	// CodeRoomJoinBlocked: a preRoomJoin hook stopped the join without a
	// code.
	CodeRoomJoinBlocked = "room.joinBlocked"
	// CodeRoomLeaveBlocked: a preRoomLeave hook stopped the leave without a
	// code.
	CodeRoomLeaveBlocked = "room.leaveBlocked"
)

// Codes produced by the browser client itself; a Go client needs them to
// behave the same way.
const (
	// CodeRequestAborted: the caller aborted the request.
	CodeRequestAborted = "request.aborted"
	// CodeAPIIOUnavailable: no socket appeared within the wait deadline.
	CodeAPIIOUnavailable = "api.ioUnavailable"
	// CodeAPIDisconnected: the socket disconnected before the reply.
	CodeAPIDisconnected = "api.disconnected"
	// CodeAPIInvalidVersion: the version is not vN.
	CodeAPIInvalidVersion = "api.invalidVersion"
	// CodeAPIInvalidServerResponse: the reply was not an envelope.
	CodeAPIInvalidServerResponse = "api.invalidServerResponse"
	// CodeSyncInvalidVersion: the version is not vN.
	CodeSyncInvalidVersion = "sync.invalidVersion"
	// CodeSyncRequestTimeout: no sync acknowledgement before the timeout
	// (504).
	CodeSyncRequestTimeout = "sync.requestTimeout"
	// CodeSyncFailedRequest: fallback for an unexplained sync failure.
	CodeSyncFailedRequest = "sync.failedRequest"
	// CodeOfflineQueueFull: the offline queue refused the request (503 for
	// the API).
	CodeOfflineQueueFull = "offline.queueFull"
	// CodeOfflineDropped: a queued request was evicted; its "reason" param
	// is "expired" or "queue-full".
	CodeOfflineDropped = "offline.dropped"
)

// HTTP layer codes.
const (
	// CodeAuthCSRFMismatch: the CSRF header does not match (403).
	CodeAuthCSRFMismatch = "auth.csrfMismatch"
	// CodeAuthUnauthenticated: an HTTP route needs a session (401).
	CodeAuthUnauthenticated = "auth.unauthenticated"
	// CodeServerInternalError: the HTTP dispatcher failed (500).
	CodeServerInternalError = "server.internalError"
	// CodeServerCustomRouteFailed: a custom HTTP route failed (500).
	CodeServerCustomRouteFailed = "server.customRouteFailed"
	// CodeNotFound: no HTTP route matched (404).
	CodeNotFound = "notFound"
)

// DefaultHTTPStatus is the status an error envelope gets when neither the
// envelope nor the caller names one, and the status of every code the
// catalogue lists without one.
const DefaultHTTPStatus = http.StatusBadRequest

// DefaultStopStatus is the status a hook stop signal gets when the hook does
// not name one (API pipeline; room replies ignore hook statuses).
const DefaultStopStatus = http.StatusForbidden

// DefaultStatus returns the HTTP status the catalogue gives code: the status
// the API transport uses, which is also right for codes that exist only on
// one transport. Unknown codes, including custom hook codes, get
// [DefaultHTTPStatus].
//
// The original sync path sends 400 even for codes such as
// [CodeAuthRequired]; a sync handler that wants that byte-for-byte behaviour
// passes 400 explicitly instead of calling DefaultStatus
// (luckystack-wire.md §14.3 item 21 allows aligning it).
//
// This switch is the single table of statuses; keep new codes here.
func DefaultStatus(code string) int {
	switch code {
	case CodeAPINotFound, CodeSyncDisabled, CodeNotFound:
		return http.StatusNotFound
	case CodeAuthRequired, CodeAuthUnauthenticated:
		return http.StatusUnauthorized
	case CodeAuthForbidden, CodeSyncReceiverNotAllowed, CodeSyncNotRoomMember,
		CodeAuthCSRFMismatch:
		return http.StatusForbidden
	case CodeAPIMethodNotAllowed, CodeSyncMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeAPIPayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeAPIUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeAPIRateLimitExceeded, CodeSyncRateLimitExceeded:
		return http.StatusTooManyRequests
	case CodeAuthInvalidCondition, CodeAPIInternalServerError,
		CodeAPIEmptyResponse, CodeAPIInvalidResponseStatus,
		CodeAPIServerExecutionFailed, CodeSyncInvalidRequestFormat,
		CodeServerInternalError, CodeServerCustomRouteFailed:
		return http.StatusInternalServerError
	case CodeAPIDevToolsUnavailable, CodeSyncDevToolsUnavailable,
		CodeOfflineQueueFull:
		return http.StatusServiceUnavailable
	case CodeAPITimeout, CodeSyncRequestTimeout:
		return http.StatusGatewayTimeout
	}
	// Everything else in the catalogue, api.invalidRequestFormat included
	// (400 for bad input; its 500 use inside an open SSE stream is set
	// explicitly there), is a 400.
	return DefaultHTTPStatus
}
