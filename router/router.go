package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Router is an http.Handler that forwards each request to a backend of
// the service it belongs to. Create it with [New].
type Router struct {
	cfg      Config
	services map[string]*service
	trusted  []netip.Prefix
	sticky   *stickyTable

	gates hookList[GateFunc]
	pres  hookList[PreProxyFunc]
	posts hookList[PostProxyFunc]

	mu          sync.Mutex // Protects following.
	closed      bool
	tunnels     map[*tunnel]struct{}
	clients     map[*clientConn]struct{} // connections of the own loop
	active      sync.WaitGroup           // upgrades past their handshake
	loops       []*evLoop                // started on the first tunnel
	nextLoop    int
	loopsFailed bool

	loopWG sync.WaitGroup // the loops' goroutines

	clientWG sync.WaitGroup // the own loop's connections
	date     atomic.Pointer[cachedDate]
}

// New builds a Router. It fails when no service is configured, a backend
// URL or trusted proxy is malformed, or the default or websocket service
// is not in Services.
func New(cfg Config) (*Router, error) {
	cfg = cfg.withDefaults()
	services, err := parseServices(cfg.Services)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{cfg.DefaultService, cfg.WebSocketService} {
		if _, ok := services[name]; !ok {
			return nil, fmt.Errorf("router: service %q is not configured", name)
		}
	}
	trusted, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	rt := &Router{
		cfg:      cfg,
		services: services,
		trusted:  trusted,
		sticky:   newStickyTable(cfg.StickyTTL, cfg.MaxStickySessions),
		tunnels:  make(map[*tunnel]struct{}),
		clients:  make(map[*clientConn]struct{}),
	}
	return rt, nil
}

// Shutdown tears down every upgraded connection (which
// http.Server.Shutdown neither closes nor waits for), stops the tunnel
// event loops, closes idle backend connections and the idle client
// connections of [Router.Listener]'s serving loop, and waits until the
// upgrade handlers, the event loops and the serving loop's busy
// connections have returned or ctx ends, returning ctx.Err() then. Later
// requests get 503. Call it after http.Server.Shutdown, or from
// RegisterOnShutdown. It is idempotent.
func (rt *Router) Shutdown(ctx context.Context) error {
	rt.Close()
	done := make(chan struct{})
	go func() {
		rt.active.Wait()
		rt.clientWG.Wait()
		rt.loopWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is [Router.Shutdown] without the wait: upgraded, idle backend and
// idle client connections are closed, those on an event loop by the loop
// moments later. It is idempotent.
func (rt *Router) Close() {
	rt.mu.Lock()
	rt.closed = true
	for t := range rt.tunnels {
		t.close()
	}
	rt.stopLoops()
	for c := range rt.clients {
		c.closeIfIdle()
	}
	rt.mu.Unlock()
	rt.closeIdle()
}

func (rt *Router) isClosed() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.closed
}

// route is where one request goes.
type route struct {
	svc         *service
	viaFallback bool
	// sid is the Engine.IO session of a request to the websocket service.
	sid string
	// pinned: the backend holds the request's session, so no other
	// backend may be tried.
	pinned bool
	// probe: the session is unknown to this router (another instance or
	// a restart saw its handshake); backends answering "Session ID
	// unknown" are passed over until one holds it.
	probe bool
	// handshake: a /socket.io/ polling handshake whose answer names the
	// session id to remember.
	handshake bool
}

// resolve finds the service of r.
func (rt *Router) resolve(r *http.Request, upgrade bool) route {
	p := r.URL.Path
	if upgrade || enginePath(p) {
		rr := route{svc: rt.services[rt.cfg.WebSocketService]}
		if len(rr.svc.backends) > 1 {
			rr.sid = sidOf(r)
			rr.handshake = rr.sid == "" && !upgrade && r.Method == http.MethodGet
		}
		return rr
	}
	if name, ok := serviceSegment(p); ok {
		if svc := rt.services[name]; svc != nil {
			return route{svc: svc}
		}
		return route{svc: rt.services[rt.cfg.DefaultService], viaFallback: true}
	}
	return route{svc: rt.services[rt.cfg.DefaultService]}
}

// serviceSegment returns <service> of /api/<service>/... and
// /sync/<service>/....
func serviceSegment(p string) (string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(p, "/api/"):
		rest = p[len("/api/"):]
	case strings.HasPrefix(p, "/sync/"):
		rest = p[len("/sync/"):]
	default:
		return "", false
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest, rest != ""
}

// pick chooses the backend for rr: the session's backend for a request
// carrying a sid, else the next healthy one in round-robin order.
func (rt *Router) pick(rr *route) *backend {
	bs := rr.svc.backends
	if len(bs) == 0 {
		return nil
	}
	if rr.sid != "" {
		rr.pinned = true
		if b := rt.sticky.get(rr.sid, time.Now().UnixNano()); b != nil {
			return b
		}
		rr.probe = true
		return bs[sidHash(rr.sid, len(bs))]
	}
	return rt.next(rr.svc, nil)
}

// next returns the next backend of svc in round-robin order that is not
// in tried, preferring those not skipped after a refusal; nil when every
// backend was tried.
func (rt *Router) next(svc *service, tried []*backend) *backend {
	n := uint64(len(svc.backends))
	if n == 0 {
		return nil
	}
	start := svc.next.Add(1) - 1
	now := time.Now().UnixNano()
	var fallback *backend
	for i := range n {
		b := svc.backends[(start+i)%n]
		if contains(tried, b) {
			continue
		}
		if b.downUntil.Load() > now {
			if fallback == nil {
				fallback = b
			}
			continue
		}
		return b
	}
	return fallback
}

// nextAny returns the first backend of svc not in tried, in list order,
// healthy or not: probing for a session must ask every backend.
func (rt *Router) nextAny(svc *service, tried []*backend) *backend {
	for _, b := range svc.backends {
		if !contains(tried, b) {
			return b
		}
	}
	return nil
}

func contains(list []*backend, b *backend) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// refused marks b as skipped for new sessions for a while.
func (rt *Router) refused(b *backend, err error) {
	b.downUntil.Store(time.Now().Add(rt.cfg.RefusedBackoff).UnixNano())
	rt.cfg.Logger.Warn("router: backend refused the connection; skipping it for new sessions",
		"backend", b.url.String(), "for", rt.cfg.RefusedBackoff, "err", err)
}

// isRefused reports whether err is a refused TCP connection: nothing was
// sent, so another backend may be tried.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// ServeHTTP forwards r. The request head is capped (431), its target must
// be in origin form (400), its service must have a backend (502), and the
// proxyRequestGate hooks may refuse it (403 by default). Upgrades (any
// path) and /socket.io/ requests go to the websocket service.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if headSize(r) > rt.cfg.MaxHeaderBytes {
		http.Error(w, "request header fields too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	if !originForm(r.RequestURI) {
		http.Error(w, "request target must be in origin form", http.StatusBadRequest)
		return
	}
	rt.serveRouted(w, r, start)
}

// serveRouted is ServeHTTP past its guards on the request head, which the
// own loop's parser enforces by handing such requests to ServeHTTP.
func (rt *Router) serveRouted(w http.ResponseWriter, r *http.Request, start time.Time) {
	if rt.isClosed() {
		http.Error(w, "router closed", http.StatusServiceUnavailable)
		return
	}
	upgrade := isUpgrade(r)
	rr := rt.resolve(r, upgrade)
	b := rt.pick(&rr)
	method := r.Method
	if upgrade {
		method = "UPGRADE"
	}
	if b == nil {
		err := fmt.Errorf("router: service %q has no backend", rr.svc.name)
		http.Error(w, "no backend for service", http.StatusBadGateway)
		rt.runPost(r.Context(), &ProxyResponseEvent{Service: rr.svc.name, Method: r.Method, Path: r.URL.Path,
			Upgrade: upgrade, Status: http.StatusBadGateway, Err: err, Duration: time.Since(start)})
		return
	}
	if rt.gates.list.Load() != nil {
		ev := &GateEvent{Service: rr.svc.name, Path: r.URL.Path, Method: method, Target: b.url.String(),
			ViaFallback: rr.viaFallback, RemoteAddr: r.RemoteAddr, Request: r}
		if ref := rt.runGates(r.Context(), ev); ref != nil {
			msg := ref.Message
			if msg == "" {
				msg = http.StatusText(ref.status())
			}
			http.Error(w, msg, ref.status())
			return
		}
	}
	a := &attempt{route: rr, backend: b, start: start}
	if upgrade {
		rt.serveUpgrade(w, r, a)
		return
	}
	rt.forwardHTTP(w, r, a)
}

// attempt is the per-request state the proxy stages share.
type attempt struct {
	route   route
	backend *backend
	tried   []*backend
	start   time.Time
}
