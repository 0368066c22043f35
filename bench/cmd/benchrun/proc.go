package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// children tracks every process benchrun started so that any exit path,
// including SIGINT, can end them by pid (their process group is their own
// pid: Setpgid). Nothing else is ever signalled.
var children struct {
	sync.Mutex
	procs map[int]*proc
}

// proc is one started child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // path of its combined stdout/stderr
	done chan struct{}
	err  error // exit status, valid after done
}

// pid is the child's pid; with taskset in front it is still the server's,
// because taskset execs the command in place.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// startProc starts argv with extra environment. stdout and stderr may be
// files or any writer; closers are closed after the process has exited and
// its output was copied (log files, pipe writers).
func startProc(name, dir string, argv, env []string, stdout, stderr io.Writer, closers ...io.Closer) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Own process group so stop() reaches grandchildren too; Pdeathsig so a
	// crashed benchrun does not leave servers holding ports and a core.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	if f, ok := stdout.(*os.File); ok {
		p.log = f.Name()
	}
	children.Lock()
	if children.procs == nil {
		children.procs = map[int]*proc{}
	}
	children.procs[p.pid()] = p
	children.Unlock()
	go func() {
		p.err = cmd.Wait()
		closeAll()
		children.Lock()
		delete(children.procs, p.pid())
		children.Unlock()
		close(p.done)
	}()
	return p, nil
}

// startLogged starts argv with stdout and stderr into a new file at logPath.
func startLogged(name, dir string, argv, env []string, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	return startProc(name, dir, argv, env, f, f, f)
}

// stop asks the process group to terminate, then kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill() {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// killAllChildren ends every child still running (used on exit paths).
func killAllChildren() {
	children.Lock()
	ps := make([]*proc, 0, len(children.procs))
	for _, p := range children.procs {
		ps = append(ps, p)
	}
	children.Unlock()
	for _, p := range ps {
		p.kill()
	}
}

// tail returns the last n bytes of the process log, for error messages.
func (p *proc) tail(n int64) string {
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is a started bench server (Go or Node) listening on port.
type server struct {
	*proc
	kind string
	port int
}

func (s *server) url() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// serverSpec says how to start one kind of bench server.
type serverSpec struct {
	kind string   // "go" or "node": the column it is reported in
	argv []string // command line without pinning
}

// startServer starts spec on port, pinned to core 0 when pin is set, and
// waits until its /stats answers.
func (r *runner) startServer(spec serverSpec, port int, redisURL string, extraEnv []string) (*server, error) {
	argv := spec.argv
	if r.pinned {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	env := []string{"PORT=" + strconv.Itoa(port), "HOST=127.0.0.1"}
	// GOMAXPROCS is set for both kinds: Node ignores it, and it keeps the
	// harness self-test (-go-server pointing at Node) on the same path.
	env = append(env, "GOMAXPROCS="+strconv.Itoa(r.goMaxProcs))
	if redisURL != "" {
		env = append(env, "REDIS_URL="+redisURL)
	}
	env = append(env, extraEnv...)
	r.logSeq++
	logPath := filepath.Join(r.logDir, fmt.Sprintf("%03d-%s-%d.log", r.logSeq, spec.kind, port))
	// Servers run from the repository root, so a relative -go-server path
	// means the same thing wherever benchrun was started.
	p, err := startLogged(spec.kind+" server", r.root, argv, env, logPath)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, kind: spec.kind, port: port}
	if err := waitHTTP(s, 20*time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("%s server on %d: %w; log: %s", spec.kind, port, err, s.tail(600))
	}
	return s, nil
}

// waitHTTP polls /stats until it answers 200, the process dies or limit passes.
func waitHTTP(s *server, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("exited early (%v)", s.err)
		}
		resp, err := c.Get(s.url() + "/stats")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not ready in time")
}

// startRedis starts a throwaway redis-server on a free loopback port with
// persistence off, so runs leave nothing on disk and never fsync.
func (r *runner) startRedis(core string) (*proc, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	argv := []string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"}
	if r.pinned {
		argv = append([]string{"taskset", "-c", core}, argv...)
	}
	p, err := startLogged("redis", r.logDir, argv, nil, filepath.Join(r.logDir, fmt.Sprintf("redis-%d.log", port)))
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pingRedis(addr) == nil {
			return p, "redis://" + addr, nil
		}
		if p.exited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.kill()
	return nil, "", fmt.Errorf("redis-server did not start: %s", p.tail(400))
}

// pingRedis sends an inline PING and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// cpuSeconds returns utime+stime of pid (USER_HZ is 100 on Linux).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// machineBusy samples /proc/stat over d and returns the busy percentage of
// all cores. It runs while our servers sit idle, so a high value means
// something else is using the machine and the run is suspect.
func machineBusy(ctx context.Context, d time.Duration) float64 {
	read := func() (busy, total float64) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			if i >= 8 { // guest time is already counted in user/nice
				break
			}
			x, _ := strconv.ParseFloat(v, 64)
			total += x
			if i != 3 && i != 4 { // idle, iowait
				busy += x
			}
		}
		return
	}
	b0, t0 := read()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	b1, t1 := read()
	if t1 <= t0 {
		return 0
	}
	return 100 * (b1 - b0) / (t1 - t0)
}
