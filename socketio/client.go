package socketio

import (
	"encoding/json"
	"sync"
	"time"
)

// client is the Socket.IO side of one Engine.IO connection: it decodes
// packets, reassembles binary ones, and routes them to the connection's
// sockets (one per namespace).
type client struct {
	srv  *Server
	conn *conn

	// decodeMu serialises decoding: a conforming client uses one transport
	// at a time, but a hostile one can race a polling POST against the
	// websocket reader during an upgrade.
	decodeMu    sync.Mutex
	pending     *Packet
	pendingWant int
	lastEvent   string // the last event's name, for decodePacketNamed

	mu        sync.Mutex // Protects following.
	sockets   []*Socket
	connectTO *time.Timer
	closed    bool
}

func newClient(s *Server, c *conn) *client { return &client{srv: s, conn: c} }

func (cl *client) start() {
	cl.mu.Lock()
	cl.connectTO = time.AfterFunc(cl.srv.opts.ConnectTimeout, func() {
		cl.mu.Lock()
		idle := cl.connectTO != nil // joined sets it to nil
		cl.mu.Unlock()
		if idle {
			cl.conn.finish("forced close")
		}
	})
	cl.mu.Unlock()
}

// joined stops the connect timeout: as in Node, only a socket that passed
// the middlewares counts, not a CONNECT that was rejected.
func (cl *client) joined() {
	cl.mu.Lock()
	if cl.connectTO != nil {
		cl.connectTO.Stop()
		cl.connectTO = nil
	}
	cl.mu.Unlock()
}

// onData handles one Engine.IO message.
func (cl *client) onData(data []byte, binary bool) {
	cl.decodeMu.Lock()
	defer cl.decodeMu.Unlock()
	if binary {
		if cl.pending == nil {
			cl.fail()
			return
		}
		cl.pending.Attachments = append(cl.pending.Attachments, data)
		if len(cl.pending.Attachments) < cl.pendingWant {
			return
		}
		p := cl.pending
		cl.pending = nil
		if err := checkPlaceholders(p.Data, len(p.Attachments)); err != nil {
			cl.fail()
			return
		}
		cl.dispatch(p)
		return
	}
	if cl.pending != nil {
		cl.fail() // text while reassembling binary
		return
	}
	// The packet keeps referring to data: each message has its own buffer.
	p, n, err := decodePacketNamed(data, &cl.lastEvent)
	if err != nil {
		cl.fail()
		return
	}
	if n > 0 {
		p.Attachments = make([][]byte, 0, n)
		cl.pending, cl.pendingWant = &p, n
		return
	}
	cl.dispatch(&p)
}

// fail closes the connection after a malformed Socket.IO packet, as
// socket.io's Client.onerror does.
func (cl *client) fail() {
	cl.srv.opts.Logger.Debug("socketio: invalid packet, closing", "sid", cl.conn.id)
	cl.conn.finish("forced close")
}

func (cl *client) socketFor(nsp string) *Socket {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, s := range cl.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (cl *client) dispatch(p *Packet) {
	s := cl.socketFor(p.Nsp)
	if p.Type == PacketConnect {
		if s != nil && !s.Connected() && !s.isClosed() {
			// Repeated before the first was answered (some clients send
			// it twice). Node would add a second socket; one is enough.
			return
		}
		if s != nil {
			cl.conn.finish("forced server close")
			return
		}
		cl.connect(p)
		return
	}
	if s == nil || p.Type == PacketConnectError {
		cl.conn.finish("forced server close")
		return
	}
	switch p.Type {
	case PacketEvent, PacketBinaryEvent:
		s.queueEvent(p)
	case PacketAck, PacketBinaryAck:
		s.onAck(p)
	case PacketDisconnect:
		s.onClientDisconnect()
	}
}

func (cl *client) connect(p *Packet) {
	nsp := cl.srv.namespace(p.Nsp)
	if nsp == nil {
		cl.sendPacket(&Packet{Type: PacketConnectError, Nsp: p.Nsp, ID: -1, Data: json.RawMessage(`{"message":"Invalid namespace"}`)})
		return
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return
	}
	s := newSocket(nsp, cl, p.Data)
	cl.sockets = append(cl.sockets, s)
	cl.mu.Unlock()
	s.queueTask(s.runConnect)
}

func (cl *client) remove(s *Socket) {
	cl.mu.Lock()
	for i, x := range cl.sockets {
		if x == s {
			cl.sockets = append(cl.sockets[:i], cl.sockets[i+1:]...)
			break
		}
	}
	cl.mu.Unlock()
}

// onClose ends every socket of the connection with the connection's reason.
func (cl *client) onClose(reason string) {
	cl.mu.Lock()
	cl.closed = true
	if cl.connectTO != nil {
		cl.connectTO.Stop()
	}
	socks := cl.sockets
	cl.sockets = nil
	cl.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
}

// sendPacket encodes p for this connection alone.
func (cl *client) sendPacket(p *Packet) bool {
	if len(p.Attachments) == 0 {
		// One message: no slice of them to allocate.
		return cl.conn.send(&wireMsg{text: packetText(p)})
	}
	return cl.conn.send(encodeWire(p)...)
}

// packetText is the Engine.IO message text of p's text part.
func packetText(p *Packet) []byte {
	text := make([]byte, 0, 16+len(p.Data)+len(p.Nsp))
	return appendPacket(append(text, eioMessage), p)
}

// encodeWire turns a packet into Engine.IO messages: the text part, then one
// binary message per attachment.
func encodeWire(p *Packet) []*wireMsg {
	msgs := make([]*wireMsg, 0, 1+len(p.Attachments))
	msgs = append(msgs, &wireMsg{text: packetText(p)})
	for _, a := range p.Attachments {
		msgs = append(msgs, newBinaryMsg(a))
	}
	return msgs
}
