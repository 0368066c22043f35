package offlinequeue

import (
	"context"
	"sync/atomic"
)

// Pair holds a client's two independent queues: API requests and sync
// requests. They share one configuration but never share capacity, so a
// burst of sync updates cannot push out pending API calls. Create it with
// [NewPair]; the zero value is not usable.
type Pair[T any] struct {
	api, sync *Queue[T]
	flushing  atomic.Bool
}

// NewPair returns a Pair whose queues are both configured by opts. It fails
// only for an invalid opts.DropPolicy.
func NewPair[T any](opts Options) (*Pair[T], error) {
	api, err := New[T](API, opts)
	if err != nil {
		return nil, err
	}
	syncQ, err := New[T](Sync, opts)
	if err != nil {
		return nil, err
	}
	return &Pair[T]{api: api, sync: syncQ}, nil
}

// API returns the queue for API requests.
func (p *Pair[T]) API() *Queue[T] { return p.api }

// Sync returns the queue for sync requests.
func (p *Pair[T]) Sync() *Queue[T] { return p.sync }

// Flush flushes the API queue and then the sync queue with
// [Queue.Flush]'s rules. It stops at the first error without touching the
// sync queue, because a failed send almost always means the connection is
// gone again and further sends would only fail too.
//
// A concurrent Flush of the same Pair returns [ErrFlushInProgress]
// immediately; so does this one if a queue is being flushed directly through
// [Pair.API] or [Pair.Sync].
func (p *Pair[T]) Flush(ctx context.Context, send func(Item[T]) error) error {
	if !p.flushing.CompareAndSwap(false, true) {
		return ErrFlushInProgress
	}
	defer p.flushing.Store(false)
	if err := p.api.Flush(ctx, send); err != nil {
		return err
	}
	return p.sync.Flush(ctx, send)
}

// RemoveByID removes the waiting item with that id from whichever queue
// holds it, as [Queue.RemoveByID] does, and reports whether it found one.
func (p *Pair[T]) RemoveByID(id string) bool {
	// Non-short-circuit on purpose: an in-flight item is not reported as
	// found, but must still be marked in whichever queue is sending it.
	inAPI := p.api.RemoveByID(id)
	inSync := p.sync.RemoveByID(id)
	return inAPI || inSync
}

// RemoveByKey removes waiting items with that key from both queues and
// returns how many it removed. The original client had no sync equivalent
// and did not settle removed items; here every removed item's ticket
// settles with [ReasonRemoved].
func (p *Pair[T]) RemoveByKey(key string) int {
	return p.api.RemoveByKey(key) + p.sync.RemoveByKey(key)
}

// Clear empties both queues, settling every item with [ReasonCleared], and
// returns how many items it removed. The two queues are cleared one after the
// other, not atomically together.
func (p *Pair[T]) Clear() int {
	return p.api.Clear() + p.sync.Clear()
}

// Prune drops expired items from both queues and returns how many it
// dropped.
func (p *Pair[T]) Prune() int {
	return p.api.Prune() + p.sync.Prune()
}

// Len returns the number of waiting items in both queues together; use
// p.API().Len() and p.Sync().Len() for each.
func (p *Pair[T]) Len() int {
	return p.api.Len() + p.sync.Len()
}
