package socketio

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandshakeInfoCompact(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket&room=a%20b&room=c", nil)
	r.RequestURI = "/socket.io/?EIO=4&transport=websocket&room=a%20b&room=c"
	r.RemoteAddr = "10.0.0.7:5555"
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Set("Origin", "http://x.test")
	hs := newHandshakeInfo(r)

	assert.Equal(t, "a=1", hs.header("cookie"), "lookups are case-insensitive, as http.Header.Get")
	assert.Equal(t, "one", hs.header("X-Multi"))
	assert.Empty(t, hs.header("X-Missing"))
	assert.Nil(t, hs.view.Load(), "reading one header builds no maps")
	assert.Equal(t, "10.0.0.7", hs.address)
	assert.True(t, hs.xdomain)

	v := hs.expanded()
	assert.Equal(t, []string{"one", "two"}, v.headers["X-Multi"], "values keep their order")
	assert.Equal(t, r.Header, v.headers)
	assert.Equal(t, []string{"a b", "c"}, v.query["room"])
	assert.Same(t, v, hs.expanded(), "built once and kept")
}

func TestHandshakeInfoKeepsOddHeadersInAMap(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4", nil)
	r.Header["X-Odd"] = []string{"a\x00b"}
	hs := newHandshakeInfo(r)
	require.NotNil(t, hs.fallback)
	assert.Equal(t, "a\x00b", hs.header("X-Odd"))
	assert.Equal(t, []string{"a\x00b"}, hs.expanded().headers["X-Odd"])
	assert.Equal(t, "/socket.io/?EIO=4", hs.url)
}
