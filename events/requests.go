package events

import (
	"bytes"
	"encoding/json"
)

// APIRequest is the payload of [NameAPIRequest]:
//
//	{"name":"api/<service>/<route...>/v<N>","data":{...},"responseIndex":3}
//
// The server drops a request whose ResponseIndex is not valid without
// replying, and answers [CodeAPIInvalidRequest] on [APIResponse] when Name is
// empty or Data is not an object ([IsObject]).
type APIRequest struct {
	// Name is the route key as the client sent it; the server normalises it.
	Name string `json:"name"`
	// Data is the handler input; it must be a JSON object.
	Data json.RawMessage `json:"data"`
	// ResponseIndex selects the reply names ([APIResponse], [APIStream]).
	ResponseIndex ResponseIndex `json:"responseIndex,omitzero"`
}

// APICancel is the payload of [NameAPICancel]. It aborts the request this
// socket sent with the same index; unknown indexes are ignored.
type APICancel struct {
	// ResponseIndex names the request to abort; an invalid index cancels
	// nothing.
	ResponseIndex ResponseIndex `json:"responseIndex"`
}

// SyncRequest is the payload of [NameSync] sent by a client:
//
//	{"name":"sync/<svc>/<route>/v<N>","data":{...},"cb":"<svc>/<route>/v<N>",
//	 "receiver":"room-1","responseIndex":4,"ignoreSelf":true}
type SyncRequest struct {
	// Name is the route key as the client sent it.
	Name string `json:"name"`
	// Data is the clientInput for the handlers; it must be a JSON object.
	Data json.RawMessage `json:"data"`
	// Callback is the wire field "cb": the client's callback key, normally
	// the route key without its "sync/" prefix.
	Callback string `json:"cb"`
	// Receiver is the room the result fans out to, or "all".
	Receiver string `json:"receiver"`
	// ResponseIndex selects [Sync] and [SyncProgress]. Without a valid
	// index the request runs fire-and-forget: no acknowledgement, no error
	// reply.
	ResponseIndex ResponseIndex `json:"responseIndex,omitzero"`
	// IgnoreSelf skips every socket of the sender's session during fan-out.
	IgnoreSelf bool `json:"ignoreSelf,omitempty"`
}

// SyncCancel is the payload of [NameSyncCancel].
type SyncCancel struct {
	// Callback is the wire field "cb". It holds the cancel id the server
	// sent in the [CancelIDFrame], or the request's cb if the client never
	// received one.
	Callback string `json:"cb"`
}

// JoinRoomRequest is the payload of [NameJoinRoom]. Without a valid
// ResponseIndex the server ignores the request entirely.
type JoinRoomRequest struct {
	// Group is the room code; the server trims it and refuses "" or more
	// than 256 characters with [CodeRoomInvalid].
	Group string `json:"group"`
	// ResponseIndex selects [JoinRoom].
	ResponseIndex ResponseIndex `json:"responseIndex,omitzero"`
}

// LeaveRoomRequest is the payload of [NameLeaveRoom]. It has the same shape
// and rules as [JoinRoomRequest].
type LeaveRoomRequest struct {
	// Group is the room code to leave.
	Group string `json:"group"`
	// ResponseIndex selects [LeaveRoom].
	ResponseIndex ResponseIndex `json:"responseIndex,omitzero"`
}

// GetJoinedRoomsRequest is the payload of [NameGetJoinedRooms].
type GetJoinedRoomsRequest struct {
	// ResponseIndex selects [GetJoinedRooms]; without a valid index there
	// is no reply.
	ResponseIndex ResponseIndex `json:"responseIndex,omitzero"`
}

// UpdateLocation is the payload of [NameUpdateLocation]. Decoding into this
// type keeps only the two documented fields, which fixes the original's
// habit of storing whatever object the client sent in the session
// (luckystack-wire.md §14.1 item 4).
type UpdateLocation struct {
	// PathName is the page path, e.g. "/games/chess".
	PathName string `json:"pathName"`
	// SearchParams are the page's query parameters, if any.
	SearchParams map[string]string `json:"searchParams,omitempty"`
}

// IsObject reports whether raw is a syntactically valid JSON object. The
// original checks "plain object" for API data and sync data; arrays, null
// and scalars fail.
func IsObject(raw json.RawMessage) bool {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(raw)
}
