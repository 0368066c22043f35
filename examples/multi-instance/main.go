// Command multi-instance runs the router in front of two examples/chat
// backends that share Redis, so one chat spans two processes:
//
//	go run ./examples/multi-instance            # http://127.0.0.1:3000
//	go run ./examples/multi-instance -addr 127.0.0.1:8080
//
// Redis comes from REDIS_URL, else a throwaway redis-server (from PATH) is
// started on a free port. The backends listen on the two ports after the
// router's and trust the router's X-Forwarded-For (TRUSTED_PROXIES), so
// they see each browser's address. Open the page in two tabs: each tab's
// Socket.IO connection lands on either backend, and chat messages reach
// both through the Redis adapter. Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/luckystack/luckystack-go/router"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "multi-instance:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:3000", "router address; the backends take the next two ports")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "luckystack-multi-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var children []*exec.Cmd
	defer func() { stopAll(children, log) }()

	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		rport, err := freePort()
		if err != nil {
			return err
		}
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(rport), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir)
		if err := start(cmd, "redis"); err != nil {
			return fmt.Errorf("no REDIS_URL and redis-server did not start (install redis-server): %w", err)
		}
		children = append(children, cmd)
		redisURL = "redis://127.0.0.1:" + strconv.Itoa(rport)
		if err := waitTCP(ctx, "127.0.0.1:"+strconv.Itoa(rport)); err != nil {
			return err
		}
	}
	log.Info("redis", "url", redisURL)

	chat := filepath.Join(dir, "chat")
	build := exec.Command("go", "build", "-o", chat, "github.com/luckystack/luckystack-go/examples/chat")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building examples/chat: %w", err)
	}
	var urls []string
	for i := 1; i <= 2; i++ {
		p := strconv.Itoa(port + i)
		cmd := exec.Command(chat, p)
		cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL, "SERVER_IP="+host, "TRUSTED_PROXIES=127.0.0.1/32,::1/128")
		if err := start(cmd, "chat-"+strconv.Itoa(i)); err != nil {
			return err
		}
		children = append(children, cmd)
		urls = append(urls, "http://"+net.JoinHostPort(host, p))
		if err := waitTCP(ctx, net.JoinHostPort(host, p)); err != nil {
			return err
		}
	}

	rt, err := router.New(router.Config{Services: map[string][]string{"system": urls}, Logger: log})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("router in front of two chat backends", "url", "http://"+*addr, "backends", urls)
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdownCtx)
		if cerr := rt.Shutdown(shutdownCtx); err == nil {
			err = cerr
		}
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	return err
}

// start runs cmd with its output prefixed by the process's role, in its
// own process group so a terminal's Ctrl-C reaches it only through us.
func start(cmd *exec.Cmd, name string) error {
	cmd.Stdout = prefixWriter{name}
	cmd.Stderr = prefixWriter{name}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	return cmd.Start()
}

type prefixWriter struct{ name string }

// Write prefixes every line of b (children write whole lines, usually
// several at once).
func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for _, l := range lines {
		if l != "" {
			fmt.Fprintf(&out, "[%s] %s", p.name, l)
		}
	}
	_, err := io.WriteString(os.Stderr, out.String())
	return len(b), err
}

// stopAll interrupts the children in reverse start order and waits for
// each, killing one that does not stop within 15s.
func stopAll(children []*exec.Cmd, log *slog.Logger) {
	for i := len(children) - 1; i >= 0; i-- {
		c := children[i]
		_ = c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() {
			_ = c.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			log.Warn("killing a child that did not stop", "pid", c.Process.Pid)
			_ = c.Process.Kill()
			<-done
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not come up: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
