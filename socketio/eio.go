package socketio

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// Engine.IO v4 packet types as their wire characters.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// recordSeparator joins packets in a polling payload.
const recordSeparator = '\x1e'

// newID returns a 20-character URL-safe random id, the shape of Node's
// base64id (15 random bytes).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return base64.URLEncoding.EncodeToString(b[:])
}

// Engine.IO error codes, as Node's engine.io Server.errors.
const (
	errCodeUnknownTransport   = 0
	errCodeUnknownSID         = 1
	errCodeBadHandshakeMethod = 2
	errCodeBadRequest         = 3
	errCodeForbidden          = 4
	errCodeUnsupportedVersion = 5
)

var eioErrorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// writeEIOError answers a rejected Engine.IO request as Node does: 403 for
// Forbidden, else 400, with a JSON body {code, message}.
func writeEIOError(w http.ResponseWriter, code int, message string) {
	if message == "" {
		message = eioErrorMessages[code]
	}
	status := http.StatusBadRequest
	if code == errCodeForbidden {
		status = http.StatusForbidden
	}
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wireMsg is one outgoing Engine.IO packet, shared by every recipient of a
// broadcast: each transport derives its representation once, on first use.
type wireMsg struct {
	// text holds the Engine.IO text packet ("4..." for messages); nil for binary.
	text []byte
	// bin holds a binary message's bytes.
	bin []byte

	frameOnce sync.Once
	frameHdr  [10]byte // websocket frame header for text or bin
	frameLen  uint8

	b64Once sync.Once
	b64     []byte // "b"+base64(bin) for polling
}

func newTextMsg(typ byte, payload []byte) *wireMsg {
	t := make([]byte, 1+len(payload))
	t[0] = typ
	copy(t[1:], payload)
	return &wireMsg{text: t}
}

func newBinaryMsg(b []byte) *wireMsg { return &wireMsg{bin: b} }

// newControlFrame builds a websocket control frame (pong, close) that only
// the websocket transport ever sends.
func newControlFrame(opcode byte, payload []byte) *wireMsg {
	m := &wireMsg{bin: payload}
	m.frameOnce.Do(func() { m.frameLen = uint8(len(appendFrameHeader(m.frameHdr[:0], opcode, len(payload)))) })
	return m
}

// size is the message's weight in a socket's outbound queue.
func (m *wireMsg) size() int { return len(m.text) + len(m.bin) + 16 }

// wsHeader returns the (unmasked, final) websocket frame header.
func (m *wireMsg) wsHeader() []byte {
	m.frameOnce.Do(func() {
		op := byte(0x1)
		n := len(m.text)
		if m.text == nil {
			op = 0x2
			n = len(m.bin)
		}
		m.frameLen = uint8(len(appendFrameHeader(m.frameHdr[:0], op, n)))
	})
	return m.frameHdr[:m.frameLen]
}

func (m *wireMsg) wsPayload() []byte {
	if m.text != nil {
		return m.text
	}
	return m.bin
}

// pollingText returns the packet as it appears in a polling payload.
func (m *wireMsg) pollingText() []byte {
	if m.text != nil {
		return m.text
	}
	m.b64Once.Do(func() {
		out := make([]byte, 1+base64Std.EncodedLen(len(m.bin)))
		out[0] = 'b'
		base64Std.Encode(out[1:], m.bin)
		m.b64 = out
	})
	return m.b64
}

func appendFrameHeader(dst []byte, opcode byte, n int) []byte {
	dst = append(dst, 0x80|opcode)
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return dst
}

// openPacket builds the Engine.IO handshake packet.
func openPacket(sid string, upgrades []string, o *Options) []byte {
	if upgrades == nil {
		upgrades = []string{}
	}
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}{sid, upgrades, o.PingInterval.Milliseconds(), o.PingTimeout.Milliseconds(), o.MaxHTTPBufferSize})
	return b
}

// decodePollingPayload splits a polling POST body into Engine.IO packets.
// Binary packets ("b<base64>") are decoded.
func decodePollingPayload(body []byte, fn func(typ byte, data []byte, binary bool) bool) bool {
	start := 0
	for i := 0; i <= len(body); i++ {
		if i < len(body) && body[i] != recordSeparator {
			continue
		}
		pkt := body[start:i]
		start = i + 1
		if len(pkt) == 0 {
			return false
		}
		if pkt[0] == 'b' {
			bin := make([]byte, base64Std.DecodedLen(len(pkt)-1))
			n, err := base64Std.Decode(bin, pkt[1:])
			if err != nil {
				return false
			}
			if !fn(eioMessage, bin[:n], true) {
				return false
			}
			continue
		}
		if pkt[0] < eioOpen || pkt[0] > eioNoop {
			return false
		}
		if !fn(pkt[0], pkt[1:], false) {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
