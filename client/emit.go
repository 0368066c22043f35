package client

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/luckystack/luckystack-go/events"
)

// This file holds the plain Socket.IO surface (Emit, EmitWithAck, On) and
// the reader's routing of incoming packets. LuckyStack itself never uses
// Socket.IO acknowledgements; they are here for other Socket.IO servers
// (the Node peer of bench/) and for custom events.

// Emit sends event with JSON-encoded args on the current connection. Unlike
// API and sync requests it is never queued: while disconnected it returns
// [ErrNotConnected]. A [json.RawMessage] argument is sent as is.
func (c *Client) Emit(event string, args ...any) error {
	enc, err := marshalArgs(args)
	if err != nil {
		return err
	}
	cn, err := c.current()
	if err != nil {
		return err
	}
	return cn.emit(-1, event, enc...)
}

// EmitWithAck sends event asking for a Socket.IO acknowledgement and waits
// for it, for ctx, or for the connection to end ([ErrNotConnected]).
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	enc, err := marshalArgs(args)
	if err != nil {
		return nil, err
	}
	cn, err := c.current()
	if err != nil {
		return nil, err
	}
	id, ch := c.acks.add(cn.gen)
	defer c.acks.remove(id)
	if err := cn.emit(id, event, enc...); err != nil {
		return nil, ErrNotConnected
	}
	select {
	case r := <-ch:
		if r.disconnected {
			return nil, ErrNotConnected
		}
		return r.args, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// On registers fn for every event called name that is not a LuckyStack
// reply, and returns its unregister function. Callbacks run on the client's
// callback goroutine, one at a time, in arrival order; the arguments are
// the event's JSON values.
func (c *Client) On(name string, fn func(args []json.RawMessage)) (unregister func()) {
	return c.handlers.add(name, fn)
}

// current returns the live connection.
func (c *Client) current() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.conn == nil {
		return nil, ErrNotConnected
	}
	return c.conn, nil
}

// onEvent routes an incoming event: indexed replies go to the waiting call,
// everything else to the registered callbacks.
func (c *Client) onEvent(cn *conn, name string, args []json.RawMessage) {
	if prefix, index, err := events.ParseIndexed(name); err == nil {
		if cl := c.pending.get(index); cl != nil && cl.sentOn() == cn.gen {
			var data json.RawMessage
			if len(args) > 0 {
				data = args[0]
			}
			cl.push(frame{prefix: prefix, data: data})
			return
		}
		// A late reply for a call that gave up: nobody listens.
		if len(c.handlers.get(name)) == 0 {
			return
		}
	}
	if name == string(events.NameSync) {
		c.onSyncFrame(args)
	}
	for _, h := range c.handlers.get(name) {
		fn := h.fn
		c.disp.post(func() { fn(args) })
	}
}

// onAck delivers an acknowledgement to its EmitWithAck.
func (c *Client) onAck(_ *conn, id int64, args []json.RawMessage) {
	c.acks.deliver(id, ackResult{args: args})
}

type ackResult struct {
	args         []json.RawMessage
	disconnected bool
}

// ackWaiters maps Socket.IO ack ids to waiting EmitWithAck calls.
type ackWaiters struct {
	mu   sync.Mutex // Protects following.
	next int64
	m    map[int64]ackWaiter
}

type ackWaiter struct {
	gen uint64
	ch  chan ackResult
}

func (a *ackWaiters) add(gen uint64) (int64, chan ackResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[int64]ackWaiter{}
	}
	id := a.next
	a.next++
	ch := make(chan ackResult, 1)
	a.m[id] = ackWaiter{gen, ch}
	return id, ch
}

func (a *ackWaiters) remove(id int64) {
	a.mu.Lock()
	delete(a.m, id)
	a.mu.Unlock()
}

func (a *ackWaiters) deliver(id int64, r ackResult) {
	a.mu.Lock()
	w, ok := a.m[id]
	delete(a.m, id)
	a.mu.Unlock()
	if ok {
		w.ch <- r // buffered, and each waiter is delivered to once
	}
}

func (a *ackWaiters) failGen(gen uint64) {
	a.mu.Lock()
	var ws []ackWaiter
	for id, w := range a.m {
		if w.gen == gen {
			ws = append(ws, w)
			delete(a.m, id)
		}
	}
	a.mu.Unlock()
	for _, w := range ws {
		w.ch <- ackResult{disconnected: true}
	}
}

func (a *ackWaiters) failAll() {
	a.mu.Lock()
	m := a.m
	a.m = nil
	a.mu.Unlock()
	for _, w := range m {
		w.ch <- ackResult{disconnected: true}
	}
}
