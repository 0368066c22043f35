package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// PacketType is a Socket.IO v5 packet type.
type PacketType byte

// Socket.IO v5 packet types, numbered as on the wire.
const (
	PacketConnect      PacketType = 0
	PacketDisconnect   PacketType = 1
	PacketEvent        PacketType = 2
	PacketAck          PacketType = 3
	PacketConnectError PacketType = 4
	PacketBinaryEvent  PacketType = 5
	PacketBinaryAck    PacketType = 6
)

// String returns the packet type's protocol name.
func (t PacketType) String() string {
	switch t {
	case PacketConnect:
		return "CONNECT"
	case PacketDisconnect:
		return "DISCONNECT"
	case PacketEvent:
		return "EVENT"
	case PacketAck:
		return "ACK"
	case PacketConnectError:
		return "CONNECT_ERROR"
	case PacketBinaryEvent:
		return "BINARY_EVENT"
	case PacketBinaryAck:
		return "BINARY_ACK"
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Packet is one Socket.IO packet in the form the server passes around: its
// payload stays encoded JSON so that a broadcast is encoded once and an adapter
// can forward it without a decode/encode round trip.
//
// Binary values inside Data appear as placeholders
// {"_placeholder":true,"num":i} that refer to Attachments[i]. A packet of type
// EVENT or ACK with attachments is sent as BINARY_EVENT or BINARY_ACK.
type Packet struct {
	Type PacketType
	// Nsp is the namespace; empty means "/".
	Nsp string
	// ID is the ack id, or -1 when the packet asks for none.
	ID int64
	// Data is the JSON payload (nil when absent).
	Data json.RawMessage
	// Attachments are the binary parts referenced by placeholders in Data.
	Attachments [][]byte

	// event and args are an EVENT's name and arguments as decodePacket
	// split them while validating, so the handler path does not split Data
	// again. Packets built elsewhere leave args nil.
	event string
	args  []json.RawMessage
}

// maxAckID bounds ack ids to integers a JavaScript peer represents exactly;
// larger ids cannot have been issued by a conforming client.
const maxAckID = 1<<53 - 1

// maxAttachments bounds how many binary frames one packet may announce, as
// socket.io-parser 4.2's decoder does (maxAttachments 10): a hostile header
// cannot make the decoder wait for, and buffer, many frames, and we refuse
// what a Node server refuses.
const maxAttachments = 10

// maxNesting bounds the JSON nesting depth accepted from clients.
const maxNesting = 64

var (
	errUnknownType        = errors.New("socketio: unknown packet type")
	errIllegalAttachments = errors.New("socketio: illegal attachments")
	errIllegalID          = errors.New("socketio: illegal id")
	errInvalidPayload     = errors.New("socketio: invalid payload")
	errTooDeep            = errors.New("socketio: payload nested too deep")
)

// reservedEvents may not be emitted by clients (socket.io-parser RESERVED_EVENTS).
func isReservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// appendPacket appends the wire text of p (without the Engine.IO prefix).
func appendPacket(dst []byte, p *Packet) []byte {
	return append(appendPacketHead(dst, p), p.Data...)
}

// appendPacketHead appends what precedes p's data on the wire: the type,
// the attachment count, the namespace and the ack id.
func appendPacketHead(dst []byte, p *Packet) []byte {
	t := p.Type
	if len(p.Attachments) > 0 {
		switch t {
		case PacketEvent:
			t = PacketBinaryEvent
		case PacketAck:
			t = PacketBinaryAck
		}
	}
	dst = append(dst, byte('0'+t))
	if t == PacketBinaryEvent || t == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Nsp != "" && p.Nsp != "/" {
		dst = append(dst, p.Nsp...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return dst
}

// decodePacket parses the text part of a Socket.IO packet the way
// socket.io-parser 4.2 does, and reports how many binary attachments follow.
// The returned Data aliases s.
func decodePacket(s []byte) (p Packet, attachments int, err error) {
	return decodePacketNamed(s, nil)
}

// decodePacketNamed is decodePacket with a connection's last event name,
// which an event of the same name reuses instead of allocating its own.
func decodePacketNamed(s []byte, lastEvent *string) (p Packet, attachments int, err error) {
	p.ID = -1
	if len(s) == 0 {
		return p, 0, errUnknownType
	}
	c := s[0]
	if c < '0' || c > '6' {
		return p, 0, errUnknownType
	}
	p.Type = PacketType(c - '0')
	i := 1
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		start := i
		for i < len(s) && s[i] != '-' {
			i++
		}
		if i >= len(s) || i == start || i-start > 4 {
			return p, 0, errIllegalAttachments
		}
		n, perr := strconv.Atoi(string(s[start:i]))
		if perr != nil || n < 1 || n > maxAttachments { // socket.io-parser 4.2.7: n >= 1
			return p, 0, errIllegalAttachments
		}
		attachments = n
		i++ // '-'
	}
	p.Nsp = "/"
	if i < len(s) && s[i] == '/' {
		start := i
		for i < len(s) && s[i] != ',' {
			i++
		}
		p.Nsp = string(s[start:i])
		if i < len(s) {
			i++ // ','
		}
	}
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i-start > 16 {
			return p, 0, errIllegalID
		}
		id, perr := strconv.ParseInt(string(s[start:i]), 10, 64)
		if perr != nil || id > maxAckID {
			return p, 0, errIllegalID
		}
		p.ID = id
	}
	if i < len(s) {
		p.Data = s[i:]
		if err := checkJSON(p.Data); err != nil {
			return p, 0, err
		}
	}
	if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
		elems, name, ok := eventPayload(p.Data, lastEvent)
		if !ok {
			return p, 0, errInvalidPayload
		}
		p.event, p.args = name, elems[1:]
		return p, attachments, nil
	}
	if !payloadValid(p.Type, p.Data) {
		return p, 0, errInvalidPayload
	}
	return p, attachments, nil
}

// checkJSON validates that data is one JSON value no deeper than maxNesting.
func checkJSON(data []byte) error {
	valid, deep := scanJSON(data)
	if valid {
		return nil
	}
	if deep && json.Valid(data) {
		// The scan went past maxNesting inside a document that is valid.
		return errTooDeep
	}
	return errInvalidPayload
}

// payloadValid mirrors socket.io-parser's isPayloadValid on already valid JSON.
func payloadValid(t PacketType, data []byte) bool {
	first := firstNonSpace(data)
	switch t {
	case PacketConnect:
		return data == nil || first == '{'
	case PacketDisconnect:
		return data == nil
	case PacketConnectError:
		return first == '{' || first == '"'
	case PacketEvent, PacketBinaryEvent:
		_, _, ok := eventPayload(data, nil)
		return ok
	case PacketAck, PacketBinaryAck:
		return first == '['
	}
	return false
}

// eventPayload splits an EVENT's payload, which must be an array whose first
// element is a string that is not a reserved event name, or a number. It
// returns the elements and the event name (a number as its decimal text,
// as Node's emitter sees it).
func eventPayload(data []byte, lastEvent *string) (elems []json.RawMessage, name string, ok bool) {
	if firstNonSpace(data) != '[' {
		return nil, "", false
	}
	elems, err := splitArray(data)
	if err != nil || len(elems) == 0 {
		return nil, "", false
	}
	e := elems[0]
	if len(e) > 0 && (e[0] == '-' || (e[0] >= '0' && e[0] <= '9')) {
		if f, err := strconv.ParseFloat(string(e), 64); err == nil {
			name = strconv.FormatFloat(f, 'f', -1, 64)
		}
		return elems, name, true // "" for a number beyond float64
	}
	if len(e) == 0 || e[0] != '"' {
		return nil, "", false
	}
	if inner := e[1 : len(e)-1]; plainString(inner) {
		// The JSON was validated: a string without escapes or non-ASCII
		// bytes is its own text, which is what every common name is.
		switch {
		case lastEvent == nil:
			name = string(inner)
		case *lastEvent == string(inner):
			name = *lastEvent // a client sends the same few events over and over
		default:
			name = string(inner)
			*lastEvent = name
		}
	} else if json.Unmarshal(e, &name) != nil {
		return nil, "", false
	}
	if isReservedEvent(name) {
		return nil, "", false
	}
	return elems, name, true
}

// plainString reports whether b, the inside of a JSON string or a string
// to become one, is printable ASCII without quotes or backslashes: its
// JSON text is then b between quotes, in both directions.
func plainString[T ~string | ~[]byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// splitArray returns the top-level elements of a valid JSON array, each
// aliasing data. It relies on the caller having validated the JSON.
func splitArray(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return nil, errInvalidPayload
	}
	var out []json.RawMessage
	depth, inStr, esc := 0, false, false
	start := -1
	for i := 1; i < len(data)-1; i++ {
		c := data[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				if start < 0 { // an empty element: not JSON, and must not panic
					return nil, errInvalidPayload
				}
				out = append(out, json.RawMessage(bytes.TrimSpace(data[start:i])))
				start = -1
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, json.RawMessage(bytes.TrimSpace(data[start:len(data)-1])))
	}
	return out, nil
}

// placeholderError explains a binary packet whose placeholders do not match
// its attachments.
func checkPlaceholders(data []byte, n int) error {
	if n == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return errInvalidPayload
	}
	return walkPlaceholders(v, n)
}

func walkPlaceholders(v any, n int) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := walkPlaceholders(e, n); err != nil {
				return err
			}
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			num, ok := x["num"].(float64)
			if !ok || num < 0 || num >= float64(n) || num != float64(int(num)) {
				return fmt.Errorf("%w: placeholder %v of %d", errIllegalAttachments, x["num"], n)
			}
			return nil
		}
		for _, e := range x {
			if err := walkPlaceholders(e, n); err != nil {
				return err
			}
		}
	}
	return nil
}
