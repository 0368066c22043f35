package offlinequeue

import (
	"fmt"
	"strconv"
)

// Policy decides what happens when an item arrives at a full queue. The zero
// value means "unset": on [Options] it selects the default, on an item it
// defers to the queue's policy.
type Policy int

const (
	// Reject refuses the incoming item with an error whose code is
	// [CodeQueueFull]. It is the default.
	Reject Policy = iota + 1
	// DropOldest evicts the item at the head of the queue to make room. The
	// evicted item is settled with [ReasonQueueFull].
	DropOldest
	// DropNewest refuses the incoming item, like Reject, and reports the same
	// [CodeQueueFull] error the original client shows. It exists so a caller
	// can state that losing the newest request is intended rather than an
	// error to surface, e.g. for high-frequency sync updates.
	DropNewest
)

// String returns the policy's name as the original client spells it
// ("reject", "drop-oldest", "drop-newest").
func (p Policy) String() string {
	switch p {
	case Reject:
		return "reject"
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// ParsePolicy returns the Policy named s, using the spellings of
// [Policy.String]. It lets a per-request offlineDropPolicy string from a
// client or a config file be validated in one place.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "reject":
		return Reject, nil
	case "drop-oldest":
		return DropOldest, nil
	case "drop-newest":
		return DropNewest, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrInvalidPolicy, s)
}

func (p Policy) valid() bool { return p >= Reject && p <= DropNewest }

// Reason says why a queued item was dropped instead of sent.
type Reason int

const (
	// ReasonExpired: the item was older than [Options.MaxAge].
	ReasonExpired Reason = iota + 1
	// ReasonQueueFull: the item was evicted by a [DropOldest] arrival, or, on
	// an [Error] returned by Enqueue, the incoming item was refused.
	ReasonQueueFull
	// ReasonRemoved: the caller removed the item by id or key, typically
	// because the request was aborted.
	ReasonRemoved
	// ReasonCleared: the caller cleared the whole queue, e.g. on logout.
	ReasonCleared
)

// String returns "expired", "queue-full", "removed" or "cleared". The first
// two are the values the original sends as the "reason" param of
// offline.dropped.
func (r Reason) String() string {
	switch r {
	case ReasonExpired:
		return "expired"
	case ReasonQueueFull:
		return "queue-full"
	case ReasonRemoved:
		return "removed"
	case ReasonCleared:
		return "cleared"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Kind names which of a [Pair]'s queues an item belongs to. It is carried on
// errors and drop events, matching the "queue" field of the original's
// queueItemDropped hook.
type Kind int

const (
	// API is the queue of API requests.
	API Kind = iota + 1
	// Sync is the queue of sync requests.
	Sync
)

// String returns "api" or "sync".
func (k Kind) String() string {
	switch k {
	case API:
		return "api"
	case Sync:
		return "sync"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}
