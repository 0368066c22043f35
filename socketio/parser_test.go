package socketio

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodePacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		want        Packet
		attachments int
		err         error
	}{
		{"connect", "0", Packet{Type: PacketConnect, Nsp: "/", ID: -1}, 0, nil},
		{"connect with auth", `0{"token":"x"}`, Packet{Type: PacketConnect, Nsp: "/", ID: -1, Data: json.RawMessage(`{"token":"x"}`)}, 0, nil},
		{"connect namespace", "0/admin,", Packet{Type: PacketConnect, Nsp: "/admin", ID: -1}, 0, nil},
		{"connect namespace without comma", "0/admin", Packet{Type: PacketConnect, Nsp: "/admin", ID: -1}, 0, nil},
		{"connect namespace with auth", `0/admin,{"a":1}`, Packet{Type: PacketConnect, Nsp: "/admin", ID: -1, Data: json.RawMessage(`{"a":1}`)}, 0, nil},
		{"disconnect", "1", Packet{Type: PacketDisconnect, Nsp: "/", ID: -1}, 0, nil},
		{"disconnect namespace", "1/x,", Packet{Type: PacketDisconnect, Nsp: "/x", ID: -1}, 0, nil},
		{"event", `2["a",1]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["a",1]`)}, 0, nil},
		{"event with id", `212["a"]`, Packet{Type: PacketEvent, Nsp: "/", ID: 12, Data: json.RawMessage(`["a"]`)}, 0, nil},
		{"event id zero", `20["a"]`, Packet{Type: PacketEvent, Nsp: "/", ID: 0, Data: json.RawMessage(`["a"]`)}, 0, nil},
		{"event namespace and id", `2/chat,7["a"]`, Packet{Type: PacketEvent, Nsp: "/chat", ID: 7, Data: json.RawMessage(`["a"]`)}, 0, nil},
		{"event numeric name", `2[1]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`[1]`)}, 0, nil},
		{"event negative numeric name", `2[-1]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`[-1]`)}, 0, nil},
		{"largest ack id", `29007199254740991["a"]`, Packet{Type: PacketEvent, Nsp: "/", ID: maxAckID, Data: json.RawMessage(`["a"]`)}, 0, nil},
		{"ack", `35[1]`, Packet{Type: PacketAck, Nsp: "/", ID: 5, Data: json.RawMessage(`[1]`)}, 0, nil},
		{"ack empty", `35[]`, Packet{Type: PacketAck, Nsp: "/", ID: 5, Data: json.RawMessage(`[]`)}, 0, nil},
		{"connect_error object", `4{"message":"x"}`, Packet{Type: PacketConnectError, Nsp: "/", ID: -1, Data: json.RawMessage(`{"message":"x"}`)}, 0, nil},
		{"connect_error string", `4"x"`, Packet{Type: PacketConnectError, Nsp: "/", ID: -1, Data: json.RawMessage(`"x"`)}, 0, nil},
		{"binary event", `51-["a",{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`)}, 1, nil},
		{"binary event full", `52-/b,3["a"]`, Packet{Type: PacketBinaryEvent, Nsp: "/b", ID: 3, Data: json.RawMessage(`["a"]`)}, 2, nil},
		{"binary ack", `61-4[{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryAck, Nsp: "/", ID: 4, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`)}, 1, nil},
		{"max attachments", `510-["a"]`, Packet{Type: PacketBinaryEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["a"]`)}, 10, nil},

		{"empty", "", Packet{}, 0, errUnknownType},
		{"type 7", "7", Packet{}, 0, errUnknownType},
		{"type letter", "a", Packet{}, 0, errUnknownType},
		{"attachments missing dash", `51["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments empty", `5-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments zero", `50-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments negative", `5-1-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments too many", `511-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments huge", `599999999999-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"attachments not a number", `5x-["a"]`, Packet{}, 0, errIllegalAttachments},
		{"ack id beyond 2^53", `29007199254740992["a"]`, Packet{}, 0, errIllegalID},
		{"ack id overflow", `2123456789012345678901234567890["a"]`, Packet{}, 0, errIllegalID},
		{"invalid JSON", `2["a"`, Packet{}, 0, errInvalidPayload},
		{"two JSON values", `2["a"]["b"]`, Packet{}, 0, errInvalidPayload},
		{"event object", `2{"a":1}`, Packet{}, 0, errInvalidPayload},
		{"event string", `2"a"`, Packet{}, 0, errInvalidPayload},
		{"event empty array", `2[]`, Packet{}, 0, errInvalidPayload},
		{"event no data", `2`, Packet{}, 0, errInvalidPayload},
		{"event null name", `2[null]`, Packet{}, 0, errInvalidPayload},
		{"event reserved name", `2["connect"]`, Packet{}, 0, errInvalidPayload},
		{"event reserved name escaped", `2["disc\u006fnnect"]`, Packet{}, 0, errInvalidPayload},
		{"binary event reserved", `51-["newListener",{"_placeholder":true,"num":0}]`, Packet{}, 0, errInvalidPayload},
		{"connect array", `0[]`, Packet{}, 0, errInvalidPayload},
		{"connect null", `0null`, Packet{}, 0, errInvalidPayload},
		{"connect string", `0"x"`, Packet{}, 0, errInvalidPayload},
		{"disconnect with data", `1{}`, Packet{}, 0, errInvalidPayload},
		{"ack object", `31{}`, Packet{}, 0, errInvalidPayload},
		{"ack no data", `31`, Packet{}, 0, errInvalidPayload},
		{"connect_error array", `4[]`, Packet{}, 0, errInvalidPayload},
		{"connect_error number", `41`, Packet{}, 0, errInvalidPayload},
		{"too deep", `2["a",` + strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting) + `]`, Packet{}, 0, errTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, n, err := decodePacket([]byte(tc.in))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			p.event, p.args = "", nil // checked by TestDecodePacketSplitsEvents
			assert.Equal(t, tc.want, p)
			assert.Equal(t, tc.attachments, n)
		})
	}
}

// An EVENT leaves decodePacket split, so the handler path does not split it
// again.
func TestDecodePacketSplitsEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		event string
		args  []string
	}{
		{`2["a",1,{"b":[2,3]}, "x"]`, "a", []string{`1`, `{"b":[2,3]}`, `"x"`}},
		{`212["a"]`, "a", []string{}},
		{`2["café"]`, "café", []string{}},
		{`2["a\u0062c"]`, "abc", []string{}},
		{`2["say \"hi\""]`, `say "hi"`, []string{}},
		{`2["tab\tname",0]`, "tab\tname", []string{`0`}},
		{`2[1.50,true]`, "1.5", []string{`true`}},
		{`2[-2]`, "-2", []string{}},
		{`2[1e400]`, "", []string{}},
		{`51-["up",{"_placeholder":true,"num":0}]`, "up", []string{`{"_placeholder":true,"num":0}`}},
	}
	for _, tc := range tests {
		p, _, err := decodePacket([]byte(tc.in))
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.event, p.event, tc.in)
		got := make([]string, len(p.args))
		for i, a := range p.args {
			got[i] = string(a)
		}
		assert.Equal(t, tc.args, got, tc.in)
		assert.NotNil(t, p.args, "%s: nil args would mean not split", tc.in)
	}
	p, _, err := decodePacket([]byte(`35[1]`))
	require.NoError(t, err)
	assert.Nil(t, p.args, "only events are split")
}

func TestDecodePacketNestingLimit(t *testing.T) {
	t.Parallel()
	ok := `2["a",` + strings.Repeat("[", maxNesting-1) + strings.Repeat("]", maxNesting-1) + `]`
	_, _, err := decodePacket([]byte(ok))
	require.NoError(t, err)
	// Brackets inside strings do not count.
	_, _, err = decodePacket([]byte(`2["a","` + strings.Repeat("[", 500) + `\"` + `"]`))
	require.NoError(t, err)
}

func TestAppendPacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect", Packet{Type: PacketConnect, ID: -1, Data: json.RawMessage(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{"connect root namespace", Packet{Type: PacketConnect, Nsp: "/", ID: -1}, `0`},
		{"connect namespace", Packet{Type: PacketConnect, Nsp: "/a", ID: -1, Data: json.RawMessage(`{}`)}, `0/a,{}`},
		{"disconnect namespace", Packet{Type: PacketDisconnect, Nsp: "/a", ID: -1}, `1/a,`},
		{"event", Packet{Type: PacketEvent, ID: -1, Data: json.RawMessage(`["e"]`)}, `2["e"]`},
		{"event with ack", Packet{Type: PacketEvent, Nsp: "/a", ID: 0, Data: json.RawMessage(`["e"]`)}, `2/a,0["e"]`},
		{"ack", Packet{Type: PacketAck, ID: 9, Data: json.RawMessage(`[]`)}, `39[]`},
		{"event becomes binary", Packet{Type: PacketEvent, ID: -1, Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}},
			`51-["e",{"_placeholder":true,"num":0}]`},
		{"ack becomes binary", Packet{Type: PacketAck, Nsp: "/n", ID: 3, Data: json.RawMessage(`[1]`), Attachments: [][]byte{{1}, {2}}}, `62-/n,3[1]`},
		{"connect_error", Packet{Type: PacketConnectError, Nsp: "/n", ID: -1, Data: json.RawMessage(`{"message":"Invalid namespace"}`)},
			`4/n,{"message":"Invalid namespace"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendPacket([]byte("4"), &tc.p))
			assert.Equal(t, "4"+tc.want, got)
			// What we encode, we decode back.
			p, n, err := decodePacket([]byte(tc.want))
			require.NoError(t, err)
			assert.Equal(t, len(tc.p.Attachments), n)
			assert.Equal(t, tc.p.ID, p.ID)
			assert.Equal(t, string(tc.p.Data), string(p.Data))
		})
	}
}

func TestPacketTypeString(t *testing.T) {
	t.Parallel()
	names := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, n := range names {
		assert.Equal(t, n, PacketType(i).String())
	}
	assert.Equal(t, "UNKNOWN(9)", PacketType(9).String())
}

func TestSplitArray(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{`[]`, nil, false},
		{` [ ] `, nil, false},
		{`[1]`, []string{`1`}, false},
		{`["a",1,true,null]`, []string{`"a"`, `1`, `true`, `null`}, false},
		{`[ "a" , { "b" : [1,2] } , [3,[4]] ]`, []string{`"a"`, `{ "b" : [1,2] }`, `[3,[4]]`}, false},
		{`["a,b","c\"],d",{"e":"]"}]`, []string{`"a,b"`, `"c\"],d"`, `{"e":"]"}`}, false},
		{"[\n1,\t2\r\n]", []string{`1`, `2`}, false},
		{`{}`, nil, true},
		{`"[]"`, nil, true},
		{``, nil, true},
		{`[`, nil, true},
		// Invalid JSON must not crash it (adapters feed it peers' data).
		{`[,]`, nil, true},
		{`[,1]`, nil, true},
		{`[1,,2]`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := splitArray([]byte(tc.in))
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			var strs []string
			for _, g := range got {
				strs = append(strs, string(g))
			}
			assert.Equal(t, tc.want, strs)
		})
	}
}

func TestCheckPlaceholders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		n    int
		ok   bool
	}{
		{"no attachments", `["a"]`, 0, true},
		{"one", `["a",{"_placeholder":true,"num":0}]`, 1, true},
		{"nested", `["a",{"x":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":0}]`, 2, true},
		{"unused attachment", `["a"]`, 1, true},
		{"placeholder false is data", `["a",{"_placeholder":false,"num":9}]`, 1, true},
		{"out of range", `["a",{"_placeholder":true,"num":1}]`, 1, false},
		{"negative", `["a",{"_placeholder":true,"num":-1}]`, 1, false},
		{"fraction", `["a",{"_placeholder":true,"num":0.5}]`, 1, false},
		{"huge", `["a",{"_placeholder":true,"num":1e300}]`, 1, false},
		{"string num", `["a",{"_placeholder":true,"num":"0"}]`, 1, false},
		{"missing num", `["a",{"_placeholder":true}]`, 1, false},
		{"deep inside", `["a",{"b":{"c":[[{"_placeholder":true,"num":3}]]}}]`, 2, false},
		{"invalid JSON", `["a",`, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPlaceholders([]byte(tc.data), tc.n)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestIsReservedEvent(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		assert.True(t, isReservedEvent(name), name)
	}
	for _, name := range []string{"message", "Connect", "error", "ping", ""} {
		assert.False(t, isReservedEvent(name), name)
	}
}

// A connection's repeated event name is reused, not allocated again; a
// new name replaces it, and escaped names are decoded as before.
func TestDecodePacketReusesTheLastEventName(t *testing.T) {
	var last string
	p1, _, err := decodePacketNamed([]byte(`2["apiRequest",{"a":1}]`), &last)
	require.NoError(t, err)
	p2, _, err := decodePacketNamed([]byte(`2["apiRequest",{"a":2}]`), &last)
	require.NoError(t, err)
	require.Equal(t, "apiRequest", p2.event)
	require.Same(t, unsafe.StringData(p1.event), unsafe.StringData(p2.event))
	p3, _, err := decodePacketNamed([]byte(`2["other"]`), &last)
	require.NoError(t, err)
	require.Equal(t, "other", p3.event)
	require.Equal(t, "other", last)
	p4, _, err := decodePacketNamed([]byte(`2["say \"hi\"",1]`), &last)
	require.NoError(t, err)
	require.Equal(t, `say "hi"`, p4.event)
	require.Equal(t, "other", last)
}
