package luckystack

import (
	"context"
	"sync"
)

// Closer is implemented by modules that hold resources; Shutdown calls it
// after the sockets are closed.
type Closer interface {
	Close(ctx context.Context) error
}

// routines owns the goroutines modules start through [Server.Go], so that
// Shutdown can cancel and wait for them.
type routines struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
}

// Go runs fn on a goroutine owned by the server: ctx is cancelled at
// Shutdown, which waits for fn to return. It reports false (and does not run
// fn) once the server is shutting down.
func (s *Server) Go(fn func(ctx context.Context)) bool {
	r := &s.bg
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(context.Background())
	}
	ctx := r.ctx
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		fn(ctx)
	}()
	return true
}

// stopRoutines cancels the owned goroutines and waits for them or ctx.
func (s *Server) stopRoutines(ctx context.Context) error {
	r := &s.bg
	r.mu.Lock()
	r.closed = true
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
