// Command chat is the LuckyStack example server: rooms, sessions and a small
// page. Run it with `make run` (127.0.0.1:3000) or `go run ./examples/chat 8080`.
// Set REDIS_URL to keep sessions in Redis.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go"
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
	opts := luckystack.Options{
		Args:        args,
		DefaultPort: 3000,
		Static:      static,
		Logger:      log,
		Config: luckystack.Config{
			HTTP: luckystack.HTTPConfig{CORS: luckystack.CORSConfig{AllowLocalhost: true}},
		},
	}
	stores, closeStores, err := redisFromEnv(log)
	if err != nil {
		return err
	}
	defer closeStores()
	opts.Sessions = stores.sessions
	opts.Adapter = stores.adapter
	srv, err := luckystack.NewServer(opts)
	if err != nil {
		return err
	}
	installChat(srv)

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

// installChat adds a guest login and a "chat" event that broadcasts to a
// room the sender is in.
func installChat(srv *luckystack.Server) {
	srv.HandleRoute("/auth/guest", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			luckystack.WriteError(w, http.StatusMethodNotAllowed, "api.methodNotAllowed")
			return
		}
		var body struct {
			Name string `json:"name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		name := strings.TrimSpace(body.Name)
		if name == "" || len(name) > 64 {
			luckystack.WriteError(w, http.StatusBadRequest, "api.invalidInputType")
			return
		}
		token, err := srv.CreateSession(r.Context(), &luckystack.Session{ID: "guest-" + luckystack.NewToken()[:12], Name: name})
		if err != nil {
			luckystack.WriteError(w, http.StatusInternalServerError, "server.internalError")
			return
		}
		srv.SetSessionCookie(w, token)
		luckystack.WriteJSON(w, http.StatusOK, map[string]string{"status": "success", "token": token})
	}))
	srv.HandleSocketEvent("chat", func(ctx context.Context, c *luckystack.Client, payload json.RawMessage) {
		var msg struct {
			Room string `json:"room"`
			Text string `json:"text"`
		}
		if json.Unmarshal(payload, &msg) != nil || msg.Text == "" || len(msg.Text) > 2000 || !c.InRoom(msg.Room) {
			return
		}
		sess, err := c.Session(ctx)
		if err != nil || sess == nil {
			return
		}
		_ = srv.IO().To(msg.Room).Emit("chat", map[string]any{"room": msg.Room, "from": sess.Name, "text": msg.Text, "at": time.Now().UnixMilli()})
	})
}
