package socketio

import (
	"context"
	"sync"
	"time"

	"github.com/luckystack/luckystack-go/internal/workpool"
)

// runIdle is how long a pooled goroutine waits for another task before it
// exits: long enough to span the gaps of a busy client's traffic, short
// enough that a burst's workers do not outlive it by much.
const runIdle = 2 * time.Second

// group owns goroutines: it refuses new ones once closed, so Shutdown can
// wait for a count that only goes down (a plain WaitGroup forbids Add racing
// with Wait at zero).
type group struct {
	mu     sync.Mutex
	n      int
	closed bool
	done   chan struct{} // closed when closed && n == 0
	pool   *workpool.Pool
}

func newGroup() *group {
	g := &group{done: make(chan struct{})}
	g.pool = workpool.New(func(loop func(context.Context)) bool {
		return g.Go(func() { loop(context.Background()) })
	}, runIdle)
	return g
}

// Go runs f in a new goroutine and reports whether it was started.
func (g *group) Go(f func()) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.n++
	g.mu.Unlock()
	go func() {
		defer g.release()
		f()
	}()
	return true
}

// Run runs t on a pooled goroutine (see workpool). It is for short tasks
// (a socket's handlers, a write burst): a fresh goroutine would grow its
// stack again on every burst. Long waits (an idle connection's reader)
// use Go, so that they hold no grown stack.
func (g *group) Run(t workpool.Task) bool { return g.pool.Run(t) }

func (g *group) release() {
	g.mu.Lock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.done)
	}
	g.mu.Unlock()
}

// Close refuses further goroutines and retires the idle pooled ones.
func (g *group) Close() {
	g.pool.Close()
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		if g.n == 0 {
			close(g.done)
		}
	}
	g.mu.Unlock()
}

// Wait waits until every goroutine has returned after Close, or ctx ends.
func (g *group) Wait(ctx context.Context) error {
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
