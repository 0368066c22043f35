package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/socketio"
	lsync "github.com/luckystack/luckystack-go/sync"
)

// The LuckyStack layer (BENCH_LAYER=luckystack): a full luckystack.Server
// with the api and sync modules, for the rows that measure LuckyStack's own paths
// against the raw Socket.IO ceilings of the same run. Node has no such
// layer, so these rows have a Go column only.

// benchEcho is the api/bench/echo/v1 route's input and output: the loadgen
// stamps ts and reads it back from the response envelope.
type benchEcho struct {
	TS  int64  `json:"ts"`
	Pad string `json:"pad,omitempty"`
}

// benchFan is the sync/bench/fanout/v1 route's input and output: the
// loadgen's sequence number and send stamp come back to every member.
type benchFan struct {
	Seq int64  `json:"seq"`
	TS  int64  `json:"ts"`
	Pad string `json:"pad,omitempty"`
}

func runLuckyStack(host, port string) {
	mod := api.New(api.Options{
		// The bench measures the request path, not the limiter's refusals.
		RateLimit: api.RateLimitOptions{Disabled: true},
	})
	err := api.Register(mod, "bench/echo/v1", api.Route[benchEcho, benchEcho]{
		Handler: func(_ context.Context, _ *api.Request, in benchEcho) (benchEcho, error) { return in, nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	// Sync fan-out with the module's defaults but for the limits: the
	// sender must be in the room (the loadgen's trigger joins it), and the
	// route has no client handler, so each request is one room broadcast.
	syncMod := lsync.New(lsync.Options{
		MaxInFlight: -1,
		RateLimit:   api.RateLimitOptions{Disabled: true},
	})
	err = lsync.Register(syncMod, "bench/fanout/v1", lsync.Route[benchFan, benchFan]{
		Server: func(_ context.Context, _ *lsync.Request, in benchFan) (benchFan, error) { return in, nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := luckystack.NewServer(luckystack.Options{
		IP:      host,
		Port:    p,
		Modules: []luckystack.Module{mod, syncMod},
		Getenv:  func(string) string { return "" },
		Config:  luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Members join the fan-out room the way the raw scenarios do (the
	// contract's "join"), so the sync row and S4 differ only in the path a
	// message takes.
	srv.IO().Sockets().On("join", func(e *socketio.Event) {
		var room string
		_ = e.Args.Decode(0, &room)
		e.Socket.Join(room)
		_ = e.Ack(room)
	})
	srv.HandleRoute("/stats", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"server": "go", "layer": "luckystack", "rss": rss(), "heapInuse": m.HeapInuse, "heapUsed": m.HeapAlloc,
			"stackInuse": m.StackInuse, "goroutines": runtime.NumGoroutine(), "clients": srv.IO().ConnCount(),
			"versions": map[string]string{"go": runtime.Version()},
		})
	}))
	if os.Getenv("BENCH_PPROF") != "" {
		srv.HandleRoute("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
		srv.HandleRoute("/debug/pprof/", http.HandlerFunc(pprof.Index))
	}
	ln, err := srv.Bind()
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("bench go server (luckystack layer) listening on %s", srv.Addr())
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, luckystack.ErrServerClosed) {
		log.Print(err)
	}
	os.Exit(0)
}
