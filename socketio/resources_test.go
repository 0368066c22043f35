package socketio

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowReader dials a websocket whose client side has a tiny receive buffer,
// so that a client that stops reading fills the server's queue quickly.
func (e *testEnv) slowReader() *wsClient {
	e.t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: waitFor,
		NetDial: func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			if err == nil {
				_ = c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		},
	}
	c, _, err := d.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: e.t, c: c, autoPong: true}
	w.open = parseOpen(e.t, w.readText())
	w.connect("/", "")
	return w
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxQueuedBytes: 64 << 10, WriteTimeout: time.Minute})
	r := watchDisconnects(e.srv.Sockets())
	e.slowReader() // connects, then never reads again
	fast, _ := e.sioClient()

	got := make(chan string, 1)
	go func() {
		defer close(got)
		for {
			_, data, err := fast.c.ReadMessage()
			if err != nil {
				return
			}
			got <- string(data)
		}
	}()
	payload := strings.Repeat("x", 16<<10)
	want := `42["big","` + payload + `"]`
	reason := ""
	for sent := 0; reason == "" && sent < 5000; sent++ {
		require.NoError(t, e.srv.Emit("big", payload))
		// In step with the fast client, so only the slow one falls behind.
		require.Equal(t, want, recv(t, got))
		select {
		case v := <-r.ch:
			reason = v[1]
		default:
		}
	}
	require.Equal(t, "slow consumer", reason)
	// Broadcasts keep reaching the others.
	require.NoError(t, e.srv.Emit("small"))
	assert.Equal(t, `42["small"]`, recv(t, got))
	assert.Equal(t, 1, e.srv.Sockets().SocketCount())
	_ = fast.c.Close()
	for range got {
	}
}

func TestSlowConsumerDropPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxQueuedBytes: 1 << 10, SlowConsumer: SlowConsumerDrop})
	ready := make(chan *Socket, 1)
	e.srv.Sockets().OnConnection(func(s *Socket) { ready <- s })
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	s := recv(t, ready)
	// Nobody polls: what does not fit is dropped, the socket stays.
	var failed int
	for i := range 100 {
		if s.Emit("n", i, strings.Repeat("y", 100)) != nil {
			failed++
		}
	}
	assert.Positive(t, failed)
	assert.True(t, s.Connected())
	pkts := p.get()
	assert.Equal(t, 100-failed, len(pkts))
	assert.True(t, strings.HasPrefix(pkts[0], `42["n",0,`))
}

func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := watchDisconnects(e.srv.Sockets())
	e.srv.Sockets().On("boom", func(*Event) { panic("boom") })
	e.srv.Sockets().On("echo", func(ev *Event) { _ = ev.Ack("echo") })
	other, _ := e.sioClient()
	w, id := e.sioClient()
	w.send(`42["boom"]`)
	assert.Equal(t, []string{"41"}, w.waitClosed())
	gotID, _ := r.next(t)
	assert.Equal(t, id, gotID)

	other.send(`421["echo"]`)
	assert.Equal(t, `431["echo"]`, other.readText())
	again, _ := e.sioClient()
	again.send(`422["echo"]`)
	assert.Equal(t, `432["echo"]`, again.readText())

	// A panic in a connection handler costs that client only, too.
	e.srv.Of("/fragile").OnConnection(func(*Socket) { panic("on connect") })
	x := e.dialWS()
	x.send("40/fragile,")
	x.waitClosed()
	other.send(`423["echo"]`)
	assert.Equal(t, `433["echo"]`, other.readText())
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	srv := e.srv
	r := watchDisconnects(srv.Sockets())
	srv.Sockets().On("slow", func(ev *Event) {
		<-ev.Socket.Context().Done()
	})
	ws1, _ := e.sioClient()
	ws2, _ := e.sioClient()
	ws2.send(`42["slow"]`)
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	pending := p.getAsync()
	idle := e.pollHandshake() // polling, no GET waiting
	require.Equal(t, 200, idle.post("40"))
	idle.get()
	c := srv.conn(p.sid)
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.polling }, waitFor, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	for range 4 {
		_, reason := r.next(t)
		assert.Equal(t, "server shutting down", reason)
	}
	assert.Equal(t, []string{"1"}, recv(t, pending))
	ws1.waitClosed()
	ws2.waitClosed()
	assert.Zero(t, srv.ConnCount(), "every connection is closed, polling ones too")
	srv.routines.mu.Lock()
	assert.Zero(t, srv.routines.n, "goroutines outlived Shutdown")
	srv.routines.mu.Unlock()

	status, _, _ := e.do("GET", "EIO=4&transport=polling", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	require.NoError(t, srv.Shutdown(ctx), "Shutdown is idempotent")
	require.NoError(t, srv.Close())
}

// TestPendingEventsBackpressure: beyond MaxPendingEvents the server stops
// reading from the client instead of dropping or buffering without bound.
func TestPendingEventsBackpressure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxPendingEvents: 4})
	release := make(chan struct{})
	var got []int
	done := make(chan struct{})
	const n = 50
	e.srv.Sockets().On("n", func(ev *Event) {
		var i int
		require.NoError(t, ev.Args.Decode(0, &i))
		if i == 0 {
			<-release
		}
		got = append(got, i)
		if len(got) == n {
			close(done)
		}
	})
	w, id := e.sioClient()
	for i := range n {
		w.send(fmt.Sprintf(`42["n",%d]`, i))
	}
	s, _ := e.srv.Sockets().Socket(id)
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.inbox) == 4 && s.space != nil // the reader waits for room
	}, waitFor, time.Millisecond)
	close(release)
	recv(t, done)
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
}

// TestShutdownCutShort: when ctx ends first, Shutdown reports it and still
// closes every connection.
func TestShutdownCutShort(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	release := make(chan struct{})
	started := make(chan struct{})
	e.srv.Sockets().On("stuck", func(*Event) {
		close(started)
		<-release // ignores the socket's context
	})
	w, _ := e.sioClient()
	w.send(`42["stuck"]`)
	recv(t, started)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	w.waitClosed()
	assert.Zero(t, e.srv.ConnCount())
	close(release)
}

// TestIdleConnectionsHoldOnlyAReader: an idle websocket session keeps its
// reader goroutine and nothing else; an idle polling session none. Writers
// and handler goroutines exit once their work is done.
func TestIdleConnectionsHoldOnlyAReader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.Sockets().On("work", func(ev *Event) { _ = ev.Ack("done") })
	const n = 10
	for range n {
		w, _ := e.sioClient()
		w.send(`421["work"]`)
		assert.Equal(t, `431["done"]`, w.readText())
	}
	for range 3 {
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
	}
	require.NoError(t, e.srv.Emit("broadcast"))
	running := func() int {
		e.srv.routines.mu.Lock()
		defer e.srv.routines.mu.Unlock()
		return e.srv.routines.n
	}
	assert.Eventually(t, func() bool { return running() == n }, waitFor, time.Millisecond,
		"goroutines: %d for %d websocket sessions", running(), n)
}
