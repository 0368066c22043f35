package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsBackend answers upgrades with 101 (plus the extra header lines and
// early bytes), reports each upgrade request on reqs and then echoes.
func wsBackend(t *testing.T, extra, early string) (string, <-chan *http.Request, <-chan error) {
	reqs := make(chan *http.Request, 16)
	ends := make(chan error, 16)
	url := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		reqs <- req
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"+extra+"\r\n"+early)
		buf := make([]byte, 1024)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					ends <- werr
					return
				}
			}
			if err != nil {
				ends <- err
				return
			}
		}
	})
	return url, reqs, ends
}

func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	require.NoError(t, err)
	return string(buf)
}

func TestUpgradeSwitchesAndPipes(t *testing.T) { eachTunnelMode(t, testUpgradeSwitchesAndPipes) }

func testUpgradeSwitchesAndPipes(t *testing.T, loops int) {
	url, reqs, _ := wsBackend(t, "Set-Cookie: session=stolen\r\nKeep-Alive: timeout=5\r\nX-Luckystack-Env: prod\r\nX-Other: kept\r\n", "EARLY")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops})
	var mu sync.Mutex
	var gate GateEvent
	var post ProxyResponseEvent
	rt.OnProxyRequestGate(func(_ context.Context, ev *GateEvent) error {
		mu.Lock()
		gate = *ev
		mu.Unlock()
		return nil
	})
	rt.OnPostProxyResponse(func(_ context.Context, ev *ProxyResponseEvent) {
		mu.Lock()
		post = *ev
		mu.Unlock()
	})
	// The client's first bytes follow its head in the same write.
	c, br := rawRequest(t, ts, upgradeHead("/any/path?x=1", "X-Forwarded-For: 6.6.6.6", "Keep-Alive: 300",
		"X-Luckystack-Env: forged", "Cookie: token=abc")+"HELLO")

	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "Upgrade", resp.Header.Get("Connection"), "Connection: Upgrade is kept")
	assert.Equal(t, "websocket", resp.Header.Get("Upgrade"))
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	assert.Equal(t, "kept", resp.Header.Get("X-Other"))
	for _, k := range []string{"Set-Cookie", "Keep-Alive", "X-Luckystack-Env"} {
		assert.Empty(t, resp.Header.Get(k), k)
	}
	assert.Equal(t, "EARLY", readN(t, br, 5), "the backend's early bytes follow the head")
	assert.Equal(t, "HELLO", readN(t, br, 5), "the client's early bytes reached the backend")

	up := <-reqs
	assert.Equal(t, "/any/path?x=1", up.RequestURI)
	assert.Equal(t, "front.example", up.Host)
	assert.Equal(t, "Upgrade", up.Header.Get("Connection"))
	assert.Equal(t, "websocket", up.Header.Get("Upgrade"))
	assert.Equal(t, "127.0.0.1", up.Header.Get("X-Forwarded-For"), "a client's forwarding headers are replaced")
	assert.Equal(t, "front.example", up.Header.Get("X-Forwarded-Host"))
	assert.Equal(t, "http", up.Header.Get("X-Forwarded-Proto"))
	assert.Empty(t, up.Header.Get("Keep-Alive"))
	assert.Empty(t, up.Header.Get("X-Luckystack-Env"))
	assert.Equal(t, "token=abc", up.Header.Get("Cookie"))
	assert.Equal(t, "dGhlIHNhbXBsZSBub25jZQ==", up.Header.Get("Sec-WebSocket-Key"))

	_, err = io.WriteString(c, "ping-pong")
	require.NoError(t, err)
	assert.Equal(t, "ping-pong", readN(t, br, 9), "bytes are piped both ways")
	mu.Lock()
	assert.Equal(t, "UPGRADE", gate.Method)
	assert.Equal(t, "system", gate.Service)
	assert.Equal(t, http.StatusSwitchingProtocols, post.Status)
	assert.True(t, post.Upgrade)
	mu.Unlock()
	assert.Equal(t, 1, tunnelCount(rt))
	wantOnLoop := 0
	if loops > 0 && runtime.GOOS == "linux" {
		wantOnLoop = 1
	}
	assert.Equal(t, wantOnLoop, tunnelsOnLoop(rt), "where the tunnel runs")
}

func TestUpgradeGuards(t *testing.T) {
	t.Parallel()
	url, _, _ := wsBackend(t, "", "")
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}, "other": nil}})
	tests := []struct {
		name string
		head string
		want int
	}{
		{"head over 64 KiB", upgradeHead("/socket.io/", "X-Big: "+strings.Repeat("a", 65<<10)), http.StatusRequestHeaderFieldsTooLarge},
		{"absolute target", upgradeHead("http://other.example/socket.io/"), http.StatusBadRequest},
		{"protocol-relative target", upgradeHead("//other.example/socket.io/"), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, br := rawRequest(t, ts, tc.head)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.StatusCode)
		})
	}
}

func TestUpgradeNoBackend(t *testing.T) {
	t.Parallel()
	be := echoBackend(t, "web")
	_, ts := newTestRouter(t, Config{
		Services:         map[string][]string{"web": {be.URL}, "system": nil},
		DefaultService:   "web",
		WebSocketService: "system",
	})
	_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket"))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)

	_, ts2 := newTestRouter(t, Config{Services: map[string][]string{"system": {closedPort(t)}}})
	_, br = rawRequest(t, ts2, upgradeHead("/socket.io/"))
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "a refusing backend is a 502")
}

func TestUpgradeRefusedBackendFallsOver(t *testing.T) {
	t.Parallel()
	url, _, _ := wsBackend(t, "", "")
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {closedPort(t), url}}})
	for range 2 {
		_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket"))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "a new websocket session tries the next backend")
	}
}

func TestUpgradeHandshakeTimeout(t *testing.T) {
	t.Parallel()
	silent := rawBackend(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	var post ProxyResponseEvent
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {silent}}, HandshakeTimeout: 150 * time.Millisecond})
	rt.OnPostProxyResponse(func(_ context.Context, ev *ProxyResponseEvent) { post = *ev })
	start := time.Now()
	_, br := rawRequest(t, ts, upgradeHead("/socket.io/"))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, http.StatusGatewayTimeout, post.Status)
	assert.Error(t, post.Err)
}

func TestUpgradeRefusalRelayed(t *testing.T) {
	t.Parallel()
	be := rawBackend(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		body := `{"code":1,"message":"Session ID unknown"}`
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nKeep-Alive: timeout=5\r\n"+
			"X-Luckystack-Env: prod\r\nContent-Length: 41\r\n\r\n"+body)
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}})
	_, br := rawRequest(t, ts, upgradeHead("/socket.io/?EIO=4&transport=websocket&sid=gone"))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"code":1,"message":"Session ID unknown"}`, string(body))
	assert.Empty(t, resp.Header.Get("Keep-Alive"))
	assert.Empty(t, resp.Header.Get("X-Luckystack-Env"))
}

func TestUpgradeGateRefuses(t *testing.T) {
	t.Parallel()
	url, reqs, _ := wsBackend(t, "", "")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}})
	rt.OnProxyRequestGate(func(_ context.Context, ev *GateEvent) error {
		if ev.Method == "UPGRADE" {
			return &Refusal{}
		}
		return nil
	})
	_, br := rawRequest(t, ts, upgradeHead("/socket.io/"))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, reqs, "a refused upgrade never reaches a backend")
}

// upgraded opens a tunnel through ts and returns the client side.
func upgraded(t *testing.T, ts interface{ Addr() string }, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	return upgradedWithBuffer(t, ts.Addr(), path, 0)
}

// upgradedWithBuffer is upgraded with the client's receive buffer set to
// rcvbuf bytes (0: the system's).
func upgradedWithBuffer(t *testing.T, addr, path string, rcvbuf int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if rcvbuf > 0 {
		require.NoError(t, c.(*net.TCPConn).SetReadBuffer(rcvbuf))
	}
	_, err = io.WriteString(c, upgradeHead(path))
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return c, br
}

type addrOf struct{ s string }

func (a addrOf) Addr() string { return a.s }

func TestUpgradeIdleTeardown(t *testing.T) { eachTunnelMode(t, testUpgradeIdleTeardown) }

func testUpgradeIdleTeardown(t *testing.T, loops int) {
	url, _, ends := wsBackend(t, "", "")
	// The timer rule itself is checked on fake time in tunnel_test.go;
	// this runs it end to end with margins for a busy machine.
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops, IdleTimeout: 500 * time.Millisecond})
	addr := addrOf{ts.Listener.Addr().String()}

	// Traffic in either direction keeps a tunnel alive past the timeout.
	c, br := upgraded(t, addr, "/socket.io/")
	var last time.Time
	for i := range 8 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // the traffic pattern under test
		}
		_, err := io.WriteString(c, "x")
		require.NoError(t, err)
		assert.Equal(t, "x", readN(t, br, 1))
		last = time.Now()
	}
	assert.Equal(t, 1, tunnelCount(rt), "an active tunnel outlives the idle timeout")

	// Silence closes it: the client sees EOF, the backend its end.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := br.ReadByte()
	assert.ErrorIs(t, err, io.EOF)
	assert.GreaterOrEqual(t, time.Since(last), 480*time.Millisecond, "not before the idle timeout")
	select {
	case <-ends:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend leg was not closed")
	}
	waitUntil(t, 5*time.Second, func() bool { return tunnelCount(rt) == 0 }, "the tunnel to be released")
}

func TestUpgradeIdleTeardownWhenClientStopsReading(t *testing.T) {
	eachTunnelMode(t, testUpgradeIdleTeardownWhenClientStopsReading)
}

func testUpgradeIdleTeardownWhenClientStopsReading(t *testing.T, loops int) {
	// The backend floods; the client reads nothing, so the router's write
	// to it blocks once the socket buffers are full.
	flooded := make(chan error, 1)
	be := rawBackend(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		chunk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				flooded <- err
				return
			}
		}
	})
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}, TunnelLoops: loops, IdleTimeout: 200 * time.Millisecond})
	c, _ := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(4<<10))
	select {
	case err := <-flooded:
		assert.Error(t, err, "the backend's writes fail once the router gave up on the stalled client")
	case <-time.After(10 * time.Second):
		t.Fatal("a tunnel to a client that stopped reading was never torn down")
	}
	waitUntil(t, 5*time.Second, func() bool { return tunnelCount(rt) == 0 }, "the tunnel to be released")
}

func TestUpgradeIdleTimeoutOff(t *testing.T) { eachTunnelMode(t, testUpgradeIdleTimeoutOff) }

func testUpgradeIdleTimeoutOff(t *testing.T, loops int) {
	url, _, _ := wsBackend(t, "", "")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops, IdleTimeout: -1})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := br.ReadByte()
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "the tunnel stays open without traffic")
	assert.Equal(t, 1, tunnelCount(rt))
}

func TestUpgradeByteCap(t *testing.T) { eachTunnelMode(t, testUpgradeByteCap) }

func testUpgradeByteCap(t *testing.T, loops int) {
	url, _, _ := wsBackend(t, "", "")
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops, MaxBytesPerConnection: 100})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err := io.WriteString(c, strings.Repeat("a", 40))
	require.NoError(t, err)
	readN(t, br, 40) // 80 bytes across both legs
	_, err = io.WriteString(c, strings.Repeat("b", 40))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(br)
	require.NoError(t, err, "the tunnel is closed (EOF) once the cap is crossed")
}

func TestUpgradeNoByteCapByDefault(t *testing.T) { eachTunnelMode(t, testUpgradeNoByteCapByDefault) }

func testUpgradeNoByteCapByDefault(t *testing.T, loops int) {
	url, _, _ := wsBackend(t, "", "")
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	chunk := strings.Repeat("z", 64<<10)
	done := make(chan error, 1)
	go func() {
		for range 40 { // 2.5 MiB each way
			if _, err := io.WriteString(c, chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	_, err := io.CopyN(io.Discard, br, int64(40*len(chunk)))
	require.NoError(t, err)
	require.NoError(t, <-done)
}

func TestUpgradeClientReset(t *testing.T) { eachTunnelMode(t, testUpgradeClientReset) }

func testUpgradeClientReset(t *testing.T, loops int) {
	url, _, ends := wsBackend(t, "", "")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err := io.WriteString(c, "hi")
	require.NoError(t, err)
	assert.Equal(t, "hi", readN(t, br, 2))
	require.NoError(t, c.(*net.TCPConn).SetLinger(0))
	require.NoError(t, c.Close()) // RST
	select {
	case <-ends:
	case <-time.After(5 * time.Second):
		t.Fatal("a client reset did not close the backend leg")
	}
	waitUntil(t, 5*time.Second, func() bool { return tunnelCount(rt) == 0 }, "the tunnel to be released")
	// The router keeps serving.
	c2, br2 := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err = io.WriteString(c2, "again")
	require.NoError(t, err)
	assert.Equal(t, "again", readN(t, br2, 5))
}

func TestUpgradeHalfClose(t *testing.T) { eachTunnelMode(t, testUpgradeHalfClose) }

func testUpgradeHalfClose(t *testing.T, loops int) {
	// A backend that answers only after the client finished sending.
	be := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		got, _ := io.ReadAll(br)
		_, _ = c.Write([]byte("bye:" + string(got)))
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}, TunnelLoops: loops})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err := io.WriteString(c, "last words")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "bye:last words", string(rest), "a half-close passes through and the answer still arrives")
}

func TestCloseEndsTunnels(t *testing.T) { eachTunnelMode(t, testCloseEndsTunnels) }

func testCloseEndsTunnels(t *testing.T, loops int) {
	url, _, ends := wsBackend(t, "", "")
	rt, err := New(Config{Services: map[string][]string{"system": {url}}, TunnelLoops: loops})
	require.NoError(t, err)
	srv := &http.Server{Handler: rt, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	c, br := upgraded(t, addrOf{ln.Addr().String()}, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	require.NoError(t, rt.Shutdown(ctx))
	assert.Equal(t, 0, tunnelCount(rt))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF)
	<-ends
	<-served
	require.NoError(t, rt.Shutdown(ctx), "Shutdown is idempotent")
	rt.Close()
}
