package events_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/events"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestRequestPayloadsDecodeWireShapes(t *testing.T) {
	t.Parallel()

	var api events.APIRequest
	require.NoError(t, json.Unmarshal([]byte(`{"name":"api/chat/send/v1","data":{"text":"hi"},"responseIndex":3}`), &api))
	assert.Equal(t, "api/chat/send/v1", api.Name)
	assert.JSONEq(t, `{"text":"hi"}`, string(api.Data))
	assert.Equal(t, events.Index(3), api.ResponseIndex)

	var sync events.SyncRequest
	require.NoError(t, json.Unmarshal([]byte(`{"name":"sync/chat/msg/v1","data":{},"cb":"chat/msg/v1","receiver":"room-1","responseIndex":0,"ignoreSelf":true}`), &sync))
	assert.Equal(t, events.SyncRequest{
		Name: "sync/chat/msg/v1", Data: json.RawMessage(`{}`), Callback: "chat/msg/v1",
		Receiver: "room-1", ResponseIndex: events.Index(0), IgnoreSelf: true,
	}, sync)

	var cancel events.SyncCancel
	require.NoError(t, json.Unmarshal([]byte(`{"cb":"6f1c-uuid"}`), &cancel))
	assert.Equal(t, "6f1c-uuid", cancel.Callback)

	var join events.JoinRoomRequest
	require.NoError(t, json.Unmarshal([]byte(`{"group":"game-1","responseIndex":4}`), &join))
	assert.Equal(t, events.JoinRoomRequest{Group: "game-1", ResponseIndex: events.Index(4)}, join)

	var leave events.LeaveRoomRequest
	require.NoError(t, json.Unmarshal([]byte(`{"group":"game-1","responseIndex":5}`), &leave))
	assert.Equal(t, events.LeaveRoomRequest{Group: "game-1", ResponseIndex: events.Index(5)}, leave)

	var rooms events.GetJoinedRoomsRequest
	require.NoError(t, json.Unmarshal([]byte(`{"responseIndex":6}`), &rooms))
	assert.Equal(t, events.Index(6), rooms.ResponseIndex)
}

func TestMissingIndexIsNotZero(t *testing.T) {
	t.Parallel()
	// The original drops API requests and room ops without an index, and
	// runs sync fire-and-forget; index 0 is a valid index, so absence must
	// stay visible.
	var api events.APIRequest
	require.NoError(t, json.Unmarshal([]byte(`{"name":"api/a/b/v1","data":{}}`), &api))
	assert.False(t, api.ResponseIndex.Valid)

	var join events.JoinRoomRequest
	require.NoError(t, json.Unmarshal([]byte(`{"group":"g","responseIndex":null}`), &join))
	assert.False(t, join.ResponseIndex.Valid)
}

func TestPartialDecodeKeepsIndex(t *testing.T) {
	t.Parallel()
	// A wrong-typed name must still let the server answer
	// api.invalidRequest on the right channel (§3.3 step 4).
	var api events.APIRequest
	err := json.Unmarshal([]byte(`{"name":5,"data":{},"responseIndex":"3"}`), &api)
	var typeErr *json.UnmarshalTypeError
	require.ErrorAs(t, err, &typeErr)
	assert.Equal(t, events.Index(3), api.ResponseIndex)

	// A malformed index is never left looking like index 0, even though
	// encoding/json keeps decoding the other fields.
	api = events.APIRequest{}
	err = json.Unmarshal([]byte(`{"name":"api/a/b/v1","data":{},"responseIndex":1.5}`), &api)
	require.ErrorIs(t, err, events.ErrInvalidResponseIndex)
	assert.False(t, api.ResponseIndex.Valid)
}

func TestRequestPayloadsEncode(t *testing.T) {
	t.Parallel()
	assert.JSONEq(t, `{"name":"api/a/b/v1","data":{"x":1},"responseIndex":0}`,
		marshal(t, events.APIRequest{Name: "api/a/b/v1", Data: json.RawMessage(`{"x":1}`), ResponseIndex: events.Index(0)}))
	assert.JSONEq(t, `{"responseIndex":9}`, marshal(t, events.APICancel{ResponseIndex: events.Index(9)}))
	// Absent optional fields stay off the wire, as Node drops undefined.
	assert.JSONEq(t, `{"name":"sync/a/b/v1","data":{},"cb":"a/b/v1","receiver":"r"}`,
		marshal(t, events.SyncRequest{Name: "sync/a/b/v1", Data: json.RawMessage(`{}`), Callback: "a/b/v1", Receiver: "r"}))
	assert.JSONEq(t, `{"pathName":"/games"}`, marshal(t, events.UpdateLocation{PathName: "/games"}))
}

func TestUpdateLocationKeepsOnlyDocumentedFields(t *testing.T) {
	t.Parallel()
	var loc events.UpdateLocation
	require.NoError(t, json.Unmarshal([]byte(`{"pathName":"/a","searchParams":{"q":"1"},"junk":"xxxxxxxx"}`), &loc))
	assert.JSONEq(t, `{"pathName":"/a","searchParams":{"q":"1"}}`, marshal(t, loc))
}

func TestIsObject(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{}`: true, ` {"a":1} `: true, "\n{\"a\":[1]}": true,
		`[]`: false, `null`: false, `"x"`: false, `1`: false, ``: false,
		`{`: false, `{"a":}`: false, `{} {}`: false,
	} {
		assert.Equal(t, want, events.IsObject(json.RawMessage(in)), "%q", in)
	}
}

func TestSyncAck(t *testing.T) {
	t.Parallel()
	assert.JSONEq(t, `{"status":"success","message":"sync sync/chat/msg/v1 success","result":{"id":7}}`,
		marshal(t, events.NewSyncAck("sync/chat/msg/v1", json.RawMessage(`{"id":7}`))))
	assert.JSONEq(t, `{"status":"success","message":"sync sync/a/b/v1 success","result":{}}`,
		marshal(t, events.NewSyncAck("sync/a/b/v1", nil)))
}

func TestCancelIDFrame(t *testing.T) {
	t.Parallel()
	assert.JSONEq(t, `{"__cancelId":"abc"}`, marshal(t, events.CancelIDFrame{CancelID: "abc"}))
}

func TestSyncSuccessFrame(t *testing.T) {
	t.Parallel()
	full := events.SyncSuccessFrame{
		CB: "chat/msg/v1", FullName: "sync/chat/msg/v1",
		ServerOutput: json.RawMessage(`{"s":1}`), ClientOutput: json.RawMessage(`{"c":2}`),
		Message: "delivered",
	}
	assert.JSONEq(t, `{"cb":"chat/msg/v1","fullName":"sync/chat/msg/v1","serverOutput":{"s":1},"clientOutput":{"c":2},"message":"delivered","status":"success"}`,
		marshal(t, full))

	// Without a _client handler the original sends clientOutput {} and the
	// default message.
	bare := events.SyncSuccessFrame{CB: "a/b/v1", FullName: "sync/a/b/v1", ServerOutput: json.RawMessage(`{"s":1}`)}
	assert.JSONEq(t, `{"cb":"a/b/v1","fullName":"sync/a/b/v1","serverOutput":{"s":1},"clientOutput":{},"message":"sync/a/b/v1 sync success","status":"success"}`,
		marshal(t, bare))

	var back events.SyncSuccessFrame
	require.NoError(t, json.Unmarshal([]byte(marshal(t, full)), &back))
	assert.Equal(t, full, back)
}

func TestSyncErrorFrame(t *testing.T) {
	t.Parallel()
	f := events.SyncErrorFrame{CB: "a/b/v1", FullName: "sync/a/b/v1", ErrorEnvelope: events.NewError(events.CodeSyncClientRejected)}
	assert.JSONEq(t, `{"cb":"a/b/v1","fullName":"sync/a/b/v1","status":"error","message":"sync.clientRejected","errorCode":"sync.clientRejected","httpStatus":400}`,
		marshal(t, f))
}

func TestSyncStreamFrame(t *testing.T) {
	t.Parallel()
	got, err := events.SyncStreamFrame("a/b/v1", "sync/a/b/v1", json.RawMessage(`{"chunk":"hel","status":"spoof","cb":"other/route/v1"}`))
	require.NoError(t, err)
	// The frame fields override same-named payload fields, as JS spread
	// {...payload, cb, fullName, status} does.
	assert.JSONEq(t, `{"chunk":"hel","cb":"a/b/v1","fullName":"sync/a/b/v1","status":"stream"}`, string(got))

	for _, empty := range []json.RawMessage{nil, json.RawMessage(`null`), json.RawMessage(` `)} {
		got, err = events.SyncStreamFrame("a/b/v1", "sync/a/b/v1", empty)
		require.NoError(t, err)
		assert.JSONEq(t, `{"cb":"a/b/v1","fullName":"sync/a/b/v1","status":"stream"}`, string(got))
	}

	for _, bad := range []string{`[1,2]`, `"text"`, `5`, `{"a":`} {
		_, err = events.SyncStreamFrame("a/b/v1", "sync/a/b/v1", json.RawMessage(bad))
		assert.ErrorIs(t, err, events.ErrNotObject, bad)
	}
}

func TestRoomsReplies(t *testing.T) {
	t.Parallel()
	assert.JSONEq(t, `{"rooms":["a","b"]}`, marshal(t, events.RoomsReply{Rooms: []string{"a", "b"}}))
	// The client iterates rooms without a null check.
	assert.JSONEq(t, `{"rooms":[]}`, marshal(t, events.RoomsReply{}))

	var back events.RoomsReply
	require.NoError(t, json.Unmarshal([]byte(`{"rooms":["x"]}`), &back))
	assert.Equal(t, []string{"x"}, back.Rooms)

	assert.JSONEq(t, `{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":401,"rooms":[]}`,
		marshal(t, events.RoomsErrorReply{ErrorEnvelope: events.NewError(events.CodeAuthRequired)}))
}

func TestSessionPayloadsAreJSONStrings(t *testing.T) {
	t.Parallel()
	s, err := events.JSONString(events.SessionReplaced{Reason: events.ReasonSessionReplaced, UserID: "u1"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"reason":"session-replaced","userId":"u1"}`, s)

	// Emitted as a Socket.IO argument the payload is a JSON string whose
	// content is JSON, which is what the client JSON.parses.
	wire := marshal(t, s)
	assert.Equal(t, `"{\"reason\":\"session-replaced\",\"userId\":\"u1\"}"`, wire)

	_, err = events.JSONString(func() {})
	assert.Error(t, err)
}

func TestLogoutValues(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"success"`, marshal(t, events.LogoutSuccess))
	assert.Equal(t, `"error"`, marshal(t, events.LogoutError))
}

func TestPresencePayloads(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	afk := events.NewUserAFK("u1", end)
	assert.JSONEq(t, `{"userId":"u1","endTime":1767323045600}`, marshal(t, afk))

	assert.JSONEq(t, `{"userId":"u2"}`, marshal(t, events.UserBack{UserID: "u2"}))
	// userLeft keeps an explicit null rather than dropping the key.
	assert.JSONEq(t, `{"userId":null}`, marshal(t, events.UserLeft{}))
	u3 := "u3"
	assert.JSONEq(t, `{"userId":"u3"}`, marshal(t, events.UserLeft{UserID: &u3}))
}
