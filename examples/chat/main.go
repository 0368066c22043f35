// Command chat is the LuckyStack example server: a guest login, an echo
// API, an API that needs a login, rooms, and a chat message that fans out to
// a room with the sync module. Run it with `make run` (127.0.0.1:3000) or
// `go run ./examples/chat 8080`, and open the page it serves. Set REDIS_URL
// to keep sessions and rate limits in Redis and to run several instances as
// one cluster, and TRUSTED_PROXIES (comma list of CIDRs) to believe the
// X-Forwarded-For of a router in front (examples/multi-instance).
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/sync"
)

//go:embed static
var staticFiles embed.FS

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return err
	}
	stores, closeStores, err := redisFromEnv(log)
	if err != nil {
		return err
	}
	defer closeStores()
	srv, err := newServer(args, log, static, stores)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := srv.Bind()
	if err != nil {
		return err
	}
	log.Info("chat example listening", "url", "http://"+srv.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, luckystack.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer builds the example server: the api and sync modules with the
// example's routes. The rate limits share one store (Redis when set).
func newServer(args []string, log *slog.Logger, static fs.FS, stores redisStores) (*luckystack.Server, error) {
	limits := api.RateLimitOptions{Store: stores.limits}
	apiMod := api.New(api.Options{RateLimit: limits})
	syncMod := sync.New(sync.Options{RateLimit: limits, Limiter: apiMod.Limiter()})
	opts := luckystack.Options{
		Args:        args,
		DefaultPort: 3000,
		Static:      static,
		Logger:      log,
		Sessions:    stores.sessions,
		Adapter:     stores.adapter,
		Modules:     []luckystack.Module{apiMod, syncMod},
		Config: luckystack.Config{
			HTTP: luckystack.HTTPConfig{
				CORS:           luckystack.CORSConfig{AllowLocalhost: true},
				TrustedProxies: splitComma(os.Getenv("TRUSTED_PROXIES")),
			},
		},
	}
	srv, err := luckystack.NewServer(opts)
	if err != nil {
		return nil, err
	}
	if err := registerRoutes(srv, apiMod, syncMod); err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	return srv, nil
}

// splitComma splits a comma list, dropping blanks.
func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
