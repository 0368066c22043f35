package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Prefix is the fixed part of a per-request reply name. The client picks an
// integer responseIndex per request and listens on prefix+index, which is how
// LuckyStack correlates replies without Socket.IO acknowledgements.
type Prefix string

// Reply name prefixes (luckystack-wire.md §2.2).
const (
	// PrefixAPIResponse is the prefix of the single API reply.
	PrefixAPIResponse Prefix = "apiResponse-"
	// PrefixAPIStream is the prefix of API stream chunks.
	PrefixAPIStream Prefix = "apiStream-"
	// PrefixSync is the prefix of the single sync acknowledgement.
	PrefixSync Prefix = "sync-"
	// PrefixSyncProgress is the prefix of the sync progress channel: first a
	// [CancelIDFrame], then the originator's stream chunks.
	PrefixSyncProgress Prefix = "sync-progress-"
	// PrefixJoinRoom is the prefix of the joinRoom reply.
	PrefixJoinRoom Prefix = "joinRoom-"
	// PrefixLeaveRoom is the prefix of the leaveRoom reply.
	PrefixLeaveRoom Prefix = "leaveRoom-"
	// PrefixGetJoinedRooms is the prefix of the getJoinedRooms reply.
	PrefixGetJoinedRooms Prefix = "getJoinedRooms-"
)

// Format returns the reply name for index i. Negative indexes are formatted
// as the Node server would (String(-1) gives "apiResponse--1") because the
// index is client-chosen and the reply must land where the client listens.
func (p Prefix) Format(i int) string { return string(p) + strconv.Itoa(i) }

// Append appends the name for index i to dst: Format without allocating,
// for a caller that has a buffer.
func (p Prefix) Append(dst []byte, i int) []byte {
	return strconv.AppendInt(append(dst, p...), int64(i), 10)
}

// APIResponse returns the name of the API reply for index i, e.g.
// "apiResponse-3".
func APIResponse(i int) string { return PrefixAPIResponse.Format(i) }

// APIStream returns the name of the API stream channel for index i.
func APIStream(i int) string { return PrefixAPIStream.Format(i) }

// Sync returns the name of the sync acknowledgement for index i. It is not
// the fan-out event, which is the fixed [NameSync].
func Sync(i int) string { return PrefixSync.Format(i) }

// SyncProgress returns the name of the sync progress channel for index i.
func SyncProgress(i int) string { return PrefixSyncProgress.Format(i) }

// JoinRoom returns the name of the joinRoom reply for index i.
func JoinRoom(i int) string { return PrefixJoinRoom.Format(i) }

// LeaveRoom returns the name of the leaveRoom reply for index i.
func LeaveRoom(i int) string { return PrefixLeaveRoom.Format(i) }

// GetJoinedRooms returns the name of the getJoinedRooms reply for index i.
func GetJoinedRooms(i int) string { return PrefixGetJoinedRooms.Format(i) }

// prefixes lists every reply prefix with the longest first: "sync-" is a
// prefix of "sync-progress-", so matching in this order keeps
// "sync-progress-3" from being read as "sync-" plus a malformed index.
func prefixes() [7]Prefix {
	return [7]Prefix{
		PrefixSyncProgress, PrefixGetJoinedRooms, PrefixAPIResponse,
		PrefixLeaveRoom, PrefixAPIStream, PrefixJoinRoom, PrefixSync,
	}
}

// ParseIndexed splits a per-request reply name into its prefix and index. It
// accepts exactly the strings the builders of this package produce: a known
// prefix followed by a canonical decimal int (no sign other than a leading
// '-', no leading zeros, no "-0", no spaces, within int range). Anything else
// yields an error wrapping [ErrNotIndexed].
func ParseIndexed(name string) (Prefix, int, error) {
	for _, p := range prefixes() {
		rest, ok := strings.CutPrefix(name, string(p))
		if !ok {
			continue
		}
		i, err := parseCanonicalInt(rest)
		if err != nil {
			return "", 0, fmt.Errorf("%w: %q: %v", ErrNotIndexed, name, err)
		}
		return p, i, nil
	}
	return "", 0, fmt.Errorf("%w: %q has no reply prefix", ErrNotIndexed, name)
}

// parseCanonicalInt accepts only what strconv.Itoa produces. Rejecting
// non-canonical spellings keeps name<->index a bijection, so two different
// strings can never address the same pending request.
func parseCanonicalInt(s string) (int, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" {
		return 0, fmt.Errorf("missing index")
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("index %q is not a decimal integer", s)
		}
	}
	if digits[0] == '0' && (len(digits) > 1 || len(s) > len(digits)) {
		return 0, fmt.Errorf("index %q is not canonical", s)
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("index %q out of range", s)
	}
	return i, nil
}

// ResponseIndex is the optional, client-chosen responseIndex of a request.
// Every request type of this package uses it, so decoding rules are the same
// for all of them:
//
//   - an integral JSON number (3, also 3.0 or 3e0, since JavaScript has one
//     number type) or a JSON string holding a canonical decimal integer
//     ("3") sets Value and Valid;
//   - a missing field or null leaves it invalid without an error;
//   - anything else (1.5, true, {}, "03", "abc") leaves it invalid and is an
//     error wrapping [ErrInvalidResponseIndex].
//
// The string form exists because the original builds its cancel-registry
// key by string concatenation, so apiCancel works with {"responseIndex":"3"}
// (luckystack-wire.md §2.1, §4.9). The original drops other requests whose
// index is a string; accepting it here too is a deliberate superset that
// keeps one rule for every event (§14.3 item 23): the browser client always
// sends numbers.
//
// It is a value with a Valid flag rather than a pointer because
// encoding/json allocates a pointer before decoding into it: a malformed
// index would otherwise look like a present index 0 to code that reads a
// partially decoded request.
type ResponseIndex struct {
	// Value is the index. It is meaningful only when Valid is true.
	Value int
	// Valid reports whether the index was present and well-formed.
	Valid bool
}

// Index returns a valid ResponseIndex holding i, for code that sends
// requests.
func Index(i int) ResponseIndex { return ResponseIndex{Value: i, Valid: true} }

// Get returns the index and whether it is valid. Index 0 is valid.
func (r ResponseIndex) Get() (int, bool) { return r.Value, r.Valid }

// IsZero reports whether r is invalid. It makes the omitzero tag option
// leave an absent index off the wire, as Node drops undefined fields.
func (r ResponseIndex) IsZero() bool { return !r.Valid }

// String returns the canonical decimal form used in reply names and cancel
// keys, or "" when r is invalid.
func (r ResponseIndex) String() string {
	if !r.Valid {
		return ""
	}
	return strconv.Itoa(r.Value)
}

// MarshalJSON encodes a valid index as a JSON number, the form every
// LuckyStack sender uses, and an invalid one as null.
func (r ResponseIndex) MarshalJSON() ([]byte, error) {
	if !r.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(r.Value), 10), nil
}

// UnmarshalJSON implements the decoding rules in the type's documentation.
// On error r is left invalid, never half-set.
func (r *ResponseIndex) UnmarshalJSON(data []byte) error {
	*r = ResponseIndex{}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("%w: empty value", ErrInvalidResponseIndex)
	}
	var (
		i   int
		err error
	)
	switch c := data[0]; {
	case bytes.Equal(data, []byte("null")):
		return nil
	case c == '"':
		var s string
		if err = json.Unmarshal(data, &s); err == nil {
			i, err = parseCanonicalInt(s)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		i, err = integralNumber(data)
	default:
		err = fmt.Errorf("got %s", data)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponseIndex, err)
	}
	*r = Index(i)
	return nil
}

// integralNumber accepts JSON numbers such as 3, 3.0 or 3e0 that denote an
// int: JavaScript has one number type, so a non-JS sender may spell an
// integer with a fraction or exponent and the original would still accept it.
func integralNumber(data []byte) (int, error) {
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return 0, err
	}
	if i, err := strconv.Atoi(n.String()); err == nil {
		return i, nil
	}
	// Round-tripping through the shortest 'f' formatting turns 3.0 and 3e0
	// into "3" and keeps fractions and out-of-range values unparsable by
	// Atoi, which also does the int-size check for this platform.
	f, err := n.Float64()
	if err == nil {
		var i int
		if i, err = strconv.Atoi(strconv.FormatFloat(f, 'f', -1, 64)); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s is not an integer", data)
}
