package offlinequeue

import (
	"fmt"
	"time"
)

// Defaults applied to zero [Options] fields.
const (
	// DefaultMaxSize is the per-queue item limit.
	DefaultMaxSize = 100
	// DefaultMaxAge is how long an item may wait before it expires.
	DefaultMaxAge = 5 * time.Minute
	// DefaultDropPolicy is the queue policy when none is set.
	DefaultDropPolicy = Reject
)

// Options configures a [Queue] or both queues of a [Pair]. The zero value is
// valid and gives the defaults.
type Options struct {
	// MaxSize caps the items waiting in a queue; an item a flush is sending
	// does not count (see [Queue.Flush]). Zero means [DefaultMaxSize]; a
	// negative value means no limit.
	MaxSize int
	// MaxAge is how long an item may wait; older items are dropped with
	// [ReasonExpired] and never sent. Zero means [DefaultMaxAge]; a negative
	// value disables expiry.
	MaxAge time.Duration
	// DropPolicy applies when a queue is full and the incoming item has no
	// policy of its own. Zero means [DefaultDropPolicy].
	DropPolicy Policy
	// OnDrop, if non-nil, observes every item dropped after it was accepted
	// (it is not called for refused enqueues, whose caller gets the error
	// directly). It runs synchronously on the goroutine that caused the drop,
	// after the queue's lock is released, so it may call queue methods; it
	// should return quickly because that goroutine is usually an Enqueue or
	// Flush caller.
	OnDrop func(DropEvent)
}

// DropEvent describes a dropped item to [Options.OnDrop]. Its fields match
// the original client's queueItemDropped hook.
type DropEvent struct {
	// Queue is the queue the item was in.
	Queue Kind
	// ID is the item's id.
	ID string
	// Key is the item's key.
	Key string
	// Reason says why the item was dropped.
	Reason Reason
	// DropPolicy is the item's effective policy.
	DropPolicy Policy
}

// withDefaults returns a copy of o with zero fields defaulted, or an error
// for values no default can fix.
func (o Options) withDefaults() (Options, error) {
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.DropPolicy == 0 {
		o.DropPolicy = DefaultDropPolicy
	}
	if !o.DropPolicy.valid() {
		return o, fmt.Errorf("%w: %d", ErrInvalidPolicy, int(o.DropPolicy))
	}
	return o, nil
}

// EnqueueOptions holds per-item settings filled in by [EnqueueOption]s.
type EnqueueOptions struct {
	// DropPolicy overrides the queue's policy for this item when it arrives
	// at a full queue. Zero keeps the queue's.
	DropPolicy Policy
}

// EnqueueOption sets a per-item option on [Queue.Enqueue].
type EnqueueOption func(*EnqueueOptions)

// WithDropPolicy makes p the item's policy, overriding the queue's. The
// original client lets sync requests choose one (offlineDropPolicy).
func WithDropPolicy(p Policy) EnqueueOption {
	return func(o *EnqueueOptions) { o.DropPolicy = p }
}
