package luckystack

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go/socketio"
)

// SocketMiddleware runs before the connect handler of every new socket, in
// registration order. An error rejects the connection: the client's
// connect_error sees its message (a *socketio.ConnectError also carries data).
type SocketMiddleware func(ctx context.Context, sock *socketio.Socket) error

// MiddlewareInfo describes one registered socket middleware.
type MiddlewareInfo struct {
	Name  string
	Order int
}

type namedMiddleware struct {
	id   uint64
	name string
	fn   SocketMiddleware
}

// middlewareRegistry is copy-on-write: the connect path reads a snapshot
// without locking, and registrations apply to the next connection.
type middlewareRegistry struct {
	mu   sync.Mutex // serialises writers
	seq  uint64     // guarded by mu
	list atomic.Pointer[[]namedMiddleware]
}

func (r *middlewareRegistry) snapshot() []namedMiddleware {
	if p := r.list.Load(); p != nil {
		return *p
	}
	return nil
}

// RegisterSocketMiddleware appends a socket middleware under name and returns
// a function that removes it. A middleware is "the same" as another when it
// has the same name (Go functions cannot be compared): registering a name
// that is already present keeps the first and runs it once. Registrations
// made while serving apply to the next connection. The unregister function
// removes exactly this registration (it does nothing for a duplicate name,
// and nothing once the middleware was removed or cleared, even if the name
// was registered again since).
func (s *Server) RegisterSocketMiddleware(name string, mw SocketMiddleware) (unregister func()) {
	if mw == nil || name == "" {
		panic("luckystack: RegisterSocketMiddleware needs a name and a function")
	}
	r := &s.mws
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.snapshot()
	for _, m := range cur {
		if m.name == name {
			return func() {}
		}
	}
	r.seq++
	id := r.seq
	next := append(append(make([]namedMiddleware, 0, len(cur)+1), cur...), namedMiddleware{id, name, mw})
	r.list.Store(&next)
	return func() { s.removeSocketMiddleware(id) }
}

func (s *Server) removeSocketMiddleware(id uint64) {
	r := &s.mws
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.snapshot()
	next := make([]namedMiddleware, 0, len(cur))
	for _, m := range cur {
		if m.id != id {
			next = append(next, m)
		}
	}
	r.list.Store(&next)
}

// ClearSocketMiddlewares removes every socket middleware.
func (s *Server) ClearSocketMiddlewares() {
	s.mws.mu.Lock()
	s.mws.list.Store(nil)
	s.mws.mu.Unlock()
}

// SocketMiddlewares lists the registered middlewares in run order. The slice
// is a copy: changing it changes nothing.
func (s *Server) SocketMiddlewares() []MiddlewareInfo {
	cur := s.mws.snapshot()
	out := make([]MiddlewareInfo, len(cur))
	for i, m := range cur {
		out[i] = MiddlewareInfo{Name: m.name, Order: i}
	}
	return out
}

func (s *Server) runSocketMiddlewares(sock *socketio.Socket) error {
	for _, m := range s.mws.snapshot() {
		if err := m.fn(sock.Context(), sock); err != nil {
			return err
		}
	}
	return nil
}
