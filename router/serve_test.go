package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newLoopRouter serves a router through its own loop (whatever
// ROUTER_TEST_NETHTTP says) in front of net/http's server.
func newLoopRouter(t *testing.T, cfg Config) (*Router, *httptest.Server) {
	t.Helper()
	return serveTestRouter(t, cfg, true)
}

func loopConns(rt *Router) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.clients)
}

// readLoopAnswer reads one response and its whole body.
func readLoopAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// framingBackend answers by path: fixed length, chunked in two flushes,
// 204, 304, and HEAD with a length.
func framingBackend(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/chunked":
			_, _ = io.WriteString(w, "one;")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "two")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			answer := r.Method + " " + r.URL.RequestURI() + " " + string(body)
			w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
			_, _ = io.WriteString(w, answer)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestLoopPipelinedRequests(t *testing.T) {
	t.Parallel()
	be := framingBackend(t)
	rt, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	c, br := rawRequest(t, ts, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n"+
		"HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /204 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /304 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"PUT /d HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz")
	_ = c
	resp, body := readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, "GET /a?x=1 ", body)
	assert.Equal(t, int64(len(body)), resp.ContentLength, "a known length is passed on")
	_, body = readLoopAnswer(t, br, http.MethodPost)
	assert.Equal(t, "POST /b hello", body)
	resp, body = readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, "one;two", body)
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding, "an answer of unknown length is chunked")
	resp, body = readLoopAnswer(t, br, http.MethodHead)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(len("HEAD /c ")), resp.ContentLength, "HEAD keeps the length of the body it does not carry")
	assert.Empty(t, body)
	resp, body = readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Empty(t, body)
	resp, body = readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	resp, body = readLoopAnswer(t, br, http.MethodPut)
	assert.Equal(t, "PUT /d xyz", body)
	assert.NotEmpty(t, resp.Header.Get("Date"))
	assert.Equal(t, 1, loopConns(rt), "the own loop served them all")
}

func TestLoopCloseDelimitedAnswer(t *testing.T) {
	t.Parallel()
	be := rawBackend(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil the end")
	})
	_, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be}}})
	_, br := rawRequest(t, ts, "GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n")
	for range 2 {
		resp, body := readLoopAnswer(t, br, http.MethodGet)
		assert.Equal(t, "until the end", body)
		assert.Equal(t, "1", resp.Header.Get("X-Old"))
		assert.False(t, resp.Close, "the client connection outlives the backend's")
	}
}

func TestLoopHandsUnusualRequestsToNetHTTP(t *testing.T) {
	t.Parallel()
	be := framingBackend(t)
	rt, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be.URL}}, MaxHeaderBytes: 1 << 10})
	tests := []struct {
		name, head string
		status     int
		body       string
	}{
		{"HTTP/1.0", "GET /old HTTP/1.0\r\nHost: h\r\n\r\n", http.StatusOK, "GET /old "},
		{"chunked body", "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", http.StatusOK, "POST /c abc"},
		{"expect", "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", http.StatusOK, "POST /e ok"},
		{"escaped path", "GET /a%20b HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusOK, "GET /a%20b "},
		{"oversize head", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 2<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, ""},
		{"absolute target", "GET http://other/x HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusBadRequest, ""},
		{"malformed header", "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n", http.StatusBadRequest, ""},
		{"no host", "GET / HTTP/1.1\r\n\r\n", http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, br := rawRequest(t, ts, tc.head)
			resp, err := http.ReadResponse(br, nil)
			if err == nil && resp.StatusCode == http.StatusContinue {
				resp, err = http.ReadResponse(br, nil)
			}
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.body != "" {
				assert.Equal(t, tc.body, string(body))
			}
			_ = c.Close()
		})
	}
	// None of that disturbed a plain connection.
	_, br := rawRequest(t, ts, "GET /fine HTTP/1.1\r\nHost: h\r\n\r\n")
	_, body := readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, "GET /fine ", body)
	assert.Equal(t, 1, loopConns(rt))
}

func TestLoopConnectionClose(t *testing.T) {
	t.Parallel()
	be := framingBackend(t)
	_, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	c, br := rawRequest(t, ts, "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: h\r\n\r\n")
	_ = c
	resp, body := readLoopAnswer(t, br, http.MethodGet)
	assert.Equal(t, "GET /a ", body)
	assert.True(t, resp.Close, "Connection: close is answered in kind")
	_, err := br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "and the connection closed after the answer")
}

func TestLoopIdleConnections(t *testing.T) {
	t.Parallel()
	be := framingBackend(t)
	rt, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be.URL}}, KeepAliveTimeout: 200 * time.Millisecond})
	_, br := rawRequest(t, ts, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	readLoopAnswer(t, br, http.MethodGet)
	start := time.Now()
	_, err := br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "an idle keep-alive connection is closed")
	assert.Less(t, time.Since(start), 5*time.Second)

	_, br = rawRequest(t, ts, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
	readLoopAnswer(t, br, http.MethodGet)
	rt.Close()
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "Router.Close closes idle connections")
	waitUntil(t, 2*time.Second, func() bool { return loopConns(rt) == 0 }, "the loop to let go")
}

func TestLoopLargeHeadsGrowTheBuffer(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "system")
	rt, ts := newLoopRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	big := strings.Repeat("v", 20<<10) // over the 4 KiB first buffer, under the 64 KiB cap
	_, br := rawRequest(t, ts, "GET /big HTTP/1.1\r\nHost: h\r\nX-Big: "+big+"\r\n\r\n")
	resp, body := readLoopAnswer(t, br, http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, big)
	assert.Equal(t, 1, loopConns(rt), "served by the own loop")
}
