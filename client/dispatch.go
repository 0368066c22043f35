package client

import "sync"

// dispatcher runs user callbacks one at a time, in the order they were
// posted, on its own goroutine: the reader never waits for a slow callback,
// and a callback may call back into the client (nats' async dispatcher).
type dispatcher struct {
	mu      sync.Mutex // Protects following.
	q       []func()
	stopped bool

	wake chan struct{} // capacity 1: "the queue is not empty"
	stop chan struct{}
	log  func(msg string, args ...any)
}

func newDispatcher(log func(string, ...any)) *dispatcher {
	return &dispatcher{wake: make(chan struct{}, 1), stop: make(chan struct{}), log: log}
}

// post queues fn. After stop, fn is dropped: nobody is there to observe it.
func (d *dispatcher) post(fn func()) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.q = append(d.q, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run delivers callbacks until shutdown, then delivers what is still queued
// so that a final status change is observed.
func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		q := d.q
		d.q = nil
		stopped := d.stopped
		d.mu.Unlock()
		for _, fn := range q {
			d.call(fn)
		}
		if len(q) > 0 {
			continue
		}
		if stopped {
			return
		}
		select {
		case <-d.wake:
		case <-d.stop:
			d.mu.Lock()
			d.stopped = true
			d.mu.Unlock()
		}
	}
}

// call runs fn, containing a panic so one bad handler cannot kill the client.
func (d *dispatcher) call(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			d.log("client: callback panicked", "panic", r)
		}
	}()
	fn()
}

// handlerSet is the registry of event callbacks: per event name, in
// registration order.
type handlerSet[F any] struct {
	mu     sync.Mutex // Protects following.
	next   uint64
	byName map[string][]handlerEntry[F]
}

type handlerEntry[F any] struct {
	id uint64
	fn F
}

// add appends fn under name and returns its unregister function.
func (h *handlerSet[F]) add(name string, fn F) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byName == nil {
		h.byName = map[string][]handlerEntry[F]{}
	}
	h.next++
	id := h.next
	h.byName[name] = append(h.byName[name], handlerEntry[F]{id, fn})
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		list := h.byName[name]
		for i, e := range list {
			if e.id == id {
				h.byName[name] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(h.byName[name]) == 0 {
			delete(h.byName, name)
		}
	}
}

// get returns a snapshot of the callbacks for name.
func (h *handlerSet[F]) get(name string) []handlerEntry[F] {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handlerEntry[F](nil), h.byName[name]...)
}
