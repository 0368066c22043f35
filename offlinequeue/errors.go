package offlinequeue

import (
	"errors"
	"fmt"
)

// Wire error codes a client reports for queue outcomes (luckystack-wire.md
// §2.4). They repeat the events package's constants because offlinequeue is
// a leaf and imports nothing from the module.
const (
	// CodeQueueFull is the code of a refused enqueue. The API client adds
	// HTTP status 503 when it turns this into an envelope.
	CodeQueueFull = "offline.queueFull"
	// CodeDropped is the code of a queued item that was dropped; its
	// "reason" param is the [Reason] string.
	CodeDropped = "offline.dropped"
)

var (
	// ErrQueueFull matches, via errors.Is, every [*Error] with code
	// [CodeQueueFull].
	ErrQueueFull = errors.New("offlinequeue: queue full")
	// ErrDropped matches, via errors.Is, every [*Error] with code
	// [CodeDropped].
	ErrDropped = errors.New("offlinequeue: item dropped")
	// ErrFlushInProgress is returned by Flush when another flush of the same
	// queue or pair is running. The running flush already delivers
	// everything queued, so the caller has nothing to retry.
	ErrFlushInProgress = errors.New("offlinequeue: flush already in progress")
	// ErrInvalidPolicy is wrapped when a [Policy] value or name is unknown.
	ErrInvalidPolicy = errors.New("offlinequeue: invalid drop policy")
)

// Error describes an item the queue refused or dropped. It carries what a
// client needs to build the wire error envelope: Code is the error code and
// Reason the value of its "reason" param.
type Error struct {
	// Code is [CodeQueueFull] for a refused enqueue or [CodeDropped] for a
	// queued item that will never be sent.
	Code string
	// Reason says why. A refused enqueue has [ReasonQueueFull].
	Reason Reason
	// Queue is the queue involved.
	Queue Kind
	// ID is the dropped item's id; empty for a refused enqueue, which never
	// got one.
	ID string
	// Key is the item's key, e.g. "api/chat/send/v1".
	Key string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Code == CodeQueueFull {
		return fmt.Sprintf("offlinequeue: %s queue full, refused %q", e.Queue, e.Key)
	}
	return fmt.Sprintf("offlinequeue: %s item %s (%q) dropped: %s", e.Queue, e.ID, e.Key, e.Reason)
}

// Is makes errors.Is(err, [ErrQueueFull]) and errors.Is(err, [ErrDropped])
// work by code, whatever the other fields hold.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrQueueFull:
		return e.Code == CodeQueueFull
	case ErrDropped:
		return e.Code == CodeDropped
	}
	return false
}
