package api

import (
	"context"
	"sync"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/workpool"
)

// workerIdle is how long an idle worker waits for another request before
// it exits.
const workerIdle = 10 * time.Second

// WorkerPool runs requests on goroutines owned by the server, reusing idle
// ones. The sync module (and a user's own feature module) uses it for work
// that must leave the client's event loop; the api module instead detaches
// from the event loop ([luckystack.Client.Detach]) and needs no hop. A
// fresh goroutine per request starts with a small stack and grows it while
// decoding JSON, which a reused worker does not. The pool is elastic: a
// request never waits for a busy worker (a new one starts instead), so it
// adds no queueing; MaxInFlight is what bounds the number of workers per
// client.
type WorkerPool struct {
	pool  *workpool.Pool
	watch sync.Once
}

// NewWorkerPool returns a pool whose workers belong to srv (Server.Go), so
// Shutdown cancels and waits for them.
func NewWorkerPool(srv *luckystack.Server) *WorkerPool {
	p := &WorkerPool{}
	p.pool = workpool.New(func(loop func(context.Context)) bool {
		return srv.Go(func(ctx context.Context) {
			// Idle workers wait on the pool, not on ctx: the pool retires
			// them when the server's goroutines are told to stop.
			p.watch.Do(func() { context.AfterFunc(ctx, p.pool.Close) })
			loop(ctx)
		})
	}, workerIdle)
	return p
}

// Submit runs job on an idle worker or a new one, with the server's
// context (cancelled at Shutdown). It reports false (and does not run job)
// once the server is shutting down.
func (p *WorkerPool) Submit(job func(ctx context.Context)) bool { return p.pool.Run(job) }
