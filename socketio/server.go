package socketio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// ErrServerClosed is returned by operations on a server that was shut down.
var ErrServerClosed = errors.New("socketio: server closed")

// Server is a Socket.IO v5 / Engine.IO v4 server. It is an [http.Handler]:
// mount it at [Options.Path] on any mux, or let luckystack do it.
type Server struct {
	opts     Options
	upgrader websocket.Upgrader
	encoders encoderPool
	wsPool   sync.Pool // *net.Buffers scratch for vectored writes
	readBufs bufPool   // websocket read buffers, held only while reading
	routines *group

	pingMsg *wireMsg
	noopMsg *wireMsg

	closed atomic.Bool

	mu    sync.RWMutex // Protects following.
	nsps  map[string]*Namespace
	conns map[string]*conn
}

// NewServer returns a server with opts' zero fields set to their defaults.
// The "/" namespace exists from the start.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		routines: newGroup(),
		nsps:     make(map[string]*Namespace),
		conns:    make(map[string]*conn),
	}
	s.pingMsg = newTextMsg(eioPing, nil)
	s.noopMsg = newTextMsg(eioNoop, nil)
	// gorilla only runs the upgrade handshake; frames are read by our
	// wsReader and written by flushWebSocket. A zero ReadBufferSize and a
	// pool make its Conn reuse net/http's buffers instead of allocating.
	s.upgrader = websocket.Upgrader{
		// Origins are checked by AllowRequest, as Node does not check them
		// on websocket upgrades either.
		CheckOrigin:     func(*http.Request) bool { return true },
		WriteBufferPool: &sync.Pool{},
	}
	s.readBufs.size = s.opts.ReadBufferSize
	s.Of("/")
	return s
}

// Options returns the server's effective options (defaults applied).
func (s *Server) Options() Options { return s.opts }

// Of returns the namespace called name, creating it on first use.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.RLock()
	nsp := s.nsps[name]
	s.mu.RUnlock()
	if nsp != nil {
		return nsp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if nsp = s.nsps[name]; nsp == nil {
		nsp = newNamespace(s, name)
		s.nsps[name] = nsp
	}
	return nsp
}

func (s *Server) namespace(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps[name]
}

// Sockets is shorthand for the "/" namespace.
func (s *Server) Sockets() *Namespace { return s.Of("/") }

// To starts a broadcast on the "/" namespace.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.Of("/").To(rooms...) }

// In is an alias of [Server.To].
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.To(rooms...) }

// Except starts a broadcast on "/" that skips rooms.
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.Of("/").Except(rooms...) }

// Emit broadcasts an event to every socket of the "/" namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// ConnCount reports the number of open Engine.IO connections.
func (s *Server) ConnCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

func (s *Server) conn(sid string) *conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conns[sid]
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
	s.mu.Unlock()
}

// ServeHTTP answers Engine.IO requests below [Options.Path] and 404s others.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, s.opts.Path) && r.URL.Path+"/" != s.opts.Path {
		http.NotFound(w, r)
		return
	}
	s.setCORS(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.closed.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if (transport != "polling" || s.opts.DisablePolling) && (transport != "websocket" || s.opts.DisableWebSocket) {
		writeEIOError(w, errCodeUnknownTransport, "")
		return
	}
	if strings.ContainsAny(r.Header.Get("Origin"), "\r\n\x00") {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	upgrade := websocket.IsWebSocketUpgrade(r)
	if upgrade && transport != "websocket" {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	if sid := q.Get("sid"); sid != "" {
		c := s.conn(sid)
		if c == nil {
			writeEIOError(w, errCodeUnknownSID, "")
			return
		}
		if upgrade {
			s.upgradeConn(c, w, r)
			return
		}
		if c.transportName() != transport {
			writeEIOError(w, errCodeBadRequest, "")
			return
		}
		switch r.Method {
		case http.MethodGet:
			c.handlePoll(w, r)
		case http.MethodPost:
			c.handlePost(w, r)
		default:
			writeEIOError(w, errCodeBadRequest, "")
		}
		return
	}
	if r.Method != http.MethodGet {
		writeEIOError(w, errCodeBadHandshakeMethod, "")
		return
	}
	if transport == "websocket" && !upgrade {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	// Node's verify() runs allowRequest before handshake() checks the version.
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			writeEIOError(w, errCodeForbidden, err.Error())
			return
		}
	}
	if q.Get("EIO") != "4" {
		writeEIOError(w, errCodeUnsupportedVersion, "")
		return
	}
	s.handshake(transport, w, r)
}

func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if s.opts.CORS == nil || origin == "" || s.opts.CORS.AllowOrigin == nil || !s.opts.CORS.AllowOrigin(origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if s.opts.CORS.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
	}
}

func (s *Server) handshake(transport string, w http.ResponseWriter, r *http.Request) {
	hs := newHandshakeInfo(r)
	c := newConn(s, hs)
	upgrades := []string{"websocket"}
	if transport == "websocket" || s.opts.DisableUpgrades || s.opts.DisableWebSocket {
		upgrades = nil
	}
	open := newTextMsg(eioOpen, openPacket(c.id, upgrades, &s.opts))
	if transport == "websocket" {
		ws, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // gorilla has answered the request
		}
		s.register(c)
		c.send(open)
		c.attachWebSocket(ws.NetConn())
		c.start()
		return
	}
	s.register(c)
	c.send(open)
	c.start()
	c.handlePoll(w, r)
}

func (s *Server) register(c *conn) {
	s.mu.Lock()
	s.conns[c.id] = c
	s.mu.Unlock()
}

// Shutdown closes every connection with the reason "server shutting down"
// (clients reconnect elsewhere or later), closes the adapters, and waits until
// every goroutine the server started has returned or ctx ends.
//
// [http.Server.Shutdown] neither closes nor waits for hijacked websocket
// connections; call this from [http.Server.RegisterOnShutdown] or before it.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.closed.Swap(true) {
		return s.routines.Wait(ctx)
	}
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	for _, n := range nsps {
		for _, sock := range n.localSockets() {
			sock.onClose("server shutting down")
		}
	}
	var errs []error
	for _, n := range nsps {
		if err := n.adapter.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range conns {
		c.closeGracefully("server shutting down")
	}
	s.routines.Close()
	if err := s.routines.Wait(ctx); err != nil {
		// Whatever is still writing is cut off so nothing outlives the server.
		for _, c := range conns {
			c.finish("server shutting down")
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close shuts down at once, without waiting for queues to drain.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// remoteIP strips the port from a RemoteAddr.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
