package redisadapter

import (
	"errors"
	"fmt"
)

// Codec errors. They stay unexported: only the adapter in this package sees
// them, and it drops (and may log) the Redis message that caused them, exactly
// as Node's adapter ignores a message it cannot parse. Callers test them with
// errors.Is because most are wrapped with the offending detail.
var (
	// errTruncated reports input that ends inside a value, or a declared
	// length or element count larger than the bytes that follow.
	errTruncated = errors.New("redisadapter: truncated message")
	// errTooDeep reports nesting beyond maxDepth, in msgpack or JSON.
	errTooDeep = errors.New("redisadapter: nesting too deep")
	// errTrailingBytes reports bytes after the top-level value; notepack.io
	// rejects those too.
	errTrailingBytes = errors.New("redisadapter: trailing bytes")
	// errInvalidMsgpack reports the reserved byte 0xc1 or a value of the wrong
	// msgpack kind where the message layout needs a specific one.
	errInvalidMsgpack = errors.New("redisadapter: invalid msgpack")
	// errUnsupportedExt reports a msgpack extension other than the timestamp
	// (-1) and notepack's legacy type 0 encodings.
	errUnsupportedExt = errors.New("redisadapter: unsupported msgpack extension")
	// errInvalidJSON reports JSON that does not parse.
	errInvalidJSON = errors.New("redisadapter: invalid JSON")
	// errBadPlaceholder reports a {"_placeholder":true} object whose num does
	// not index the attachments, mirroring socket.io-parser's "illegal
	// attachments".
	errBadPlaceholder = errors.New("redisadapter: illegal attachments")
	// errMalformed reports a well-formed value that is not a valid adapter
	// message (missing or mistyped field, unknown request type, ...).
	errMalformed = errors.New("redisadapter: malformed adapter message")
	// errTooLarge reports a message beyond maxMessageSize.
	errTooLarge = errors.New("redisadapter: message too large")
)

// errNoPong reports a subscription connection that stayed open but did not
// answer a PING; the adapter replaces it.
var errNoPong = errors.New("redisadapter: no answer to PING")

// Errors the adapter returns to callers.
var (
	// ErrClosed is returned by operations on an adapter (or a namespace
	// adapter) after Close.
	ErrClosed = errors.New("redisadapter: adapter closed")
	// ErrQueueFull is returned when a publish does not fit in the publish
	// queue ([Options.MaxPendingPublishes]), typically while Redis is slow or
	// unreachable. Local delivery has happened; only other servers miss it.
	ErrQueueFull = errors.New("redisadapter: publish queue full")
	// ErrTimeout is matched by the [*TimeoutError] of a cluster request that
	// ended before every server answered.
	ErrTimeout = errors.New("redisadapter: timeout reached")
	// ErrBinaryServerSideEmit is returned by a server-side emit whose
	// arguments hold binary: Node sends those requests as JSON, where a
	// Buffer would arrive as {"type":"Buffer","data":[...]} instead.
	ErrBinaryServerSideEmit = errors.New("redisadapter: binary data in a server-side emit")
)

// TimeoutError is returned, together with the results gathered so far, by a
// cluster request (fetch sockets, all rooms, server-side emit with acks) whose
// context ended before every expected server answered.
type TimeoutError struct {
	// Op is the operation: "fetchSockets", "allRooms" or "serverSideEmit".
	Op string
	// Answered and Expected count servers. For fetchSockets and allRooms
	// this server counts as one that answered (its local results are
	// included); for serverSideEmit only the other servers count, as in
	// Node.
	Answered, Expected int
	// Err is the context's error.
	Err error
}

// Error says how many servers answered, e.g. "redisadapter: fetchSockets:
// timeout reached: 1 of 2 servers answered: context deadline exceeded".
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("redisadapter: %s: timeout reached: %d of %d servers answered: %v",
		e.Op, e.Answered, e.Expected, e.Err)
}

// Unwrap makes errors.Is match [ErrTimeout] and the context's error.
func (e *TimeoutError) Unwrap() []error { return []error{ErrTimeout, e.Err} }
