package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go/internal/workpool"
)

var (
	// ErrDisconnected is returned for acks still pending when a socket goes.
	ErrDisconnected = errors.New("socketio: socket has been disconnected")
	// ErrAckTimeout wraps the context error of an ack that did not come in time.
	ErrAckTimeout = errors.New("socketio: operation has timed out")
	// ErrNoAck is returned by [Event.Ack] when the client asked for no ack or
	// it was already sent.
	ErrNoAck = errors.New("socketio: no ack requested or already sent")
)

// EventHandler handles one event of a socket. Handlers of one socket run one
// at a time, in the order the events arrived, on a goroutine of their own (not
// the connection's reader), so a slow handler delays that socket's later
// events but not its heartbeat. Long work should move to another goroutine
// and answer through [Event.Ack] or an emit.
type EventHandler func(e *Event)

// Event is one received event.
type Event struct {
	// Socket is the socket the event came from.
	Socket *Socket
	// Name is the event name (a numeric name is given as its decimal text).
	Name string
	// Args are the event's arguments, without the name.
	Args  Args
	ackID int64
	acked atomic.Bool
	gen   uint64 // the socket's drainGen while this event's handler runs
}

// Detach lets the socket's later events be handled while this handler
// goes on, as if the handler had handed its work to another goroutine,
// without that goroutine switch. A handler that may take long (a request
// that must stay cancellable by a later event) calls it once it has done
// what must happen in order with the socket's other events. It must be
// called from the handler itself; later calls do nothing.
func (e *Event) Detach() { e.Socket.detach(e.gen) }

// WantsAck reports whether the client waits for an acknowledgement.
func (e *Event) WantsAck() bool { return e.ackID >= 0 }

// Ack answers the client's acknowledgement callback with args. It may be
// called once, from any goroutine.
func (e *Event) Ack(args ...any) error {
	if e.ackID < 0 || e.acked.Swap(true) {
		return ErrNoAck
	}
	_, err := e.Socket.sendArgs(PacketAck, e.ackID, "", args)
	return err
}

// ConnectError rejects a namespace connection from a [Middleware]; the client's
// connect_error handler receives an Error with this message and data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Handshake describes how a socket connected, with the fields Node's
// socket.handshake has.
type Handshake struct {
	Headers http.Header     `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   url.Values      `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

type task struct {
	event *Packet
	fn    func()
}

// Socket is one client's connection to one namespace.
type Socket struct {
	id     string
	nsp    *Namespace
	client *client
	auth   json.RawMessage

	mu         sync.Mutex // Protects following.
	connected  bool
	closed     bool
	ctx        context.Context
	cancel     context.CancelFunc
	handlers   map[string]EventHandler
	onDisc     []func(reason string)
	acks       map[int64]func(a Args, ok bool)
	data       any
	inbox      []task
	running    bool
	space      chan struct{}
	closeCause string
	holding    bool   // the conn is held for this socket's connect phase
	drainGen   uint64 // bumped by detach: the running drain stops after its task
	// drainTask runs s.drain, bound once rather than per burst.
	drainTask workpool.Task
}

func newSocket(nsp *Namespace, cl *client, auth json.RawMessage) *Socket {
	s := &Socket{id: newID(), nsp: nsp, client: cl, auth: auth}
	s.drainTask = func(context.Context) { s.drain() }
	return s
}

// ID is the socket's 20-character id, also the name of its own room.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// ConnID is the Engine.IO session id shared by the sockets of one connection.
func (s *Socket) ConnID() string { return s.client.conn.id }

// Transport reports "polling" or "websocket".
func (s *Socket) Transport() string { return s.client.conn.transportName() }

// Handshake returns what the client sent when connecting. Its Headers and
// Query maps are built on the connection's first call and shared by later
// ones: treat them as read-only. [Socket.Header] reads one header without
// building them, which keeps an idle connection small.
func (s *Socket) Handshake() Handshake {
	hs := s.client.conn.hs
	v := hs.expanded()
	return Handshake{
		Headers: v.headers,
		Time:    v.time,
		Address: hs.address,
		XDomain: hs.xdomain,
		Secure:  hs.secure,
		Issued:  hs.time.UnixMilli(),
		URL:     hs.url,
		Query:   v.query,
		Auth:    s.Auth(),
	}
}

// Request header and query helpers avoid copying the whole handshake.

// Header returns a request header of the handshake.
func (s *Socket) Header(name string) string { return s.client.conn.hs.header(name) }

// RemoteAddr is the client's IP address (without port).
func (s *Socket) RemoteAddr() string { return s.client.conn.hs.address }

// Auth is the raw auth payload of the namespace CONNECT ("{}" when none).
func (s *Socket) Auth() json.RawMessage {
	if s.auth == nil {
		return json.RawMessage("{}")
	}
	return s.auth
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// BufferedBytes reports how many encoded bytes of this socket's connection
// wait in the outbound queue, not yet taken by the transport (a websocket
// writer or a polling GET). It grows while the peer does not read and is 0
// once the queue was handed over; a batch being written is not counted.
// The queue is the connection's, so sockets of one client share the figure.
// Handlers use it to pace a stream before MaxQueuedBytes applies.
func (s *Socket) BufferedBytes() int {
	c := s.client.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outBytes
}

// Context is cancelled when the socket disconnects.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.closed {
			s.cancel()
		}
	}
	return s.ctx
}

// SetData attaches application data to the socket; adapters ship it to other
// servers in fetch-sockets replies, so it should marshal to JSON.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns what [Socket.SetData] stored.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// On registers a handler for event on this socket only, replacing any
// previous one for that event. Namespace handlers ([Namespace.On]) cost no
// memory per socket and are preferable for handlers every socket shares.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string]EventHandler)
	}
	s.handlers[event] = h
	s.mu.Unlock()
}

// OnDisconnect registers fn to run once the socket disconnected, with Node's
// reason string. It runs after the namespace's disconnect handlers.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisc = append(s.onDisc, fn)
	s.mu.Unlock()
}

// Emit sends an event to this socket. []byte values (also inside maps and
// slices) travel as binary attachments.
func (s *Socket) Emit(event string, args ...any) error {
	sent, err := s.sendArgs(PacketEvent, -1, event, args)
	if err != nil {
		return err
	}
	if !sent {
		return ErrDisconnected
	}
	return nil
}

// EmitRaw sends event with one argument, payload, that is JSON already and
// goes on the wire as it is: nothing checks it, so it must be valid JSON.
// Neither slice is kept once EmitRaw returns. Replies built from encoded
// envelopes use it: it needs no encoder, and unlike Emit it boxes nothing
// and takes the name as bytes, which the caller can build on its stack.
func (s *Socket) EmitRaw(event []byte, payload json.RawMessage) error {
	if len(payload) == 0 || !plainString(event) {
		return s.Emit(string(event), payload)
	}
	p := Packet{Type: PacketEvent, Nsp: s.nsp.name, ID: -1}
	if !s.client.conn.send(&wireMsg{text: rawArgsText(&p, event, payload)}) {
		return ErrDisconnected
	}
	return nil
}

// EmitWithAck sends an event and waits for the client's acknowledgement, until
// ctx ends ([ErrAckTimeout]) or the socket disconnects ([ErrDisconnected]).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	data, att, err := s.nsp.srv.encoders.encodeArray(event, args)
	if err != nil {
		return Args{}, err
	}
	type reply struct {
		a  Args
		ok bool
	}
	ch := make(chan reply, 1)
	id := s.nsp.nextAckID()
	if !s.addAck(id, func(a Args, ok bool) { ch <- reply{a, ok} }) {
		return Args{}, ErrDisconnected
	}
	// A connection handler waiting for an ack needs its packets on the
	// wire: the connect phase ends here for the client.
	s.endHold()
	s.client.sendPacket(&Packet{Type: PacketEvent, Nsp: s.nsp.name, ID: id, Data: data, Attachments: att})
	select {
	case r := <-ch:
		if !r.ok {
			return Args{}, ErrDisconnected
		}
		return r.a, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
		return Args{}, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
}

// addAck registers fn for ack id; it reports false once the socket is closed.
func (s *Socket) addAck(id int64, fn func(a Args, ok bool)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[int64]func(Args, bool))
	}
	s.acks[id] = fn
	return true
}

func (s *Socket) onAck(p *Packet) {
	s.mu.Lock()
	fn := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if fn == nil {
		return // unknown or late ack: ignored, as Node does
	}
	elems, err := splitArray(p.Data)
	if err != nil {
		return
	}
	fn(Args{raw: elems, attachments: p.Attachments}, true)
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) { s.nsp.adapter.AddAll(s.id, rooms...) }

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Rooms lists the socket's rooms, its own id room included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// To broadcasts to rooms, skipping this socket.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.nsp.newOperator().Except(s.id).To(rooms...)
}

// Broadcast targets every socket of the namespace but this one.
func (s *Socket) Broadcast() *BroadcastOperator { return s.nsp.newOperator().Except(s.id) }

// Disconnect leaves the namespace (the client sees "io server disconnect" and
// does not reconnect by itself). With closeConn the whole connection closes.
func (s *Socket) Disconnect(closeConn bool) {
	if closeConn {
		s.client.mu.Lock()
		socks := append([]*Socket(nil), s.client.sockets...)
		s.client.mu.Unlock()
		for _, x := range socks {
			x.Disconnect(false)
		}
		s.client.conn.closeGracefully("forced server close")
		return
	}
	s.mu.Lock()
	connected := s.connected
	s.mu.Unlock()
	if !connected {
		return
	}
	// Closed before the packet goes out, as Node does both at once: a client
	// that closes its transport on reading it must not change the reason.
	s.onClose("server namespace disconnect")
	s.client.sendPacket(&Packet{Type: PacketDisconnect, Nsp: s.nsp.name, ID: -1})
}

// queueEvent hands an event to the socket's handler goroutine, waiting while
// too many are pending (that is how a flooding client is slowed down).
func (s *Socket) queueEvent(p *Packet) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		if len(s.inbox) < s.nsp.srv.opts.MaxPendingEvents {
			break
		}
		if s.space == nil {
			s.space = make(chan struct{})
		}
		space := s.space
		s.mu.Unlock()
		<-space
	}
	s.pushLocked(task{event: p})
	s.mu.Unlock()
}

// queueTask runs fn on the socket's handler goroutine after what is queued.
func (s *Socket) queueTask(fn func()) {
	s.mu.Lock()
	s.pushLocked(task{fn: fn})
	s.mu.Unlock()
}

// keptInbox is the largest inbox capacity an idle socket keeps for its
// next burst of events; a larger one, left by a burst, is released.
const keptInbox = 4

func (s *Socket) pushLocked(t task) {
	s.inbox = append(s.inbox, t)
	if !s.running {
		s.running = true
		if !s.nsp.srv.routines.Run(s.drainTask) {
			s.running = false
			s.inbox = nil
		}
	}
}

// drain runs queued tasks one at a time and exits when none are left, so an
// idle socket has no goroutine, or when its handler detached.
func (s *Socket) drain() {
	s.mu.Lock()
	gen := s.drainGen
	for {
		if s.drainGen != gen {
			// A handler detached: another drain owns the queue now.
			s.mu.Unlock()
			return
		}
		if len(s.inbox) == 0 {
			s.running = false
			if cap(s.inbox) > keptInbox {
				s.inbox = nil
			}
			s.mu.Unlock()
			return
		}
		t := s.inbox[0]
		s.inbox[0] = task{}
		if len(s.inbox) == 1 {
			// Back to the array's start: the next burst reuses it instead
			// of allocating (one event per burst is the common case).
			s.inbox = s.inbox[:0]
		} else {
			s.inbox = s.inbox[1:]
		}
		if s.space != nil {
			close(s.space)
			s.space = nil
		}
		s.mu.Unlock()
		s.run(t, gen)
		s.mu.Lock()
	}
}

// detach makes the drain of generation gen stop after its current task;
// what is queued, and what comes later, goes to a new drain.
func (s *Socket) detach(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running || s.drainGen != gen {
		return
	}
	s.drainGen++
	s.running = false
	if len(s.inbox) > 0 {
		s.running = true
		if !s.nsp.srv.routines.Run(s.drainTask) {
			s.running = false
			s.inbox = nil
		}
	}
}

func (s *Socket) run(t task, gen uint64) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.opts.Logger.Error("socketio: handler panic; disconnecting the client",
				"sid", s.id, "nsp", s.nsp.name, "panic", r, "stack", string(debug.Stack()))
			s.Disconnect(true)
		}
	}()
	if t.fn != nil {
		t.fn()
		return
	}
	s.handleEvent(t.event, gen)
}

func (s *Socket) handleEvent(p *Packet, gen uint64) {
	name, args := p.event, p.args
	if args == nil {
		// Not from decodePacket: split it here.
		elems, n, ok := eventPayload(p.Data, nil)
		if !ok {
			return
		}
		name, args = n, elems[1:]
	}
	s.mu.Lock()
	h := s.handlers[name]
	s.mu.Unlock()
	if h == nil {
		h = s.nsp.handler(name)
	}
	if h == nil {
		return
	}
	h(&Event{Socket: s, Name: name, Args: Args{raw: args, attachments: p.Attachments}, ackID: p.ID, gen: gen})
}

// runConnect runs the namespace middlewares, then connects the socket and
// runs the connection handlers, all before any event of the socket.
func (s *Socket) runConnect() {
	for _, mw := range s.nsp.middlewares.Load().list {
		if err := mw(s); err != nil {
			s.reject(err)
			return
		}
		if s.isClosed() {
			return
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.connected = true
	s.holding = true
	s.mu.Unlock()
	// The client sees CONNECT only once the handlers are done (see
	// conn.hold); what they send follows it on the wire, as in Node.
	s.client.conn.hold()
	defer s.endHold()
	s.client.joined()
	s.nsp.add(s)
	data, _ := json.Marshal(struct {
		SID string `json:"sid"`
	}{s.id})
	s.client.sendPacket(&Packet{Type: PacketConnect, Nsp: s.nsp.name, ID: -1, Data: data})
	for _, h := range s.nsp.onConnection.Load().list {
		h(s)
	}
}

// endHold releases the conn held by runConnect, once.
func (s *Socket) endHold() {
	s.mu.Lock()
	h := s.holding
	s.holding = false
	s.mu.Unlock()
	if h {
		s.client.conn.release()
	}
}

func (s *Socket) reject(err error) {
	payload := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) {
		payload.Message, payload.Data = ce.Message, ce.Data
	}
	data, merr := json.Marshal(payload)
	if merr != nil {
		data = []byte(`{"message":"connection rejected"}`)
	}
	// Gone before the client can read the refusal: a CONNECT it sends in
	// answer must find no half-rejected socket, or it would be taken for
	// a duplicate and dropped.
	s.mu.Lock()
	s.closed = true
	s.inbox = nil
	s.mu.Unlock()
	s.client.remove(s)
	s.client.sendPacket(&Packet{Type: PacketConnectError, Nsp: s.nsp.name, ID: -1, Data: data})
}

func (s *Socket) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// onClose ends the socket once: pending acks fail, the context is cancelled,
// broadcasts stop reaching it, then (on the handler goroutine, after the event
// being handled) the disconnect handlers run and it leaves its rooms.
func (s *Socket) onClose(reason string) { s.closeSocket(reason, false) }

// onClientDisconnect handles the client's DISCONNECT at once, as Node does,
// so that a transport close right behind it (the client's last namespace)
// does not change the reason and a handler blocked on an ack is released;
// unlike other closes, the events the client sent before it still run,
// before the disconnect handlers.
func (s *Socket) onClientDisconnect() { s.closeSocket("client namespace disconnect", true) }

func (s *Socket) closeSocket(reason string, keepQueued bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.closeCause = reason
	wasConnected := s.connected
	s.connected = false
	acks := s.acks
	s.acks = nil
	if s.cancel != nil {
		s.cancel()
	}
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
	if !keepQueued || !wasConnected {
		// Events not yet handled are dropped: their sender is gone.
		clear(s.inbox)
		s.inbox = s.inbox[:0]
	}
	s.mu.Unlock()
	for _, fn := range acks {
		fn(Args{}, false)
	}
	s.client.remove(s)
	if !wasConnected {
		return
	}
	s.nsp.remove(s)
	s.mu.Lock()
	s.pushLocked(task{fn: func() { s.finishClose(reason) }})
	s.mu.Unlock()
}

func (s *Socket) finishClose(reason string) {
	defer s.nsp.adapter.DelAll(s.id)
	for _, h := range s.nsp.onDisconnect.Load().list {
		h(s, reason)
	}
	s.mu.Lock()
	fns := s.onDisc
	s.onDisc = nil
	s.mu.Unlock()
	for _, fn := range fns {
		fn(reason)
	}
}
