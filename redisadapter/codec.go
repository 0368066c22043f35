package redisadapter

// This file encodes and decodes what travels on the broadcast channels, and
// the packet and options shapes that requests reuse. Key order follows the
// object literals in Node's socket.io-redis-adapter 8.x and socket.io 4.x,
// because notepack writes keys in insertion order and the golden samples are
// compared byte for byte.

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Socket.IO packet types the adapter relays (socket.io-parser PacketType).
const (
	packetEvent       byte = 2
	packetAck         byte = 3
	packetBinaryEvent byte = 5
	packetBinaryAck   byte = 6
)

// packet is the adapter's view of a Socket.IO packet; the adapter maps it to
// and from the protocol server's packet type.
type packet struct {
	// Type is the Socket.IO packet type. Messages from Node always carry
	// EVENT (2) even when Data holds binary: socket.io-parser only picks
	// BINARY_EVENT when it encodes for a client. Decoding keeps the wire value;
	// the receiver treats the packet as binary when Attachments is non-empty.
	Type byte
	// Nsp is the namespace name; empty is written as "/" and a message without
	// one decodes as "/", as Node's onmessage assumes.
	Nsp string
	// ID is the ack id, nil when the packet carries none.
	ID *int64
	// Data is the JSON payload, normally ["event", args...], with binary values
	// as {"_placeholder":true,"num":i}. Nil means no data key at all, which is
	// how notepack writes an undefined value.
	Data json.RawMessage
	// Attachments holds the binary values the placeholders in Data index.
	Attachments [][]byte
}

// wireType returns the type written to Redis. BINARY_EVENT and BINARY_ACK are
// folded into EVENT and ACK because a Node receiver hands the packet to
// socket.io-parser, which only looks for Buffers in EVENT and ACK packets.
func (p *packet) wireType() byte {
	switch p.Type {
	case packetBinaryEvent:
		return packetEvent
	case packetBinaryAck:
		return packetAck
	}
	return p.Type
}

// broadcastFlags mirrors the BroadcastFlags of socket.io-adapter that matter
// to a receiving node. Unknown flags (broadcast, binary) are dropped on decode.
type broadcastFlags struct {
	// Volatile is written only when true.
	Volatile bool
	// Compress is written only when set: Node sends compress:false after
	// compress(false) and no key at all when the operator was not used.
	Compress *bool
	// Local is written only when true. Node never publishes a local broadcast,
	// so receivers see it only from foreign publishers.
	Local bool
	// Timeout is the ack timeout of a broadcast with acks, written in whole
	// milliseconds; zero means no timeout flag.
	Timeout time.Duration
}

// broadcastOptions is the opts object of a broadcast: target rooms (none
// means every socket of the namespace), excluded rooms, and flags.
type broadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  broadcastFlags
}

// broadcastMessage is the payload of a broadcast channel:
// msgpack [uid, packet, opts].
type broadcastMessage struct {
	UID    string
	Packet packet
	Opts   broadcastOptions
}

// appendMsgpack appends the message as Node's RedisAdapter.broadcast
// publishes it. It fails when Packet.Data is not valid JSON or names a missing
// attachment.
func (m *broadcastMessage) appendMsgpack(b []byte) ([]byte, error) {
	start := len(b)
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.UID)
	b, err := appendPacketMsgpack(b, &m.Packet)
	if err != nil {
		return b[:start], err
	}
	b = appendOptionsMsgpack(b, &m.Opts)
	if len(b)-start > maxMessageSize {
		return b[:start], errTooLarge
	}
	return b, nil
}

// decodeBroadcast decodes a broadcast channel payload. Elements after the
// third are ignored, as Node's destructuring does.
func decodeBroadcast(msg []byte) (broadcastMessage, error) {
	var m broadcastMessage
	r := &mpReader{buf: msg}
	h, err := r.expect(mpArray)
	if err != nil {
		return m, err
	}
	if h.n < 3 {
		return m, fmt.Errorf("%w: broadcast array of %d elements", errMalformed, h.n)
	}
	if m.UID, err = r.readString(); err != nil {
		return m, err
	}
	if m.Packet, err = readPacket(r, 1); err != nil {
		return m, err
	}
	if m.Opts, err = readOptions(r, 1); err != nil {
		return m, err
	}
	for i := 3; i < h.n; i++ {
		if err := r.skip(1); err != nil {
			return m, err
		}
	}
	return m, r.end()
}

// broadcastUID returns the publisher uid of a broadcast payload without
// decoding the rest, so a node can drop its own messages (or an emitter's)
// before paying for the packet.
func broadcastUID(msg []byte) (string, error) {
	r := &mpReader{buf: msg}
	h, err := r.expect(mpArray)
	if err != nil {
		return "", err
	}
	if h.n < 1 {
		return "", fmt.Errorf("%w: empty broadcast array", errMalformed)
	}
	return r.readString()
}

// appendPacketMsgpack appends {type, data, nsp[, id]}: BroadcastOperator.emit
// builds {type, data}, the adapter then sets nsp, and socket.io-adapter's
// broadcastWithAck adds id last.
func appendPacketMsgpack(b []byte, p *packet) ([]byte, error) {
	n := 2
	if p.Data != nil {
		n++
	}
	if p.ID != nil {
		n++
	}
	b = appendMapHeader(b, n)
	b = appendUint(appendStr(b, "type"), uint64(p.wireType()))
	if p.Data != nil {
		var err error
		if b, err = appendJSONAsMsgpack(appendStr(b, "data"), p.Data, p.Attachments); err != nil {
			return b, err
		}
	}
	b = appendStr(appendStr(b, "nsp"), nspOrRoot(p.Nsp))
	if p.ID != nil {
		b = appendInt(appendStr(b, "id"), *p.ID)
	}
	return b, nil
}

// nspOrRoot returns nsp, or "/" when it is empty.
func nspOrRoot(nsp string) string {
	if nsp == "" {
		return "/"
	}
	return nsp
}

// appendOptionsMsgpack appends {rooms, except, flags}, the rawOpts literal of
// RedisAdapter.broadcast and broadcastWithAck. Nil room lists are written as
// empty arrays, as Node always sends both.
func appendOptionsMsgpack(b []byte, o *broadcastOptions) []byte {
	b = appendMapHeader(b, 3)
	b = appendStrArray(appendStr(b, "rooms"), o.Rooms)
	b = appendStrArray(appendStr(b, "except"), o.Except)
	return appendFlagsMsgpack(appendStr(b, "flags"), &o.Flags)
}

// appendFlagsMsgpack appends the flags that are set. Node's key order is the
// order the operators were chained in; this uses the declaration order of
// socket.io-adapter's BroadcastFlags (volatile, compress, local, timeout).
func appendFlagsMsgpack(b []byte, f *broadcastFlags) []byte {
	n := 0
	for _, set := range []bool{f.Volatile, f.Compress != nil, f.Local, f.Timeout != 0} {
		if set {
			n++
		}
	}
	b = appendMapHeader(b, n)
	if f.Volatile {
		b = appendBool(appendStr(b, "volatile"), true)
	}
	if f.Compress != nil {
		b = appendBool(appendStr(b, "compress"), *f.Compress)
	}
	if f.Local {
		b = appendBool(appendStr(b, "local"), true)
	}
	if f.Timeout != 0 {
		b = appendInt(appendStr(b, "timeout"), f.Timeout.Milliseconds())
	}
	return b
}

// appendStrArray appends ss as an array of str (nil as an empty array).
func appendStrArray(b []byte, ss []string) []byte {
	b = appendArrayHeader(b, len(ss))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// nextIsNil consumes a nil if one comes next. Node tests optional fields for
// truthiness, so nil is read as "absent" for them.
func (r *mpReader) nextIsNil() bool {
	if r.remaining() > 0 && r.buf[r.off] == 0xc0 {
		r.off++
		return true
	}
	return false
}

// readPacket decodes a packet map; depth counts the enclosing containers. A
// missing type reads as EVENT, the only type Node broadcasts.
func readPacket(r *mpReader, depth int) (packet, error) {
	p := packet{Type: packetEvent, Nsp: "/"}
	h, err := r.expect(mpMap)
	if err != nil {
		return p, err
	}
	for range h.n {
		key, err := r.readString()
		if err != nil {
			return p, err
		}
		switch key {
		case "type":
			var v int64
			if v, err = r.readInt(); err == nil && (v < 0 || v > math.MaxUint8) {
				err = fmt.Errorf("%w: packet type %d", errMalformed, v)
			}
			p.Type = byte(v)
		case "nsp":
			p.Nsp, err = r.readString()
		case "id":
			if !r.nextIsNil() {
				var v int64
				v, err = r.readInt()
				p.ID = &v
			}
		case "data":
			var undefined bool
			var data []byte
			p.Attachments = nil
			data, undefined, err = appendMsgpackAsJSON(nil, r, &p.Attachments, depth+1)
			p.Data = nil
			if !undefined {
				p.Data = data
			}
		default:
			err = r.skip(depth + 1)
		}
		if err != nil {
			return p, fmt.Errorf("packet %s: %w", key, err)
		}
	}
	return p, nil
}

// readOptions decodes an opts map. Absent or nil room lists decode as nil.
func readOptions(r *mpReader, depth int) (broadcastOptions, error) {
	var o broadcastOptions
	h, err := r.expect(mpMap)
	if err != nil {
		return o, err
	}
	for range h.n {
		key, err := r.readString()
		if err != nil {
			return o, err
		}
		switch key {
		case "rooms":
			o.Rooms, err = readRooms(r)
		case "except":
			o.Except, err = readRooms(r)
		case "flags":
			o.Flags, err = readFlags(r, depth+1)
		default:
			err = r.skip(depth + 1)
		}
		if err != nil {
			return o, fmt.Errorf("opts %s: %w", key, err)
		}
	}
	return o, nil
}

// readFlags decodes a flags map (or nil). Flags of another type than Node
// sends are rejected rather than guessed at.
func readFlags(r *mpReader, depth int) (broadcastFlags, error) {
	var f broadcastFlags
	if r.nextIsNil() {
		return f, nil
	}
	h, err := r.expect(mpMap)
	if err != nil {
		return f, err
	}
	for range h.n {
		key, err := r.readString()
		if err != nil {
			return f, err
		}
		if r.nextIsNil() {
			continue
		}
		switch key {
		case "volatile":
			f.Volatile, err = readBool(r)
		case "compress":
			var v bool
			v, err = readBool(r)
			f.Compress = &v
		case "local":
			f.Local, err = readBool(r)
		case "timeout":
			var ms float64
			if ms, err = r.readNumber(); err == nil {
				f.Timeout, err = msDuration(ms)
			}
		default:
			err = r.skip(depth + 1)
		}
		if err != nil {
			return f, fmt.Errorf("flags %s: %w", key, err)
		}
	}
	return f, nil
}

// msDuration converts a JavaScript millisecond count to a Duration.
func msDuration(ms float64) (time.Duration, error) {
	d := ms * float64(time.Millisecond)
	if math.IsNaN(d) || d >= math.MaxInt64 || d < math.MinInt64 {
		return 0, fmt.Errorf("%w: timeout %v ms", errMalformed, ms)
	}
	return time.Duration(d), nil
}

// readBool reads a bool value.
func readBool(r *mpReader) (bool, error) {
	h, err := r.expect(mpBool)
	return h.b, err
}

// readRooms decodes a room list (or nil). Node rooms may be numbers at
// runtime; they are turned into their JavaScript String() form, which is
// also how they appear in room channel names.
func readRooms(r *mpReader) ([]string, error) {
	if r.nextIsNil() {
		return nil, nil
	}
	h, err := r.expect(mpArray)
	if err != nil {
		return nil, err
	}
	rooms := make([]string, 0, h.n)
	for range h.n {
		room, err := readRoom(r)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, room)
	}
	return rooms, nil
}

// readRoom decodes one room name given as a str or a number.
func readRoom(r *mpReader) (string, error) {
	h, err := r.head()
	if err != nil {
		return "", err
	}
	switch h.kind {
	case mpStr:
		p, err := r.readN(h.n)
		return string(p), err
	case mpInt:
		return strconv.FormatInt(h.i, 10), nil
	case mpUint:
		return strconv.FormatUint(h.u, 10), nil
	case mpFloat:
		if !math.IsNaN(h.f) && !math.IsInf(h.f, 0) {
			return string(appendJSFloat(nil, h.f)), nil
		}
	}
	return "", fmt.Errorf("%w: room of kind %v", errMalformed, h.kind)
}
