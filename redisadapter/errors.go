package redisadapter

import "errors"

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
