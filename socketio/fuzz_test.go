package socketio

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"
)

// FuzzDecodePacket feeds arbitrary Socket.IO packet text to the decoder and
// to the helpers that later read the payload. None may panic; what decodes
// must be valid JSON that encodes back to the same packet.
func FuzzDecodePacket(f *testing.F) {
	for _, seed := range []string{
		"0", `0{"token":"abc"}`, "0/admin,", `0/admin,{"a":[1,2]}`, "1", "1/admin,",
		`2["hello","world"]`, `212["ask",{"x":1}]`, `2/chat,7["msg","hi"]`, `2[1,2]`,
		`35["ok"]`, `3/chat,0[]`, `4{"message":"Invalid namespace"}`, `4"err"`,
		`51-["up",{"_placeholder":true,"num":0}]`, `52-/ns,9["x",{"a":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]}]`,
		`61-3[{"_placeholder":true,"num":0}]`, `2["a",[[[[[[[[1]]]]]]]]]`, `2["\"]\\",{"k":"[{"}]`,
		`50-["a"]`, `51001-[]`, `2123456789012345678901234567890["a"]`, `2["connect"]`, `2[,]`,
		`51-["a",{"_placeholder":true,"num":1e300}]`, `51-["a",{"_placeholder":true,"num":-0}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Helpers that may see unchecked input from adapters.
		_, _ = splitArray(data)
		for n := range 3 {
			_ = checkPlaceholders(data, n)
		}

		p, n, err := decodePacket(data)
		if err != nil {
			return
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("decoded invalid JSON %q from %q", p.Data, data)
		}
		if n < 0 || n > maxAttachments {
			t.Fatalf("attachment count %d from %q", n, data)
		}
		if p.ID < -1 || p.ID > maxAckID {
			t.Fatalf("ack id %d from %q", p.ID, data)
		}
		att := make([][]byte, n)
		for i := range att {
			att[i] = []byte{byte(i)}
		}
		switch p.Type {
		case PacketEvent, PacketBinaryEvent, PacketAck, PacketBinaryAck:
			elems, err := splitArray(p.Data)
			if err != nil {
				t.Fatalf("valid %s payload %q does not split: %v", p.Type, p.Data, err)
			}
			for _, e := range elems {
				if !json.Valid(e) {
					t.Fatalf("element %q of %q is not JSON", e, p.Data)
				}
			}
			if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
				if len(elems) == 0 {
					t.Fatalf("event without a name: %q", data)
				}
				elems = elems[1:]
				if len(p.args) != len(elems) {
					t.Fatalf("decodePacket split %q into %d args, splitArray into %d", p.Data, len(p.args), len(elems))
				}
				for i := range elems {
					if !bytes.Equal(p.args[i], elems[i]) {
						t.Fatalf("arg %d of %q: %q vs %q", i, p.Data, p.args[i], elems[i])
					}
				}
			}
			if checkPlaceholders(p.Data, n) == nil {
				a := NewArgs(elems, att)
				_, _ = a.Values()
				for i := range a.Len() {
					var v any
					_ = a.Decode(i, &v)
					var b []byte
					_ = a.Decode(i, &b)
				}
			}
		}

		// Encode it back: the packet must survive the round trip.
		q := p
		q.Data = bytes.Clone(p.Data)
		q.Attachments = att
		text := appendPacket(nil, &q)
		p2, n2, err := decodePacket(text)
		if err != nil {
			t.Fatalf("re-encoded %q as %q which does not decode: %v", data, text, err)
		}
		if n2 != n || p2.Type != p.Type || p2.Nsp != p.Nsp || p2.ID != p.ID || !bytes.Equal(p2.Data, p.Data) {
			t.Fatalf("round trip of %q changed it: %+v (%d) vs %+v (%d)", data, p, n, p2, n2)
		}
	})
}

// FuzzPollingPayload feeds arbitrary polling POST bodies to the payload
// splitter. It must not panic, must only report known packet types, and what
// it accepts must encode back to a body that decodes to the same packets.
func FuzzPollingPayload(f *testing.F) {
	for _, seed := range []string{
		"4hello", "2", "3", "6", "1", "5", "0",
		"4a\x1e4b\x1e3", `451-["a",{"_placeholder":true,"num":0}]` + "\x1ebAQID",
		"bAAAA", "b", "b====", "b\nAQ==", "4é😀\x1e4\x00",
		"", "\x1e", "4a\x1e", "\x1e4a", "9", "b!!", "4a\x1e\x1e4b",
	} {
		f.Add([]byte(seed))
	}
	type pkt struct {
		typ    byte
		data   string
		binary bool
	}
	decode := func(body []byte) ([]pkt, bool) {
		var out []pkt
		ok := decodePollingPayload(body, func(typ byte, data []byte, binary bool) bool {
			out = append(out, pkt{typ, string(data), binary})
			return true
		})
		return out, ok
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pkts, ok := decode(body)
		for _, p := range pkts {
			if p.typ < eioOpen || p.typ > eioNoop {
				t.Fatalf("packet type %q from %q", p.typ, body)
			}
			if p.binary && p.typ != eioMessage {
				t.Fatalf("binary packet of type %q", p.typ)
			}
		}
		if !ok {
			return
		}
		if len(pkts) == 0 {
			t.Fatalf("accepted %q without a packet", body)
		}
		// Re-encode as the server would send it and decode again.
		var enc []byte
		for i, p := range pkts {
			if i > 0 {
				enc = append(enc, recordSeparator)
			}
			if p.binary {
				enc = append(enc, newBinaryMsg([]byte(p.data)).pollingText()...)
			} else {
				enc = append(enc, p.typ)
				enc = append(enc, p.data...)
			}
		}
		again, ok := decode(enc)
		if !ok || len(again) != len(pkts) {
			t.Fatalf("re-encoded %q as %q: ok=%v, %d packets instead of %d", body, enc, ok, len(again), len(pkts))
		}
		for i := range pkts {
			if again[i] != pkts[i] {
				t.Fatalf("packet %d of %q changed: %+v vs %+v", i, body, pkts[i], again[i])
			}
		}
	})
}

// byteConn serves reads from a byte slice.
type byteConn struct {
	net.Conn // nil: only Read is used
	r        *bytes.Reader
}

func (c byteConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// FuzzWSReader feeds arbitrary bytes to the websocket frame reader. It must
// not panic, must end with an error at the end of the input, and must never
// return a message above its limit.
func FuzzWSReader(f *testing.F) {
	for _, seed := range [][]byte{
		clientFrame(true, opText, []byte("4hello"), false),
		append(clientFrame(false, opText, []byte("4a"), false), clientFrame(true, opContinuation, []byte("b"), false)...),
		clientFrame(true, opPing, []byte("x"), false),
		clientFrame(true, opBinary, make([]byte, 300), false),
		clientFrame(true, opText, []byte("4x"), true),
		{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1000
		rd := newWSReader(byteConn{r: bytes.NewReader(data)}, &bufPool{size: 256}, limit)
		for range len(data) + 1 {
			op, msg, err := rd.next(func([]byte) {})
			if err != nil {
				return
			}
			if len(msg) > limit || (op != opText && op != opBinary) {
				t.Fatalf("message of %d bytes, op %d", len(msg), op)
			}
		}
		t.Fatalf("more messages than input bytes from %q", data)
	})
}
