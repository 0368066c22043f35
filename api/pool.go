package api

import (
	"context"
	"time"

	"github.com/luckystack/luckystack-go"
)

// workerIdle is how long an idle worker waits for another request before
// it exits.
const workerIdle = 10 * time.Second

// WorkerPool runs requests on goroutines owned by the server, reusing idle
// ones. The sync module (and a user's own feature module) uses it the same
// way the api module does. A fresh goroutine per request starts with a small stack and grows
// it while decoding JSON; in the benchmark that copying was ~15% of CPU. A
// reused worker keeps its grown stack. The pool is elastic: a request never
// waits for a busy worker (a new one starts instead), so it adds no
// queueing; MaxInFlight is what bounds the number of workers per client.
type WorkerPool struct {
	srv  *luckystack.Server
	jobs chan func(context.Context) // unbuffered: a send succeeds only into an idle worker
}

// NewWorkerPool returns a pool whose workers belong to srv (Server.Go), so
// Shutdown cancels and waits for them.
func NewWorkerPool(srv *luckystack.Server) *WorkerPool {
	return &WorkerPool{srv: srv, jobs: make(chan func(context.Context))}
}

// Submit runs job on an idle worker or a new one, with the server's
// context (cancelled at Shutdown). It reports false (and does not run job)
// once the server is shutting down.
func (p *WorkerPool) Submit(job func(ctx context.Context)) bool {
	select {
	case p.jobs <- job:
		return true
	default:
	}
	return p.srv.Go(func(ctx context.Context) { p.work(ctx, job) })
}

// work runs job, then serves further jobs until it has been idle for
// workerIdle or the server stops.
func (p *WorkerPool) work(ctx context.Context, job func(context.Context)) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		job(ctx)
		idle.Reset(workerIdle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
