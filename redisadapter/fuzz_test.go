package redisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeMsgpack feeds arbitrary bytes to every decoder. None may panic;
// whatever decodes must yield valid JSON, and a payload whose only
// placeholders are the ones the decoder made must survive a JSON round trip
// unchanged (the JSON form is a fixed point).
func FuzzDecodeMsgpack(f *testing.F) {
	for _, msg := range goldenMessages() {
		f.Add(msg)
	}
	f.Add(tsExt(960854400, 123_000_000))
	f.Add(tsExt(-1, 500_000_000))
	f.Add([]byte("\x92\xd4\x00\x00\xc7\x02\x00\xab\xcd"))
	f.Add([]byte("\x84\x01\x01\xff\x02\xc3\x03\xc0\x04"))
	f.Add([]byte("\xdd\xff\xff\xff\xff"))

	f.Fuzz(func(t *testing.T, msg []byte) {
		r := &mpReader{buf: msg}
		var atts [][]byte
		out, undefined, err := appendMsgpackAsJSON(nil, r, &atts, 0)
		if err == nil && r.end() == nil && !undefined { // a top-level legacy undefined writes nothing
			require.True(t, json.Valid(out), "invalid JSON %q from %q", out, msg)
			if bytes.Count(out, []byte(`"_placeholder"`)) == len(atts) {
				m, err := appendJSONAsMsgpack(nil, out, atts)
				require.NoError(t, err, "%s", out)
				r2 := &mpReader{buf: m}
				var atts2 [][]byte
				out2, _, err := appendMsgpackAsJSON(nil, r2, &atts2, 0)
				require.NoError(t, err)
				assert.Equal(t, string(out), string(out2))
				assert.Equal(t, atts, atts2)
			}
		}

		if m, err := decodeBroadcast(msg); err == nil {
			require.True(t, m.Packet.Data == nil || json.Valid(m.Packet.Data), "%q", m.Packet.Data)
		}
		_, _ = broadcastUID(msg)
		if q, err := decodeRequest(msg); err == nil {
			require.True(t, q.Data == nil || json.Valid(q.Data))
			require.True(t, q.Packet.Data == nil || json.Valid(q.Packet.Data))
		}
		if p, err := decodeResponse(msg); err == nil {
			require.True(t, p.Packet == nil || json.Valid(p.Packet))
			_, _ = p.socketIDs()
			_, _ = p.fetchedSockets()
		}
	})
}

// FuzzTranscode pushes arbitrary JSON plus two attachments through
// JSON -> msgpack -> JSON. Whatever encodes must decode, mean the same value
// (placeholders resolved to their bytes), and be a fixed point afterwards.
func FuzzTranscode(f *testing.F) {
	f.Add(`["ev",{"a":1,"b":"x"},42]`, []byte{}, []byte{})
	f.Add(`["bin",{"_placeholder":true,"num":0}]`, []byte{1, 2, 3}, []byte{})
	f.Add(`["noack"]`, []byte{}, []byte{})
	f.Add(`["hello","world",1]`, []byte{}, []byte{})
	f.Add(`[{"_placeholder":true,"num":1},{"x":{"num":0,"_placeholder":true}}]`, []byte{9}, []byte{8, 8})
	f.Add(`[1.5,-0,1e21,1e-7,18446744073709551616,9007199254740993,"\u00e9\ud800",null,true]`, []byte{}, []byte{})
	f.Add(`{"b":{"_placeholder":false},"a":[[[]]],"":""}`, []byte{}, []byte{})
	// Invalid JSON the walker must refuse, as json.Valid does.
	for _, bad := range []string{`[1 2]`, `[,1]`, `[1,]`, `{"a" 1}`, `{"a":1,}`, `{,}`, `tru`, `nul`, `01`, `1.`, `-`, `1e`,
		`.5`, `+1`, "\"\x01\"", `"\x"`, `[1]x`, `{"a":1}}`, `{1:2}`, ` `, `[`, `"`} {
		f.Add(bad, []byte{}, []byte{})
	}

	f.Fuzz(func(t *testing.T, in string, a, b []byte) {
		atts := [][]byte{a, b}
		m, err := appendJSONAsMsgpack(nil, []byte(in), atts)
		if err != nil {
			// The walker validates the grammar itself: it may refuse valid
			// JSON only for its depth limit or a bad placeholder.
			if !errors.Is(err, errTooDeep) && !errors.Is(err, errBadPlaceholder) {
				require.False(t, json.Valid([]byte(in)), "refused valid JSON %q: %v", in, err)
			}
			return
		}
		require.True(t, json.Valid([]byte(in)), "accepted invalid JSON %q", in)

		r := &mpReader{buf: m}
		var atts1 [][]byte
		j1, undefined, err := appendMsgpackAsJSON(nil, r, &atts1, 0)
		require.NoError(t, err, "%q -> %q", in, m)
		require.NoError(t, r.end())
		require.False(t, undefined)
		require.True(t, json.Valid(j1), "%q", j1)

		var v any
		if json.Unmarshal([]byte(in), &v) == nil { // fails for numbers beyond float64, e.g. 1e400
			assert.Equal(t, substitute(v, atts), resolvePlaceholders(t, j1, atts1), "%q -> %q", in, j1)
		}

		m2, err := appendJSONAsMsgpack(nil, j1, atts1)
		require.NoError(t, err, "%q", j1)
		r2 := &mpReader{buf: m2}
		var atts2 [][]byte
		j2, _, err := appendMsgpackAsJSON(nil, r2, &atts2, 0)
		require.NoError(t, err)
		assert.Equal(t, string(j1), string(j2))
		assert.Equal(t, atts1, atts2)
	})
}
