package socketio

import "encoding/json"

// rawArgsText is the wire text of packet p whose data is the array of
// head (when not empty; a plain string) and raw, one argument that is JSON
// already.
func rawArgsText[T ~string | ~[]byte](p *Packet, head T, raw json.RawMessage) []byte {
	text := make([]byte, 0, 24+len(p.Nsp)+len(head)+len(raw))
	text = appendPacketHead(append(text, eioMessage), p)
	text = append(text, '[')
	if len(head) > 0 {
		text = append(text, '"')
		text = append(text, head...)
		text = append(text, '"', ',')
	}
	return append(append(text, raw...), ']')
}

// sendArgs sends one socket a packet of type t whose payload is the array
// of head (an event name; none for an ack) and args. It encodes straight
// into the packet's wire text: an emit or ack is the hottest send there
// is, and encoding into a Data of its own first would copy the payload
// once more for nothing.
func (s *Socket) sendArgs(t PacketType, id int64, head string, args []any) (bool, error) {
	p := Packet{Type: t, Nsp: s.nsp.name, ID: id}
	if len(args) == 1 {
		// A reply that is already JSON (an api or sync envelope, a relayed
		// payload) with a plain name needs no encoder at all.
		if raw, ok := args[0].(json.RawMessage); ok && len(raw) > 0 && plainString(head) {
			return s.client.conn.send(&wireMsg{text: rawArgsText(&p, head, raw)}), nil
		}
	}
	e := s.nsp.srv.encoders.get()
	defer s.nsp.srv.encoders.put(e)
	att, err := encodeArrayInto(e, head, args)
	if err != nil {
		return false, err
	}
	// sendPacket copies Data into the wire text before the buffer goes
	// back to the pool.
	p.Data, p.Attachments = e.buf.Bytes(), att
	return s.client.sendPacket(&p), nil
}
