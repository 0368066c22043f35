package luckystack

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Hook names a hook point and the type of its payload. Feature packages
// declare their own with [NewHook]; the root declares the socket layer's.
type Hook[P any] struct{ name string }

// NewHook declares a hook point. Two Hook values with the same name are the
// same hook point, so declare each name once and export the value.
func NewHook[P any](name string) Hook[P] { return Hook[P]{name: name} }

// Name returns the hook's name, e.g. "preRoomJoin".
func (h Hook[P]) Name() string { return h.name }

// HookFunc handles one hook dispatch. Returning a *[Stop] stops the dispatch
// (pre-hooks honour it, post- and on-hooks ignore it); any other error, or a
// panic, is logged and the next handler runs.
type HookFunc[P any] func(ctx context.Context, p *P) error

// Stop is the stop signal of a hook handler: the operation is refused with
// ErrorCode (and HTTPStatus where the transport has one; zero means 403).
// OverrideOutput lets hooks that support it replace an output instead.
type Stop struct {
	ErrorCode      string
	HTTPStatus     int
	OverrideOutput any
}

func (s *Stop) Error() string { return "luckystack: stopped by hook: " + s.ErrorCode }

// StopWith builds a stop signal.
func StopWith(errorCode string, httpStatus int) *Stop {
	return &Stop{ErrorCode: errorCode, HTTPStatus: httpStatus}
}

// hookRegistry keeps each hook's handlers as an immutable slice behind an
// atomic pointer: dispatch reads without locking, registration copies.
type hookRegistry struct {
	mu    sync.Mutex // serialises writers
	lists sync.Map   // name -> *atomic.Pointer[[]hookEntry]
	seq   atomic.Uint64
	// total counts the handlers of every hook, so that asking after a hook
	// costs one atomic load while none is registered (the request paths
	// ask after a dozen per request).
	total atomic.Int64
}

type hookEntry struct {
	id uint64
	fn any // HookFunc[P] for the hook's P
}

func (r *hookRegistry) list(name string) *atomic.Pointer[[]hookEntry] {
	if p, ok := r.lists.Load(name); ok {
		return p.(*atomic.Pointer[[]hookEntry])
	}
	p, _ := r.lists.LoadOrStore(name, new(atomic.Pointer[[]hookEntry]))
	return p.(*atomic.Pointer[[]hookEntry])
}

func (r *hookRegistry) add(name string, fn any) func() {
	id := r.seq.Add(1)
	p := r.list(name)
	r.mu.Lock()
	var old []hookEntry
	if cur := p.Load(); cur != nil {
		old = *cur
	}
	next := append(append(make([]hookEntry, 0, len(old)+1), old...), hookEntry{id: id, fn: fn})
	p.Store(&next)
	r.total.Add(1)
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			cur := p.Load()
			if cur == nil {
				return
			}
			next := make([]hookEntry, 0, len(*cur))
			for _, e := range *cur {
				if e.id != id {
					next = append(next, e)
				}
			}
			r.total.Add(int64(len(next) - len(*cur)))
			p.Store(&next)
		})
	}
}

func (r *hookRegistry) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lists.Range(func(_, v any) bool {
		v.(*atomic.Pointer[[]hookEntry]).Store(nil)
		return true
	})
	r.total.Store(0)
}

func (r *hookRegistry) count(name string) int {
	if r.total.Load() == 0 {
		return 0
	}
	if cur := r.list(name).Load(); cur != nil {
		return len(*cur)
	}
	return 0
}

// RegisterHook appends fn to hook h of server s and returns a function that
// removes exactly this registration. Handlers run in registration order.
// Registering the same function twice runs it twice. Safe while serving.
//
// It is a function rather than a method because Go methods cannot have type
// parameters.
func RegisterHook[P any](s *Server, h Hook[P], fn HookFunc[P]) (unregister func()) {
	if fn == nil {
		panic("luckystack: RegisterHook with nil handler for " + h.name)
	}
	return s.hooks.add(h.name, fn)
}

// DispatchHook runs the handlers of h in order and returns the first stop
// signal (nil when none stopped). A handler's panic or plain error is logged
// and skipped. Feature modules use it for the hooks they declare.
func DispatchHook[P any](ctx context.Context, s *Server, h Hook[P], p *P) *Stop {
	if s.hooks.total.Load() == 0 {
		return nil
	}
	cur := s.hooks.list(h.name).Load()
	if cur == nil {
		return nil
	}
	for _, e := range *cur {
		fn, ok := e.fn.(HookFunc[P])
		if !ok {
			continue
		}
		if stop := s.runHook(h.name, func() error { return fn(ctx, p) }); stop != nil {
			return stop
		}
	}
	return nil
}

// runHook calls one handler, turning a panic or a plain error into a log
// line so that one broken handler cannot take the others down.
func (s *Server) runHook(name string, call func() error) (stop *Stop) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("luckystack: hook handler panicked", "hook", name, "panic", r, "stack", string(debug.Stack()))
			stop = nil
		}
	}()
	err := call()
	if err == nil {
		return nil
	}
	var st *Stop
	if errors.As(err, &st) {
		return st
	}
	s.log.Warn("luckystack: hook handler failed", "hook", name, "err", err)
	return nil
}

// HookCount reports how many handlers hook h has.
func HookCount[P any](s *Server, h Hook[P]) int { return s.hooks.count(h.name) }

// ClearHooks removes every hook handler of the server (used by /_test/reset
// with include=hooks).
func (s *Server) ClearHooks() { s.hooks.clear() }
