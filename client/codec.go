package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO v4 packet types (first byte of a text frame).
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// Socket.IO v5 packet types (first byte after the Engine.IO '4').
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
	sioBinaryEvent  = '5'
	sioBinaryAck    = '6'
)

// maxAttachments matches socket.io-parser's cap on binary attachments.
const maxAttachments = 10

// errBadPacket is wrapped by every decoding failure.
var errBadPacket = errors.New("client: malformed packet")

// openPacket is the Engine.IO handshake the server sends first.
type openPacket struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
	MaxPayload   int64  `json:"maxPayload"`
}

// packet is a decoded Socket.IO packet.
type packet struct {
	typ         byte
	nsp         string
	attachments int
	id          int64 // -1 when absent
	data        []byte
}

// decodePacket parses a Socket.IO packet (the text after Engine.IO's '4').
// The data is not copied.
func decodePacket(b []byte) (packet, error) {
	p := packet{nsp: "/", id: -1}
	if len(b) == 0 {
		return p, fmt.Errorf("%w: empty", errBadPacket)
	}
	p.typ = b[0]
	if p.typ < sioConnect || p.typ > sioBinaryAck {
		return p, fmt.Errorf("%w: type %q", errBadPacket, p.typ)
	}
	rest := b[1:]
	if p.typ == sioBinaryEvent || p.typ == sioBinaryAck {
		i := bytes.IndexByte(rest, '-')
		if i <= 0 {
			return p, fmt.Errorf("%w: attachments", errBadPacket)
		}
		n, err := strconv.Atoi(string(rest[:i]))
		if err != nil || n < 0 || n > maxAttachments {
			return p, fmt.Errorf("%w: attachments %q", errBadPacket, rest[:i])
		}
		p.attachments, rest = n, rest[i+1:]
	}
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			p.nsp, rest = string(rest), nil
		} else {
			p.nsp, rest = string(rest[:i]), rest[i+1:]
		}
	}
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j > 0 {
		id, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("%w: ack id", errBadPacket)
		}
		p.id, rest = id, rest[j:]
	}
	p.data = rest
	return p, nil
}

// splitEvent splits an event's JSON array into its name and arguments.
// The arguments are copied, so they outlive the read buffer.
func splitEvent(data []byte) (string, []json.RawMessage, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(data, &arr); err != nil || len(arr) == 0 {
		return "", nil, fmt.Errorf("%w: event payload", errBadPacket)
	}
	var name string
	if err := json.Unmarshal(arr[0], &name); err != nil {
		return "", nil, fmt.Errorf("%w: event name", errBadPacket)
	}
	args := make([]json.RawMessage, len(arr)-1)
	for i, a := range arr[1:] {
		args[i] = bytes.Clone(a)
	}
	return name, args, nil
}

// appendHeader appends "4<typ>[nsp,][id]" to dst.
func appendHeader(dst []byte, typ byte, nsp string, id int64) []byte {
	dst = append(dst, eioMessage, typ)
	if nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}

// encodeEvent returns the Engine.IO text frame of an EVENT packet whose
// arguments are already JSON-encoded.
func encodeEvent(nsp string, id int64, event string, args ...json.RawMessage) ([]byte, error) {
	name, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	size := 8 + len(nsp) + len(name)
	for _, a := range args {
		size += len(a) + 1
	}
	b := appendHeader(make([]byte, 0, size), sioEvent, nsp, id)
	b = append(b, '[')
	b = append(b, name...)
	for _, a := range args {
		b = append(b, ',')
		b = append(b, a...)
	}
	return append(b, ']'), nil
}

// marshalArgs JSON-encodes event arguments; a json.RawMessage is kept as
// is. Binary arguments ([]byte) are refused: LuckyStack never sends them and
// JSON has no room for them without attachments.
func marshalArgs(args []any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case json.RawMessage:
			if !json.Valid(v) {
				return nil, fmt.Errorf("client: argument %d is not valid JSON", i)
			}
			out[i] = v
		case []byte:
			// socket.io would send it as a binary attachment; encoding it
			// as base64 text instead would surprise the receiver.
			return nil, fmt.Errorf("%w: argument %d", ErrBinaryUnsupported, i)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("client: encode argument %d: %w", i, err)
			}
			out[i] = b
		}
	}
	return out, nil
}

// encodeConnect returns the CONNECT frame with the auth payload, if any.
func encodeConnect(nsp string, auth map[string]any) ([]byte, error) {
	b := appendHeader(nil, sioConnect, nsp, -1)
	if len(auth) == 0 {
		return b, nil
	}
	a, err := json.Marshal(auth)
	if err != nil {
		return nil, fmt.Errorf("client: encode auth: %w", err)
	}
	return append(b, a...), nil
}
