package redisadapter

// This file encodes and decodes the messages of the response channels. Each
// encoder matches one JSON.stringify / notepack call site in Node's
// socket.io-redis-adapter 8.x, key order included; note that only the three
// ack-related responses carry a "type".

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// response is a decoded response channel message. Which fields are set depends
// on the request it answers, found through RequestID.
type response struct {
	// Type is SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT or BROADCAST_ACK, or
	// responseUntyped when the message has no type.
	Type      requestType
	RequestID string
	// Sockets answers SOCKETS (socket ids) and REMOTE_FETCH (sockets); see
	// socketIDs and fetchedSockets.
	Sockets json.RawMessage
	// Rooms answers ALL_ROOMS.
	Rooms []string
	// Data is the argument a SERVER_SIDE_EMIT handler acknowledged with; nil
	// when it was undefined.
	Data json.RawMessage
	// ClientCount is the number of clients a BROADCAST reached on one node.
	ClientCount int64
	// Packet is the first argument a client acknowledged a BROADCAST with (nil
	// when undefined), binary values as placeholders into Attachments.
	Packet      json.RawMessage
	Attachments [][]byte
}

// fetchedSocket is one entry of a REMOTE_FETCH response, the fields of Node's
// RemoteSocket.
type fetchedSocket struct {
	ID        string
	Handshake handshake
	Rooms     []string
	// Data is socket.data; nil is written as {}, Node's default.
	Data json.RawMessage
}

// handshake is Node's socket.handshake minus sessionStore, which Node strips
// because it may be circular.
type handshake struct {
	// Headers maps lower-case header names to a string (or, for set-cookie, an
	// array of strings) as Node's IncomingHttpHeaders; nil is written as {}.
	Headers json.RawMessage `json:"headers"`
	// Time is String(new Date()) in Node, e.g.
	// "Tue Nov 25 2025 10:00:00 GMT+0000 (Coordinated Universal Time)".
	Time    string `json:"time"`
	Address string `json:"address"`
	XDomain bool   `json:"xdomain"`
	Secure  bool   `json:"secure"`
	// Issued is the connection time in Unix milliseconds.
	Issued int64 `json:"issued"`
	// URL is the request URL; omitted when empty, as JSON.stringify omits an
	// undefined url (sockets without an HTTP request, as in the golden sample).
	URL string `json:"url"`
	// Query and Auth are the parsed query and the CONNECT auth payload; nil is
	// written as {}.
	Query json.RawMessage `json:"query"`
	Auth  json.RawMessage `json:"auth"`
}

// encodeSocketsResponse answers a SOCKETS request: {requestId, sockets:[ids]}.
func encodeSocketsResponse(requestID string, ids []string) []byte {
	b := appendJSONString([]byte(`{"requestId":`), requestID)
	b = appendJSONStrings(append(b, `,"sockets":`...), ids)
	return append(b, '}')
}

// encodeAllRoomsResponse answers an ALL_ROOMS request: {requestId, rooms}.
func encodeAllRoomsResponse(requestID string, rooms []string) []byte {
	b := appendJSONString([]byte(`{"requestId":`), requestID)
	b = appendJSONStrings(append(b, `,"rooms":`...), rooms)
	return append(b, '}')
}

// encodeRemoteResponse answers a legacy single-socket REMOTE_JOIN,
// REMOTE_LEAVE or REMOTE_DISCONNECT: {requestId}.
func encodeRemoteResponse(requestID string) []byte {
	return append(appendJSONString([]byte(`{"requestId":`), requestID), '}')
}

// encodeFetchResponse answers a REMOTE_FETCH request:
// {requestId, sockets:[{id, handshake, rooms, data}]}. It fails when one of
// the raw JSON fields is invalid.
func encodeFetchResponse(requestID string, sockets []fetchedSocket) ([]byte, error) {
	b := appendJSONString([]byte(`{"requestId":`), requestID)
	b = append(b, `,"sockets":[`...)
	var err error
	for i := range sockets {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = sockets[i].appendJSON(b); err != nil {
			return nil, err
		}
	}
	b = append(b, "]}"...)
	if len(b) > maxMessageSize {
		return nil, errTooLarge
	}
	return b, nil
}

// appendJSON writes the socket in Node's key order.
func (s *fetchedSocket) appendJSON(b []byte) ([]byte, error) {
	h := &s.Handshake
	var err error
	b = appendJSONString(append(b, `{"id":`...), s.ID)
	if b, err = appendRawJSON(append(b, `,"handshake":{"headers":`...), h.Headers, "{}"); err != nil {
		return b, err
	}
	b = appendJSONString(append(b, `,"time":`...), h.Time)
	b = appendJSONString(append(b, `,"address":`...), h.Address)
	b = strconv.AppendBool(append(b, `,"xdomain":`...), h.XDomain)
	b = strconv.AppendBool(append(b, `,"secure":`...), h.Secure)
	b = strconv.AppendInt(append(b, `,"issued":`...), h.Issued, 10)
	if h.URL != "" {
		b = appendJSONString(append(b, `,"url":`...), h.URL)
	}
	if b, err = appendRawJSON(append(b, `,"query":`...), h.Query, "{}"); err != nil {
		return b, err
	}
	if b, err = appendRawJSON(append(b, `,"auth":`...), h.Auth, "{}"); err != nil {
		return b, err
	}
	b = appendJSONStrings(append(b, `},"rooms":`...), s.Rooms)
	if b, err = appendRawJSON(append(b, `,"data":`...), s.Data, "{}"); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// encodeServerSideEmitResponse acknowledges a SERVER_SIDE_EMIT request:
// {type:6, requestId, data}. A nil arg (undefined) omits data.
func encodeServerSideEmitResponse(requestID string, arg json.RawMessage) ([]byte, error) {
	b := appendJSONString([]byte(`{"type":6,"requestId":`), requestID)
	if arg != nil {
		var err error
		if b, err = appendRawJSON(append(b, `,"data":`...), arg, ""); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// encodeClientCountResponse reports how many clients a BROADCAST reached on
// this node: {type:8, requestId, clientCount}. Node sends it even for 0.
func encodeClientCountResponse(requestID string, count int64) []byte {
	b := appendJSONString([]byte(`{"type":8,"requestId":`), requestID)
	b = strconv.AppendInt(append(b, `,"clientCount":`...), count, 10)
	return append(b, '}')
}

// encodeBroadcastAckResponse relays one client ack of a BROADCAST, in msgpack
// so binary survives: {type:9, requestId, packet}. arg is the first ack
// argument with placeholders into atts; nil (undefined) omits packet.
func encodeBroadcastAckResponse(requestID string, arg json.RawMessage, atts [][]byte) ([]byte, error) {
	n := 3
	if arg == nil {
		n--
	}
	b := appendUint(appendStr(appendMapHeader(nil, n), "type"), uint64(requestBroadcastAck))
	b = appendStr(appendStr(b, "requestId"), requestID)
	if arg != nil {
		var err error
		if b, err = appendJSONAsMsgpack(appendStr(b, "packet"), arg, atts); err != nil {
			return nil, err
		}
	}
	if len(b) > maxMessageSize {
		return nil, errTooLarge
	}
	return b, nil
}

// decodeResponse decodes a response channel message, sniffing JSON by its
// leading '{' like Node.
func decodeResponse(msg []byte) (response, error) {
	if len(msg) > 0 && msg[0] == '{' {
		return decodeResponseJSON(msg)
	}
	return decodeResponseMsgpack(msg)
}

// decodeResponseJSON decodes the JSON form.
func decodeResponseJSON(msg []byte) (response, error) {
	var w struct {
		Type        *requestType    `json:"type"`
		RequestID   string          `json:"requestId"`
		Sockets     json.RawMessage `json:"sockets"`
		Rooms       roomList        `json:"rooms"`
		Data        json.RawMessage `json:"data"`
		ClientCount *float64        `json:"clientCount"`
		Packet      json.RawMessage `json:"packet"`
	}
	if err := json.Unmarshal(msg, &w); err != nil {
		return response{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	p := response{Type: responseUntyped, RequestID: w.RequestID, Sockets: w.Sockets,
		Rooms: w.Rooms, Data: w.Data, Packet: w.Packet}
	if w.Type != nil {
		p.Type = *w.Type
	}
	if w.ClientCount != nil {
		c, err := clientCount(*w.ClientCount)
		if err != nil {
			return p, err
		}
		p.ClientCount = c
	}
	return p, nil
}

// clientCount checks that a count is a whole number in range.
func clientCount(f float64) (int64, error) {
	if f != math.Trunc(f) || f < 0 || f >= 1<<63 {
		return 0, fmt.Errorf("%w: clientCount %v", errMalformed, f)
	}
	return int64(f), nil
}

// decodeResponseMsgpack decodes the msgpack form (BROADCAST_ACK from Node).
func decodeResponseMsgpack(msg []byte) (response, error) {
	p := response{Type: responseUntyped}
	r := &mpReader{buf: msg}
	h, err := r.expect(mpMap)
	if err != nil {
		return p, err
	}
	for range h.n {
		key, err := r.readString()
		if err != nil {
			return p, err
		}
		if r.nextIsNil() {
			if key == "packet" || key == "data" {
				// null is a real ack value, unlike a missing (undefined) one.
				if key == "packet" {
					p.Packet = json.RawMessage("null")
				} else {
					p.Data = json.RawMessage("null")
				}
			}
			continue
		}
		switch key {
		case "type":
			var v int64
			if v, err = r.readInt(); err == nil && (v < 0 || v > math.MaxInt32) {
				err = fmt.Errorf("%w: response type %d", errMalformed, v)
			}
			p.Type = requestType(v)
		case "requestId":
			p.RequestID, err = r.readString()
		case "clientCount":
			var f float64
			if f, err = r.readNumber(); err == nil {
				p.ClientCount, err = clientCount(f)
			}
		case "packet":
			var undefined bool
			p.Attachments = nil
			p.Packet, undefined, err = appendMsgpackAsJSON(nil, r, &p.Attachments, 1)
			if undefined {
				p.Packet = nil
			}
		case "data":
			p.Data, err = readPlainJSON(r, 1)
		case "sockets":
			p.Sockets, err = readPlainJSON(r, 1)
		case "rooms":
			p.Rooms, err = readRooms(r)
		default:
			err = r.skip(1)
		}
		if err != nil {
			return p, fmt.Errorf("response %s: %w", key, err)
		}
	}
	return p, r.end()
}

// socketIDs decodes Sockets as the id list of a SOCKETS response.
func (p *response) socketIDs() ([]string, error) {
	var ids []string
	if err := json.Unmarshal(p.Sockets, &ids); err != nil {
		return nil, fmt.Errorf("%w: sockets: %v", errMalformed, err)
	}
	return ids, nil
}

// fetchedSockets decodes Sockets as the entries of a REMOTE_FETCH response.
func (p *response) fetchedSockets() ([]fetchedSocket, error) {
	var ws []struct {
		ID        string          `json:"id"`
		Handshake handshake       `json:"handshake"`
		Rooms     roomList        `json:"rooms"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(p.Sockets, &ws); err != nil {
		return nil, fmt.Errorf("%w: sockets: %v", errMalformed, err)
	}
	out := make([]fetchedSocket, len(ws))
	for i, w := range ws {
		out[i] = fetchedSocket{ID: w.ID, Handshake: w.Handshake, Rooms: w.Rooms, Data: w.Data}
	}
	return out, nil
}
