package workpool

import (
	"context"
	"sync"
	"time"
)

// Task is the work a pool runs; ctx is the context its worker was started
// with by the owner.
type Task func(ctx context.Context)

// Start starts loop on a goroutine the owner accounts for (so that its
// shutdown waits for it), with the context loop's tasks get, and reports
// false when the owner no longer starts goroutines.
type Start func(loop func(ctx context.Context)) bool

// Pool is an elastic set of workers: a task never waits for a busy worker,
// a new one starts instead, so the pool adds no queueing and holds no more
// workers than tasks ran at once within the idle period.
type Pool struct {
	start   Start
	idleFor time.Duration

	mu     sync.Mutex // Protects following.
	idle   []*worker  // oldest first; taken from the end
	closed bool
	reaper *time.Timer
	armed  bool
}

type worker struct {
	tasks chan Task // buffered(1); nil task: exit
	since time.Time // when it went idle
}

// New returns a pool whose workers are started by start and exit after
// being idle for idleFor.
func New(start Start, idleFor time.Duration) *Pool {
	return &Pool{start: start, idleFor: idleFor}
}

// Run runs t on an idle worker or a new one. It reports false, and does
// not run t, once the pool is closed or the owner refuses a goroutine.
func (p *Pool) Run(t Task) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.tasks <- t
		return true
	}
	p.mu.Unlock()
	w := &worker{tasks: make(chan Task, 1)}
	return p.start(func(ctx context.Context) { p.work(ctx, w, t) })
}

func (p *Pool) work(ctx context.Context, w *worker, t Task) {
	for t != nil {
		t(ctx)
		t = nil // not kept alive while idle
		if !p.park(w) {
			return
		}
		t = <-w.tasks
	}
}

// park puts w on the idle list; false means the pool is closed.
func (p *Pool) park(w *worker) bool {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	w.since = now
	p.idle = append(p.idle, w)
	if !p.armed {
		p.armed = true
		if p.reaper == nil {
			p.reaper = time.AfterFunc(p.idleFor, p.reap)
		} else {
			p.reaper.Reset(p.idleFor)
		}
	}
	return true
}

// reap retires the workers idle for idleFor and re-arms itself while
// others are idle.
func (p *Pool) reap() {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	if p.closed {
		return
	}
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].since) >= p.idleFor {
		p.idle[n].tasks <- nil
		n++
	}
	p.idle = append(p.idle[:0], p.idle[n:]...)
	clear(p.idle[len(p.idle):cap(p.idle)])
	if len(p.idle) > 0 {
		p.armed = true
		p.reaper.Reset(p.idle[0].since.Add(p.idleFor).Sub(now))
	}
}

// Close retires the idle workers and refuses further tasks; busy workers
// exit when their task returns.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.reaper != nil {
		p.reaper.Stop()
	}
	for i, w := range p.idle {
		w.tasks <- nil
		p.idle[i] = nil
	}
	p.idle = nil
}
