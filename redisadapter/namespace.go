package redisadapter

// This file is what one namespace sends: broadcasts and the requests other
// servers answer. Every method does its local part first through the embedded
// MemoryAdapter, so local delivery never depends on Redis.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// NamespaceAdapter is the adapter of one namespace, made by [Adapter.For]:
// the embedded [socketio.MemoryAdapter] keeps the local rooms and delivers
// locally; the methods below add the other servers of the cluster.
//
// Server-side event handlers ([socketio.Namespace.OnServerSideEmit]) for
// events from other servers run on the adapter's subscriber goroutine, which
// receives for every namespace: they must return quickly (their ack may be
// called later, from any goroutine).
type NamespaceAdapter struct {
	*socketio.MemoryAdapter

	a   *Adapter
	nsp *socketio.Namespace
	uid string
	ch  channels

	mu       sync.Mutex // Protects following.
	closed   bool
	requests map[string]*pendingRequest
	acks     map[string]*ackRequest
}

var _ socketio.Adapter = (*NamespaceAdapter)(nil)

func newNamespaceAdapter(a *Adapter, nsp *socketio.Namespace) *NamespaceAdapter {
	uid := newUID()
	return &NamespaceAdapter{
		MemoryAdapter: socketio.NewMemoryAdapter(nsp),
		a:             a,
		nsp:           nsp,
		uid:           uid,
		ch:            newChannels(a.opts.Key, nsp.Name(), uid),
		requests:      make(map[string]*pendingRequest),
		acks:          make(map[string]*ackRequest),
	}
}

// UID is the random 6-character id this namespace adapter publishes under;
// messages carrying it are its own and ignored when they come back.
func (n *NamespaceAdapter) UID() string { return n.uid }

// publish queues a message unless the adapter is closed.
func (n *NamespaceAdapter) publish(channel string, payload []byte) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return n.a.pub.publish(channel, payload)
}

// Broadcast implements [socketio.Adapter]: local sockets first, then (unless
// opts.Flags.Local) one PUBLISH on the room's channel when the broadcast
// targets exactly one room, else on the namespace channel. It does not wait
// for Redis; an error means other servers will not get the packet
// ([ErrQueueFull], [ErrClosed]).
func (n *NamespaceAdapter) Broadcast(p *socketio.Packet, opts socketio.BroadcastOptions) error {
	n.BroadcastLocal(p, opts)
	if opts.Flags.Local {
		return nil
	}
	msg := broadcastMessage{UID: n.uid, Packet: wirePacket(p), Opts: wireOptions(opts)}
	// Sized for the usual case so encoding allocates once: the JSON data
	// shrinks in msgpack, the rest is short fixed strings and room names.
	size := 64 + len(p.Data) + len(n.uid)
	for _, r := range opts.Rooms {
		size += 5 + len(r)
	}
	for _, r := range opts.Except {
		size += 5 + len(r)
	}
	for _, a := range p.Attachments {
		size += 5 + len(a)
	}
	b, err := msg.appendMsgpack(make([]byte, 0, size))
	if err != nil {
		return fmt.Errorf("redisadapter: broadcast: %w", err)
	}
	channel := n.ch.broadcast
	if len(opts.Rooms) == 1 {
		channel = n.ch.room(opts.Rooms[0])
	}
	return n.publish(channel, b)
}

// BroadcastWithAck implements [socketio.Adapter]. Other servers report their
// recipient count and relay each client ack until opts.Flags.Timeout (or
// ctx, or RequestsTimeout when neither is set) ends.
func (n *NamespaceAdapter) BroadcastWithAck(ctx context.Context, p *socketio.Packet, opts socketio.BroadcastOptions, onCount func(int), onAck func(socketio.Args)) error {
	onCount(n.BroadcastWithAckLocal(p, opts, onAck))
	if opts.Flags.Local {
		return nil
	}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = n.a.opts.RequestsTimeout
	}
	o := wireOptions(opts)
	o.Flags.Timeout = timeout
	q := request{UID: n.uid, RequestID: newUID(), Type: requestBroadcast, Packet: wirePacket(p), Opts: &o}
	b, err := q.marshal()
	if err != nil {
		return fmt.Errorf("redisadapter: broadcast with ack: %w", err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.acks[q.RequestID] = &ackRequest{onCount: onCount, onAck: onAck}
	n.mu.Unlock()
	// Like Node, nobody can tell when the last remote ack has come, so the
	// entry is simply dropped when the wait is over. Timers hold no
	// goroutine while they wait.
	var once sync.Once
	forget := func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.acks, q.RequestID)
			n.mu.Unlock()
		})
	}
	stop := context.AfterFunc(ctx, forget)
	time.AfterFunc(timeout, func() { stop(); forget() }) // stop: a long-lived ctx keeps no registration
	if err := n.publish(n.ch.request, b); err != nil {
		forget()
		return err
	}
	return nil
}

// FetchSockets implements [socketio.Adapter]. On timeout it returns the
// sockets gathered so far with a [*TimeoutError]; when Redis cannot be asked
// it returns the local sockets and the error.
func (n *NamespaceAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local := n.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	ctx, cancel := n.requestContext(ctx, opts.Flags.Timeout)
	defer cancel()
	numSub, err := n.numSub(ctx)
	if err != nil {
		return local, fmt.Errorf("redisadapter: fetchSockets: %w", err)
	}
	if numSub <= 1 {
		return local, nil
	}
	// Node counts itself as the first answer (msgCount starts at 1).
	pr := newPending("fetchSockets", requestRemoteFetch, numSub, 1)
	pr.sockets = local
	o := wireOptions(opts)
	err = n.call(ctx, request{Type: requestRemoteFetch, Opts: &o}, pr)
	return pr.sockets, err
}

// AllRooms implements [socketio.Adapter], with the same partial-result rule
// as [NamespaceAdapter.FetchSockets].
func (n *NamespaceAdapter) AllRooms(ctx context.Context) ([]string, error) {
	local := n.LocalRooms()
	ctx, cancel := n.requestContext(ctx, 0)
	defer cancel()
	numSub, err := n.numSub(ctx)
	if err != nil {
		return local, fmt.Errorf("redisadapter: allRooms: %w", err)
	}
	if numSub <= 1 {
		return local, nil
	}
	pr := newPending("allRooms", requestAllRooms, numSub, 1)
	pr.rooms = make(map[string]struct{}, len(local))
	for _, r := range local {
		pr.rooms[r] = struct{}{}
	}
	err = n.call(ctx, request{Type: requestAllRooms}, pr)
	return keys(pr.rooms), err
}

// AddSockets implements [socketio.Adapter]: local sockets join at once, the
// request to the other servers is queued.
func (n *NamespaceAdapter) AddSockets(_ context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	n.AddSocketsLocal(opts, rooms)
	return n.remoteMembership(requestRemoteJoin, opts, rooms)
}

// DelSockets implements [socketio.Adapter] like [NamespaceAdapter.AddSockets].
func (n *NamespaceAdapter) DelSockets(_ context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	n.DelSocketsLocal(opts, rooms)
	return n.remoteMembership(requestRemoteLeave, opts, rooms)
}

func (n *NamespaceAdapter) remoteMembership(typ requestType, opts socketio.BroadcastOptions, rooms []string) error {
	if opts.Flags.Local {
		return nil
	}
	o := wireOptions(opts)
	return n.send(request{UID: n.uid, Type: typ, Opts: &o, Rooms: rooms})
}

// DisconnectSockets implements [socketio.Adapter] like
// [NamespaceAdapter.AddSockets].
func (n *NamespaceAdapter) DisconnectSockets(_ context.Context, opts socketio.BroadcastOptions, closeConn bool) error {
	n.DisconnectSocketsLocal(opts, closeConn)
	if opts.Flags.Local {
		return nil
	}
	o := wireOptions(opts)
	return n.send(request{UID: n.uid, Type: requestRemoteDisconnect, Opts: &o, Close: closeConn})
}

// ServerSideEmit implements [socketio.Adapter]. With wantReplies it waits
// for one reply per other server; a server without a handler for the event
// never replies (as in Node), so the call then ends with the replies so far
// and a [*TimeoutError] such as "0 of 1 servers answered". Each reply holds
// the first argument the remote handler acknowledged with (none when it
// acknowledged with nothing). Binary arguments are refused with
// [ErrBinaryServerSideEmit].
func (n *NamespaceAdapter) ServerSideEmit(ctx context.Context, p *socketio.Packet, wantReplies bool) ([]socketio.Args, error) {
	if len(p.Attachments) > 0 {
		return nil, ErrBinaryServerSideEmit
	}
	if !wantReplies {
		return nil, n.send(request{UID: n.uid, Type: requestServerSideEmit, Data: p.Data})
	}
	ctx, cancel := n.requestContext(ctx, 0)
	defer cancel()
	numSub, err := n.numSub(ctx)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: serverSideEmit: %w", err)
	}
	if numSub <= 1 {
		return nil, nil
	}
	pr := newPending("serverSideEmit", requestServerSideEmit, numSub-1, 0)
	err = n.call(ctx, request{Type: requestServerSideEmit, Data: p.Data}, pr)
	return pr.replies, err
}

// ServerCount implements [socketio.Adapter]: the subscribers of the
// namespace's request channel (PUBSUB NUMSUB), this server included.
func (n *NamespaceAdapter) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := n.requestContext(ctx, 0)
	defer cancel()
	return n.numSub(ctx)
}

// Close implements [socketio.Adapter]: the namespace's subscriptions are
// dropped and pending requests fail with [ErrClosed]. The [Adapter] itself
// stays open.
func (n *NamespaceAdapter) Close(context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, pr := range n.requests {
		pr.err = ErrClosed
		close(pr.done)
	}
	n.requests = nil
	n.acks = nil
	n.mu.Unlock()
	n.a.remove(n)
	return nil
}

// requestContext applies flagTimeout (when set) and the adapter's
// RequestsTimeout (when ctx has no deadline).
func (n *NamespaceAdapter) requestContext(ctx context.Context, flagTimeout time.Duration) (context.Context, context.CancelFunc) {
	if flagTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flagTimeout)
		inner, innerCancel := n.a.requestContext(ctx)
		return inner, func() { innerCancel(); cancel() }
	}
	return n.a.requestContext(ctx)
}

func (n *NamespaceAdapter) numSub(ctx context.Context) (int, error) {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	return n.a.pub.numSub(ctx, n.ch.request)
}

// send publishes a request that expects no answer.
func (n *NamespaceAdapter) send(q request) error {
	b, err := q.marshal()
	if err != nil {
		return fmt.Errorf("redisadapter: %v request: %w", q.Type, err)
	}
	return n.publish(n.ch.request, b)
}

// call publishes a request and waits until pr has every expected answer or
// ctx ends. pr's results are safe to read when it returns.
func (n *NamespaceAdapter) call(ctx context.Context, q request, pr *pendingRequest) error {
	q.UID, q.RequestID = n.uid, newUID()
	b, err := q.marshal()
	if err != nil {
		return fmt.Errorf("redisadapter: %s: %w", pr.op, err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.requests[q.RequestID] = pr
	n.mu.Unlock()
	if err := n.a.pub.publish(n.ch.request, b); err != nil {
		n.mu.Lock()
		delete(n.requests, q.RequestID)
		n.mu.Unlock()
		return fmt.Errorf("redisadapter: %s: %w", pr.op, err)
	}
	select {
	case <-pr.done:
		return pr.err
	case <-ctx.Done():
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.requests[q.RequestID] != pr {
			// Completed (or closed) while ctx ended: done is closed.
			return pr.err
		}
		delete(n.requests, q.RequestID)
		return &TimeoutError{Op: pr.op, Answered: pr.answered, Expected: pr.expected, Err: ctx.Err()}
	}
}
