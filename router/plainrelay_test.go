package router

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relayRun is what a client and the pool see of one relayed answer.
type relayRun struct {
	out     string // bytes written to the client
	keep    bool   // the client connection stays open
	pooled  bool   // the backend connection went back to the pool
	rest    string // bytes left on the backend connection
	relayed bool   // the plain relay took it
	err     bool   // reading the answer failed: the caller answers 502
}

// generalOnly is the own loop's writer as another type, which the plain
// relay does not take: the answer goes the general way.
type generalOnly struct{ *respWriter }

// relayAnswer relays answer as forwardHTTP does after writing the
// request: the plain relay first when fast is set, else (or when it
// declines) the general path.
func relayAnswer(t *testing.T, answer []byte, method string, closeConn, fast bool) relayRun {
	t.Helper()
	rt := &Router{}
	var out bytes.Buffer
	cc := &clientConn{rt: rt, bw: bufio.NewWriterSize(&out, 4<<10)}
	cc.rw.c, cc.rw.h = cc, make(http.Header)
	cc.rw.reset(method, closeConn)
	left, right := net.Pipe()
	t.Cleanup(func() { left.Close(); right.Close() })
	bc := &backendConn{Conn: left, br: bufio.NewReaderSize(bytes.NewReader(answer), 4<<10)}
	a := &attempt{route: route{svc: &service{name: "system"}}, backend: &backend{}}
	req := (&http.Request{Method: method, URL: &url.URL{Path: "/"}, Header: http.Header{}}).WithContext(context.Background())
	stop := func() bool { return true }
	var w http.ResponseWriter = generalOnly{&cc.rw}
	if fast {
		w = &cc.rw
	}
	var run relayRun
	resp, relayed, err := rt.answer(req.Context(), w, req, a, bc, false, stop)
	if err != nil {
		return relayRun{err: true}
	}
	run.relayed = relayed
	if !relayed {
		rt.relay(w, req, a, bc, resp, stop)
	}
	run.keep = cc.rw.finish()
	run.out = out.String()
	run.pooled = len(a.backend.pool.idle) == 1
	rest, _ := io.ReadAll(bc.br)
	run.rest = string(rest)
	return run
}

// normalized sorts the header lines of a relayed answer by name, keeping
// the order of one name's lines (the general path writes them grouped,
// the plain relay in the backend's order), and blanks the Date the
// router adds, which can cross a second between two runs.
func normalized(out string) string {
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok {
		return out
	}
	lines := strings.Split(head, "\r\n")
	fields := lines[1:]
	slices.SortStableFunc(fields, func(a, b string) int {
		an, _, _ := strings.Cut(a, ":")
		bn, _, _ := strings.Cut(b, ":")
		return strings.Compare(an, bn)
	})
	for i, f := range fields {
		if strings.HasPrefix(f, "Date: ") {
			fields[i] = "Date: *"
		}
	}
	return lines[0] + "\r\n" + strings.Join(fields, "\r\n") + "\r\n\r\n" + body
}

func checkSameRelay(t *testing.T, answer []byte, method string, closeConn bool) relayRun {
	t.Helper()
	fast := relayAnswer(t, answer, method, closeConn, true)
	slow := relayAnswer(t, answer, method, closeConn, false)
	require.Equal(t, slow.err, fast.err, "failure")
	if slow.err {
		return fast
	}
	require.Equal(t, normalized(slow.out), normalized(fast.out), "bytes to the client (relayed plainly: %v)", fast.relayed)
	require.Equal(t, slow.keep, fast.keep, "client connection kept")
	require.Equal(t, slow.pooled, fast.pooled, "backend connection pooled")
	require.Equal(t, slow.rest, fast.rest, "bytes left on the backend connection")
	return fast
}

var plainRelaySeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 34\r\nDate: Thu, 26 Nov 2026 12:00:00 GMT\r\n\r\n{\"code\":3,\"message\":\"Bad request\"}xxxxx",
	"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nset-cookie: a=1\r\nX-Other: y\r\nSet-Cookie: b=2\r\n\r\nokHTTP/1.1 200 OK\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye",
	"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-Luckystack-Internal: secret\r\nUpgrade: h2c\r\nProxy-Authenticate: Basic\r\nContent-Length: 1\r\n\r\nz",
	"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\n\r\nclose-delimited",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nhi",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 299 Custom\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Folded: a\r\n b\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 6000\r\n\r\n" + strings.Repeat("0123456789", 600),
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
	"",
}

func TestPlainRelayMatchesGeneralPath(t *testing.T) {
	t.Parallel()
	for _, answer := range plainRelaySeeds {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			for _, closeConn := range []bool{false, true} {
				checkSameRelay(t, []byte(answer), method, closeConn)
			}
		}
	}
}

func TestPlainRelayTakesTheUsualAnswer(t *testing.T) {
	t.Parallel()
	run := checkSameRelay(t, []byte(plainRelaySeeds[1]), http.MethodGet, false)
	assert.True(t, run.relayed, "a small answer with a length takes the plain relay")
	assert.True(t, run.keep)
	assert.True(t, run.pooled)
	assert.Equal(t, "xxxxx", run.rest, "only the declared body is taken from the backend connection")
	assert.Contains(t, run.out, "HTTP/1.1 400 Bad Request\r\n")
	assert.Contains(t, run.out, "\r\nDate: Thu, 26 Nov 2026 12:00:00 GMT\r\n", "the backend's Date is kept")

	run = checkSameRelay(t, []byte(plainRelaySeeds[6]), http.MethodGet, false)
	assert.True(t, run.relayed)
	assert.NotContains(t, run.out, "Luckystack", "internal headers stay between router and backends")
	assert.NotContains(t, run.out, "Upgrade")
	assert.NotContains(t, run.out, "Proxy-Authenticate")

	run = checkSameRelay(t, []byte(plainRelaySeeds[3]), http.MethodGet, false)
	assert.True(t, run.relayed)
	assert.False(t, run.pooled, "a backend connection the answer closes is not pooled")

	for _, declined := range []int{5, 10, 11, 12, 14, 16, 17} {
		run = checkSameRelay(t, []byte(plainRelaySeeds[declined]), http.MethodGet, false)
		assert.False(t, run.relayed, "seed %d takes the general path", declined)
	}
}

func FuzzPlainRelay(f *testing.F) {
	for _, s := range plainRelaySeeds {
		f.Add([]byte(s), false, false)
	}
	f.Add([]byte(plainRelaySeeds[0]), true, true)
	f.Fuzz(func(t *testing.T, answer []byte, head, closeConn bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		checkSameRelay(t, answer, method, closeConn)
	})
}
