package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// ErrServerClosed is returned by Listen after Shutdown.
var ErrServerClosed = errors.New("luckystack: server closed")

// Module is a feature that plugs into the server the way a user's own
// extension would: api, sync and presence are modules. Install runs during
// bootstrap, before the socket layer accepts connections.
type Module interface {
	// Name identifies the module in logs and errors.
	Name() string
	// Install registers the module's hooks, socket events and HTTP routes.
	Install(s *Server) error
}

// Verifier is implemented by modules that can tell at bootstrap what they
// miss; every problem of every module is reported in one error.
type Verifier interface {
	Verify(s *Server) []string
}

// Presence is the seam the presence module plugs into: the server tells it
// about every socket that connected (after onSocketConnect) and disconnected.
type Presence interface {
	// SocketConnected runs after onSocketConnect, before the socket's
	// first event.
	SocketConnected(ctx context.Context, c *Client)
	// SocketDisconnected takes over the socket's onSocketDisconnect: the
	// implementation must dispatch OnSocketDisconnect for c exactly once,
	// at once or when its grace window closes.
	SocketDisconnected(c *Client, reason string)
}

// BootStep is one observable step of the bootstrap.
type BootStep struct {
	Step   int
	Name   string
	Detail string
}

// Options configures [NewServer]. The zero value serves on 127.0.0.1:80 with
// in-memory sessions and adapter.
type Options struct {
	// Port overrides the positional port argument. Zero means unset.
	Port int
	// Args are positional command-line arguments: an optional [port]. The
	// library never reads os.Args itself.
	Args []string
	// DefaultPort applies when neither Port nor Args set one. Zero means 80.
	DefaultPort int
	// IP is the bind address. Zero means env SERVER_IP, else 127.0.0.1.
	IP string
	// Config is the project configuration overlay.
	Config Config
	// Sessions stores sessions. Nil means an in-memory store.
	Sessions SessionStore
	// Adapter creates the Socket.IO adapter of each namespace. Nil means in
	// memory; redisadapter provides a cluster-wide one.
	Adapter func(nsp *socketio.Namespace) socketio.Adapter
	// Modules are installed in order during bootstrap.
	Modules []Module
	// Static serves files (with SPA fallback to index.html). Nil serves none.
	Static fs.FS
	// Uploads serves /uploads/<id>.<ext> as <id>.webp. Nil serves none.
	Uploads fs.FS
	// Logger receives diagnostics. Nil means silent.
	Logger *slog.Logger
	// Getenv reads the environment. Nil means os.Getenv.
	Getenv func(string) string
	// OnBootStep observes each bootstrap step as it completes.
	OnBootStep func(BootStep)
	// ShutdownStepTimeout bounds each step of Shutdown. Zero means 10s.
	ShutdownStepTimeout time.Duration
}

// Server is a LuckyStack real-time server: Socket.IO, sessions, rooms, the
// HTTP dispatcher and the modules installed on it.
type Server struct {
	opts     Options
	cfg      Config
	log      *slog.Logger
	getenv   func(string) string
	io       *socketio.Server
	sessions SessionStore
	hooks    hookRegistry
	mws      middlewareRegistry
	origins  *originPolicy

	presence atomic.Pointer[presenceBox]

	regMu      sync.Mutex // serialises registrations below
	socketEvts atomic.Pointer[map[string]SocketEventHandler]
	routes     atomic.Pointer[routeTable]

	roomLocks keyedMutex
	userLocks keyedMutex // serialises session creation per user
	bg        routines

	ip     string
	port   int
	bootID string

	mu       sync.Mutex   // Protects following.
	listener net.Listener // from Bind
	serving  net.Listener // given to Serve
	httpSrv  *http.Server
	addr     string
	closed   bool
}

type presenceBox struct{ p Presence }

// IO returns the Socket.IO server.
func (s *Server) IO() *socketio.Server { return s.io }

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// Logger returns the server's logger (never nil).
func (s *Server) Logger() *slog.Logger { return s.log }

// Sessions returns the session store.
func (s *Server) Sessions() SessionStore { return s.sessions }

// SetPresence installs the presence seam (one per server; the last wins).
func (s *Server) SetPresence(p Presence) { s.presence.Store(&presenceBox{p}) }

func (s *Server) presenceSeam() Presence {
	if b := s.presence.Load(); b != nil {
		return b.p
	}
	return nil
}

// SocketEventHandler handles a LuckyStack event from a client. payload is
// the event's single JSON argument (nil when none). Handlers of one client
// run one at a time in arrival order; long work belongs in a goroutine.
type SocketEventHandler func(ctx context.Context, c *Client, payload json.RawMessage)

// HandleSocketEvent registers the handler of a client event, replacing any
// previous one. Modules use it for apiRequest, sync and friends.
func (s *Server) HandleSocketEvent(event string, h SocketEventHandler) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	next := maps.Clone(*s.socketEvts.Load())
	next[event] = h
	s.socketEvts.Store(&next)
	s.io.Sockets().On(event, s.dispatchEvent)
}

// Addr returns the bound address once Listen has bound, else "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Listen binds IP:port (step 9 of the bootstrap) and serves until Shutdown,
// then returns ErrServerClosed. Port 0 binds a free port; [Server.Addr]
// reports it.
func (s *Server) Listen() error {
	ln, err := s.Bind()
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Bind opens the listener without serving yet, so callers can read
// [Server.Addr] before Serve.
func (s *Server) Bind() (net.Listener, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrServerClosed
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.ip, itoa(s.port)))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return nil, ErrServerClosed
	}
	s.listener = ln
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	s.step(9, "listen", ln.Addr().String())
	return ln, nil
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.httpSrv = hs
	s.serving = ln
	s.mu.Unlock()
	err := hs.Serve(ln)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	// Shutdown closes the listener itself before telling the http.Server,
	// so an accept error after Shutdown began is the normal end.
	if closed || errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// PreServerStop is dispatched at the start of Shutdown.
var PreServerStop = NewHook[ServerStopEvent]("preServerStop")

// ServerStopEvent is the payload of PreServerStop.
type ServerStopEvent struct {
	Reason    string
	TimeoutMs int64
}

// Shutdown stops gracefully: it stops accepting HTTP, runs the
// preServerStop hook, closes every socket with "server shutting down", then
// closes the adapters, the session store and idle HTTP connections; each
// step is bounded by Options.ShutdownStepTimeout and by ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs := s.httpSrv
	// Stop accepting before anything else, bound-but-unserved listeners too.
	for _, ln := range []net.Listener{s.listener, s.serving} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	s.mu.Unlock()
	stepTO := s.opts.ShutdownStepTimeout
	if stepTO <= 0 {
		stepTO = 10 * time.Second
	}
	var errs []error
	// http.Server.Shutdown waits for in-flight requests, which include long
	// polls that only end when the socket.io step below closes their
	// sessions, so it runs beside the other steps and is awaited last.
	httpDone := make(chan error, 1)
	if hs != nil {
		hs.SetKeepAlivesEnabled(false)
		httpCtx, cancelHTTP := context.WithCancel(context.WithoutCancel(ctx))
		defer cancelHTTP()
		go func() { httpDone <- hs.Shutdown(httpCtx) }()
	}
	errs = append(errs, s.shutdownStep(ctx, stepTO, "preServerStop", func(c context.Context) error {
		DispatchHook(c, s, PreServerStop, &ServerStopEvent{Reason: "shutdown", TimeoutMs: stepTO.Milliseconds()})
		return nil
	}))
	errs = append(errs, s.shutdownStep(ctx, stepTO, "socket.io", s.io.Shutdown))
	errs = append(errs, s.shutdownStep(ctx, stepTO, "routines", s.stopRoutines))
	for _, m := range s.opts.Modules {
		if c, ok := m.(Closer); ok {
			errs = append(errs, s.shutdownStep(ctx, stepTO, "module "+m.Name(), c.Close))
		}
	}
	if closer, ok := s.sessions.(interface{ Close(context.Context) error }); ok {
		errs = append(errs, s.shutdownStep(ctx, stepTO, "sessions", closer.Close))
	}
	if hs != nil {
		errs = append(errs, s.shutdownStep(ctx, stepTO, "http", func(c context.Context) error {
			select {
			case err := <-httpDone:
				if errors.Is(err, net.ErrClosed) { // the listener closed above
					return nil
				}
				return err
			case <-c.Done():
				// Connections that still hang on are cut rather than waited for.
				_ = hs.Close()
				return c.Err()
			}
		}))
	}
	return errors.Join(errs...)
}

// shutdownStep runs one step of Shutdown bounded by timeout and ctx. A step
// that ignores its context (a hook handler blocking forever, say) is left
// behind with an error rather than holding the whole shutdown.
func (s *Server) shutdownStep(ctx context.Context, timeout time.Duration, name string, fn func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(c) }()
	var err error
	select {
	case err = <-done:
	case <-c.Done():
		err = fmt.Errorf("did not finish in time: %w", c.Err())
	}
	if err != nil {
		s.log.Warn("luckystack: shutdown step failed", "step", name, "err", err)
		return fmt.Errorf("luckystack: shutdown step %s: %w", name, err)
	}
	return nil
}

func (s *Server) bootIDValue() string { return s.bootID }

func (s *Server) step(n int, name, detail string) {
	s.log.Info("luckystack: bootstrap", "step", n, "name", name, "detail", detail)
	if s.opts.OnBootStep != nil {
		s.opts.OnBootStep(BootStep{Step: n, Name: name, Detail: detail})
	}
}

func defaultGetenv(opts Options) func(string) string {
	if opts.Getenv != nil {
		return opts.Getenv
	}
	return os.Getenv
}
