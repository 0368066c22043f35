package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// SyncAck is the success payload of [Sync] (the acknowledgement the
// originator gets before fan-out):
//
//	{"status":"success","message":"sync <key> success","result":{...}}
//
// Errors on that channel are [ErrorEnvelope] values.
type SyncAck struct {
	// Status is [StatusSuccess].
	Status string `json:"status"`
	// Message is "sync <resolved key> success".
	Message string `json:"message"`
	// Result is the _server handler's output.
	Result json.RawMessage `json:"result"`
}

// NewSyncAck returns the acknowledgement for the sync route key (e.g.
// "sync/chat/send/v1") with the server handler's output. A nil result is
// sent as {} because the client turns non-object results into {} anyway.
func NewSyncAck(key string, result json.RawMessage) SyncAck {
	return SyncAck{
		Status:  StatusSuccess,
		Message: "sync " + key + " success",
		Result:  objectOrEmpty(result),
	}
}

// CancelIDFrame is the first frame on [SyncProgress]: the server-issued id
// the client must send in [SyncCancel] to abort the request.
type CancelIDFrame struct {
	// CancelID is the wire field "__cancelId", a UUID.
	CancelID string `json:"__cancelId"`
}

// SyncSuccessFrame is a fan-out success frame on [NameSync]
// (luckystack-wire.md §4.6). It marshals as
//
//	{"cb":...,"fullName":...,"serverOutput":...,"clientOutput":...,"message":...,"status":"success"}
//
// and fills the defaults the original sends, so a zero ClientOutput or
// Message is never put on the wire as null or "".
type SyncSuccessFrame struct {
	// CB is the callback key the client routes on. Prefer the resolved key
	// (same value as FullName without the "sync/" prefix): a client-supplied
	// cb lets senders trigger other routes' callbacks (§14.1 item 3).
	CB string `json:"cb"`
	// FullName is the resolved route key "sync/<svc>/<route>/v<N>".
	FullName string `json:"fullName"`
	// ServerOutput is the _server handler's output, or a hook override; nil
	// is sent as {}.
	ServerOutput json.RawMessage `json:"serverOutput"`
	// ClientOutput is the recipient's _client output; nil is sent as {}
	// (routes without a _client handler).
	ClientOutput json.RawMessage `json:"clientOutput"`
	// Message is the _client result's message; empty means
	// "<FullName> sync success".
	Message string `json:"message"`
}

// MarshalJSON writes the frame with its defaults and status "success".
func (f SyncSuccessFrame) MarshalJSON() ([]byte, error) {
	msg := f.Message
	if msg == "" {
		msg = f.FullName + " sync success"
	}
	type plain SyncSuccessFrame // drops this method, avoiding recursion
	return json.Marshal(struct {
		plain
		Status string `json:"status"`
	}{plain{f.CB, f.FullName, objectOrEmpty(f.ServerOutput), objectOrEmpty(f.ClientOutput), msg}, StatusSuccess})
}

// SyncErrorFrame is a per-recipient fan-out error frame on [NameSync]:
//
//	{"cb":...,"fullName":...,"status":"error","message":...,"errorCode":...,"errorParams":[...],"httpStatus":...}
//
// A sync message that is not an object at all is answered on [NameSync] with
// a bare [ErrorEnvelope] instead, since there is no route to name.
type SyncErrorFrame struct {
	// CB is the callback key; see [SyncSuccessFrame.CB].
	CB string `json:"cb"`
	// FullName is the resolved route key.
	FullName string `json:"fullName"`
	// ErrorEnvelope supplies the remaining fields; normalise it first.
	ErrorEnvelope
}

// SyncStreamFrame builds a fan-out stream frame on [NameSync]: the payload's
// own fields followed by cb, fullName and status "stream", which override
// payload fields of the same name exactly as the original's object spread
// does. A nil or JSON null payload yields just the three fields; any other
// non-object payload is an error wrapping [ErrNotObject].
//
// The result is a JSON object whose keys are sorted; key order carries no
// meaning for the client.
func SyncStreamFrame(cb, fullName string, payload json.RawMessage) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	if p := bytes.TrimSpace(payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if !IsObject(p) {
			return nil, fmt.Errorf("%w: stream payload %.40s", ErrNotObject, p)
		}
		if err := json.Unmarshal(p, &fields); err != nil {
			return nil, fmt.Errorf("events: stream payload: %w", err)
		}
	}
	for k, v := range map[string]string{"cb": cb, "fullName": fullName, "status": StatusStream} {
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		fields[k] = enc
	}
	return json.Marshal(fields)
}

// RoomsReply is the success payload of [JoinRoom], [LeaveRoom] and
// [GetJoinedRooms]: the socket's rooms minus its own id room and its
// identity room.
type RoomsReply struct {
	// Rooms lists room codes; nil is sent as [].
	Rooms []string `json:"rooms"`
}

// MarshalJSON writes {"rooms":[...]}, never {"rooms":null}: the client
// iterates the list without a null check.
func (r RoomsReply) MarshalJSON() ([]byte, error) {
	type plain RoomsReply // drops this method, avoiding recursion
	r.Rooms = nonNil(r.Rooms)
	return json.Marshal(plain(r))
}

// RoomsErrorReply is the error payload of [GetJoinedRooms]: an error
// envelope that also carries "rooms":[] so that clients reading the list
// unconditionally keep working. joinRoom and leaveRoom errors are plain
// [ErrorEnvelope] values.
type RoomsErrorReply struct {
	ErrorEnvelope
	// Rooms is sent as [] when nil.
	Rooms []string `json:"rooms"`
}

// MarshalJSON writes the envelope fields plus "rooms", never null.
func (r RoomsErrorReply) MarshalJSON() ([]byte, error) {
	type plain RoomsErrorReply // drops this method, avoiding recursion
	r.Rooms = nonNil(r.Rooms)
	return json.Marshal(plain(r))
}

// Logout values are the bare strings sent as the [NameLogout] payload.
type Logout string

const (
	// LogoutSuccess tells every tab of the session to clear its state and
	// go to the login page.
	LogoutSuccess Logout = "success"
	// LogoutError reports a failed logout.
	LogoutError Logout = "error"
)

// ReasonSessionReplaced is the only reason [SessionReplaced] carries.
const ReasonSessionReplaced = "session-replaced"

// SessionReplaced is the content of the [NameSessionReplaced] payload, sent
// to the old session's tabs when a login replaces it. On the wire it travels
// as a JSON string; encode it with [JSONString].
type SessionReplaced struct {
	// Reason is [ReasonSessionReplaced].
	Reason string `json:"reason"`
	// UserID is the user whose session was replaced.
	UserID string `json:"userId"`
}

// JSONString returns the JSON encoding of v as a Go string. updateSession and
// sessionReplaced carry JSON text inside a JSON string because the original
// client calls JSON.parse on the payload; emitting an object would break it.
func JSONString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("events: encode string payload: %w", err)
	}
	return string(b), nil
}

// UserAFK is the payload of [NameUserAFK]: a peer went away until EndTime.
type UserAFK struct {
	// UserID is the user who went away.
	UserID string `json:"userId"`
	// EndTime is a Unix time in milliseconds: the end of the tab-switch
	// grace window, or "now" for an idle AFK.
	EndTime int64 `json:"endTime"`
}

// NewUserAFK returns a UserAFK with end converted to Unix milliseconds, the
// unit the client compares against Date.now().
func NewUserAFK(userID string, end time.Time) UserAFK {
	return UserAFK{UserID: userID, EndTime: end.UnixMilli()}
}

// UserBack is the payload of [NameUserBack]: a peer reconnected within its
// grace window.
type UserBack struct {
	// UserID is the user who came back.
	UserID string `json:"userId"`
}

// UserLeft is the payload of [NameUserLeft]: a peer's grace window expired.
type UserLeft struct {
	// UserID is the user who left; nil is sent as null, which the original
	// emits when the session had no user id.
	UserID *string `json:"userId"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// objectOrEmpty stands in {} for a missing raw value so that the wire never
// carries null where the client expects an object.
func objectOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}
