package redisadapter

// This file is what one namespace receives, on the subscriber goroutine:
// broadcasts from other servers, their requests (answered as Node's
// RedisAdapter.onrequest does) and the responses to this server's requests.

import (
	"encoding/json"

	"github.com/luckystack/luckystack-go/socketio"
)

// pendingRequest is a request of this server waiting for answers.
type pendingRequest struct {
	op       string // for errors: "fetchSockets", "allRooms", "serverSideEmit"
	typ      requestType
	expected int
	answered int
	done     chan struct{} // closed once complete or on Close (then err is set)
	err      error

	sockets []*socketio.RemoteSocket // REMOTE_FETCH
	rooms   map[string]struct{}      // ALL_ROOMS
	replies []socketio.Args          // SERVER_SIDE_EMIT
}

func newPending(op string, typ requestType, expected, answered int) *pendingRequest {
	return &pendingRequest{op: op, typ: typ, expected: expected, answered: answered, done: make(chan struct{})}
}

// ackRequest routes the responses to a broadcast with acks of this server.
type ackRequest struct {
	onCount func(int)
	onAck   func(socketio.Args)
}

// ownBroadcast reports whether payload was published by uid, reading only
// the msgpack prefix [uid, ...] (array header, fixstr header, six bytes), so
// that this server's own broadcasts, which come back through the pattern
// subscription, cost no copy and no decode.
func ownBroadcast(payload, uid string) bool {
	return len(uid) < 32 && len(payload) >= 2+len(uid) && payload[0] == 0x93 &&
		payload[1] == 0xa0|byte(len(uid)) && payload[2:2+len(uid)] == uid
}

// onBroadcast handles a message of the broadcast pattern. The channel name
// alone decides whether a room message concerns this server, before any
// decoding.
func (n *NamespaceAdapter) onBroadcast(channel, payload string) {
	room, ok := n.ch.parseBroadcast(channel)
	if !ok {
		return
	}
	if room != "" && !n.HasRoom(room) {
		n.a.stats.droppedUnknownRoom.Add(1)
		return
	}
	if ownBroadcast(payload, n.uid) {
		return
	}
	msg, err := decodeBroadcast([]byte(payload))
	if err != nil {
		n.a.malformed("broadcast", channel, err)
		return
	}
	if msg.UID == n.uid || msg.Packet.Nsp != n.nsp.Name() {
		return
	}
	p, ok := localPacket(&msg.Packet)
	if !ok {
		return
	}
	n.BroadcastLocal(p, localOptions(&msg.Opts))
}

// onRequest answers another server's request.
func (n *NamespaceAdapter) onRequest(payload string) {
	q, err := decodeRequest([]byte(payload))
	if err != nil {
		n.a.malformed("request", n.ch.request, err)
		return
	}
	if q.UID == n.uid {
		return
	}
	switch q.Type {
	case requestSockets:
		socks := n.Select(socketio.BroadcastOptions{Rooms: q.Rooms})
		ids := make([]string, len(socks))
		for i, s := range socks {
			ids[i] = s.ID()
		}
		n.respond(&q, encodeSocketsResponse(q.RequestID, ids))
	case requestAllRooms:
		n.respond(&q, encodeAllRoomsResponse(q.RequestID, n.LocalRooms()))
	case requestRemoteJoin, requestRemoteLeave, requestRemoteDisconnect:
		n.onRemoteMembership(&q)
	case requestRemoteFetch:
		local := n.FetchLocal(localOptions(q.Opts))
		socks := make([]fetchedSocket, len(local))
		for i, rs := range local {
			socks[i] = toFetched(rs)
		}
		b, err := encodeFetchResponse(q.RequestID, socks)
		if err != nil {
			n.a.report("redisadapter: fetchSockets response", err)
			return
		}
		n.respond(&q, b)
	case requestServerSideEmit:
		var reply func(json.RawMessage, [][]byte)
		if q.RequestID != "" {
			reply = func(data json.RawMessage, _ [][]byte) {
				// Node relays the first ack argument only, as JSON: binary
				// cannot travel in this response.
				b, err := encodeServerSideEmitResponse(q.RequestID, firstArg(data))
				if err != nil {
					n.a.report("redisadapter: serverSideEmit response", err)
					return
				}
				n.respond(&q, b)
			}
		}
		n.nsp.HandleServerSideEmit(q.Data, nil, reply)
	case requestBroadcast:
		p, ok := localPacket(&q.Packet)
		if !ok {
			return
		}
		count := n.BroadcastWithAckLocal(p, localOptions(q.Opts), func(a socketio.Args) {
			b, err := encodeBroadcastAckResponse(q.RequestID, a.Raw(0), a.Attachments())
			if err != nil {
				n.a.report("redisadapter: broadcast ack response", err)
				return
			}
			n.respond(&q, b)
		})
		n.respond(&q, encodeClientCountResponse(q.RequestID, int64(count)))
	}
}

// onRemoteMembership handles socketsJoin / socketsLeave / disconnectSockets
// (with opts) and their legacy single-socket forms (with sid, answered).
func (n *NamespaceAdapter) onRemoteMembership(q *request) {
	if q.Opts != nil {
		opts := localOptions(q.Opts)
		switch q.Type {
		case requestRemoteJoin:
			n.AddSocketsLocal(opts, q.Rooms)
		case requestRemoteLeave:
			n.DelSocketsLocal(opts, q.Rooms)
		default:
			n.DisconnectSocketsLocal(opts, q.Close)
		}
		return
	}
	s, ok := n.nsp.Socket(q.SID)
	if !ok {
		return // another server holds it and answers
	}
	switch q.Type {
	case requestRemoteJoin:
		s.Join(q.Room)
	case requestRemoteLeave:
		s.Leave(q.Room)
	default:
		s.Disconnect(q.Close)
	}
	n.respond(q, encodeRemoteResponse(q.RequestID))
}

// respond publishes a response where the requester listens.
func (n *NamespaceAdapter) respond(q *request, b []byte) {
	channel := n.ch.response
	if n.a.opts.PublishOnSpecificResponseChannel {
		channel = n.ch.responseTo(q.UID)
	}
	if err := n.publish(channel, b); err != nil {
		n.a.report("redisadapter: response to "+q.Type.String(), err)
	}
}

// onResponse feeds a response to the pending request it answers.
func (n *NamespaceAdapter) onResponse(payload string) {
	r, err := decodeResponse([]byte(payload))
	if err != nil {
		n.a.malformed("response", n.ch.response, err)
		return
	}
	n.mu.Lock()
	if ar := n.acks[r.RequestID]; ar != nil {
		n.mu.Unlock()
		switch r.Type {
		case requestBroadcastClientCount:
			ar.onCount(int(r.ClientCount))
		case requestBroadcastAck:
			ar.onAck(argsOf(r.Packet, r.Attachments))
		}
		return
	}
	defer n.mu.Unlock()
	pr := n.requests[r.RequestID]
	if pr == nil {
		return // someone else's, or too late
	}
	switch pr.typ {
	case requestRemoteFetch:
		socks, err := r.fetchedSockets()
		if err != nil {
			n.a.malformed("fetchSockets response", n.ch.response, err)
			return
		}
		for _, f := range socks {
			pr.sockets = append(pr.sockets, fromFetched(n.nsp, &f))
		}
	case requestAllRooms:
		for _, room := range r.Rooms {
			pr.rooms[room] = struct{}{}
		}
	case requestServerSideEmit:
		pr.replies = append(pr.replies, argsOf(r.Data, nil))
	}
	pr.answered++
	if pr.answered >= pr.expected {
		delete(n.requests, r.RequestID)
		close(pr.done)
	}
}

// argsOf wraps one relayed argument (nil when it was undefined).
func argsOf(arg json.RawMessage, atts [][]byte) socketio.Args {
	if arg == nil {
		return socketio.NewArgs(nil, nil)
	}
	return socketio.NewArgs([]json.RawMessage{arg}, atts)
}

// firstArg returns the first element of a JSON array, nil when there is
// none.
func firstArg(data json.RawMessage) json.RawMessage {
	var elems []json.RawMessage
	if json.Unmarshal(data, &elems) != nil || len(elems) == 0 {
		return nil
	}
	return elems[0]
}

// malformed counts and reports a message that does not decode. It logs at
// debug level only: anyone who can publish can send garbage, and the log must
// not become their amplifier.
func (a *Adapter) malformed(kind, channel string, err error) {
	a.stats.malformed.Add(1)
	a.log.Debug("redisadapter: dropped malformed "+kind, "channel", channel, "err", err)
	if a.opts.OnError != nil {
		a.opts.OnError(err)
	}
}
