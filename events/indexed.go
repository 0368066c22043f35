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

// ResponseIndex is a responseIndex that may arrive either as a JSON number or
// as a JSON string. The original server builds its cancel-registry key by
// string concatenation, so apiCancel accepts {"responseIndex":3} and
// {"responseIndex":"3"} alike (luckystack-wire.md §2.1, §4.9).
//
// Only integral numbers and canonical decimal strings are accepted; any other
// JSON value (fractions, booleans, null, objects, "03", "abc") is an error
// wrapping [ErrInvalidResponseIndex]. Such a value could never match a
// registered request in the original either, so refusing it loses nothing.
// Fields that may be absent should be *ResponseIndex: encoding/json leaves a
// nil pointer for both a missing key and null, which keeps "absent" apart
// from index 0.
type ResponseIndex int

// Int returns the index as a plain int.
func (r ResponseIndex) Int() int { return int(r) }

// String returns the canonical decimal form used in reply names and cancel
// keys.
func (r ResponseIndex) String() string { return strconv.Itoa(int(r)) }

// MarshalJSON encodes the index as a JSON number, the form every LuckyStack
// sender uses.
func (r ResponseIndex) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(r), 10), nil
}

// UnmarshalJSON accepts an integral JSON number or a JSON string holding a
// canonical decimal integer.
func (r *ResponseIndex) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("%w: empty value", ErrInvalidResponseIndex)
	}
	switch c := data[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidResponseIndex, err)
		}
		i, err := parseCanonicalInt(s)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidResponseIndex, err)
		}
		*r = ResponseIndex(i)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		i, err := integralNumber(data)
		if err != nil {
			return err
		}
		*r = ResponseIndex(i)
		return nil
	default:
		return fmt.Errorf("%w: got %s", ErrInvalidResponseIndex, data)
	}
}

// integralNumber accepts JSON numbers such as 3, 3.0 or 3e0 that denote an
// int: JavaScript has one number type, so a non-JS sender may spell an
// integer with a fraction or exponent and the original would still accept it.
func integralNumber(data []byte) (int, error) {
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidResponseIndex, err)
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
	return 0, fmt.Errorf("%w: %s is not an integer", ErrInvalidResponseIndex, data)
}
