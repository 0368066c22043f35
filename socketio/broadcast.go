package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// BroadcastFlags modify a broadcast, as Node's operator flags.
type BroadcastFlags struct {
	// Local keeps the broadcast on this server (no adapter publish).
	Local bool
	// Volatile drops the packet for clients that cannot take it right away.
	Volatile bool
	// Timeout is how long acks are awaited (broadcasts with acks).
	Timeout time.Duration
}

// BroadcastOptions select the recipients of a broadcast: sockets in any of
// Rooms (all when empty) and in none of Except.
type BroadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  BroadcastFlags
}

// defaultAckTimeout applies to broadcasts with acks whose context has no
// deadline: remote servers need one to forget the request.
const defaultAckTimeout = 5 * time.Second

// BroadcastOperator builds a broadcast. Each method returns a new operator,
// so operators can be shared and reused from any goroutine.
type BroadcastOperator struct {
	nsp  *Namespace
	opts BroadcastOptions
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.opts.Rooms = slices.Clone(b.opts.Rooms)
	c.opts.Except = slices.Clone(b.opts.Except)
	return &c
}

// To adds rooms to the targets.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.Rooms, r) {
			c.opts.Rooms = append(c.opts.Rooms, r)
		}
	}
	return c
}

// In is an alias of [BroadcastOperator.To].
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except skips sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.Except, r) {
			c.opts.Except = append(c.opts.Except, r)
		}
	}
	return c
}

// Local keeps the broadcast on this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Local = true
	return c
}

// Volatile lets the packet be dropped for clients not ready to receive it.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Volatile = true
	return c
}

// Options returns the operator's targets and flags.
func (b *BroadcastOperator) Options() BroadcastOptions { return b.clone().opts }

// Emit sends the event to the targets. The packet is encoded once for all
// recipients.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	data, att, err := b.nsp.srv.encoders.encodeArray(event, args)
	if err != nil {
		return err
	}
	return b.nsp.adapter.Broadcast(&Packet{Type: PacketEvent, Nsp: b.nsp.name, ID: -1, Data: data, Attachments: att}, b.opts)
}

// EmitWithAck sends the event and collects every recipient's ack across the
// cluster, until all answered or ctx ends (default 5s when ctx has no
// deadline). On timeout the replies so far come with an error wrapping
// [ErrAckTimeout].
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultAckTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	data, att, err := b.nsp.srv.encoders.encodeArray(event, args)
	if err != nil {
		return nil, err
	}
	opts := b.clone().opts
	opts.Flags.Timeout = time.Until(deadline)
	var (
		mu             sync.Mutex
		replies        []Args
		expectedCount  int
		serversCounted int
		serverCount    = -1
		done           = make(chan struct{})
		finished       bool
	)
	check := func() {
		if !finished && serverCount == serversCounted && len(replies) == expectedCount {
			finished = true
			close(done)
		}
	}
	onCount := func(n int) {
		mu.Lock()
		expectedCount += n
		serversCounted++
		check()
		mu.Unlock()
	}
	onAck := func(a Args) {
		mu.Lock()
		if !finished {
			replies = append(replies, a)
			check()
		}
		mu.Unlock()
	}
	p := &Packet{Type: PacketEvent, Nsp: b.nsp.name, ID: -1, Data: data, Attachments: att}
	if err := b.nsp.adapter.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
		return nil, err
	}
	n := 1
	if !opts.Flags.Local {
		if n, err = b.nsp.adapter.ServerCount(ctx); err != nil {
			n = 1
		}
	}
	mu.Lock()
	serverCount = n
	check()
	mu.Unlock()
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return replies, nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		finished = true
		return slices.Clone(replies), fmt.Errorf("%w: %d of %d acks from %d of %d servers: %w",
			ErrAckTimeout, len(replies), expectedCount, serversCounted, serverCount, ctx.Err())
	}
}

// FetchSockets returns the matching sockets across the cluster.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return b.nsp.adapter.FetchSockets(ctx, b.opts)
}

// SocketsJoin makes the matching sockets join rooms, across the cluster.
func (b *BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return b.nsp.adapter.AddSockets(ctx, b.opts, rooms)
}

// SocketsLeave makes the matching sockets leave rooms, across the cluster.
func (b *BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return b.nsp.adapter.DelSockets(ctx, b.opts, rooms)
}

// DisconnectSockets disconnects the matching sockets across the cluster;
// closeConn closes their whole connections.
func (b *BroadcastOperator) DisconnectSockets(ctx context.Context, closeConn bool) error {
	return b.nsp.adapter.DisconnectSockets(ctx, b.opts, closeConn)
}
