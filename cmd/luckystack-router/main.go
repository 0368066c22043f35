// Command luckystack-router runs the router package in front of LuckyStack
// backends.
//
//	luckystack-router -listen 127.0.0.1:3000 \
//	    -service system=http://127.0.0.1:3001,http://127.0.0.1:3002 \
//	    -service billing=http://127.0.0.1:3101
//
// Every flag has an environment twin (ROUTER_LISTEN, ROUTER_SERVICES as
// "name=url,url;name=url", ROUTER_DEFAULT_SERVICE, ROUTER_WEBSOCKET_SERVICE,
// ROUTER_TRUSTED_PROXIES, ROUTER_IDLE_TIMEOUT, ROUTER_HANDSHAKE_TIMEOUT);
// flags win. Backends must list the router's address in their
// Config.HTTP.TrustedProxies to see the real client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
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

// parseConfig reads the flags, with environment fallbacks, into the
// router's configuration and the listen address.
func parseConfig(args []string, getenv func(string) string) (router.Config, string, bool, error) {
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
		return router.Config{}, "", false, fmt.Errorf("ROUTER_IDLE_TIMEOUT: %w", err)
	}
	hs, err := time.ParseDuration(envOr("ROUTER_HANDSHAKE_TIMEOUT", "30s"))
	if err != nil {
		return router.Config{}, "", false, fmt.Errorf("ROUTER_HANDSHAKE_TIMEOUT: %w", err)
	}
	fs.DurationVar(&idle, "idle-timeout", idle, "close upgraded connections idle this long (0 turns it off)")
	fs.DurationVar(&hs, "handshake-timeout", hs, "bound on an upgrade's backend handshake")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	if err := fs.Parse(args); err != nil {
		return router.Config{}, "", false, err
	}
	if len(services) == 0 {
		for _, spec := range strings.Split(getenv("ROUTER_SERVICES"), ";") {
			if strings.TrimSpace(spec) != "" {
				if err := services.Set(spec); err != nil {
					return router.Config{}, "", false, fmt.Errorf("ROUTER_SERVICES: %w", err)
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
	}, *listen, *quiet, nil
}

func run(args []string, getenv func(string) string) error {
	cfg, listen, quiet, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger = log
	rt, err := router.New(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	// http.Server.Shutdown does not end hijacked (upgraded) connections.
	srv.RegisterOnShutdown(rt.Close)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("router listening", "addr", listen, "services", cfg.Services)
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
