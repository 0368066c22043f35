package redisadapter

// This file encodes and decodes the messages of the request and response
// channels. Node writes them with JSON.stringify on object literals, except
// the broadcast-with-ack request and the BROADCAST_ACK response, which go
// through notepack because they may carry Buffers. The JSON is written by hand
// so that key order matches Node's literals byte for byte (encoding/json would
// also escape '<', '>' and '&', which JSON.stringify does not). Decoding is
// order-independent and uses encoding/json.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// requestType is the RequestType enum of socket.io-redis-adapter. The values
// are fixed by the wire, so zero is a real type (SOCKETS), not "unset".
type requestType int

const (
	requestSockets              requestType = 0 // legacy allSockets; Node 8.x only answers it
	requestAllRooms             requestType = 1
	requestRemoteJoin           requestType = 2
	requestRemoteLeave          requestType = 3
	requestRemoteDisconnect     requestType = 4
	requestRemoteFetch          requestType = 5
	requestServerSideEmit       requestType = 6
	requestBroadcast            requestType = 7 // broadcast with acks; msgpack
	requestBroadcastClientCount requestType = 8 // response only
	requestBroadcastAck         requestType = 9 // response only; msgpack

	// responseUntyped marks a decoded response without a "type" key: replies
	// to SOCKETS, ALL_ROOMS, REMOTE_FETCH and the legacy single-socket
	// join/leave/disconnect. Their meaning comes from the pending request.
	responseUntyped requestType = -1
)

// String returns the Node enum name, for logs.
func (t requestType) String() string {
	names := [...]string{"SOCKETS", "ALL_ROOMS", "REMOTE_JOIN", "REMOTE_LEAVE", "REMOTE_DISCONNECT",
		"REMOTE_FETCH", "SERVER_SIDE_EMIT", "BROADCAST", "BROADCAST_CLIENT_COUNT", "BROADCAST_ACK"}
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	if t == responseUntyped {
		return "UNTYPED"
	}
	return "RequestType(" + strconv.Itoa(int(t)) + ")"
}

// request is a message of the request channel. Which fields travel depends on
// Type, following the Node call sites:
//
//	SOCKETS            uid, requestId, type, rooms
//	ALL_ROOMS          uid, requestId, type
//	REMOTE_JOIN/LEAVE  uid, type, opts, rooms     (socketsJoin/socketsLeave)
//	                   uid, requestId, type, sid, room (legacy remoteJoin/remoteLeave)
//	REMOTE_DISCONNECT  uid, type, opts, close     (disconnectSockets)
//	                   uid, requestId, type, sid, close (legacy remoteDisconnect)
//	REMOTE_FETCH       uid, requestId, type, opts
//	SERVER_SIDE_EMIT   uid, [requestId,] type, data (requestId present = ack wanted)
//	BROADCAST          uid, requestId, type, packet, opts with flags (msgpack)
type request struct {
	UID string
	// RequestID is omitted from the wire when empty.
	RequestID string
	Type      requestType
	// Packet is the packet of a BROADCAST request.
	Packet packet
	// Opts selects the target sockets. For REMOTE_JOIN, REMOTE_LEAVE and
	// REMOTE_DISCONNECT a nil Opts selects the legacy single-socket form (SID);
	// a decoded nil Opts means the message had none, which Node does not treat
	// as "all sockets".
	Opts *broadcastOptions
	// Rooms lists the rooms to inspect (SOCKETS) or to join or leave.
	Rooms []string
	// SID and Room are the legacy single-socket target and room.
	SID  string
	Room string
	// Close is the disconnectSockets(close) argument.
	Close bool
	// Data is the JSON array [event, args...] of SERVER_SIDE_EMIT; nil is
	// written as []. It cannot carry attachments: Node sends these requests as
	// JSON, where a Buffer becomes {"type":"Buffer","data":[...]}.
	Data json.RawMessage
}

// marshal encodes the request as Node publishes it: msgpack for BROADCAST,
// JSON otherwise.
func (q *request) marshal() ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch q.Type {
	case requestBroadcast:
		b, err = q.appendMsgpack(nil)
	case requestSockets, requestAllRooms, requestRemoteJoin, requestRemoteLeave,
		requestRemoteDisconnect, requestRemoteFetch, requestServerSideEmit:
		b, err = q.appendJSON(nil)
	default:
		return nil, fmt.Errorf("%w: cannot send request type %v", errMalformed, q.Type)
	}
	if err == nil && len(b) > maxMessageSize {
		err = errTooLarge
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// appendJSON writes the JSON form; see the field table on request.
func (q *request) appendJSON(b []byte) ([]byte, error) {
	b = appendJSONString(append(b, `{"uid":`...), q.UID)
	if q.RequestID != "" {
		b = appendJSONString(append(b, `,"requestId":`...), q.RequestID)
	}
	b = strconv.AppendInt(append(b, `,"type":`...), int64(q.Type), 10)
	switch q.Type {
	case requestSockets:
		b = appendJSONStrings(append(b, `,"rooms":`...), q.Rooms)
	case requestRemoteJoin, requestRemoteLeave, requestRemoteDisconnect:
		switch {
		case q.Opts != nil:
			b = appendOptionsJSON(append(b, `,"opts":`...), q.Opts)
			if q.Type != requestRemoteDisconnect {
				b = appendJSONStrings(append(b, `,"rooms":`...), q.Rooms)
			}
		case q.SID != "":
			b = appendJSONString(append(b, `,"sid":`...), q.SID)
			if q.Type != requestRemoteDisconnect {
				b = appendJSONString(append(b, `,"room":`...), q.Room)
			}
		default:
			// Refuse rather than send opts {rooms:[]}, which would mean every socket.
			return b, fmt.Errorf("%w: %v request needs Opts or SID", errMalformed, q.Type)
		}
		if q.Type == requestRemoteDisconnect {
			b = strconv.AppendBool(append(b, `,"close":`...), q.Close)
		}
	case requestRemoteFetch:
		b = appendOptionsJSON(append(b, `,"opts":`...), q.Opts)
	case requestServerSideEmit:
		var err error
		if b, err = appendRawJSON(append(b, `,"data":`...), q.Data, "[]"); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendMsgpack writes the BROADCAST form {uid, requestId, type, packet, opts}
// of RedisAdapter.broadcastWithAck.
func (q *request) appendMsgpack(b []byte) ([]byte, error) {
	n := 5
	if q.RequestID == "" {
		n--
	}
	b = appendStr(appendStr(appendMapHeader(b, n), "uid"), q.UID)
	if q.RequestID != "" {
		b = appendStr(appendStr(b, "requestId"), q.RequestID)
	}
	b = appendInt(appendStr(b, "type"), int64(q.Type))
	b, err := appendPacketMsgpack(appendStr(b, "packet"), &q.Packet)
	if err != nil {
		return b, err
	}
	opts := q.Opts
	if opts == nil {
		opts = &broadcastOptions{}
	}
	return appendOptionsMsgpack(appendStr(b, "opts"), opts), nil
}

// appendOptionsJSON writes {"rooms":[...],"except":[...]}; requests other than
// BROADCAST never carry flags. A nil o is written with empty lists.
func appendOptionsJSON(b []byte, o *broadcastOptions) []byte {
	if o == nil {
		o = &broadcastOptions{}
	}
	b = appendJSONStrings(append(b, `{"rooms":`...), o.Rooms)
	b = appendJSONStrings(append(b, `,"except":`...), o.Except)
	return append(b, '}')
}

// appendJSONStrings writes ss as a JSON array (nil as []).
func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendRawJSON writes raw compacted (which also validates it), or def when
// raw is nil.
func appendRawJSON(b []byte, raw json.RawMessage, def string) ([]byte, error) {
	if raw == nil {
		return append(b, def...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, fmt.Errorf("%w: %v", errInvalidJSON, err)
	}
	return buf.Bytes(), nil
}

// decodeRequest decodes a request channel message, sniffing the format the
// way Node does: a leading '{' means JSON, anything else msgpack. Types other
// than 0..7 are rejected (Node ignores them).
func decodeRequest(msg []byte) (request, error) {
	var (
		q   request
		err error
	)
	if len(msg) > 0 && msg[0] == '{' {
		q, err = decodeRequestJSON(msg)
	} else {
		q, err = decodeRequestMsgpack(msg)
	}
	if err == nil && (q.Type < requestSockets || q.Type > requestBroadcast) {
		err = fmt.Errorf("%w: request type %v", errMalformed, q.Type)
	}
	return q, err
}

// roomList decodes a JSON array of rooms given as strings or numbers.
type roomList []string

// UnmarshalJSON accepts string and number rooms; see readRooms.
func (l *roomList) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	if raws == nil {
		*l = nil
		return nil
	}
	rooms := make([]string, len(raws))
	for i, raw := range raws {
		var room roomName
		if err := room.UnmarshalJSON(raw); err != nil {
			return err
		}
		rooms[i] = string(room)
	}
	*l = rooms
	return nil
}

// roomName decodes one JSON room given as a string or a number.
type roomName string

// UnmarshalJSON accepts a string, or a number kept in its String() form.
func (n *roomName) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, (*string)(n))
	}
	f, err := strconv.ParseFloat(string(data), 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("%w: room %s", errMalformed, data)
	}
	*n = roomName(appendJSFloat(nil, f))
	return nil
}

// optionsJSON is the JSON shape of opts, with the flags only foreign
// publishers add to JSON requests.
type optionsJSON struct {
	Rooms  roomList `json:"rooms"`
	Except roomList `json:"except"`
	Flags  *struct {
		Volatile bool     `json:"volatile"`
		Compress *bool    `json:"compress"`
		Local    bool     `json:"local"`
		Timeout  *float64 `json:"timeout"`
	} `json:"flags"`
}

// options converts the JSON shape.
func (o *optionsJSON) options() (*broadcastOptions, error) {
	if o == nil {
		return nil, nil
	}
	opts := &broadcastOptions{Rooms: o.Rooms, Except: o.Except}
	if f := o.Flags; f != nil {
		opts.Flags = broadcastFlags{Volatile: f.Volatile, Compress: f.Compress, Local: f.Local}
		if f.Timeout != nil {
			var err error
			if opts.Flags.Timeout, err = msDuration(*f.Timeout); err != nil {
				return nil, err
			}
		}
	}
	return opts, nil
}

// decodeRequestJSON decodes the JSON form. A JSON BROADCAST request is
// accepted too (Node would act on one), but its packet cannot carry binary.
func decodeRequestJSON(msg []byte) (request, error) {
	var w struct {
		UID       string       `json:"uid"`
		RequestID string       `json:"requestId"`
		Type      *requestType `json:"type"`
		Packet    *struct {
			Type *int            `json:"type"`
			Nsp  *string         `json:"nsp"`
			ID   *int64          `json:"id"`
			Data json.RawMessage `json:"data"`
		} `json:"packet"`
		Opts  *optionsJSON    `json:"opts"`
		Rooms roomList        `json:"rooms"`
		SID   string          `json:"sid"`
		Room  roomName        `json:"room"`
		Close bool            `json:"close"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(msg, &w); err != nil {
		return request{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if w.Type == nil {
		return request{}, fmt.Errorf("%w: request without type", errMalformed)
	}
	q := request{UID: w.UID, RequestID: w.RequestID, Type: *w.Type, Rooms: w.Rooms,
		SID: w.SID, Room: string(w.Room), Close: w.Close, Data: w.Data}
	var err error
	if q.Opts, err = w.Opts.options(); err != nil {
		return q, err
	}
	if p := w.Packet; p != nil {
		q.Packet = packet{Type: packetEvent, Nsp: "/", ID: p.ID, Data: p.Data}
		if p.Type != nil {
			if *p.Type < 0 || *p.Type > math.MaxUint8 {
				return q, fmt.Errorf("%w: packet type %d", errMalformed, *p.Type)
			}
			q.Packet.Type = byte(*p.Type)
		}
		if p.Nsp != nil {
			q.Packet.Nsp = *p.Nsp
		}
	}
	return q, nil
}

// decodeRequestMsgpack decodes the msgpack form (BROADCAST from Node; any
// type from other publishers).
func decodeRequestMsgpack(msg []byte) (request, error) {
	var q request
	r := &mpReader{buf: msg}
	h, err := r.expect(mpMap)
	if err != nil {
		return q, err
	}
	hasType := false
	for range h.n {
		key, err := r.readString()
		if err != nil {
			return q, err
		}
		if r.nextIsNil() {
			continue
		}
		switch key {
		case "uid":
			q.UID, err = r.readString()
		case "requestId":
			q.RequestID, err = r.readString()
		case "type":
			var v int64
			v, err = r.readInt()
			q.Type, hasType = requestType(v), true
			if v < math.MinInt32 || v > math.MaxInt32 {
				err = fmt.Errorf("%w: request type %d", errMalformed, v)
			}
		case "packet":
			q.Packet, err = readPacket(r, 1)
		case "opts":
			var o broadcastOptions
			o, err = readOptions(r, 1)
			q.Opts = &o
		case "rooms":
			q.Rooms, err = readRooms(r)
		case "sid":
			q.SID, err = r.readString()
		case "room":
			q.Room, err = readRoom(r)
		case "close":
			q.Close, err = readBool(r)
		case "data":
			q.Data, err = readPlainJSON(r, 1)
		default:
			err = r.skip(1)
		}
		if err != nil {
			return q, fmt.Errorf("request %s: %w", key, err)
		}
	}
	if !hasType {
		return q, fmt.Errorf("%w: request without type", errMalformed)
	}
	return q, r.end()
}

// readPlainJSON transcodes a msgpack value that must not contain binary
// (request data, fetched sockets), because those fields have nowhere to keep
// attachments. notepack's legacy undefined reads as nil.
func readPlainJSON(r *mpReader, depth int) (json.RawMessage, error) {
	var atts [][]byte
	data, undefined, err := appendMsgpackAsJSON(nil, r, &atts, depth)
	switch {
	case err != nil:
		return nil, err
	case len(atts) > 0:
		return nil, fmt.Errorf("%w: binary value where only JSON is expected", errMalformed)
	case undefined:
		return nil, nil
	}
	return data, nil
}
