package router

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingBackend is an httptest server that counts its connections.
func countingBackend(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, &conns
}

func TestForwardReusesConnections(t *testing.T) {
	t.Parallel()
	be, conns := countingBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/head", "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header()["Content-Type"] = nil // sent without one
			_, _ = io.WriteString(w, "<html>body of "+r.Method+"</html>")
		}
	}))
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	c := ts.Client()
	for i := range 12 {
		method, path := http.MethodGet, []string{"/a", "/head", "/empty", "/not-modified"}[i%4]
		if path == "/head" {
			method = http.MethodHead
		}
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := c.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		if path == "/a" {
			assert.Equal(t, "<html>body of GET</html>", string(body))
			assert.NotContains(t, resp.Header, "Content-Type", "the router sniffs no content type")
		} else {
			assert.Empty(t, body)
		}
	}
	assert.Equal(t, int64(1), conns.Load(), "sequential requests share one kept-alive backend connection")
}

func TestForwardSkipsClosedIdleConnection(t *testing.T) {
	t.Parallel()
	// Every connection answers one request as keep-alive, then closes (as
	// Node does with idle connections after its keep-alive timeout).
	var closed atomic.Int64
	be := rawBackend(t, func(c net.Conn) {
		defer closed.Add(1)
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		answer := req.Method + " " + string(body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}})
	for i := range 5 {
		resp, err := ts.Client().Post(ts.URL+"/x", "text/plain", strings.NewReader(fmt.Sprint("n", i)))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d: %s", i, body)
		assert.Equal(t, fmt.Sprint("POST n", i), string(body))
		waitUntil(t, 2*time.Second, func() bool { return closed.Load() == int64(i+1) }, "the backend to close")
	}
}

func TestForwardResendsOnFreshClosedConnection(t *testing.T) {
	t.Parallel()
	// Each connection answers one request as keep-alive and closes at once:
	// a GET finds the pooled connection within freshIdle, is written to it
	// without the liveness peek and must be sent again on a new one.
	var conns atomic.Int64
	be := rawBackend(t, func(c net.Conn) {
		conns.Add(1)
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}})
	for i := range 5 {
		path := fmt.Sprint("/n", i)
		resp, err := ts.Client().Get(ts.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d: %s", i, body)
		assert.Equal(t, path, string(body))
	}
	assert.GreaterOrEqual(t, conns.Load(), int64(5), "every request needed a new backend connection")
}

func TestForwardResendsOnlyIdempotentRequests(t *testing.T) {
	t.Parallel()
	// Each connection answers its first request, then drops the next one
	// unanswered: the connection looked fine when it was picked.
	be := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if i == 1 {
				return
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}})
	send := func(method string) int {
		req, _ := http.NewRequest(method, ts.URL+"/x", strings.NewReader("b"))
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, send(http.MethodGet))
	assert.Equal(t, http.StatusOK, send(http.MethodPut), "an idempotent request is sent again on a fresh connection")
	assert.Equal(t, http.StatusBadGateway, send(http.MethodPost), "a POST the backend may have acted on is not")
}

func TestForwardStreamsBodies(t *testing.T) {
	t.Parallel()
	be := echoBody(t)
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	big := strings.Repeat("0123456789", 30_000) // 300 kB, over the held size
	sum := sha256.Sum256([]byte(big))
	tests := []struct {
		name string
		body io.Reader
		te   string
	}{
		{"known length over the held size", strings.NewReader(big), ""},
		{"unknown length", io.NopCloser(strings.NewReader(big)), "chunked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, ts.URL+"/upload", tc.body)
			resp, err := ts.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			assert.Equal(t, hex.EncodeToString(sum[:])+" "+tc.te, string(got))
		})
	}
}

// echoBody answers the sha256 of the request body and its transfer coding.
func echoBody(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		_, _ = io.Copy(h, r.Body)
		fmt.Fprintf(w, "%x %s", h.Sum(nil), strings.Join(r.TransferEncoding, ","))
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestForwardFlushesStreamingResponses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second")
	}))
	t.Cleanup(be.Close)
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	resp, err := ts.Client().Get(ts.URL + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 6)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	assert.Equal(t, "first;", string(buf), "a streamed chunk reaches the client before the answer ends")
	close(release)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "second", string(rest))
}

func TestForwardClientGoneClosesBackendLeg(t *testing.T) {
	t.Parallel()
	started, ended := make(chan struct{}), make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // a long poll that never answers
		close(ended)
	}))
	t.Cleanup(be.Close)
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be.URL}}})
	c, br := rawRequest(t, ts, "GET /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\n\r\n")
	_ = br
	<-started
	require.NoError(t, c.Close())
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend request outlived the client")
	}
}
