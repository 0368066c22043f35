package redisadapter

// This file maps between the protocol server's types and the wire shapes of
// the codec. Handshakes are converted to Node's shape on the way out and back
// on the way in, so a Node peer's fetchSockets sees the headers and query it
// would get from a Node server (lower-case name → string), and a Go caller
// gets http.Header and url.Values whichever server holds the socket.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/luckystack/luckystack-go/socketio"
)

// wirePacket converts an outgoing packet. The ack id is only sent when set.
func wirePacket(p *socketio.Packet) packet {
	w := packet{Type: byte(p.Type), Nsp: p.Nsp, Data: p.Data, Attachments: p.Attachments}
	if p.ID >= 0 {
		id := p.ID
		w.ID = &id
	}
	return w
}

// localPacket converts a received packet for delivery to local clients. Only
// events whose data is an array are relayed: that is all Node broadcasts, and
// anything else from a foreign publisher would make clients drop their
// connection. A received ack id is not relayed (acks of a broadcast are
// requested through BROADCAST requests, which assign local ids).
func localPacket(w *packet) (*socketio.Packet, bool) {
	if (w.Type != packetEvent && w.Type != packetBinaryEvent) || len(w.Data) == 0 || w.Data[0] != '[' {
		return nil, false
	}
	return &socketio.Packet{Type: socketio.PacketEvent, Nsp: w.Nsp, ID: -1, Data: w.Data, Attachments: w.Attachments}, true
}

// wireOptions converts broadcast targets; the caller sets the ack timeout
// flag where one travels.
func wireOptions(o socketio.BroadcastOptions) broadcastOptions {
	return broadcastOptions{Rooms: o.Rooms, Except: o.Except, Flags: broadcastFlags{Volatile: o.Flags.Volatile}}
}

// localOptions converts received targets (nil selects every socket).
func localOptions(o *broadcastOptions) socketio.BroadcastOptions {
	if o == nil {
		return socketio.BroadcastOptions{}
	}
	return socketio.BroadcastOptions{Rooms: o.Rooms, Except: o.Except, Flags: socketio.BroadcastFlags{Volatile: o.Flags.Volatile}}
}

// toFetched describes a local socket the way Node's fetchSockets response
// does.
func toFetched(rs *socketio.RemoteSocket) fetchedSocket {
	h := &rs.Handshake
	return fetchedSocket{
		ID: rs.ID,
		Handshake: handshake{
			Headers: nodeHeaders(h.Headers),
			Time:    h.Time,
			Address: h.Address,
			XDomain: h.XDomain,
			Secure:  h.Secure,
			Issued:  h.Issued,
			URL:     h.URL,
			Query:   nodeQuery(h.Query),
			Auth:    h.Auth,
		},
		Rooms: rs.Rooms,
		Data:  rs.Data,
	}
}

// fromFetched turns a socket described by another server into a
// RemoteSocket bound to nsp.
func fromFetched(nsp *socketio.Namespace, f *fetchedSocket) *socketio.RemoteSocket {
	h := &f.Handshake
	return socketio.NewRemoteSocket(nsp, socketio.RemoteSocket{
		ID: f.ID,
		Handshake: socketio.Handshake{
			Headers: http.Header(stringLists(h.Headers, http.CanonicalHeaderKey)),
			Time:    h.Time,
			Address: h.Address,
			XDomain: h.XDomain,
			Secure:  h.Secure,
			Issued:  h.Issued,
			URL:     h.URL,
			Query:   url.Values(stringLists(h.Query, nil)),
			Auth:    h.Auth,
		},
		Rooms: f.Rooms,
		Data:  f.Data,
	})
}

// nodeHeaders writes headers as Node's IncomingHttpHeaders: lower-case names,
// repeated values joined with ", ", except set-cookie, which stays an array.
func nodeHeaders(h http.Header) json.RawMessage {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]any, len(h))
	for k, vs := range h {
		k = strings.ToLower(k)
		if k == "set-cookie" {
			m[k] = vs
		} else {
			m[k] = strings.Join(vs, ", ")
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// nodeQuery writes a query as Node's parsed querystring: a string per
// parameter, an array for repeated ones.
func nodeQuery(q url.Values) json.RawMessage {
	if len(q) == 0 {
		return nil
	}
	m := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// stringLists reads a JSON object whose values are strings or string arrays
// (Node's headers and query) into lists, with keys passed through canon when
// given. Values of other types are skipped.
func stringLists(raw json.RawMessage, canon func(string) string) map[string][]string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		if canon != nil {
			k = canon(k)
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = append(out[k], s)
			continue
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			out[k] = append(out[k], list...)
		}
	}
	return out
}
