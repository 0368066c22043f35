package redisadapter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBroadcastGolden encodes each golden broadcast and decodes it back.
func TestBroadcastGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  broadcastMessage
		want []byte
	}{
		{
			name: "one room",
			msg: broadcastMessage{UID: "Wm1daO",
				Packet: packet{Type: packetEvent, Nsp: "/", Data: json.RawMessage(`["ev",{"a":1,"b":"x"},42]`)},
				Opts:   broadcastOptions{Rooms: []string{"room1"}, Except: []string{}}},
			want: goldenBroadcastRoom1,
		},
		{
			name: "everyone",
			msg: broadcastMessage{UID: "Wm1daO",
				Packet: packet{Type: packetEvent, Nsp: "/", Data: json.RawMessage(`["all","plain"]`)},
				Opts:   broadcastOptions{Rooms: []string{}, Except: []string{}}},
			want: goldenBroadcastAll,
		},
		{
			name: "binary",
			msg: broadcastMessage{UID: "Wm1daO",
				Packet: packet{Type: packetEvent, Nsp: "/", Data: json.RawMessage(`["bin",{"_placeholder":true,"num":0}]`),
					Attachments: [][]byte{{1, 2, 3}}},
				Opts: broadcastOptions{Rooms: []string{"room1"}, Except: []string{}}},
			want: goldenBroadcastBinary,
		},
		{
			name: "except",
			msg: broadcastMessage{UID: "Wm1daO",
				Packet: packet{Type: packetEvent, Nsp: "/", Data: json.RawMessage(`["all","plain"]`)},
				Opts:   broadcastOptions{Rooms: []string{}, Except: []string{"room2"}}},
			want: goldenBroadcastExcept,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.msg.appendMsgpack(nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			back, err := decodeBroadcast(tc.want)
			require.NoError(t, err)
			assert.Equal(t, tc.msg, back)

			uid, err := broadcastUID(tc.want)
			require.NoError(t, err)
			assert.Equal(t, "Wm1daO", uid)
		})
	}
}

// TestBroadcastDefaults checks what an empty Go value encodes to: nil lists
// as [], empty namespace as "/", no data key for nil Data.
func TestBroadcastDefaults(t *testing.T) {
	t.Parallel()
	m := broadcastMessage{UID: "u", Packet: packet{Type: packetEvent}}
	got, err := m.appendMsgpack([]byte("prefix"))
	require.NoError(t, err)
	assert.Equal(t, []byte("prefix\x93\xa1u\x82\xa4type\x02\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80"), got)

	back, err := decodeBroadcast(got[len("prefix"):])
	require.NoError(t, err)
	assert.Nil(t, back.Packet.Data)
	assert.Equal(t, "/", back.Packet.Nsp)
}

// TestBroadcastBinaryTypeFolded checks that BINARY_EVENT and BINARY_ACK go out
// as EVENT and ACK, as Node's adapter sees them, and that the id follows nsp.
func TestBroadcastBinaryTypeFolded(t *testing.T) {
	t.Parallel()
	id := int64(12)
	m := broadcastMessage{UID: "u", Packet: packet{Type: packetBinaryAck, Nsp: "/chat", ID: &id,
		Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xff}}}}
	got, err := m.appendMsgpack(nil)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x93\xa1u\x84\xa4type\x03\xa4data\x91\xc4\x01\xff\xa3nsp\xa5/chat\xa2id\x0c"+
		"\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80"), got)

	back, err := decodeBroadcast(got)
	require.NoError(t, err)
	assert.Equal(t, packetAck, back.Packet.Type, "the wire type is kept; attachments say it is binary")
	assert.Equal(t, [][]byte{{0xff}}, back.Packet.Attachments)
	require.NotNil(t, back.Packet.ID)
	assert.Equal(t, int64(12), *back.Packet.ID)
}

// TestBroadcastFlags checks flag encoding and its round trip.
func TestBroadcastFlags(t *testing.T) {
	t.Parallel()
	no := false
	m := broadcastMessage{UID: "u", Packet: packet{Type: packetEvent},
		Opts: broadcastOptions{Flags: broadcastFlags{Volatile: true, Compress: &no, Local: true, Timeout: 1500 * time.Millisecond}}}
	got, err := m.appendMsgpack(nil)
	require.NoError(t, err)
	assert.Contains(t, string(got), "\xa5flags\x84\xa8volatile\xc3\xa8compress\xc2\xa5local\xc3\xa7timeout\xcd\x05\xdc")

	back, err := decodeBroadcast(got)
	require.NoError(t, err)
	assert.Equal(t, m.Opts.Flags, back.Opts.Flags)
}

// TestDecodeBroadcastLenient accepts what Node accepts: a packet without nsp,
// extra keys and elements, absent rooms, numeric rooms, nil flags, unknown
// flags and a float timeout.
func TestDecodeBroadcastLenient(t *testing.T) {
	t.Parallel()
	msg := []byte("\x94\xa7emitter" +
		"\x83\xa4type\x02\xa4data\x91\xa1e\xa5extra\x81\xa1k\x90" +
		"\x83\xa6except\x92\x05\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00" +
		"\xa5flags\x83\xa9broadcast\xc3\xa7timeout\xcb\x40\x8f\x40\x00\x00\x00\x00\x00\xa8volatile\xc0" +
		"\xa3pad\xc0" +
		"\xc0")
	m, err := decodeBroadcast(msg)
	require.NoError(t, err)
	assert.Equal(t, "emitter", m.UID)
	assert.Equal(t, "/", m.Packet.Nsp)
	assert.JSONEq(t, `["e"]`, string(m.Packet.Data))
	assert.Nil(t, m.Opts.Rooms)
	assert.Equal(t, []string{"5", "1.5"}, m.Opts.Except)
	assert.Equal(t, broadcastFlags{Timeout: time.Second}, m.Opts.Flags)
}

// TestDecodeBroadcastRejects checks malformed broadcasts.
func TestDecodeBroadcastRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not an array", "\x81\xa1a\x01", errInvalidMsgpack},
		{"short array", "\x92\xa1u\x80", errMalformed},
		{"uid not a string", "\x93\x01\x80\x80", errInvalidMsgpack},
		{"nil packet", "\x93\xa1u\xc0\x80", errInvalidMsgpack},
		{"nil opts", "\x93\xa1u\x80\xc0", errInvalidMsgpack},
		{"packet type too big", "\x93\xa1u\x81\xa4type\xcd\x01\x00\x80", errMalformed},
		{"room of bad kind", "\x93\xa1u\x80\x81\xa5rooms\x91\xc3", errMalformed},
		{"flag of bad kind", "\x93\xa1u\x80\x81\xa5flags\x81\xa8volatile\x01", errInvalidMsgpack},
		{"huge timeout", "\x93\xa1u\x80\x81\xa5flags\x81\xa7timeout\xcb\x7f\xef\xff\xff\xff\xff\xff\xff", errMalformed},
		{"trailing", "\x93\xa1u\x80\x80\xc0", errTrailingBytes},
		{"bad data", "\x93\xa1u\x81\xa4data\xc1\x80", errInvalidMsgpack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeBroadcast([]byte(tc.in))
			assert.ErrorIs(t, err, tc.want)
		})
	}
	_, err := broadcastUID([]byte("\x90"))
	assert.ErrorIs(t, err, errMalformed)
}

// TestBroadcastEncodeRejects checks encode-side validation of Data.
func TestBroadcastEncodeRejects(t *testing.T) {
	t.Parallel()
	m := broadcastMessage{UID: "u", Packet: packet{Data: json.RawMessage(`["x",`)}}
	got, err := m.appendMsgpack([]byte("keep"))
	assert.ErrorIs(t, err, errInvalidJSON)
	assert.Equal(t, []byte("keep"), got)

	m.Packet.Data = json.RawMessage(`[{"_placeholder":true,"num":0}]`)
	_, err = m.appendMsgpack(nil)
	assert.ErrorIs(t, err, errBadPlaceholder)
}

// TestBroadcastRoundTrip pushes assorted payloads through encode and decode.
func TestBroadcastRoundTrip(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`[]`,
		`["ev",null,true,false,0,-1,1.25,"é",{"nested":[{"deep":[]}]}]`,
		`["ev",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]`,
		`["big",9223372036854775807,-9223372036854775808,18446744073709551615]`,
	} {
		m := broadcastMessage{UID: "abcdef", Packet: packet{Type: packetEvent, Nsp: "/ns",
			Data: json.RawMessage(data), Attachments: [][]byte{{1}, {2, 2}}},
			Opts: broadcastOptions{Rooms: []string{"a", "b"}, Except: []string{"c"}}}
		enc, err := m.appendMsgpack(nil)
		require.NoError(t, err, data)
		back, err := decodeBroadcast(enc)
		require.NoError(t, err, data)
		assert.Equal(t, m.UID, back.UID)
		assert.Equal(t, m.Opts, back.Opts)
		assert.Equal(t, "/ns", back.Packet.Nsp)
		// Placeholders come back renumbered in order of appearance, with the
		// attachments reordered to match: the same value.
		assert.Equal(t, resolvePlaceholders(t, m.Packet.Data, m.Packet.Attachments),
			resolvePlaceholders(t, back.Packet.Data, back.Packet.Attachments), data)
	}
}

// resolvePlaceholders decodes JSON and substitutes each placeholder by its
// attachment, so payloads can be compared whatever their numbering.
func resolvePlaceholders(t testing.TB, data []byte, atts [][]byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	return substitute(v, atts)
}

// substitute replaces placeholders in a decoded JSON value.
func substitute(v any, atts [][]byte) any {
	switch v := v.(type) {
	case []any:
		for i := range v {
			v[i] = substitute(v[i], atts)
		}
	case map[string]any:
		if v["_placeholder"] == true {
			if f, ok := v["num"].(float64); ok && f >= 0 && int(f) < len(atts) && f == float64(int(f)) {
				return struct{ Bin string }{string(atts[int(f)])}
			}
			return struct{ Bad any }{v["num"]}
		}
		for k := range v {
			v[k] = substitute(v[k], atts)
		}
	}
	return v
}
