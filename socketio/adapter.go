package socketio

import (
	"context"
	"encoding/json"
	"sync"
)

// Adapter spreads broadcasts and socket queries over the servers of a
// cluster. Each namespace has its own. Membership calls are local and cheap;
// methods that may cross the network take a context and must honour it.
//
// [MemoryAdapter] is the single-server default; the redisadapter package
// implements the protocol of Node's @socket.io/redis-adapter on top of it.
type Adapter interface {
	// AddAll adds socket id to rooms on this server.
	AddAll(id string, rooms ...string)
	// Del removes socket id from room on this server.
	Del(id, room string)
	// DelAll removes socket id from every room on this server.
	DelAll(id string)
	// SocketRooms lists the rooms of a local socket, its own id included.
	SocketRooms(id string) []string
	// Broadcast delivers p to the sockets selected by opts, everywhere
	// unless opts.Flags.Local. It must not block on the network.
	Broadcast(p *Packet, opts BroadcastOptions) error
	// BroadcastWithAck is Broadcast where every recipient acks: each server
	// reports its recipient count through onCount (once), then each ack
	// through onAck.
	BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, onCount func(int), onAck func(Args)) error
	// FetchSockets returns the sockets selected by opts across the cluster.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the selected sockets join rooms across the cluster.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the selected sockets leave rooms across the cluster.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the selected sockets across the cluster.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, closeConn bool) error
	// ServerSideEmit sends p's data ([event, ...args]) to the other servers;
	// with wantReplies it waits for one reply per other server.
	ServerSideEmit(ctx context.Context, p *Packet, wantReplies bool) ([]Args, error)
	// ServerCount reports how many servers share the namespace.
	ServerCount(ctx context.Context) (int, error)
	// AllRooms lists the rooms (socket id rooms included) across the cluster.
	AllRooms(ctx context.Context) ([]string, error)
	// Close releases the adapter's resources.
	Close(ctx context.Context) error
}

// RemoteSocket is a socket found by FetchSockets, on this server or another.
// Its methods act through the adapter, so they work wherever it lives.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Handshake Handshake       `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`

	nsp *Namespace
}

// NewRemoteSocket binds socket information received from another server to
// nsp, so its methods work. Adapters use it.
func NewRemoteSocket(nsp *Namespace, info RemoteSocket) *RemoteSocket {
	info.nsp = nsp
	return &info
}

func (r *RemoteSocket) op() *BroadcastOperator { return r.nsp.To(r.ID) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.op().Emit(event, args...) }

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.op().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.op().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket (and its connection with closeConn).
func (r *RemoteSocket) Disconnect(ctx context.Context, closeConn bool) error {
	return r.op().DisconnectSockets(ctx, closeConn)
}

// MemoryAdapter keeps rooms in memory for one server. A socket's own room is
// implied by its id rather than stored, which saves a set per connection.
type MemoryAdapter struct {
	nsp     *Namespace
	scratch sync.Pool // *[]*Socket, a broadcast's recipients

	mu    sync.RWMutex // Protects following.
	rooms map[string]map[string]struct{}
	sids  map[string]map[string]struct{}
}

var _ Adapter = (*MemoryAdapter)(nil)

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{nsp: nsp, rooms: make(map[string]map[string]struct{}), sids: make(map[string]map[string]struct{})}
}

// Namespace returns the adapter's namespace.
func (m *MemoryAdapter) Namespace() *Namespace { return m.nsp }

// AddAll implements [Adapter].
func (m *MemoryAdapter) AddAll(id string, rooms ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rooms {
		if r == id {
			continue
		}
		set := m.rooms[r]
		if set == nil {
			set = make(map[string]struct{})
			m.rooms[r] = set
		}
		set[id] = struct{}{}
		mine := m.sids[id]
		if mine == nil {
			mine = make(map[string]struct{}, 1)
			m.sids[id] = mine
		}
		mine[r] = struct{}{}
	}
}

// Del implements [Adapter].
func (m *MemoryAdapter) Del(id, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delLocked(id, room)
}

func (m *MemoryAdapter) delLocked(id, room string) {
	if set := m.rooms[room]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(m.rooms, room)
		}
	}
	if mine := m.sids[id]; mine != nil {
		delete(mine, room)
		if len(mine) == 0 {
			delete(m.sids, id)
		}
	}
}

// DelAll implements [Adapter].
func (m *MemoryAdapter) DelAll(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r := range m.sids[id] {
		m.delLocked(id, r)
	}
}

// SocketRooms implements [Adapter].
func (m *MemoryAdapter) SocketRooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, 1+len(m.sids[id]))
	if _, ok := m.nsp.Socket(id); ok {
		out = append(out, id)
	}
	for r := range m.sids[id] {
		out = append(out, r)
	}
	return out
}

// HasRoom reports whether a local socket is in room (a socket's id counts as
// its room). Adapters use it to drop messages for rooms nobody here holds.
func (m *MemoryAdapter) HasRoom(room string) bool {
	m.mu.RLock()
	_, ok := m.rooms[room]
	m.mu.RUnlock()
	if ok {
		return true
	}
	_, ok = m.nsp.Socket(room)
	return ok
}

// forEach calls fn for every local socket selected by opts. fn runs after
// the locks are released, so it may close the socket: a slow consumer is
// disconnected from inside a broadcast, and closing takes these locks.
func (m *MemoryAdapter) forEach(opts BroadcastOptions, fn func(s *Socket)) {
	buf, _ := m.scratch.Get().(*[]*Socket)
	if buf == nil {
		buf = new([]*Socket)
	}
	socks := (*buf)[:0]
	m.selectEach(opts, func(s *Socket) { socks = append(socks, s) })
	for _, s := range socks {
		fn(s)
	}
	clear(socks)
	*buf = socks[:0]
	m.scratch.Put(buf)
}

// selectEach calls fn for every local socket selected by opts, under the
// adapter's read lock: fn must not call back into the adapter.
func (m *MemoryAdapter) selectEach(opts BroadcastOptions, fn func(s *Socket)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.nsp
	n.mu.RLock()
	defer n.mu.RUnlock()
	excluded := func(id string) bool {
		for _, r := range opts.Except {
			if r == id {
				return true
			}
			if _, ok := m.rooms[r][id]; ok {
				return true
			}
		}
		return false
	}
	if len(opts.Rooms) == 0 {
		for id, s := range n.sockets {
			if len(opts.Except) == 0 || !excluded(id) {
				fn(s)
			}
		}
		return
	}
	var seen map[string]struct{}
	if len(opts.Rooms) > 1 {
		seen = make(map[string]struct{})
	}
	visit := func(id string) {
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		if s, ok := n.sockets[id]; ok && (len(opts.Except) == 0 || !excluded(id)) {
			fn(s)
		}
	}
	for _, r := range opts.Rooms {
		if _, ok := n.sockets[r]; ok {
			visit(r)
		}
		for id := range m.rooms[r] {
			visit(id)
		}
	}
}

// Select returns the local sockets selected by opts.
func (m *MemoryAdapter) Select(opts BroadcastOptions) []*Socket {
	var out []*Socket
	m.selectEach(opts, func(s *Socket) { out = append(out, s) })
	return out
}

// Broadcast implements [Adapter] for this server alone.
func (m *MemoryAdapter) Broadcast(p *Packet, opts BroadcastOptions) error {
	m.BroadcastLocal(p, opts)
	return nil
}

// BroadcastLocal delivers p to the selected local sockets, encoding it once,
// and reports how many sockets it was handed to.
func (m *MemoryAdapter) BroadcastLocal(p *Packet, opts BroadcastOptions) int {
	// Encoded at the first recipient: with a cluster adapter most
	// broadcasts select no local socket, and encoding them would be waste.
	var msgs []*wireMsg
	n := 0
	m.forEach(opts, func(s *Socket) {
		if msgs == nil {
			msgs = encodeWire(p)
		}
		if s.client.conn.enqueue(opts.Flags.Volatile, msgs...) {
			n++
		}
	})
	return n
}

// BroadcastWithAck implements [Adapter] for this server alone.
func (m *MemoryAdapter) BroadcastWithAck(_ context.Context, p *Packet, opts BroadcastOptions, onCount func(int), onAck func(Args)) error {
	onCount(m.BroadcastWithAckLocal(p, opts, onAck))
	return nil
}

// BroadcastWithAckLocal sends p with one shared ack id to the selected local
// sockets and reports how many acks to expect.
func (m *MemoryAdapter) BroadcastWithAckLocal(p *Packet, opts BroadcastOptions, onAck func(Args)) int {
	q := *p
	q.ID = m.nsp.nextAckID()
	msgs := encodeWire(&q)
	n := 0
	m.forEach(opts, func(s *Socket) {
		if !s.addAck(q.ID, func(a Args, ok bool) {
			if ok {
				onAck(a)
			}
		}) {
			return
		}
		if s.client.conn.enqueue(opts.Flags.Volatile, msgs...) {
			n++
		}
	})
	return n
}

// FetchLocal describes the selected local sockets.
func (m *MemoryAdapter) FetchLocal(opts BroadcastOptions) []*RemoteSocket {
	socks := m.Select(opts)
	out := make([]*RemoteSocket, 0, len(socks))
	for _, s := range socks {
		data, err := json.Marshal(s.Data())
		if err != nil {
			data = json.RawMessage("null")
		}
		out = append(out, &RemoteSocket{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: data, nsp: m.nsp})
	}
	return out
}

// FetchSockets implements [Adapter] for this server alone.
func (m *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]*RemoteSocket, error) {
	return m.FetchLocal(opts), nil
}

// AddSocketsLocal makes the selected local sockets join rooms.
func (m *MemoryAdapter) AddSocketsLocal(opts BroadcastOptions, rooms []string) {
	for _, s := range m.Select(opts) {
		m.AddAll(s.id, rooms...)
	}
}

// DelSocketsLocal makes the selected local sockets leave rooms.
func (m *MemoryAdapter) DelSocketsLocal(opts BroadcastOptions, rooms []string) {
	for _, s := range m.Select(opts) {
		for _, r := range rooms {
			m.Del(s.id, r)
		}
	}
}

// DisconnectSocketsLocal disconnects the selected local sockets.
func (m *MemoryAdapter) DisconnectSocketsLocal(opts BroadcastOptions, closeConn bool) {
	for _, s := range m.Select(opts) {
		s.Disconnect(closeConn)
	}
}

// AddSockets implements [Adapter] for this server alone.
func (m *MemoryAdapter) AddSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	m.AddSocketsLocal(opts, rooms)
	return nil
}

// DelSockets implements [Adapter] for this server alone.
func (m *MemoryAdapter) DelSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	m.DelSocketsLocal(opts, rooms)
	return nil
}

// DisconnectSockets implements [Adapter] for this server alone.
func (m *MemoryAdapter) DisconnectSockets(_ context.Context, opts BroadcastOptions, closeConn bool) error {
	m.DisconnectSocketsLocal(opts, closeConn)
	return nil
}

// ServerSideEmit implements [Adapter]: with no other server there is nobody
// to tell and no reply to wait for.
func (m *MemoryAdapter) ServerSideEmit(context.Context, *Packet, bool) ([]Args, error) {
	return nil, nil
}

// ServerCount implements [Adapter].
func (m *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// LocalRooms lists this server's rooms, socket id rooms included.
func (m *MemoryAdapter) LocalRooms() []string {
	m.mu.RLock()
	out := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	m.mu.RUnlock()
	for _, s := range m.nsp.localSockets() {
		out = append(out, s.id)
	}
	return out
}

// AllRooms implements [Adapter] for this server alone.
func (m *MemoryAdapter) AllRooms(context.Context) ([]string, error) { return m.LocalRooms(), nil }

// Close implements [Adapter].
func (m *MemoryAdapter) Close(context.Context) error { return nil }
