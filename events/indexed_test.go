package events_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/events"
)

func TestIndexedBuilders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{events.APIResponse(3), "apiResponse-3"},
		{events.APIStream(0), "apiStream-0"},
		{events.Sync(12), "sync-12"},
		{events.SyncProgress(7), "sync-progress-7"},
		{events.JoinRoom(1), "joinRoom-1"},
		{events.LeaveRoom(2), "leaveRoom-2"},
		{events.GetJoinedRooms(99), "getJoinedRooms-99"},
		// Node's String(-1): the client chose the index, the reply must
		// go where it listens.
		{events.APIResponse(-1), "apiResponse--1"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.got)
	}
}

func TestParseIndexed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		prefix events.Prefix
		index  int
	}{
		{"apiResponse-3", events.PrefixAPIResponse, 3},
		{"apiStream-0", events.PrefixAPIStream, 0},
		{"sync-5", events.PrefixSync, 5},
		// Longest prefix wins: this is not "sync-" + "progress-8".
		{"sync-progress-8", events.PrefixSyncProgress, 8},
		{"joinRoom-10", events.PrefixJoinRoom, 10},
		{"leaveRoom-11", events.PrefixLeaveRoom, 11},
		{"getJoinedRooms-12", events.PrefixGetJoinedRooms, 12},
		{"apiResponse--4", events.PrefixAPIResponse, -4},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			p, i, err := events.ParseIndexed(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.prefix, p)
			assert.Equal(t, tc.index, i)
		})
	}
}

func TestParseIndexedRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"apiResponse",
		"apiResponse-",
		"apiResponse-abc",
		"apiResponse-3a",
		"apiResponse-03",  // String(3) never produces a leading zero
		"apiResponse--0",  // nor a negative zero
		"apiResponse-+3",  // nor a plus sign
		"apiResponse- 3",  // nor spaces
		"apiResponse-3 ",  //
		"apiResponse-1.5", // a fraction is not an int index
		"apiResponse-1e3",
		"apiResponse-99999999999999999999", // out of int range
		"sync-progress",                    // "sync-" + "progress"
		"sync-progress-",
		"apiRequest-3", // a request name, not a reply prefix
		"userAfk-1",
		"APIRESPONSE-3", // names are case-sensitive
		"xapiResponse-3",
	} {
		_, _, err := events.ParseIndexed(in)
		assert.ErrorIs(t, err, events.ErrNotIndexed, "%q", in)
	}
}

func FuzzParseIndexed(f *testing.F) {
	for _, s := range []string{"apiResponse-3", "sync-progress-0", "sync--1", "joinRoom-007", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, i, err := events.ParseIndexed(s)
		if err != nil {
			return
		}
		// Whatever parses must be exactly what the builder produces, so no
		// two spellings ever address the same request.
		if got := p.Format(i); got != s {
			t.Fatalf("ParseIndexed(%q) = %q,%d which formats as %q", s, p, i, got)
		}
	})
}

func TestResponseIndexUnmarshal(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want int
	}{
		{`3`, 3},
		{`0`, 0},
		{`-2`, -2},
		{`"3"`, 3},
		{`"0"`, 0},
		{`3.0`, 3},
		{`3e0`, 3},
		{`9007199254740993`, 9007199254740993}, // beyond float precision, still exact
	}
	for _, tc := range ok {
		var r events.ResponseIndex
		require.NoError(t, json.Unmarshal([]byte(tc.in), &r), tc.in)
		i, valid := r.Get()
		assert.True(t, valid, tc.in)
		assert.Equal(t, tc.want, i, tc.in)
	}

	for _, in := range []string{
		`1.5`, `"1.5"`, `"abc"`, `""`, `"03"`, `" 3"`, `true`, `{}`, `[]`,
		`1e300`, `99999999999999999999`, `"99999999999999999999"`,
	} {
		// Start from a valid value: a failed decode must not leave the old
		// or a half-parsed index looking valid.
		r := events.Index(8)
		err := json.Unmarshal([]byte(in), &r)
		assert.ErrorIs(t, err, events.ErrInvalidResponseIndex, "%s", in)
		assert.False(t, r.Valid, "%s", in)
	}
}

func TestResponseIndexMarshalAndString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `42`, marshal(t, events.Index(42)))
	assert.Equal(t, `null`, marshal(t, events.ResponseIndex{}))
	assert.Equal(t, "42", events.Index(42).String())
	assert.Equal(t, strconv.Itoa(-7), events.Index(-7).String())
	assert.Equal(t, "", events.ResponseIndex{Value: 3}.String(), "invalid index has no name")
}

func TestAPICancelAcceptsNumberAndString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    events.ResponseIndex
		wantErr bool
	}{
		{`{"responseIndex":5}`, events.Index(5), false},
		{`{"responseIndex":"5"}`, events.Index(5), false},
		{`{"responseIndex":0}`, events.Index(0), false},
		// Absent and null must not be read as index 0, or they would
		// cancel request 0.
		{`{}`, events.ResponseIndex{}, false},
		{`{"responseIndex":null}`, events.ResponseIndex{}, false},
		{`{"responseIndex":true}`, events.ResponseIndex{}, true},
		{`{"responseIndex":"x"}`, events.ResponseIndex{}, true},
	}
	for _, tc := range tests {
		var c events.APICancel
		err := json.Unmarshal([]byte(tc.in), &c)
		if tc.wantErr {
			assert.ErrorIs(t, err, events.ErrInvalidResponseIndex, tc.in)
		} else {
			assert.NoError(t, err, tc.in)
		}
		assert.Equal(t, tc.want, c.ResponseIndex, tc.in)
	}
}
