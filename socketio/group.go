package socketio

import (
	"context"
	"sync"
)

// group owns goroutines: it refuses new ones once closed, so Shutdown can
// wait for a count that only goes down (a plain WaitGroup forbids Add racing
// with Wait at zero).
type group struct {
	mu     sync.Mutex
	n      int
	closed bool
	done   chan struct{} // closed when closed && n == 0
}

func newGroup() *group { return &group{done: make(chan struct{})} }

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

func (g *group) release() {
	g.mu.Lock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.done)
	}
	g.mu.Unlock()
}

// Close refuses further goroutines.
func (g *group) Close() {
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
