package events

// Name is a fixed (non-indexed) Socket.IO event name of the LuckyStack
// protocol. It is a distinct type so that a typo'd string literal cannot be
// passed where a protocol event is expected.
type Name string

// String returns the name as it appears on the wire.
func (n Name) String() string { return string(n) }

// Client to server events (luckystack-wire.md §2.1).
const (
	// NameAPIRequest carries an [APIRequest]; the server replies on
	// [APIResponse] and may stream on [APIStream].
	NameAPIRequest Name = "apiRequest"
	// NameAPICancel carries an [APICancel] and aborts a running API handler.
	// There is no reply.
	NameAPICancel Name = "apiCancel"
	// NameSync carries a [SyncRequest] from the client. The server also emits
	// fan-out frames ([SyncSuccessFrame], [SyncErrorFrame], [SyncStreamFrame])
	// on this same name, so it appears in both directions.
	NameSync Name = "sync"
	// NameSyncCancel carries a [SyncCancel] and aborts a running sync
	// handler. There is no reply.
	NameSyncCancel Name = "syncCancel"
	// NameJoinRoom carries a [JoinRoomRequest]; the reply goes to [JoinRoom].
	NameJoinRoom Name = "joinRoom"
	// NameLeaveRoom carries a [LeaveRoomRequest]; the reply goes to
	// [LeaveRoom].
	NameLeaveRoom Name = "leaveRoom"
	// NameGetJoinedRooms carries a [GetJoinedRoomsRequest]; the reply goes to
	// [GetJoinedRooms].
	NameGetJoinedRooms Name = "getJoinedRooms"
	// NameUpdateLocation carries an [UpdateLocation]. There is no reply.
	NameUpdateLocation Name = "updateLocation"
	// NameIntentionalDisconnect has no payload. The client sends it when its
	// tab is hidden; peers get [NameUserAFK] and the server disconnects the
	// socket.
	NameIntentionalDisconnect Name = "intentionalDisconnect"
	// NameIntentionalReconnect has no payload and only refreshes the
	// socket's activity timestamp.
	NameIntentionalReconnect Name = "intentionalReconnect"
	// NameActivity has no payload and only refreshes the socket's activity
	// timestamp.
	NameActivity Name = "activity"
)

// Server to client events that are not per-request replies
// (luckystack-wire.md §2.2).
const (
	// NameUpdateSession carries the session minus its token as a JSON
	// string, not an object; see [JSONString].
	NameUpdateSession Name = "updateSession"
	// NameSessionReplaced carries a [SessionReplaced] encoded as a JSON
	// string; see [JSONString].
	NameSessionReplaced Name = "sessionReplaced"
	// NameLogout carries the bare string [LogoutSuccess] or [LogoutError].
	NameLogout Name = "logout"
	// NameUserAFK carries a [UserAFK].
	NameUserAFK Name = "userAfk"
	// NameUserBack carries a [UserBack].
	NameUserBack Name = "userBack"
	// NameUserLeft carries a [UserLeft].
	NameUserLeft Name = "userLeft"
)

// Socket.IO built-in names listed in LuckyStack's event table. The server never
// emits them as application events; they are here so that user event
// registration can refuse them ([Name.IsReserved]).
const (
	// NameConnect is emitted by socket.io-client when a connection opens.
	NameConnect Name = "connect"
	// NameDisconnect is the Socket.IO disconnect event.
	NameDisconnect Name = "disconnect"
	// NameConnectError is what the client sees when a handshake middleware
	// rejects the connection.
	NameConnectError Name = "connect_error"
	// NameReconnectAttempt is emitted by the socket.io-client manager before
	// each reconnection attempt.
	NameReconnectAttempt Name = "reconnect_attempt"
)

// IsReserved reports whether n is one of the Socket.IO built-in names that
// LuckyStack's table reserves. Registering an application handler under such
// a name would either never fire or shadow the client library's own
// lifecycle events.
func (n Name) IsReserved() bool {
	switch n {
	case NameConnect, NameDisconnect, NameConnectError, NameReconnectAttempt:
		return true
	}
	return false
}

// Names returns every fixed event name of the protocol, reserved ones
// included, in the order of the spec's tables. The slice is freshly allocated
// on each call, so callers may modify it.
func Names() []Name {
	return []Name{
		NameAPIRequest, NameAPICancel, NameSync, NameSyncCancel,
		NameJoinRoom, NameLeaveRoom, NameGetJoinedRooms, NameUpdateLocation,
		NameIntentionalDisconnect, NameIntentionalReconnect, NameActivity,
		NameUpdateSession, NameSessionReplaced, NameLogout,
		NameUserAFK, NameUserBack, NameUserLeft,
		NameConnect, NameDisconnect, NameConnectError, NameReconnectAttempt,
	}
}
