package router

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// GateEvent describes a request the router is about to forward.
type GateEvent struct {
	// Service is the service the request resolved to.
	Service string
	// Path is the request path.
	Path string
	// Method is the HTTP method, or "UPGRADE" for a protocol upgrade (as
	// the original's proxyRequestGate).
	Method string
	// Target is the base URL of the chosen backend.
	Target string
	// ViaFallback reports that the path named no known service and the
	// request went to the default service.
	ViaFallback bool
	// RemoteAddr is the peer address of the client connection.
	RemoteAddr string
	// Request is the client's request. Read it; do not consume its body.
	Request *http.Request
}

// GateFunc decides whether a request may be forwarded. A nil error lets
// it through; any error refuses it with the status of a [*Refusal], else
// 403. A panic refuses it with 500.
type GateFunc func(ctx context.Context, ev *GateEvent) error

// Refusal is the error a [GateFunc] returns to refuse with a given status.
type Refusal struct {
	// Status is the HTTP status. Zero means 403.
	Status int
	// Message is the response body. Zero means the status text.
	Message string
}

// Error describes the refusal.
func (r *Refusal) Error() string {
	return fmt.Sprintf("router: refused with status %d", r.status())
}

func (r *Refusal) status() int {
	if r == nil || r.Status == 0 {
		return http.StatusForbidden
	}
	return r.Status
}

// ProxyRequestEvent describes a request just before it is sent upstream.
type ProxyRequestEvent struct {
	// Service and Target as in [GateEvent].
	Service string
	Target  string
	// Upgrade reports a protocol upgrade.
	Upgrade bool
	// Request is the client's request.
	Request *http.Request
	// Header is what goes upstream; handlers may add headers (tracing).
	Header http.Header
}

// PreProxyFunc observes a request about to be forwarded.
type PreProxyFunc func(ctx context.Context, ev *ProxyRequestEvent)

// ProxyResponseEvent describes the backend's answer (or its absence).
type ProxyResponseEvent struct {
	// Service and Target as in [GateEvent]; Target is empty when no
	// backend was reached.
	Service string
	Target  string
	// Method and Path of the client's request.
	Method string
	Path   string
	// Upgrade reports a protocol upgrade; its event fires when the
	// handshake is answered, not when the tunnel ends.
	Upgrade bool
	// Status is what the client got (101 for an upgrade that succeeded).
	Status int
	// Err is the proxy error behind a 502 or 504, else nil.
	Err error
	// Duration runs from routing to the backend's response head.
	Duration time.Duration
}

// PostProxyFunc observes the outcome of a forwarded request.
type PostProxyFunc func(ctx context.Context, ev *ProxyResponseEvent)

// hookList is a copy-on-write list of handlers: dispatch reads one atomic
// pointer, registration copies under a mutex.
type hookList[F any] struct {
	mu   sync.Mutex // serialises writers
	list atomic.Pointer[[]hookEntry[F]]
	seq  uint64 // guarded by mu
}

type hookEntry[F any] struct {
	id uint64
	fn F
}

func (l *hookList[F]) add(fn F) (remove func()) {
	l.mu.Lock()
	l.seq++
	id := l.seq
	var old []hookEntry[F]
	if cur := l.list.Load(); cur != nil {
		old = *cur
	}
	next := append(append(make([]hookEntry[F], 0, len(old)+1), old...), hookEntry[F]{id: id, fn: fn})
	l.list.Store(&next)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			cur := l.list.Load()
			next := make([]hookEntry[F], 0, len(*cur))
			for _, e := range *cur {
				if e.id != id {
					next = append(next, e)
				}
			}
			l.list.Store(&next)
		})
	}
}

func (l *hookList[F]) load() []hookEntry[F] {
	if cur := l.list.Load(); cur != nil {
		return *cur
	}
	return nil
}

// OnProxyRequestGate appends a gate run before every forwarded request and
// upgrade; the first refusal wins. It returns a function that removes this
// registration. Handlers run in registration order on the request's
// goroutine and may be called concurrently for different requests. Safe
// while serving.
func (rt *Router) OnProxyRequestGate(fn GateFunc) (remove func()) {
	if fn == nil {
		panic("router: OnProxyRequestGate with nil handler")
	}
	return rt.gates.add(fn)
}

// OnPreProxyRequest appends an observer of requests about to be sent
// upstream, with the same ordering and concurrency as
// [Router.OnProxyRequestGate].
func (rt *Router) OnPreProxyRequest(fn PreProxyFunc) (remove func()) {
	if fn == nil {
		panic("router: OnPreProxyRequest with nil handler")
	}
	return rt.pres.add(fn)
}

// OnPostProxyResponse appends an observer of backend answers, with the
// same ordering and concurrency as [Router.OnProxyRequestGate].
func (rt *Router) OnPostProxyResponse(fn PostProxyFunc) (remove func()) {
	if fn == nil {
		panic("router: OnPostProxyResponse with nil handler")
	}
	return rt.posts.add(fn)
}

// runGates returns the refusal of the first gate that refuses, or nil.
func (rt *Router) runGates(ctx context.Context, ev *GateEvent) (ref *Refusal) {
	for _, e := range rt.gates.load() {
		if ref = rt.runGate(ctx, e.fn, ev); ref != nil {
			return ref
		}
	}
	return nil
}

func (rt *Router) runGate(ctx context.Context, fn GateFunc, ev *GateEvent) (ref *Refusal) {
	defer func() {
		if p := recover(); p != nil {
			rt.cfg.Logger.Error("router: proxyRequestGate panicked", "panic", p, "stack", string(debug.Stack()))
			ref = &Refusal{Status: http.StatusInternalServerError}
		}
	}()
	err := fn(ctx, ev)
	if err == nil {
		return nil
	}
	if r, ok := err.(*Refusal); ok && r != nil {
		return r
	}
	return &Refusal{}
}

func (rt *Router) runPre(ctx context.Context, ev *ProxyRequestEvent) {
	for _, e := range rt.pres.load() {
		func() {
			defer rt.recoverObserver("preProxyRequest")
			e.fn(ctx, ev)
		}()
	}
}

func (rt *Router) runPost(ctx context.Context, ev *ProxyResponseEvent) {
	for _, e := range rt.posts.load() {
		func() {
			defer rt.recoverObserver("postProxyResponse")
			e.fn(ctx, ev)
		}()
	}
}

func (rt *Router) recoverObserver(hook string) {
	if p := recover(); p != nil {
		rt.cfg.Logger.Error("router: hook panicked", "hook", hook, "panic", p, "stack", string(debug.Stack()))
	}
}
