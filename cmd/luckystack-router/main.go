// Command luckystack-router runs the router package in front of LuckyStack
// backends.
//
//	luckystack-router -listen 127.0.0.1:3000 \
//	    -service system=http://127.0.0.1:3001,http://127.0.0.1:3002 \
//	    -service billing=http://127.0.0.1:3101
//
// Every flag has an environment twin (ROUTER_LISTEN, ROUTER_SERVICES as
// "name=url,url;name=url", ROUTER_DEFAULT_SERVICE, ROUTER_WEBSOCKET_SERVICE,
// ROUTER_TRUSTED_PROXIES, ROUTER_IDLE_TIMEOUT, ROUTER_HANDSHAKE_TIMEOUT,
// ROUTER_PPROF, ROUTER_NETHTTP);
// flags win. Backends must list the router's address in their
// Config.HTTP.TrustedProxies to see the real client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go/router"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "luckystack-router:", err)
		os.Exit(1)
	}
}

// serviceFlags collects repeated -service name=url,url flags.
type serviceFlags map[string][]string

func (s serviceFlags) String() string { return fmt.Sprint(map[string][]string(s)) }

func (s serviceFlags) Set(v string) error {
	name, urls, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=url[,url...], got %q", v)
	}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			s[strings.TrimSpace(name)] = append(s[strings.TrimSpace(name)], u)
		}
	}
	return nil
}

// cmdOptions are the command's own settings, beside the router's.
type cmdOptions struct {
	listen string
	quiet  bool
	// pprof is the address of a separate listener serving
	// net/http/pprof, empty for none: profiles of the router under load,
	// kept off the routed listener so no request path is taken from the
	// backends.
	pprof string
	// netHTTP serves every request with net/http's server, without the
	// router's own loop for plain requests (Router.Listener): the
	// comparison its benchmark needs.
	netHTTP bool
}

// parseConfig reads the flags, with environment fallbacks, into the
// router's configuration and the command's options.
func parseConfig(args []string, getenv func(string) string) (router.Config, cmdOptions, error) {
	envOr := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("luckystack-router", flag.ContinueOnError)
	listen := fs.String("listen", envOr("ROUTER_LISTEN", "127.0.0.1:3000"), "address to listen on")
	services := serviceFlags{}
	fs.Var(services, "service", "name=url[,url...] (repeatable)")
	defSvc := fs.String("default", envOr("ROUTER_DEFAULT_SERVICE", "system"), "service of paths that name none")
	wsSvc := fs.String("websocket", envOr("ROUTER_WEBSOCKET_SERVICE", "system"), "service of upgrades and /socket.io/")
	trusted := fs.String("trusted-proxies", getenv("ROUTER_TRUSTED_PROXIES"), "comma list of CIDRs whose forwarding headers are kept")
	idle, err := time.ParseDuration(envOr("ROUTER_IDLE_TIMEOUT", "120s"))
	if err != nil {
		return router.Config{}, cmdOptions{}, fmt.Errorf("ROUTER_IDLE_TIMEOUT: %w", err)
	}
	hs, err := time.ParseDuration(envOr("ROUTER_HANDSHAKE_TIMEOUT", "30s"))
	if err != nil {
		return router.Config{}, cmdOptions{}, fmt.Errorf("ROUTER_HANDSHAKE_TIMEOUT: %w", err)
	}
	fs.DurationVar(&idle, "idle-timeout", idle, "close upgraded connections idle this long (0 turns it off)")
	fs.DurationVar(&hs, "handshake-timeout", hs, "bound on an upgrade's backend handshake")
	loops, err := strconv.Atoi(envOr("ROUTER_TUNNEL_LOOPS", "0"))
	if err != nil {
		return router.Config{}, cmdOptions{}, fmt.Errorf("ROUTER_TUNNEL_LOOPS: %w", err)
	}
	fs.IntVar(&loops, "tunnel-loops", loops, "event loops carrying upgraded connections (Linux): 0 picks by GOMAXPROCS (none with 1), negative: none")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	netHTTP := fs.Bool("nethttp", getenv("ROUTER_NETHTTP") != "", "serve every request with net/http's server (no own loop for plain requests)")
	pprofAddr := fs.String("pprof", getenv("ROUTER_PPROF"), "address serving net/http/pprof (e.g. 127.0.0.1:6060); empty: off")
	if err := fs.Parse(args); err != nil {
		return router.Config{}, cmdOptions{}, err
	}
	if len(services) == 0 {
		for _, spec := range strings.Split(getenv("ROUTER_SERVICES"), ";") {
			if strings.TrimSpace(spec) != "" {
				if err := services.Set(spec); err != nil {
					return router.Config{}, cmdOptions{}, fmt.Errorf("ROUTER_SERVICES: %w", err)
				}
			}
		}
	}
	if idle == 0 {
		idle = -1 // the command line's 0 means off, as the original's
	}
	var proxies []string
	for _, p := range strings.Split(*trusted, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	return router.Config{
		Services:         services,
		DefaultService:   *defSvc,
		WebSocketService: *wsSvc,
		TrustedProxies:   proxies,
		IdleTimeout:      idle,
		HandshakeTimeout: hs,
		TunnelLoops:      loops,
	}, cmdOptions{listen: *listen, quiet: *quiet, pprof: *pprofAddr, netHTTP: *netHTTP}, nil
}

func run(args []string, getenv func(string) string) error {
	cfg, opts, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	listen := opts.listen
	level := slog.LevelInfo
	if opts.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger = log
	rt, err := router.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if !opts.netHTTP {
		ln = rt.Listener(ln) // plain requests: the router's own loop
	}
	srv := &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	// http.Server.Shutdown does not end hijacked (upgraded) connections.
	srv.RegisterOnShutdown(rt.Close)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("router listening", "addr", listen, "services", cfg.Services)
	if opts.pprof != "" {
		ps, perr := startPprof(opts.pprof)
		if perr != nil {
			_ = srv.Close()
			<-errc
			return perr
		}
		defer ps.Close()
		log.Info("pprof listening", "addr", opts.pprof)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if cerr := rt.Shutdown(shutdownCtx); err == nil {
		err = cerr
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// startPprof serves net/http/pprof on its own listener at addr, until the
// returned server is closed.
func startPprof(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ps.Serve(ln) }()
	return ps, nil
}
