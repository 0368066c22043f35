package socketio

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"sync/atomic"
)

// Middleware runs before a socket joins a namespace, on the socket's handler
// goroutine, in registration order. A non-nil error rejects the connection:
// the client's connect_error sees its message (and a [ConnectError]'s Data).
type Middleware func(s *Socket) error

// ServerSideHandler handles an event another server of the cluster sent with
// [Namespace.ServerSideEmit]; ack is nil when the sender waits for no reply.
type ServerSideHandler func(args Args, ack func(args ...any))

// cow is an immutable list behind an atomic pointer: readers on hot paths
// take no lock, writers copy (go-redis hooks do the same).
type cow[T any] struct{ list []T }

func cowAppend[T any](mu *sync.Mutex, p *atomic.Pointer[cow[T]], v T) {
	mu.Lock()
	defer mu.Unlock()
	old := p.Load().list
	next := make([]T, len(old), len(old)+1)
	copy(next, old)
	p.Store(&cow[T]{list: append(next, v)})
}

// cowPut sets key in a copy-on-write map, the map counterpart of cowAppend.
func cowPut[V any](mu *sync.Mutex, p *atomic.Pointer[map[string]V], key string, v V) {
	mu.Lock()
	defer mu.Unlock()
	next := maps.Clone(*p.Load())
	next[key] = v
	p.Store(&next)
}

// Namespace is a Socket.IO namespace: its sockets, handlers and adapter.
type Namespace struct {
	name    string
	srv     *Server
	adapter Adapter
	ackIDs  atomic.Int64

	regMu        sync.Mutex // serialises registrations below
	middlewares  atomic.Pointer[cow[Middleware]]
	onConnection atomic.Pointer[cow[func(*Socket)]]
	onDisconnect atomic.Pointer[cow[func(*Socket, string)]]
	handlers     atomic.Pointer[map[string]EventHandler]
	serverSide   atomic.Pointer[map[string]ServerSideHandler]

	mu      sync.RWMutex // Protects following.
	sockets map[string]*Socket
}

func newNamespace(s *Server, name string) *Namespace {
	n := &Namespace{name: name, srv: s, sockets: make(map[string]*Socket)}
	n.middlewares.Store(&cow[Middleware]{})
	n.onConnection.Store(&cow[func(*Socket)]{})
	n.onDisconnect.Store(&cow[func(*Socket, string)]{})
	n.handlers.Store(&map[string]EventHandler{})
	n.serverSide.Store(&map[string]ServerSideHandler{})
	n.adapter = s.opts.Adapter(n)
	return n
}

// Name returns the namespace name, e.g. "/".
func (n *Namespace) Name() string { return n.name }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use appends a connect middleware. Safe while serving.
func (n *Namespace) Use(mw Middleware) { cowAppend(&n.regMu, &n.middlewares, mw) }

// OnConnection appends a handler run for each new socket, after the
// middlewares and before the socket's first event. The client receives
// CONNECT only after every handler returned (or one called
// [Socket.EmitWithAck]), so what a handler sets up, such as rooms, is in
// place before the client can act; what a handler emits follows CONNECT.
// Safe while serving.
func (n *Namespace) OnConnection(fn func(s *Socket)) { cowAppend(&n.regMu, &n.onConnection, fn) }

// OnDisconnect appends a handler run when a socket disconnects, with Node's
// reason string, while the socket is still in its rooms. Safe while serving.
func (n *Namespace) OnDisconnect(fn func(s *Socket, reason string)) {
	cowAppend(&n.regMu, &n.onDisconnect, fn)
}

// On registers h for event on every socket of the namespace, replacing any
// previous handler of that event. Safe while serving.
func (n *Namespace) On(event string, h EventHandler) { cowPut(&n.regMu, &n.handlers, event, h) }

func (n *Namespace) handler(event string) EventHandler { return (*n.handlers.Load())[event] }

// OnServerSideEmit registers h for events sent by other servers with
// [Namespace.ServerSideEmit], replacing any previous one.
func (n *Namespace) OnServerSideEmit(event string, h ServerSideHandler) {
	cowPut(&n.regMu, &n.serverSide, event, h)
}

// HandleServerSideEmit delivers a server-side event that an adapter received
// from another server. data is the JSON array [event, ...args]; reply, when
// non-nil, receives the JSON array of the handler's ack arguments. It reports
// whether a handler exists (Node's servers do not answer without one).
func (n *Namespace) HandleServerSideEmit(data json.RawMessage, attachments [][]byte, reply func(data json.RawMessage, attachments [][]byte)) bool {
	elems, err := splitArray(data)
	if err != nil || len(elems) == 0 {
		return false
	}
	var event string
	if json.Unmarshal(elems[0], &event) != nil {
		return false
	}
	h := (*n.serverSide.Load())[event]
	if h == nil {
		return false
	}
	var ack func(args ...any)
	if reply != nil {
		var once sync.Once
		ack = func(args ...any) {
			once.Do(func() {
				d, att, err := n.srv.encoders.encodeArray("", args)
				if err == nil {
					reply(d, att)
				}
			})
		}
	}
	h(Args{raw: elems[1:], attachments: attachments}, ack)
	return true
}

// ServerSideEmit sends an event to the other servers of the cluster.
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	data, att, err := n.srv.encoders.encodeArray(event, args)
	if err != nil {
		return err
	}
	_, err = n.adapter.ServerSideEmit(ctx, &Packet{Type: PacketEvent, Nsp: n.name, ID: -1, Data: data, Attachments: att}, false)
	return err
}

// ServerSideEmitWithAck sends an event to the other servers and collects one
// reply per server until all answered or ctx ends (then the replies so far
// come with an error saying how many answered).
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	data, att, err := n.srv.encoders.encodeArray(event, args)
	if err != nil {
		return nil, err
	}
	return n.adapter.ServerSideEmit(ctx, &Packet{Type: PacketEvent, Nsp: n.name, ID: -1, Data: data, Attachments: att}, true)
}

func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

// Socket returns a socket of this server by id.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	s, ok := n.sockets[id]
	return s, ok
}

// SocketCount reports the number of sockets connected to this server.
func (n *Namespace) SocketCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

func (n *Namespace) localSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

func (n *Namespace) add(s *Socket) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
}

func (n *Namespace) newOperator() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// To starts a broadcast to rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.newOperator().To(rooms...) }

// In is an alias of [Namespace.To].
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.To(rooms...) }

// Except starts a broadcast skipping rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return n.newOperator().Except(rooms...)
}

// Local starts a broadcast that does not leave this server.
func (n *Namespace) Local() *BroadcastOperator { return n.newOperator().Local() }

// Emit broadcasts to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return n.newOperator().Emit(event, args...)
}

// FetchSockets returns every socket of the namespace across the cluster.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.newOperator().FetchSockets(ctx)
}
