// Package redistest starts throwaway redis-server processes for tests.
//
// Each call to [Start] runs its own redis-server on a free loopback port, in
// a temporary directory, without persistence, and stops it when the test
// ends. When the redis-server binary is missing the test is skipped with a
// visible message, unless the environment variable LUCKYSTACK_REQUIRE_REDIS
// is set (CI sets it), in which case the test fails.
//
// Fault-injection tests use [Stop] and [Restart] to take the server down and
// bring it back on the same port.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing
// redis-server into a test failure instead of a skip.
const RequireEnv = "LUCKYSTACK_REQUIRE_REDIS"

// Server is one redis-server process owned by a test.
type Server struct {
	// Addr is host:port, stable across Restart.
	Addr string

	tb   testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex // Protects following.
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
}

var (
	registryMu sync.Mutex
	registry   = map[string]*Server{}
)

// Start runs a redis-server for t and returns its address. The server is
// stopped by t.Cleanup.
func Start(t testing.TB) (addr string) {
	t.Helper()
	return StartServer(t).Addr
}

// StartServer is [Start] returning the process handle.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redistest: redis-server not found in PATH; install it (apt-get install redis-server) to run this test"
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s (%s is set)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	s := &Server{tb: t, bin: bin, dir: t.TempDir()}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("redistest: start redis-server: %v", lastErr)
	}
	registryMu.Lock()
	registry[s.Addr] = s
	registryMu.Unlock()
	t.Cleanup(func() {
		s.stop()
		registryMu.Lock()
		delete(registry, s.Addr)
		registryMu.Unlock()
	})
	return s
}

// Stop stops the redis-server started for addr (the port stays reserved for
// Restart).
func Stop(t testing.TB, addr string) {
	t.Helper()
	lookup(t, addr).Stop()
}

// Restart starts the redis-server of addr again on the same port, empty.
func Restart(t testing.TB, addr string) {
	t.Helper()
	lookup(t, addr).Restart()
}

func lookup(t testing.TB, addr string) *Server {
	t.Helper()
	registryMu.Lock()
	s := registry[addr]
	registryMu.Unlock()
	if s == nil {
		t.Fatalf("redistest: no server started at %s", addr)
	}
	return s
}

// Stop stops the process and waits until it exited.
func (s *Server) Stop() {
	s.tb.Helper()
	s.stop()
}

// Restart starts a stopped server again on the same port and waits until it
// answers PING. Data does not survive (persistence is off).
func (s *Server) Restart() {
	s.tb.Helper()
	s.stop()
	var err error
	// The old socket may linger briefly; redis sets SO_REUSEADDR, so a
	// retry or two is enough.
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
	)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := s.dir + "/redis-" + strconv.Itoa(s.port) + ".log"
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(exit)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if ping(s.Addr) == nil {
			break
		}
		select {
		case <-exit:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("redis-server exited early: %s", tail(log))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exit
			return errors.New("redis-server did not answer PING within 10s")
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	return nil
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd, s.exit = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exit
	}
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
