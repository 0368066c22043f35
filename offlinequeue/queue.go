package offlinequeue

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Item is a queued request as the send function of Flush sees it.
type Item[T any] struct {
	// ID identifies the item for [Queue.RemoveByID]; unique per process.
	ID string
	// Key groups items for [Queue.RemoveByKey], e.g. "api/chat/send/v1".
	Key string
	// CreatedAt is when the item was enqueued; expiry counts from here.
	CreatedAt time.Time
	// DropPolicy is the item's effective policy: its own, or the queue's.
	DropPolicy Policy
	// Payload is the caller's request. The queue never reads or copies what
	// it points to.
	Payload T
}

// Ticket is the receipt of an accepted item.
type Ticket struct {
	// ID is the item's id, for [Queue.RemoveByID].
	ID string
	// Done receives exactly one value: nil when a flush sent the item, or an
	// [*Error] with code [CodeDropped] when it was dropped. It is buffered
	// and never closed, so an unread ticket costs nothing and leaks nothing.
	Done <-chan error
}

// Queue is one bounded FIFO of pending requests. Create it with [New]; the
// zero value is not usable. Use a [Pair] for the usual API + sync setup.
type Queue[T any] struct {
	kind    Kind
	maxSize int           // < 0: unbounded
	maxAge  time.Duration // < 0: never expires
	policy  Policy
	onDrop  func(DropEvent)

	mu sync.Mutex // Protects following.
	// items is oldest first.
	items []*entry[T]
	// inflight is the item a flush has handed to send. It does not count
	// against maxSize: like the original, a send may re-enqueue its own
	// request, and that must fit in a queue that was full before the flush.
	inflight *entry[T]
	// inflightDrop, when set, is why inflight must be dropped rather than
	// put back if its send fails: a removal targeted it mid-send.
	inflightDrop Reason
	flushing     bool
}

type entry[T any] struct {
	item Item[T]
	done chan error
}

// New returns an empty queue labelled kind (which only appears in errors and
// drop events) configured by opts. It fails only for an invalid
// opts.DropPolicy.
func New[T any](kind Kind, opts Options) (*Queue[T], error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Queue[T]{
		kind:    kind,
		maxSize: o.MaxSize,
		maxAge:  o.MaxAge,
		policy:  o.DropPolicy,
		onDrop:  o.OnDrop,
	}, nil
}

// Enqueue appends payload under key and returns its ticket. Expired items
// are dropped first. If the queue is still full, the effective policy
// decides: [DropOldest] evicts from the head to make room; [Reject] and
// [DropNewest] return an [*Error] with code [CodeQueueFull] and the payload is
// not kept. An invalid per-item policy is an error wrapping
// [ErrInvalidPolicy].
func (q *Queue[T]) Enqueue(key string, payload T, opts ...EnqueueOption) (Ticket, error) {
	var o EnqueueOptions
	for _, opt := range opts {
		opt(&o)
	}
	policy := q.policy
	if o.DropPolicy != 0 {
		if !o.DropPolicy.valid() {
			return Ticket{}, fmt.Errorf("%w: %d", ErrInvalidPolicy, int(o.DropPolicy))
		}
		policy = o.DropPolicy
	}
	e := &entry[T]{
		item: Item[T]{
			ID:         rand.Text(),
			Key:        key,
			CreatedAt:  time.Now(),
			DropPolicy: policy,
			Payload:    payload,
		},
		done: make(chan error, 1),
	}

	q.mu.Lock()
	dropped := q.expireLocked(e.item.CreatedAt)
	if policy == DropOldest {
		for q.fullLocked() && len(q.items) > 0 {
			dropped = append(dropped, q.dropLocked(q.items[0], ReasonQueueFull))
			q.items = slices.Delete(q.items, 0, 1)
		}
	}
	full := q.fullLocked()
	if !full {
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	q.report(dropped)

	if full {
		return Ticket{}, &Error{Code: CodeQueueFull, Reason: ReasonQueueFull, Queue: q.kind, Key: key}
	}
	return Ticket{ID: e.item.ID, Done: e.done}, nil
}

// Flush hands the queued items to send, oldest first, one at a time, and
// returns nil once the queue is empty. Items enqueued during the flush,
// including by send itself, are sent by the same flush, so a send that
// re-enqueues and returns nil for every item never lets Flush finish; return
// an error instead when the connection is gone. Items that expire while
// waiting are dropped, never sent.
//
// If send returns an error, the item goes back to the front of the queue
// (unless a removal targeted it meanwhile; then it is dropped with that
// reason) and Flush stops and returns the error, wrapped. Putting it back
// ignores MaxSize, because dropping the oldest request to honour a limit
// that was respected when it was accepted would be worse; the queue can
// therefore exceed MaxSize by this one item until it drains. If ctx is done,
// Flush stops before the next item and returns ctx.Err(); send should watch
// the same ctx for the item in hand. If send panics, the item is handled as
// for a failed send and the panic continues, so the queue stays usable.
//
// Only one flush runs at a time: a concurrent call returns
// [ErrFlushInProgress] immediately instead of waiting.
func (q *Queue[T]) Flush(ctx context.Context, send func(Item[T]) error) error {
	q.mu.Lock()
	if q.flushing {
		q.mu.Unlock()
		return ErrFlushInProgress
	}
	q.flushing = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.flushing = false
		q.mu.Unlock()
	}()

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, dropped := q.takeHead()
		q.report(dropped)
		if e == nil {
			return nil
		}
		if err := q.sendOne(e, send); err != nil {
			return fmt.Errorf("offlinequeue: send %s item %s (%q): %w", q.kind, e.item.ID, e.item.Key, err)
		}
	}
}

// takeHead drops expired items and moves the head, if any, to inflight. The
// expiry check happens here, right before the send, so an item that aged out
// during a long flush is not replayed.
func (q *Queue[T]) takeHead() (*entry[T], []DropEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dropped := q.expireLocked(time.Now())
	if len(q.items) == 0 {
		return nil, dropped
	}
	e := q.items[0]
	q.items = slices.Delete(q.items, 0, 1)
	q.inflight = e
	q.inflightDrop = 0
	return e, dropped
}

// sendOne runs send for the in-flight item and settles or requeues it. The
// bookkeeping sits in a defer so that a panicking send cannot strand the
// item outside the queue.
func (q *Queue[T]) sendOne(e *entry[T], send func(Item[T]) error) (err error) {
	sent := false
	defer func() {
		var dropped []DropEvent
		q.mu.Lock()
		reason := q.inflightDrop
		q.inflight, q.inflightDrop = nil, 0
		switch {
		case sent:
			e.done <- nil
		case reason != 0:
			dropped = append(dropped, q.dropLocked(e, reason))
		default:
			q.items = slices.Insert(q.items, 0, e)
		}
		q.mu.Unlock()
		q.report(dropped)
	}()
	err = send(e.item)
	sent = err == nil
	return err
}

// RemoveByID drops the waiting item with that id, settling it with
// [ReasonRemoved], and reports whether there was one.
//
// An item a flush is currently sending is not waiting: RemoveByID returns
// false for it, but marks it so that, should the send fail, it is dropped
// with ReasonRemoved instead of being put back. Its ticket therefore always
// settles, either as sent or as removed.
func (q *Queue[T]) RemoveByID(id string) bool {
	n := q.removeWhere(ReasonRemoved, func(it *Item[T]) bool { return it.ID == id })
	return n > 0
}

// RemoveByKey drops every waiting item with that key, settling each with
// [ReasonRemoved], and returns how many it dropped. An in-flight item with the
// key is handled as in [Queue.RemoveByID].
func (q *Queue[T]) RemoveByKey(key string) int {
	return q.removeWhere(ReasonRemoved, func(it *Item[T]) bool { return it.Key == key })
}

// Clear drops every waiting item, settling each with [ReasonCleared], and
// returns how many it dropped. An in-flight item is handled as in
// [Queue.RemoveByID], with ReasonCleared.
func (q *Queue[T]) Clear() int {
	return q.removeWhere(ReasonCleared, func(*Item[T]) bool { return true })
}

// Prune drops expired items now and returns how many it dropped. Enqueue and
// Flush prune on their own; Prune is for callers that want owners of stale
// items to hear about it while nothing else touches the queue.
func (q *Queue[T]) Prune() int {
	q.mu.Lock()
	dropped := q.expireLocked(time.Now())
	q.mu.Unlock()
	q.report(dropped)
	return len(dropped)
}

// Len returns the number of waiting items, excluding one a flush is
// currently sending. Expired items that have not been pruned yet are
// counted.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *Queue[T]) removeWhere(reason Reason, match func(*Item[T]) bool) int {
	q.mu.Lock()
	var dropped []DropEvent
	q.items = slices.DeleteFunc(q.items, func(e *entry[T]) bool {
		if !match(&e.item) {
			return false
		}
		dropped = append(dropped, q.dropLocked(e, reason))
		return true
	})
	if q.inflight != nil && match(&q.inflight.item) {
		q.inflightDrop = reason
	}
	q.mu.Unlock()
	q.report(dropped)
	return len(dropped)
}

// expireLocked drops every item older than maxAge. Age is "strictly more
// than maxAge", so an item is still sendable at exactly maxAge.
func (q *Queue[T]) expireLocked(now time.Time) []DropEvent {
	if q.maxAge < 0 {
		return nil
	}
	var dropped []DropEvent
	q.items = slices.DeleteFunc(q.items, func(e *entry[T]) bool {
		if now.Sub(e.item.CreatedAt) <= q.maxAge {
			return false
		}
		dropped = append(dropped, q.dropLocked(e, ReasonExpired))
		return true
	})
	return dropped
}

func (q *Queue[T]) fullLocked() bool {
	return q.maxSize >= 0 && len(q.items) >= q.maxSize
}

// dropLocked settles e as dropped. Sending on the buffered done channel
// cannot block, and each entry is settled exactly once because it is
// removed from items (or inflight) under the same lock.
func (q *Queue[T]) dropLocked(e *entry[T], reason Reason) DropEvent {
	e.done <- &Error{Code: CodeDropped, Reason: reason, Queue: q.kind, ID: e.item.ID, Key: e.item.Key}
	return DropEvent{Queue: q.kind, ID: e.item.ID, Key: e.item.Key, Reason: reason, DropPolicy: e.item.DropPolicy}
}

// report runs the OnDrop observer outside the lock, in drop order.
func (q *Queue[T]) report(dropped []DropEvent) {
	if q.onDrop == nil {
		return
	}
	for _, ev := range dropped {
		q.onDrop(ev)
	}
}
