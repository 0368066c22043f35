package redisadapter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestGolden encodes each golden request and decodes it back.
func TestRequestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  request
		want []byte
	}{
		{"serverSideEmit", request{UID: "Wm1daO", Type: requestServerSideEmit,
			Data: json.RawMessage(`["hello","world",1]`)}, []byte(goldenSSE)},
		{"serverSideEmit with ack", request{UID: "dgBOSp", RequestID: "PComhd", Type: requestServerSideEmit,
			Data: json.RawMessage(`["hello","with-ack"]`)}, []byte(goldenSSEWithAck)},
		{"fetchSockets", request{UID: "Wm1daO", RequestID: "sHHoWt", Type: requestRemoteFetch,
			Opts: &broadcastOptions{Rooms: []string{"r1"}, Except: []string{}}}, []byte(goldenFetch)},
		{"socketsJoin", request{UID: "Wm1daO", Type: requestRemoteJoin,
			Opts:  &broadcastOptions{Rooms: []string{"r1"}, Except: []string{}},
			Rooms: []string{"joined-remotely"}}, []byte(goldenJoin)},
		{"socketsLeave", request{UID: "dgBOSp", Type: requestRemoteLeave,
			Opts:  &broadcastOptions{Rooms: []string{"r1"}, Except: []string{}},
			Rooms: []string{"joined-remotely"}}, []byte(goldenLeave)},
		{"disconnectSockets", request{UID: "dgBOSp", Type: requestRemoteDisconnect,
			Opts:  &broadcastOptions{Rooms: []string{"nobody"}, Except: []string{}},
			Close: true}, []byte(goldenDisconnect)},
		{"allRooms", request{UID: "dgBOSp", RequestID: "-6D5Kl", Type: requestAllRooms}, []byte(goldenAllRooms)},
		{"broadcast with ack", request{UID: "Wm1daO", RequestID: "BVGza1", Type: requestBroadcast,
			Packet: packet{Type: packetEvent, Nsp: "/", Data: json.RawMessage(`["noack"]`)},
			Opts: &broadcastOptions{Rooms: []string{"r1"}, Except: []string{},
				Flags: broadcastFlags{Timeout: time.Second}}}, goldenBroadcastAckReq},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.req.marshal()
			require.NoError(t, err)
			assert.Equal(t, string(tc.want), string(got))

			back, err := decodeRequest(tc.want)
			require.NoError(t, err)
			assert.Equal(t, tc.req, back)
		})
	}
}

// TestBroadcastRequestBinary round-trips a broadcast-with-ack request whose
// packet carries binary, the reason Node sends this request as msgpack.
func TestBroadcastRequestBinary(t *testing.T) {
	t.Parallel()
	id := int64(3)
	q := request{UID: "u", RequestID: "r", Type: requestBroadcast,
		Packet: packet{Type: packetBinaryEvent, Nsp: "/", ID: &id,
			Data: json.RawMessage(`["b",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}}
	msg, err := q.marshal()
	require.NoError(t, err)
	assert.Equal(t, "\x85\xa3uid\xa1u\xa9requestId\xa1r\xa4type\x07"+
		"\xa6packet\x84\xa4type\x02\xa4data\x92\xa1b\xc4\x02\x01\x02\xa3nsp\xa1/\xa2id\x03"+
		"\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80", string(msg))

	back, err := decodeRequest(msg)
	require.NoError(t, err)
	assert.Equal(t, packetEvent, back.Packet.Type)
	assert.Equal(t, q.Packet.Data, back.Packet.Data)
	assert.Equal(t, q.Packet.Attachments, back.Packet.Attachments)
	assert.Equal(t, &broadcastOptions{Rooms: []string{}, Except: []string{}}, back.Opts)

	q.Packet.Data = json.RawMessage(`{"_placeholder":true,"num":1}`)
	_, err = q.marshal()
	assert.ErrorIs(t, err, errBadPlaceholder)
}

// TestRequestLegacyForms covers the single-socket requests Node 8.x still
// answers, and SOCKETS.
func TestRequestLegacyForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		req  request
		want string
	}{
		{request{UID: "u", RequestID: "r", Type: requestRemoteJoin, SID: "s1", Room: "room"},
			`{"uid":"u","requestId":"r","type":2,"sid":"s1","room":"room"}`},
		{request{UID: "u", RequestID: "r", Type: requestRemoteLeave, SID: "s1", Room: "room"},
			`{"uid":"u","requestId":"r","type":3,"sid":"s1","room":"room"}`},
		{request{UID: "u", RequestID: "r", Type: requestRemoteDisconnect, SID: "s1"},
			`{"uid":"u","requestId":"r","type":4,"sid":"s1","close":false}`},
		{request{UID: "u", RequestID: "r", Type: requestSockets, Rooms: []string{"a"}},
			`{"uid":"u","requestId":"r","type":0,"rooms":["a"]}`},
		{request{UID: "u", Type: requestServerSideEmit},
			`{"uid":"u","type":6,"data":[]}`},
		{request{UID: "<&>", Type: requestRemoteFetch},
			`{"uid":"<&>","type":5,"opts":{"rooms":[],"except":[]}}`},
	}
	for _, tc := range tests {
		got, err := tc.req.marshal()
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(got))
		back, err := decodeRequest(got)
		require.NoError(t, err)
		assert.Equal(t, tc.req.SID, back.SID)
		assert.Equal(t, tc.req.Room, back.Room)
		assert.Equal(t, tc.req.Type, back.Type)
	}
}

// TestRequestEncodeRejects refuses requests that would be misread.
func TestRequestEncodeRejects(t *testing.T) {
	t.Parallel()
	for _, q := range []request{
		{Type: requestRemoteDisconnect},                  // neither Opts nor SID: would hit every socket
		{Type: requestBroadcastClientCount},              // a response type
		{Type: requestType(42)},                          // unknown
		{Type: requestServerSideEmit, Data: []byte(`[`)}, // invalid JSON
	} {
		_, err := q.marshal()
		assert.Error(t, err, "%+v", q)
	}
}

// TestDecodeRequestJSONLenient accepts numeric rooms and null opts (legacy).
func TestDecodeRequestJSONLenient(t *testing.T) {
	t.Parallel()
	q, err := decodeRequest([]byte(`{"uid":"u","type":2,"opts":{"rooms":[1,"a",1.5],"except":null,` +
		`"flags":{"timeout":20}},"rooms":[2]}`))
	require.NoError(t, err)
	require.NotNil(t, q.Opts)
	assert.Equal(t, []string{"1", "a", "1.5"}, q.Opts.Rooms)
	assert.Nil(t, q.Opts.Except)
	assert.Equal(t, 20*time.Millisecond, q.Opts.Flags.Timeout)
	assert.Equal(t, []string{"2"}, q.Rooms)

	q, err = decodeRequest([]byte(`{"uid":"u","type":4,"opts":null,"sid":"x","close":true}`))
	require.NoError(t, err)
	assert.Nil(t, q.Opts, "null opts selects the legacy form, as in Node")
	assert.Equal(t, "x", q.SID)
	assert.True(t, q.Close)

	q, err = decodeRequest([]byte(`{"uid":"u","type":7,"requestId":"r","packet":{"type":2,"data":["x"]}}`))
	require.NoError(t, err)
	assert.Equal(t, "/", q.Packet.Nsp)
	assert.JSONEq(t, `["x"]`, string(q.Packet.Data))
}

// TestDecodeRequestMsgpackAnyType reads msgpack requests of other types, as
// a foreign publisher might send them.
func TestDecodeRequestMsgpackAnyType(t *testing.T) {
	t.Parallel()
	msg := []byte("\x88\xa3uid\xa1u\xa4type\x04\xa4opts\x82\xa5rooms\x91\xa1a\xa6except\xc0" +
		"\xa5close\xc3\xa3sid\xc0\xa4room\x07\xa4data\x91\x01\xa5extra\x80")
	q, err := decodeRequest(msg)
	require.NoError(t, err)
	assert.Equal(t, request{UID: "u", Type: requestRemoteDisconnect,
		Opts: &broadcastOptions{Rooms: []string{"a"}}, Room: "7", Close: true,
		Data: json.RawMessage(`[1]`)}, q)
}

// TestDecodeRequestRejects checks malformed requests.
func TestDecodeRequestRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", errTruncated},
		{"bad JSON", `{"uid":`, errMalformed},
		{"no type", `{"uid":"u"}`, errMalformed},
		{"type as string", `{"type":"6"}`, errMalformed},
		{"response type", `{"type":8}`, errMalformed},
		{"negative type", `{"type":-1}`, errMalformed},
		{"bad room", `{"type":0,"rooms":[true]}`, errMalformed},
		{"msgpack no type", "\x81\xa3uid\xa1u", errMalformed},
		{"msgpack not a map", "\x91\x07", errInvalidMsgpack},
		{"msgpack binary data", "\x82\xa4type\x06\xa4data\x91\xc4\x00", errMalformed},
		{"msgpack trailing", "\x81\xa4type\x01\xc0", errTrailingBytes},
		{"msgpack huge type", "\x81\xa4type\xcf\x00\x00\x00\x01\x00\x00\x00\x00", errMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeRequest([]byte(tc.in))
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestResponseGolden encodes each golden response and decodes it back.
func TestResponseGolden(t *testing.T) {
	t.Parallel()
	fetch, err := encodeFetchResponse("sHHoWt", []fetchedSocket{{
		ID: "io3A…",
		Handshake: handshake{Time: "…", Address: "::ffff:127.0.0.1", Secure: true,
			Issued: 1795640096418},
		Rooms: []string{"io3A…", "r1"},
	}})
	require.NoError(t, err)
	assert.Equal(t, goldenFetchResp, string(fetch))

	assert.Equal(t, goldenClientCount, string(encodeClientCountResponse("BVGza1", 1)))
	assert.Equal(t, goldenAllRoomsRes, string(encodeAllRoomsResponse("-6D5Kl", nil)))

	ack, err := encodeBroadcastAckResponse("BVGza1", json.RawMessage(`"client-ack"`), nil)
	require.NoError(t, err)
	assert.Equal(t, goldenAckResp, ack)

	p, err := decodeResponse(goldenAckResp)
	require.NoError(t, err)
	assert.Equal(t, response{Type: requestBroadcastAck, RequestID: "BVGza1", Packet: json.RawMessage(`"client-ack"`)}, p)

	p, err = decodeResponse([]byte(goldenClientCount))
	require.NoError(t, err)
	assert.Equal(t, response{Type: requestBroadcastClientCount, RequestID: "BVGza1", ClientCount: 1}, p)

	p, err = decodeResponse([]byte(goldenAllRoomsRes))
	require.NoError(t, err)
	assert.Equal(t, response{Type: responseUntyped, RequestID: "-6D5Kl", Rooms: []string{}}, p)

	p, err = decodeResponse([]byte(goldenFetchResp))
	require.NoError(t, err)
	assert.Equal(t, responseUntyped, p.Type)
	sockets, err := p.fetchedSockets()
	require.NoError(t, err)
	require.Len(t, sockets, 1)
	assert.Equal(t, "io3A…", sockets[0].ID)
	assert.Equal(t, []string{"io3A…", "r1"}, sockets[0].Rooms)
	assert.Equal(t, int64(1795640096418), sockets[0].Handshake.Issued)
	assert.JSONEq(t, `{}`, string(sockets[0].Handshake.Headers))
	again, err := encodeFetchResponse("sHHoWt", sockets)
	require.NoError(t, err)
	assert.Equal(t, goldenFetchResp, string(again), "decode then encode is the identity")
}

// TestResponsesOtherShapes covers the remaining encoders and the raw fields.
func TestResponsesOtherShapes(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `{"requestId":"r","sockets":["a","b"]}`, string(encodeSocketsResponse("r", []string{"a", "b"})))
	assert.Equal(t, `{"requestId":"r"}`, string(encodeRemoteResponse("r")))

	sse, err := encodeServerSideEmitResponse("r", json.RawMessage(`{ "ok" : true }`))
	require.NoError(t, err)
	assert.Equal(t, `{"type":6,"requestId":"r","data":{"ok":true}}`, string(sse))
	sse, err = encodeServerSideEmitResponse("r", nil)
	require.NoError(t, err)
	assert.Equal(t, `{"type":6,"requestId":"r"}`, string(sse))
	_, err = encodeServerSideEmitResponse("r", json.RawMessage(`{`))
	assert.ErrorIs(t, err, errInvalidJSON)

	withURL, err := encodeFetchResponse("r", []fetchedSocket{{ID: "s",
		Handshake: handshake{Headers: json.RawMessage(`{"host":"x"}`), URL: "/socket.io/?EIO=4",
			Query: json.RawMessage(`{"EIO":"4"}`), Auth: json.RawMessage(`{"token":1}`)},
		Data: json.RawMessage(`{"user":1}`)}})
	require.NoError(t, err)
	assert.Equal(t, `{"requestId":"r","sockets":[{"id":"s","handshake":{"headers":{"host":"x"},"time":"",`+
		`"address":"","xdomain":false,"secure":false,"issued":0,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},`+
		`"auth":{"token":1}},"rooms":[],"data":{"user":1}}]}`, string(withURL))

	p, err := decodeResponse([]byte(`{"requestId":"r","sockets":["a"]}`))
	require.NoError(t, err)
	ids, err := p.socketIDs()
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, ids)

	p, err = decodeResponse([]byte(`{"type":6,"requestId":"r","data":null}`))
	require.NoError(t, err)
	assert.Equal(t, json.RawMessage(`null`), p.Data, "null is an ack value; only an absent data is nil")
}

// TestBroadcastAckResponseBinary carries a Buffer ack back as bin.
func TestBroadcastAckResponseBinary(t *testing.T) {
	t.Parallel()
	msg, err := encodeBroadcastAckResponse("r", json.RawMessage(`{"_placeholder":true,"num":0}`), [][]byte{{7, 7}})
	require.NoError(t, err)
	assert.Equal(t, []byte("\x83\xa4type\x09\xa9requestId\xa1r\xa6packet\xc4\x02\x07\x07"), msg)
	p, err := decodeResponse(msg)
	require.NoError(t, err)
	assert.Equal(t, `{"_placeholder":true,"num":0}`, string(p.Packet))
	assert.Equal(t, [][]byte{{7, 7}}, p.Attachments)

	msg, err = encodeBroadcastAckResponse("r", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x82\xa4type\x09\xa9requestId\xa1r"), msg)
	p, err = decodeResponse(msg)
	require.NoError(t, err)
	assert.Nil(t, p.Packet)

	p, err = decodeResponse([]byte("\x83\xa4type\x09\xa9requestId\xa1r\xa6packet\xc0"))
	require.NoError(t, err)
	assert.Equal(t, json.RawMessage(`null`), p.Packet)
}

// TestDecodeResponseRejects checks malformed responses.
func TestDecodeResponseRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", `{`, `{"clientCount":1.5}`, `{"clientCount":-1}`, `{"rooms":{}}`,
		"\x81\xa4type\xff", "\x81\xa4data\xc4\x00", "\x81\xa7sockets\x91\xc4\x00", "\x80\xc0",
		"\x81\xabclientCount\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00",
	} {
		_, err := decodeResponse([]byte(in))
		assert.Error(t, err, "%q", in)
	}
	p := response{Sockets: json.RawMessage(`[1]`)}
	_, err := p.socketIDs()
	assert.ErrorIs(t, err, errMalformed)
	_, err = p.fetchedSockets()
	assert.ErrorIs(t, err, errMalformed)
}

// TestRequestTypeString names the enum like Node.
func TestRequestTypeString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "REMOTE_FETCH", requestRemoteFetch.String())
	assert.Equal(t, "BROADCAST_ACK", requestBroadcastAck.String())
	assert.Equal(t, "UNTYPED", responseUntyped.String())
	assert.Equal(t, "RequestType(12)", requestType(12).String())
}
