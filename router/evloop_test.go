package router

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pattern is n bytes that differ from any shift of themselves, so a lost,
// doubled or reordered chunk shows.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	x := uint32(seed) + 1
	for i := range p {
		x = x*1664525 + 1013904223
		p[i] = byte(x >> 24)
	}
	return p
}

// upgradeBackend answers an upgrade with 101 and hands the connection,
// with the reader holding what followed the request, to serve.
func upgradeBackend(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) string {
	return rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"); err != nil {
			return
		}
		serve(c, br)
	})
}

// slowReaderBuffer is the receive buffer of a client that makes the
// router hold bytes for it (with more than the router's send buffer to
// come); smaller still, delayed acknowledgements slow a transfer to a
// crawl.
const slowReaderBuffer = 64 << 10

// A client that reads slowly backs the tunnel up in one direction while
// the other keeps flowing; every byte arrives in order both ways.
func TestTunnelBackpressureBothWays(t *testing.T) { eachTunnelMode(t, testTunnelBackpressureBothWays) }

func testTunnelBackpressureBothWays(t *testing.T, loops int) {
	const size = 8 << 20
	down, up := pattern(size, 1), pattern(size, 2)
	gotUp := make(chan []byte, 1)
	be := upgradeBackend(t, func(c net.Conn, br *bufio.Reader) {
		read := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(br, size))
			read <- b
		}()
		_, _ = c.Write(down)
		// Returning closes c, which would reset a connection with
		// unread bytes.
		gotUp <- <-read
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}, TunnelLoops: loops})
	c, br := upgradedWithBuffer(t, ts.Listener.Addr().String(), "/", slowReaderBuffer)

	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(up)
		sent <- err
	}()
	time.Sleep(200 * time.Millisecond) // the client stalls: what is under test
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	got := make([]byte, size)
	_, err := io.ReadFull(br, got)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(down, got), "backend to client: bytes lost or reordered")
	require.NoError(t, <-sent)
	select {
	case b := <-gotUp:
		assert.True(t, bytes.Equal(up, b), "client to backend: bytes lost or reordered")
	case <-time.After(20 * time.Second):
		t.Fatal("the backend did not receive the client's bytes")
	}
}

// A FIN behind a backlog waits for the backlog: the client gets every byte
// and then the end, and the tunnel ends once both sides finished.
func TestTunnelHalfCloseBehindBacklog(t *testing.T) {
	eachTunnelMode(t, testTunnelHalfCloseBehindBacklog)
}

func testTunnelHalfCloseBehindBacklog(t *testing.T, loops int) {
	const size = 8 << 20
	down := pattern(size, 3)
	tail := make(chan string, 1)
	be := upgradeBackend(t, func(c net.Conn, br *bufio.Reader) {
		_, _ = c.Write(down)
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(br)
		tail <- string(b)
	})
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}, TunnelLoops: loops})
	c, br := upgradedWithBuffer(t, ts.Listener.Addr().String(), "/", slowReaderBuffer)

	time.Sleep(200 * time.Millisecond) // the backend's FIN reaches the router behind a backlog
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	got, err := io.ReadAll(br)
	require.NoError(t, err, "the backend's FIN arrives as a clean end")
	assert.True(t, bytes.Equal(down, got), "every byte before the FIN")
	assert.Equal(t, 1, tunnelCount(rt), "the other direction is still open")

	_, err = io.WriteString(c, "still here")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	select {
	case s := <-tail:
		assert.Equal(t, "still here", s)
	case <-time.After(10 * time.Second):
		t.Fatal("the client's bytes and FIN did not reach the backend")
	}
	waitUntil(t, 5*time.Second, func() bool { return tunnelCount(rt) == 0 }, "the tunnel to end")
}

// Tunnels spread over several loops and stay apart.
func TestTunnelsSpreadOverLoops(t *testing.T) {
	t.Parallel()
	url, _, _ := wsBackend(t, "", "")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: 3})
	const clients = 12
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	conns := make([]net.Conn, clients)
	readers := make([]*bufio.Reader, clients)
	for i := range clients {
		conns[i], readers[i] = upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := pattern(1000+i, byte(i))
			for range 20 {
				if _, err := conns[i].Write(msg); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(readers[i], got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(msg, got) {
					errs <- io.ErrUnexpectedEOF
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rt.mu.Lock()
	nloops := len(rt.loops)
	rt.mu.Unlock()
	if runtime.GOOS == "linux" {
		assert.Equal(t, min(3, runtime.GOMAXPROCS(0)), nloops, "loops start on the first tunnel, at most GOMAXPROCS")
		assert.Equal(t, clients, tunnelsOnLoop(rt))
	}
}

// The default: no loop with one P, where waiting in the kernel would hold
// the only one; some with more.
func TestLoopCountDefault(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0, Config{TunnelLoops: -1}.loopCount())
	procs := runtime.GOMAXPROCS(0)
	assert.Equal(t, min(2, procs), Config{TunnelLoops: 2}.loopCount())
	assert.Equal(t, procs, Config{TunnelLoops: 1 << 20}.loopCount(), "at most one loop per P")
	for procs, want := range map[int]int{1: 0, 2: 1, 4: 1, 6: 2, 8: 2, 16: 4} {
		assert.Equal(t, want, loopsFor(procs), "GOMAXPROCS=%d", procs)
	}
}

// Bytes a backend sent just before resetting the connection still reach
// the client: a reset does not empty the receive queue.
func TestTunnelPassesBytesBeforeAReset(t *testing.T) {
	eachTunnelMode(t, testTunnelPassesBytesBeforeAReset)
}

func testTunnelPassesBytesBeforeAReset(t *testing.T, loops int) {
	const last = "final-words"
	be := upgradeBackend(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := br.ReadByte(); err != nil { // the client's go-ahead
			return
		}
		_, _ = io.WriteString(c, last)
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close() // RST right behind the bytes
	})
	_, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {be}}, TunnelLoops: loops})
	for range 10 {
		c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
		_, err := io.WriteString(c, "x")
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		got := make([]byte, len(last))
		_, err = io.ReadFull(br, got)
		require.NoError(t, err, "the bytes before the reset")
		assert.Equal(t, last, string(got))
	}
}

// closeCounting is a caller's connection type over a TCP socket (a
// listener wrapper that counts connections in Close).
type closeCounting struct {
	*net.TCPConn
	closes *atomic.Int32
}

func (c closeCounting) Close() error {
	c.closes.Add(1)
	return c.TCPConn.Close()
}

type closeCountingListener struct {
	net.Listener
	closes *atomic.Int32
}

func (l closeCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return closeCounting{TCPConn: c.(*net.TCPConn), closes: l.closes}, nil
}

// A connection type of the caller's is not handed to a loop, which would
// close it while its tunnel still runs: it sees Close when the tunnel ends.
func TestTunnelKeepsCallersConnectionOpen(t *testing.T) {
	t.Parallel()
	url, _, ends := wsBackend(t, "", "")
	var closes atomic.Int32
	rt, ts := serveRouterOn(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: 1},
		func(_ *Router, ln net.Listener) net.Listener {
			return closeCountingListener{Listener: ln, closes: &closes}
		})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err := io.WriteString(c, "hi")
	require.NoError(t, err)
	assert.Equal(t, "hi", readN(t, br, 2))
	assert.Equal(t, 0, tunnelsOnLoop(rt), "the caller's connection stays a goroutine pair")
	assert.Equal(t, int32(0), closes.Load(), "not closed while the tunnel runs")
	require.NoError(t, c.Close())
	<-ends
	waitUntil(t, 5*time.Second, func() bool { return closes.Load() == 1 }, "Close when the tunnel ended")
}
