package luckystack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// ErrUsage is wrapped by errors about the command-line arguments.
var ErrUsage = errors.New("luckystack: usage: server [port]")

// BootstrapError lists every missing or invalid registration found at
// bootstrap, so a newcomer fixes them all in one go.
type BootstrapError struct {
	Problems []string
}

func (e *BootstrapError) Error() string {
	var b strings.Builder
	b.WriteString("luckystack: bootstrap incomplete, fix the following:")
	for i, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %d. %s", i+1, p)
	}
	return b.String()
}

// NewServer runs steps 1 to 8 of the bootstrap (argv, configuration, verify,
// HTTP dispatcher, Socket.IO server, adapter, socket middlewares, connect
// handler and modules); [Server.Listen] is step 9. The server can be mounted
// on a host's mux through ServeHTTP without Listen.
func NewServer(opts Options) (*Server, error) {
	s := &Server{opts: opts, getenv: defaultGetenv(opts), bootID: newUUID()}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	empty := map[string]SocketEventHandler{}
	s.socketEvts.Store(&empty)
	s.routes.Store(&routeTable{})

	// 1. argv
	port, err := resolvePort(opts)
	if err != nil {
		return nil, err
	}
	s.port = port
	s.ip = opts.IP
	if s.ip == "" {
		s.ip = s.getenv("SERVER_IP")
	}
	if s.ip == "" {
		s.ip = "127.0.0.1"
	}
	s.step(1, "argv", net.JoinHostPort(s.ip, strconv.Itoa(s.port)))

	// 2. configuration
	s.cfg = opts.Config.withDefaults(s.getenv)
	s.step(2, "config", "defaults merged")

	// 3. verify
	if err := s.verify(); err != nil {
		return nil, err
	}
	s.step(3, "verify", fmt.Sprintf("%d modules", len(opts.Modules)))

	// 4. HTTP dispatcher
	s.sessions = opts.Sessions
	if s.sessions == nil {
		s.sessions = NewMemorySessionStore(s.cfg.SessionTTL())
	}
	if c, ok := s.sessions.(sessionConfigurer); ok {
		c.configureFromServer(s.cfg)
	}
	s.origins = newOriginPolicy(s)
	s.step(4, "http", "dispatcher ready")

	// 5. Socket.IO server, 6. adapter
	s.io = socketio.NewServer(socketio.Options{
		PingInterval:      s.cfg.Socket.PingInterval,
		PingTimeout:       s.cfg.Socket.PingTimeout,
		MaxHTTPBufferSize: s.cfg.Socket.MaxHTTPBufferSize,
		AllowRequest:      s.allowSocketRequest,
		CORS: &socketio.CORSOptions{
			AllowOrigin: func(origin string) bool { return s.origins.allowed(origin) },
			Credentials: true,
		},
		Adapter: opts.Adapter,
		Logger:  s.log,
	})
	s.step(5, "socket.io", "path /socket.io/")
	s.step(6, "adapter", fmt.Sprintf("%T", s.io.Sockets().Adapter()))

	// 7. socket middlewares
	s.io.Sockets().Use(s.runSocketMiddlewares)
	s.step(7, "middlewares", "registry installed")

	// 8. connect handler and modules
	s.installConnectHandler()
	for _, m := range opts.Modules {
		if err := m.Install(s); err != nil {
			// Nobody gets this server to shut down: release what the
			// adapter and the modules installed so far have started.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.io.Shutdown(ctx)
			_ = s.stopRoutines(ctx)
			cancel()
			return nil, fmt.Errorf("luckystack: install module %s: %w", m.Name(), err)
		}
	}
	s.step(8, "connect", "handlers registered")
	return s, nil
}

// resolvePort applies the precedence Options.Port > argv > DefaultPort > 80.
func resolvePort(opts Options) (int, error) {
	if len(opts.Args) > 1 {
		return 0, fmt.Errorf("%w: too many arguments %q", ErrUsage, opts.Args)
	}
	argPort := -1
	if len(opts.Args) == 1 {
		p, err := parsePort(opts.Args[0])
		if err != nil {
			return 0, err
		}
		argPort = p
	}
	for _, p := range []int{opts.Port, opts.DefaultPort} {
		if p < 0 || p > 65535 {
			return 0, fmt.Errorf("%w: port %d is not 0-65535", ErrUsage, p)
		}
	}
	switch {
	case opts.Port > 0:
		return opts.Port, nil
	case argPort >= 0:
		return argPort, nil
	case opts.DefaultPort > 0:
		return opts.DefaultPort, nil
	}
	return 80, nil
}

func parsePort(a string) (int, error) {
	if a == "" || len(a) > 5 {
		return 0, fmt.Errorf("%w: port %q is not 0-65535", ErrUsage, a)
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: port %q is not 0-65535", ErrUsage, a)
		}
	}
	p, _ := strconv.Atoi(a)
	if p > 65535 {
		return 0, fmt.Errorf("%w: port %q is not 0-65535", ErrUsage, a)
	}
	return p, nil
}

// verify collects every problem before failing, never only the first.
func (s *Server) verify() error {
	var problems []string
	if pu := s.cfg.Session.PerUser; pu != PerUserSingle && pu != PerUserMultiple {
		problems = append(problems, fmt.Sprintf("config: session.perUser %q is neither %q nor %q", pu, PerUserSingle, PerUserMultiple))
	}
	if s.cfg.Session.MaxPerUser < 0 {
		problems = append(problems, fmt.Sprintf("config: session.maxPerUser %d is negative", s.cfg.Session.MaxPerUser))
	}
	for _, o := range s.cfg.HTTP.CORS.AllowedOrigins {
		if _, ok := normalizeOrigin(o, false); !ok {
			problems = append(problems, fmt.Sprintf("config: allowed origin %q is not scheme://host[:port]", o))
		}
	}
	for _, c := range s.cfg.HTTP.TrustedProxies {
		if _, _, err := net.ParseCIDR(c); err != nil {
			problems = append(problems, fmt.Sprintf("config: trusted proxy %q is not a CIDR", c))
		}
	}
	if net.ParseIP(s.ip) == nil && s.ip != "localhost" {
		problems = append(problems, fmt.Sprintf("bind address %q is not an IP", s.ip))
	}
	seen := map[string]bool{}
	for i, m := range s.opts.Modules {
		if m == nil {
			problems = append(problems, fmt.Sprintf("module %d is nil", i))
			continue
		}
		if seen[m.Name()] {
			problems = append(problems, fmt.Sprintf("module %q installed twice", m.Name()))
		}
		seen[m.Name()] = true
		if v, ok := m.(Verifier); ok {
			for _, p := range v.Verify(s) {
				problems = append(problems, m.Name()+": "+p)
			}
		}
	}
	if len(problems) > 0 {
		return &BootstrapError{Problems: problems}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
