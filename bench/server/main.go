// Command server is the Go side of the benchmarks: this library's Socket.IO
// server exposing the events of the bench contract (bench/README.md), the
// same ones the Node peer (bench/node/server.mjs) exposes.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

const (
	maxBcastN = 10_000_000
	maxPad    = 1 << 20
)

func main() {
	port := envOr("PORT", "3000")
	host := envOr("HOST", "127.0.0.1")
	if os.Getenv("BENCH_LAYER") == "luckystack" {
		runLuckyStack(host, port)
		return
	}
	pingMs, _ := strconv.Atoi(envOr("PING_INTERVAL_MS", "25000"))
	opts := socketio.Options{
		PingInterval:   time.Duration(pingMs) * time.Millisecond,
		DisablePolling: true,
	}
	ra, closeAdapter, err := installRedis(&opts)
	if err != nil {
		log.Fatal(err)
	}
	srv := socketio.NewServer(opts)
	nsp := srv.Sockets()
	nsp.On("ping", func(e *socketio.Event) {
		// Echo the raw arguments: the caller's timestamp comes back unchanged.
		args := make([]any, e.Args.Len())
		for i := range args {
			args[i] = e.Args.Raw(i)
		}
		_ = e.Ack(args...)
	})
	nsp.On("apiShape", func(e *socketio.Event) {
		// The raw ceiling of LuckyStack's apiRequest wire shape: the same
		// request bytes, answered by the event apiResponse-<responseIndex>
		// with the data spread onto a success envelope, as the api module
		// answers, but by a bare Socket.IO handler.
		var req struct {
			Data          json.RawMessage `json:"data"`
			ResponseIndex int64           `json:"responseIndex"`
		}
		if e.Args.Decode(0, &req) != nil || len(req.Data) < 2 || req.Data[0] != '{' {
			return
		}
		out := append([]byte(`{"status":"success","httpStatus":200,`), req.Data[1:]...)
		_ = e.Socket.Emit("apiResponse-"+strconv.FormatInt(req.ResponseIndex, 10), json.RawMessage(out))
	})
	nsp.On("join", func(e *socketio.Event) {
		var room any
		_ = e.Args.Decode(0, &room)
		name := toString(room)
		e.Socket.Join(name)
		_ = e.Ack(name)
	})
	nsp.On("bcast", func(e *socketio.Event) {
		var o struct {
			Room       any     `json:"room"`
			N          float64 `json:"n"`
			IntervalMs float64 `json:"intervalMs"`
			Size       float64 `json:"size"`
		}
		_ = e.Args.Decode(0, &o)
		go broadcast(srv, toString(o.Room), clamp(int(o.N), maxBcastN), o.IntervalMs, strings.Repeat("x", clamp(int(o.Size), maxPad)), e)
	})

	nsp.On("publish", func(e *socketio.Event) {
		var o struct {
			N    float64 `json:"n"`
			Size float64 `json:"size"`
		}
		_ = e.Args.Decode(0, &o)
		go publish(srv, ra, clamp(int(o.N), maxBcastN), strings.Repeat("x", clamp(int(o.Size), maxPad)), e)
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		// runtime.GC only (not FreeOSMemory), to match what Node's gc() does.
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"server": "go", "rss": rss(), "heapInuse": m.HeapInuse, "heapUsed": m.HeapAlloc,
			"stackInuse": m.StackInuse, "goroutines": runtime.NumGoroutine(), "clients": srv.ConnCount(),
			// Where the rest of the RSS is: free heap not yet returned to the OS, and runtime metadata.
			"heapIdle": m.HeapIdle, "heapReleased": m.HeapReleased, "stackSys": m.StackSys, "gcSys": m.GCSys, "otherSys": m.OtherSys, "sys": m.Sys,
			"versions": map[string]string{"go": runtime.Version()}, "redis": os.Getenv("REDIS_URL") != "",
		})
	})
	if os.Getenv("BENCH_PPROF") != "" {
		// Profiling the bench server itself (e.g. S2's heap): off by default
		// so that measured runs carry no extra routes.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	hs := &http.Server{Addr: host + ":" + port, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
		closeAdapter()
	}()
	log.Printf("bench go server listening on %s:%s", host, port)
	if err := hs.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// broadcast emits n messages ["b", seq, tsMicros, pad], catching up on late
// ticks like the Node peer so both servers are measured the same way.
func broadcast(srv *socketio.Server, room string, n int, intervalMs float64, pad string, e *socketio.Event) {
	start := time.Now()
	seq := 0
	op := srv.To(room)
	if intervalMs <= 0 {
		for ; seq < n; seq++ {
			_ = op.Emit("b", seq, time.Now().UnixMicro(), pad)
		}
	} else {
		interval := time.Duration(intervalMs * float64(time.Millisecond))
		tick := time.NewTicker(max(time.Millisecond, interval))
		defer tick.Stop()
		for {
			due := min(n, int(time.Since(start)/interval)+1)
			for ; seq < due; seq++ {
				_ = op.Emit("b", seq, time.Now().UnixMicro(), pad)
			}
			if seq >= n {
				break
			}
			<-tick.C
		}
	}
	_ = e.Ack(map[string]any{"sent": seq, "ms": float64(time.Since(start).Microseconds()) / 1000})
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func clamp(v, hi int) int { return max(0, min(v, hi)) }

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
