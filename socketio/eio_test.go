package socketio

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteEIOError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   int
		msg    string
		status int
		body   string
	}{
		{errCodeUnknownTransport, "", 400, `{"code":0,"message":"Transport unknown"}`},
		{errCodeUnknownSID, "", 400, `{"code":1,"message":"Session ID unknown"}`},
		{errCodeBadHandshakeMethod, "", 400, `{"code":2,"message":"Bad handshake method"}`},
		{errCodeBadRequest, "", 400, `{"code":3,"message":"Bad request"}`},
		{errCodeForbidden, "", 403, `{"code":4,"message":"Forbidden"}`},
		{errCodeForbidden, `no "you"`, 403, `{"code":4,"message":"no \"you\""}`},
		{errCodeUnsupportedVersion, "", 400, `{"code":5,"message":"Unsupported protocol version"}`},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		writeEIOError(rec, tc.code, tc.msg)
		assert.Equal(t, tc.status, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, tc.body, rec.Body.String())
	}
}

func TestOpenPacket(t *testing.T) {
	t.Parallel()
	o := Options{PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxHTTPBufferSize: 1e6}
	assert.Equal(t, `{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		string(openPacket("abc", []string{"websocket"}, &o)))
	assert.Equal(t, `{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		string(openPacket("abc", nil, &o)))
}

func TestDecodePollingPayload(t *testing.T) {
	t.Parallel()
	type pkt struct {
		Typ    byte
		Data   string
		Binary bool
	}
	tests := []struct {
		name string
		body string
		want []pkt
		ok   bool
	}{
		{"one message", "4hello", []pkt{{'4', "hello", false}}, true},
		{"several", "4a\x1e2\x1e3\x1e6\x1e4b", []pkt{{'4', "a", false}, {'2', "", false}, {'3', "", false}, {'6', "", false}, {'4', "b", false}}, true},
		{"binary", "bAQID", []pkt{{'4', "\x01\x02\x03", true}}, true},
		{"binary empty", "b", []pkt{{'4', "", true}}, true},
		{"mixed", "451-[\"a\",{\"_placeholder\":true,\"num\":0}]\x1ebAA==", []pkt{{'4', "51-[\"a\",{\"_placeholder\":true,\"num\":0}]", false}, {'4', "\x00", true}}, true},
		{"all types", "0\x1e1\x1e5", []pkt{{'0', "", false}, {'1', "", false}, {'5', "", false}}, true},
		{"message with unicode", "4é€😀", []pkt{{'4', "é€😀", false}}, true},

		{"empty body", "", nil, false},
		{"empty packet", "4a\x1e\x1e4b", []pkt{{'4', "a", false}}, false},
		{"trailing separator", "4a\x1e", []pkt{{'4', "a", false}}, false},
		{"unknown type", "7", nil, false},
		{"letter type", "x", nil, false},
		{"bad base64", "b@@@", nil, false},
		{"base64 url alphabet", "b-_-_", nil, false},
		{"stops at the first error", "4a\x1e9\x1e4b", []pkt{{'4', "a", false}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []pkt
			ok := decodePollingPayload([]byte(tc.body), func(typ byte, data []byte, binary bool) bool {
				got = append(got, pkt{typ, string(data), binary})
				return true
			})
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("callback stops", func(t *testing.T) {
		n := 0
		ok := decodePollingPayload([]byte("4a\x1e4b\x1e4c"), func(byte, []byte, bool) bool { n++; return n < 2 })
		assert.False(t, ok)
		assert.Equal(t, 2, n)
	})
}

func TestWireMsg(t *testing.T) {
	t.Parallel()
	m := newTextMsg(eioMessage, []byte(`2["a"]`))
	assert.Equal(t, `42["a"]`, string(m.pollingText()))
	assert.Equal(t, []byte{0x81, 7}, m.wsHeader())
	assert.Equal(t, `42["a"]`, string(m.wsPayload()))
	assert.Equal(t, 7+16, m.size())

	b := newBinaryMsg([]byte{0xff, 0, 1})
	assert.Equal(t, "b/wAB", string(b.pollingText()))
	assert.Equal(t, []byte{0x82, 3}, b.wsHeader())
	assert.Equal(t, []byte{0xff, 0, 1}, b.wsPayload())

	empty := newBinaryMsg(nil)
	assert.Equal(t, "b", string(empty.pollingText()))
	assert.Equal(t, []byte{0x82, 0}, empty.wsHeader())

	pong := newControlFrame(0xA, []byte("hi"))
	assert.Equal(t, []byte{0x8A, 2}, pong.wsHeader())
}

func TestAppendFrameHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{1 << 32, []byte{0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, appendFrameHeader(nil, 0x1, tc.n), "n=%d", tc.n)
	}
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := Options{}.withDefaults()
	assert.Equal(t, "/socket.io/", o.Path)
	assert.Equal(t, 25*time.Second, o.PingInterval)
	assert.Equal(t, 20*time.Second, o.PingTimeout)
	assert.Equal(t, 10*time.Second, o.UpgradeTimeout)
	assert.Equal(t, 45*time.Second, o.ConnectTimeout)
	assert.Equal(t, int64(1e6), o.MaxHTTPBufferSize)
	assert.Equal(t, SlowConsumerDisconnect, o.SlowConsumer)
	assert.Equal(t, "/custom/", Options{Path: "/custom"}.withDefaults().Path)
	assert.Equal(t, "disconnect", SlowConsumerDisconnect.String())
	assert.Equal(t, "drop", SlowConsumerDrop.String())
	assert.Equal(t, "unset", SlowConsumerPolicy(0).String())
}

func TestCustomPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Path: "/rt"})
	resp, err := e.http.Get(e.ts.URL + "/rt/?EIO=4&transport=polling")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	o := parseOpen(t, string(body))
	assert.Len(t, o.SID, 20)
	resp2, err := e.http.Get(e.url("EIO=4&transport=polling"))
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, 404, resp2.StatusCode)
}
