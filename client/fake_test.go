package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
)

// This file drives the client over an in-memory network inside a
// testing/synctest bubble, so that backoff, ping watchdog and timeouts are
// checked against the fake clock, exactly, without sleeping.

// fakeNet is a scripted LuckyStack server reachable through the client's
// dial hook.
type fakeNet struct {
	pingEvery  time.Duration // 0: the server never pings
	ignoreSync bool          // never acknowledge sync requests

	mu        sync.Mutex
	up        bool
	dialTimes []time.Time
	frames    []string // client → server Socket.IO packets, in order
	conns     []*fakeConn
}

func (n *fakeNet) setUp(up bool) {
	n.mu.Lock()
	n.up = up
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	if !up {
		for _, c := range conns {
			c.serverClose()
		}
	}
}

func (n *fakeNet) wire() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.frames...)
}

func (n *fakeNet) dial(context.Context, string, http.Header) (client.Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dialTimes = append(n.dialTimes, time.Now())
	if !n.up {
		return nil, errors.New("connection refused")
	}
	c := &fakeConn{
		toClient: make(chan string, 1024), toServer: make(chan string, 1024),
		closed: make(chan struct{}), srvClosed: make(chan struct{}),
	}
	n.conns = append(n.conns, c)
	go n.serve(c)
	return c, nil
}

// serve plays the server side of one connection.
func (n *fakeNet) serve(c *fakeConn) {
	c.toClient <- `0{"sid":"eio","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	var tick <-chan time.Time
	if n.pingEvery > 0 {
		t := time.NewTicker(n.pingEvery)
		defer t.Stop()
		tick = t.C
	}
	var rooms []string
	for {
		var msg string
		select {
		case msg = <-c.toServer:
		case <-tick:
			c.send("2")
			continue
		case <-c.closed:
			return
		case <-c.srvClosed:
			return
		}
		if !strings.HasPrefix(msg, "4") {
			continue
		}
		n.mu.Lock()
		n.frames = append(n.frames, msg[1:])
		n.mu.Unlock()
		if strings.HasPrefix(msg, "40") {
			c.send(`40{"sid":"sock"}`)
			continue
		}
		if !strings.HasPrefix(msg, "42[") {
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal([]byte(msg[2:]), &arr) != nil || len(arr) < 2 {
			continue
		}
		var name string
		_ = json.Unmarshal(arr[0], &name)
		var req struct {
			Name          string          `json:"name"`
			Group         string          `json:"group"`
			Data          json.RawMessage `json:"data"`
			ResponseIndex int             `json:"responseIndex"`
		}
		_ = json.Unmarshal(arr[1], &req)
		reply := func(event string, v any) {
			b, _ := json.Marshal([]any{event, v})
			c.send("42" + string(b))
		}
		switch name {
		case "apiRequest":
			reply(events.APIResponse(req.ResponseIndex), map[string]any{"status": "success", "httpStatus": 200, "data": req.Data})
		case "joinRoom":
			rooms = append(rooms, req.Group)
			reply(events.JoinRoom(req.ResponseIndex), events.RoomsReply{Rooms: rooms})
		case "getJoinedRooms":
			reply(events.GetJoinedRooms(req.ResponseIndex), events.RoomsReply{Rooms: rooms})
		case "sync":
			if !n.ignoreSync {
				reply(events.Sync(req.ResponseIndex), events.NewSyncAck(req.Name, req.Data))
			}
		}
	}
}

// fakeConn is the client's end of an in-memory message pipe.
type fakeConn struct {
	toClient, toServer chan string
	closeOnce          sync.Once
	closed             chan struct{} // the client closed
	srvOnce            sync.Once
	srvClosed          chan struct{} // the server closed

	mu       sync.Mutex
	deadline time.Time
}

func (c *fakeConn) send(s string) {
	select {
	case c.toClient <- s:
	case <-c.closed:
	}
}

func (c *fakeConn) serverClose() { c.srvOnce.Do(func() { close(c.srvClosed) }) }

func (c *fakeConn) ReadMessage() (int, []byte, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case m := <-c.toClient:
		return websocket.TextMessage, []byte(m), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.srvClosed:
		return 0, nil, &websocket.CloseError{Code: websocket.CloseNormalClosure}
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (c *fakeConn) WriteMessage(_ int, data []byte) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	case <-c.srvClosed:
		return errors.New("broken pipe")
	default:
	}
	select {
	case c.toServer <- string(data):
		return nil
	case <-c.closed:
		return net.ErrClosed
	}
}

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

func (c *fakeConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func newFakeClient(t *testing.T, n *fakeNet, o client.Options) *client.Client {
	t.Helper()
	client.SetDial(&o, n.dial)
	c, err := client.New("http://fake", o)
	require.NoError(t, err)
	return c
}

func TestBackoffDelays(t *testing.T) {
	noJitter := client.Options{Randomization: -1}
	var got []time.Duration
	for n := range 6 {
		got = append(got, time.Duration(client.Delay(noJitter, nil, n)))
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}, got)

	low := func() float64 { return 0.0 } // the deviation is zero
	assert.Equal(t, time.Second, time.Duration(client.Delay(client.Options{}, low, 0)))
	seq := []float64{0.999, 0.9} // full deviation, upwards
	i := 0
	up := func() float64 { v := seq[i%2]; i++; return v }
	assert.InDelta(t, float64(1499*time.Millisecond), float64(client.Delay(client.Options{}, up, 0)), float64(time.Millisecond))
	seq2 := []float64{0.999, 0.1} // full deviation, downwards
	j := 0
	down := func() float64 { v := seq2[j%2]; j++; return v }
	assert.InDelta(t, float64(500*time.Millisecond), float64(client.Delay(client.Options{}, down, 0)), float64(time.Millisecond))
	assert.Equal(t, 5*time.Second, time.Duration(client.Delay(client.Options{}, up, 3)), "the cap holds with jitter")
	for n := range 10 {
		d := time.Duration(client.Delay(client.Options{}, nil, n))
		base := min(time.Second<<n, 5*time.Second)
		assert.GreaterOrEqual(t, d, base/2)
		assert.LessOrEqual(t, d, 5*time.Second)
	}
}

func TestReconnectBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{}
		c := newFakeClient(t, n, client.Options{Randomization: -1})
		time.Sleep(20 * time.Second)
		require.NoError(t, c.Close())
		n.mu.Lock()
		times := n.dialTimes
		n.mu.Unlock()
		var gaps []time.Duration
		for i := 1; i < len(times); i++ {
			gaps = append(gaps, times[i].Sub(times[i-1]))
		}
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, gaps,
			"1 s doubling to the 5 s cap, forever")
		assert.Equal(t, client.StatusDisconnected, c.Status())
	})
}

func TestReconnectAttemptsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{}
		c := newFakeClient(t, n, client.Options{MaxReconnectAttempts: 3, Randomization: -1})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusDisconnected))
		time.Sleep(time.Minute)
		n.mu.Lock()
		assert.Len(t, n.dialTimes, 3, "no attempt after the limit")
		n.mu.Unlock()
		n.setUp(true)
		c.Reconnect()
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		require.NoError(t, c.Close())
	})
}

func TestWatchdogDeclaresPingTimeoutAfterIntervalPlusTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reasons := make(chan client.StatusEvent, 4)
		n := &fakeNet{up: true} // never pings
		c := newFakeClient(t, n, client.Options{Randomization: -1, OnStatus: func(ev client.StatusEvent) {
			if ev.Reason != "" {
				reasons <- ev
			}
		}})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		start := time.Now()
		ev := <-reasons
		assert.Equal(t, client.ReasonPingTimeout, ev.Reason)
		assert.Equal(t, 45*time.Second, time.Since(start), "pingInterval 25 s + pingTimeout 20 s")
		require.NoError(t, c.Close())
	})
}

func TestWatchdogQuietWhileServerPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{up: true, pingEvery: 25 * time.Second}
		c := newFakeClient(t, n, client.Options{})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		time.Sleep(10 * time.Minute)
		assert.Equal(t, client.StatusConnected, c.Status())
		n.mu.Lock()
		assert.Len(t, n.dialTimes, 1, "one connection all along")
		n.mu.Unlock()
		require.NoError(t, c.Close())
	})
}

// TestReplayOrderOnTheWire: after a reconnect the client first rejoins its
// rooms, then replays the API queue, then the sync queue, each in call order.
func TestReplayOrderOnTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{up: true, pingEvery: 25 * time.Second}
		c := newFakeClient(t, n, client.Options{Randomization: -1})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		_, err := c.JoinRoom(t.Context(), "r1")
		require.NoError(t, err)
		n.setUp(false)
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusReconnecting))
		mark := len(n.wire())

		var wg sync.WaitGroup
		errs := make(chan error, 4)
		send := func(f func() error) {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- f() }()
			synctest.Wait() // queued before the next one starts
		}
		api := func(text string) func() error {
			return func() error { _, err := c.APIRequest(t.Context(), "t/api", "v1", echoIn{Text: text}); return err }
		}
		syn := func(text string) func() error {
			return func() error {
				_, err := c.SyncRequest(t.Context(), "t/sync", "v1", "r1", echoIn{Text: text})
				return err
			}
		}
		send(api("a1"))
		send(syn("s1"))
		send(api("a2"))
		send(syn("s2"))
		a, s := c.Queued()
		assert.Equal(t, [2]int{2, 2}, [2]int{a, s})
		n.setUp(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		var order []string
		for _, f := range n.wire()[mark:] {
			switch {
			case strings.HasPrefix(f, "0"):
				order = append(order, "connect")
			case strings.Contains(f, `"joinRoom"`):
				order = append(order, "join")
			case strings.Contains(f, `"text"`):
				i := strings.Index(f, `"text":"`)
				order = append(order, f[i+8:i+10])
			}
		}
		assert.Equal(t, []string{"connect", "join", "a1", "a2", "s1", "s2"}, order)
		require.NoError(t, c.Close())
	})
}

func TestSyncDefaultTimeoutIs30Seconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{up: true, pingEvery: 25 * time.Second, ignoreSync: true}
		c := newFakeClient(t, n, client.Options{})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		start := time.Now()
		_, err := c.SyncRequest(t.Context(), "chat/message", "v1", "room", nil)
		assert.Equal(t, 30*time.Second, time.Since(start))
		assert.Equal(t, events.CodeSyncRequestTimeout, client.Code(err))
		synctest.Wait()
		wire := n.wire()
		assert.Equal(t, `2["syncCancel",{"cb":"chat/message/v1"}]`, wire[len(wire)-1],
			"without a cancel id the cb is sent, as the browser client does")
		require.NoError(t, c.Close())
	})
}

// TestOneResponseIndexCounter: API, sync and room requests draw their
// responseIndex from one counter, starting at 1.
func TestOneResponseIndexCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &fakeNet{up: true, pingEvery: 25 * time.Second}
		c := newFakeClient(t, n, client.Options{})
		require.NoError(t, c.WaitStatus(t.Context(), client.StatusConnected))
		_, err := c.APIRequest(t.Context(), "t/api", "v1", nil)
		require.NoError(t, err)
		_, err = c.SyncRequest(t.Context(), "t/sync", "v1", "r", nil)
		require.NoError(t, err)
		_, err = c.JoinRoom(t.Context(), "r")
		require.NoError(t, err)
		_, err = c.GetJoinedRooms(t.Context())
		require.NoError(t, err)
		var got []string
		for _, f := range n.wire() {
			if i := strings.Index(f, `"responseIndex":`); i >= 0 {
				got = append(got, f[i+16:i+17])
			}
		}
		assert.Equal(t, []string{"1", "2", "3", "4"}, got)
		require.NoError(t, c.Close())
	})
}
