package client

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in          string
		typ         byte
		nsp         string
		id          int64
		attachments int
		data        string
	}{
		{`2["a",1]`, sioEvent, "/", -1, 0, `["a",1]`},
		{`212["a"]`, sioEvent, "/", 12, 0, `["a"]`},
		{`2/chat,3["a"]`, sioEvent, "/chat", 3, 0, `["a"]`},
		{`37[true]`, sioAck, "/", 7, 0, `[true]`},
		{`0{"sid":"x"}`, sioConnect, "/", -1, 0, `{"sid":"x"}`},
		{`1`, sioDisconnect, "/", -1, 0, ``},
		{`1/chat`, sioDisconnect, "/chat", -1, 0, ``},
		{`52-["a",{"_placeholder":true,"num":0}]`, sioBinaryEvent, "/", -1, 2, `["a",{"_placeholder":true,"num":0}]`},
	}
	for _, tc := range tests {
		p, err := decodePacket([]byte(tc.in))
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.typ, p.typ, tc.in)
		assert.Equal(t, tc.nsp, p.nsp, tc.in)
		assert.Equal(t, tc.id, p.id, tc.in)
		assert.Equal(t, tc.attachments, p.attachments, tc.in)
		assert.Equal(t, tc.data, string(p.data), tc.in)
	}
	for _, bad := range []string{``, `9`, `5-[]`, `5x-[]`, `511-[]`, `299999999999999999999["a"]`} {
		_, err := decodePacket([]byte(bad))
		assert.ErrorIs(t, err, errBadPacket, bad)
	}
}

func TestEncodeEvent(t *testing.T) {
	b, err := encodeEvent("/", -1, "apiRequest", json.RawMessage(`{"a":1}`))
	require.NoError(t, err)
	assert.Equal(t, `42["apiRequest",{"a":1}]`, string(b))
	b, err = encodeEvent("/x", 5, `q"uote`)
	require.NoError(t, err)
	assert.Equal(t, `42/x,5["q\"uote"]`, string(b))
	c, err := encodeConnect("/", map[string]any{"token": "t"})
	require.NoError(t, err)
	assert.Equal(t, `40{"token":"t"}`, string(c))
	c, err = encodeConnect("/x", nil)
	require.NoError(t, err)
	assert.Equal(t, `40/x,`, string(c))
}

func TestSplitEventCopiesArguments(t *testing.T) {
	buf := []byte(`["ev",{"a":1},"s"]`)
	name, args, err := splitEvent(buf)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = 'x' // the reader reuses its buffer
	}
	assert.Equal(t, "ev", name)
	assert.Equal(t, []json.RawMessage{json.RawMessage(`{"a":1}`), json.RawMessage(`"s"`)}, args)
	for _, bad := range []string{`[]`, `{}`, `[1]`, `nope`} {
		_, _, err := splitEvent([]byte(bad))
		assert.ErrorIs(t, err, errBadPacket, bad)
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{`2["a",1]`, `212/x,["a"]`, `52-["a"]`, `0{}`, `44{"message":"m"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		if p.typ == sioEvent {
			_, _, _ = splitEvent(p.data)
		}
	})
}

func TestMarshalArgs(t *testing.T) {
	out, err := marshalArgs([]any{1, "s", json.RawMessage(`{"a":1}`), nil})
	require.NoError(t, err)
	assert.Equal(t, []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`"s"`), json.RawMessage(`{"a":1}`), json.RawMessage(`null`)}, out)
	_, err = marshalArgs([]any{[]byte{1, 2}})
	assert.ErrorIs(t, err, ErrBinaryUnsupported)
	_, err = marshalArgs([]any{json.RawMessage(`{`)})
	assert.Error(t, err)
	_, err = marshalArgs([]any{func() {}})
	assert.Error(t, err)
}
