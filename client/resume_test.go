package client_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
)

// freezeProxy forwards TCP to a target and can freeze the connections it
// carries: bytes stop flowing both ways but nothing is closed, which is
// what a client sees after a laptop sleep or a dead NAT entry. New
// connections after a freeze flow normally.
type freezeProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []*proxied
	closed bool
	wg     sync.WaitGroup
}

type proxied struct {
	a, b   net.Conn
	frozen chan struct{}
	once   sync.Once
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezeProxy{t: t, ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *freezeProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *freezeProxy) accept() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = a.Close()
			continue
		}
		pc := &proxied{a: a, b: b, frozen: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = a.Close()
			_ = b.Close()
			return
		}
		p.conns = append(p.conns, pc)
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(pc, a, b)
		go p.pipe(pc, b, a)
	}
}

// pipe copies src to dst until either side closes; once frozen it keeps
// reading (so the sender never blocks) but forwards nothing.
func (p *freezeProxy) pipe(pc *proxied, dst, src net.Conn) {
	defer p.wg.Done()
	defer func() {
		// A frozen link hides the far side's close too: the near side just
		// stops hearing anything. close() ends it at the end of the test.
		select {
		case <-pc.frozen:
		default:
			_ = dst.Close()
			_ = src.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-pc.frozen:
			default:
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze freezes every connection open now.
func (p *freezeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.once.Do(func() { close(pc.frozen) })
	}
}

func (p *freezeProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, pc := range conns {
		_ = pc.a.Close()
		_ = pc.b.Close()
	}
	p.wg.Wait()
}

func TestResumeKeepsALiveConnection(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{})
	id := c.ID()
	require.NoError(t, c.Resume(ctxT(t)))
	assert.Equal(t, id, c.ID(), "no reconnect")
	assert.Equal(t, client.StatusConnected, c.Status())
}

// TestResumeReplacesASilentlyDeadConnection: the reconnect delay is far
// longer than the test may wait, so the new connection proves that Resume
// skipped the backoff.
func TestResumeReplacesASilentlyDeadConnection(t *testing.T) {
	env := newLS(t, nil)
	proxy := newFreezeProxy(t, env.server().Addr())
	c, err := client.Dial(ctxT(t), proxy.url(), client.Options{
		ReconnectDelay: time.Minute, ProbeTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	id := c.ID()
	proxy.freeze()
	err = c.Resume(ctxT(t))
	require.Error(t, err)
	assert.NotEqual(t, id, c.ID(), "Resume returns once the dead connection is gone")
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	assert.NotEqual(t, id, c.ID(), "a new connection")
	require.NoError(t, c.Resume(ctxT(t)))
}

func TestResumeWhileDisconnectedConnectsAtOnce(t *testing.T) {
	env := newLS(t, nil)
	env.stop()
	c, err := client.New(env.url(), client.Options{ReconnectDelay: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnecting))
	env.start()
	assert.ErrorIs(t, c.Resume(ctxT(t)), client.ErrNotConnected)
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
}

// TestPingWatchdogDetectsASilentServer: with a 100 ms ping interval and
// timeout, a frozen connection is declared dead by the client's watchdog
// ("ping timeout") and replaced.
func TestPingWatchdogDetectsASilentServer(t *testing.T) {
	env := newLSWith(t, luckystack.Config{Socket: luckystack.SocketConfig{
		PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond,
	}}, nil)
	proxy := newFreezeProxy(t, env.server().Addr())
	reasons := make(chan string, 8)
	c, err := client.Dial(ctxT(t), proxy.url(), fastReconnect(client.Options{OnStatus: func(ev client.StatusEvent) {
		if ev.Reason != "" {
			reasons <- ev.Reason
		}
	}}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	id := c.ID()
	// Pings keep a healthy connection alive well past the watchdog window.
	assert.Never(t, func() bool { return c.ID() != id }, 500*time.Millisecond, 20*time.Millisecond)
	proxy.freeze()
	select {
	case r := <-reasons:
		assert.Equal(t, client.ReasonPingTimeout, r)
	case <-time.After(waitFor):
		t.Fatal("watchdog did not fire")
	}
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	assert.NotEqual(t, id, c.ID())
}
