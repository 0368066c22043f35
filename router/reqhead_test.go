package router

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		n    int
		want headStatus
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 100, 27, headComplete},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next", 100, 27, headComplete},
		{"GET / HTTP/1.1\r\nHost: a\r\n", 100, 0, headIncomplete},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r", 100, 0, headIncomplete},
		{"GET / HTTP/1.1\nHost: a\n\n", 100, 0, headUnusual},      // bare LF
		{"\r\nGET / HTTP/1.1\r\n\r\n", 100, 0, headUnusual},       // blank first line
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 20, 0, headUnusual}, // over max
		{strings.Repeat("x", 30), 20, 0, headUnusual},             // no line end within max
	}
	for _, tc := range tests {
		n, st := scanHead([]byte(tc.in), tc.max)
		assert.Equal(t, tc.want, st, "%q", tc.in)
		assert.Equal(t, tc.n, n, "%q", tc.in)
	}
}

func TestParseHead(t *testing.T) {
	t.Parallel()
	var h reqHead
	require.True(t, parseHead("POST /api/chat/x?sid=1&b=2 HTTP/1.1\r\nHost: front:80\r\ncontent-length: 5\r\n"+
		"X-Multi: a\r\nX-Multi:  b \r\nConnection: keep-alive, Close\r\n\r\n", &h, 64))
	assert.Equal(t, "POST", h.method)
	assert.Equal(t, "/api/chat/x?sid=1&b=2", h.target)
	assert.Equal(t, "/api/chat/x", h.path)
	assert.Equal(t, "sid=1&b=2", h.query)
	assert.Equal(t, "front:80", h.host)
	assert.Equal(t, int64(5), h.contentLength)
	assert.True(t, h.close)
	assert.Equal(t, []headerField{{"Content-Length", "5"}, {"X-Multi", "a"}, {"X-Multi", "b"},
		{"Connection", "keep-alive, Close"}}, h.fields, "names canonical, values trimmed, Host apart")

	unusual := map[string]string{
		"HTTP/1.0":             "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"absolute target":      "GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"protocol-relative":    "GET //x/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"escaped path":         "GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n",
		"fragment":             "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
		"no host":              "GET / HTTP/1.1\r\nX: a\r\n\r\n",
		"two hosts":            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"empty host":           "GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"bad host":             "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"chunked":              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"two lengths":          "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"signed length":        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
		"length over the held": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n",
		"expect":               "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		"upgrade":              "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
		"connection upgrade":   "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n",
		"trailer":              "GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n",
		"folded":               "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
		"space before colon":   "GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n",
		"control in value":     "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n",
		"non-ASCII value":      "GET / HTTP/1.1\r\nHost: a\r\nX: \xc3\xa9\r\n\r\n",
		"bad method":           "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"double space":         "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
		"no colon":             "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n",
	}
	for name, in := range unusual {
		assert.False(t, parseHead(in, &h, 64), name)
	}
}

// FuzzParseHead checks the own parser against net/http's: whatever it
// accepts, http.ReadRequest accepts too and reads the same request.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: Go-http-client/1.1\r\n\r\n",
		"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nconnection: close\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\ncOOKIE: c=d\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX:\t v \t\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, st := scanHead(b, 1<<10)
		if st != headComplete {
			return
		}
		var h reqHead
		if !parseHead(string(b[:n]), &h, 1<<10) {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(b[:n]))))
		require.NoError(t, err, "net/http refuses what the own parser took: %q", b[:n])
		assert.Equal(t, req.Method, h.method)
		assert.Equal(t, req.RequestURI, h.target)
		assert.Equal(t, req.URL.Path, h.path)
		assert.Equal(t, req.URL.RawQuery, h.query)
		assert.Equal(t, req.Host, h.host)
		assert.Equal(t, req.ContentLength, h.contentLength)
		assert.Equal(t, req.Close, h.close)
		got := http.Header{}
		for _, fl := range h.fields {
			got[fl.name] = append(got[fl.name], fl.value)
		}
		assert.Equal(t, req.Header, got)
	})
}
