// Command presence measures what the presence module costs a server with
// many idle sessions: CPU and RSS per connection at N idle websocket
// sockets, each of its own logged-in session in a room, with and without
// presence installed.
//
//	go run ./bench/presence -n 10000 -idle 50s -out bench/results/presence.json
//
// The parent starts the server as a child process (this program with
// -role server), one variant at a time, opens N connections from its own
// process, asks the child to collect garbage, and reads the child's RSS
// and CPU time from /proc. The child runs with GOMAXPROCS=1 and, when
// taskset exists, pinned to CPU 0 while the clients use CPU 1.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/presence"
)

func main() {
	role := flag.String("role", "parent", "parent or server")
	n := flag.Int("n", 10000, "idle sockets")
	// A multiple of the 25s ping interval, so every socket pings equally
	// often inside the window whatever its phase.
	idle := flag.Duration("idle", 50*time.Second, "CPU measuring window with all sockets idle")
	on := flag.Bool("presence", false, "server role: install presence")
	out := flag.String("out", "bench/results/presence.json", "result file")
	flag.Parse()
	var err error
	if *role == "server" {
		err = serve(*n, *on)
	} else {
		err = parent(*n, *idle, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "presence bench:", err)
		os.Exit(1)
	}
}

// serve is the child: a LuckyStack server with n sessions "bench-<i>" in
// rooms of 100, answering "gc" on stdin with its heap in use.
func serve(n int, on bool) error {
	var mods []luckystack.Module
	if on {
		mods = append(mods, presence.New(presence.Options{}))
	}
	srv, err := luckystack.NewServer(luckystack.Options{
		Args:    []string{"0"},
		Getenv:  func(string) string { return "" },
		Config:  luckystack.Config{SocketActivityBroadcaster: true, Session: luckystack.SessionConfig{BasedToken: true}},
		Modules: mods,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := range n {
		s := &luckystack.Session{ID: fmt.Sprintf("user-%d", i), RoomCodes: []string{fmt.Sprintf("room-%d", i/100)}}
		if err := srv.Sessions().Set(ctx, fmt.Sprintf("bench-%d", i), s); err != nil {
			return err
		}
	}
	ln, err := srv.Bind()
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("READY %s\n", srv.Addr())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "gc":
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("GC %d %d %d\n", ms.HeapInuse, runtime.NumGoroutine(), srv.IO().Sockets().SocketCount())
		case "quit":
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return srv.Shutdown(c)
		}
	}
	return sc.Err()
}

// child is a running server process.
type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	addr string
}

func startChild(n int, on bool) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{self, "-role", "server", "-n", strconv.Itoa(n), "-presence=" + strconv.FormatBool(on)}
	if p, err := exec.LookPath("taskset"); err == nil {
		args = append([]string{p, "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	line, err := c.line()
	if err != nil || !strings.HasPrefix(line, "READY ") {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("child did not start: %q %v", line, err)
	}
	c.addr = strings.TrimPrefix(line, "READY ")
	return c, nil
}

func (c *child) line() (string, error) {
	if !c.out.Scan() {
		return "", errors.Join(errors.New("child closed stdout"), c.out.Err())
	}
	return c.out.Text(), nil
}

// gc makes the child collect garbage and returns its heap in use.
func (c *child) gc() (heap int64, sockets int, err error) {
	if _, err := io.WriteString(c.in, "gc\n"); err != nil {
		return 0, 0, err
	}
	line, err := c.line()
	if err != nil {
		return 0, 0, err
	}
	var g int
	_, err = fmt.Sscanf(line, "GC %d %d %d", &heap, &g, &sockets)
	return heap, sockets, err
}

func (c *child) stop() {
	_, _ = io.WriteString(c.in, "quit\n")
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// pid is the server's pid (the child of taskset execs in place).
func (c *child) pid() int { return c.cmd.Process.Pid }

func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuSeconds is utime+stime of pid.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// client is one idle socket: it answers pings and nothing else.
func dialClient(addr, token string) (*websocket.Conn, error) {
	u := url.URL{Scheme: "ws", Host: addr, Path: "/socket.io/", RawQuery: "EIO=4&transport=websocket"}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	ws, _, err := d.Dial(u.String(), nil)
	if err != nil {
		return nil, err
	}
	if _, m, err := ws.ReadMessage(); err != nil || len(m) == 0 || m[0] != '0' {
		_ = ws.Close()
		return nil, fmt.Errorf("open packet: %q %v", m, err)
	}
	auth, _ := json.Marshal(map[string]string{"token": token})
	if err := ws.WriteMessage(websocket.TextMessage, append([]byte("40"), auth...)); err != nil {
		_ = ws.Close()
		return nil, err
	}
	if _, m, err := ws.ReadMessage(); err != nil || !strings.HasPrefix(string(m), "40") {
		_ = ws.Close()
		return nil, fmt.Errorf("connect packet: %q %v", m, err)
	}
	return ws, nil
}

func idleLoop(ws *websocket.Conn, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		_, m, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if string(m) == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
		}
	}
}

// variant is one measured server.
type variant struct {
	Presence         bool    `json:"presence"`
	Sockets          int     `json:"sockets"`
	BaseRSSKB        int64   `json:"base_rss_kb"`
	LoadedRSSKB      int64   `json:"loaded_rss_kb"`
	RSSKBPerConn     float64 `json:"rss_kb_per_conn"`
	HeapKBPerConn    float64 `json:"heap_kb_per_conn"`
	IdleWindowS      float64 `json:"idle_window_s"`
	IdleCPUSeconds   float64 `json:"idle_cpu_s"`
	IdleCPUPercent   float64 `json:"idle_cpu_percent"`
	ConnectSeconds   float64 `json:"connect_s"`
	ConnectCPUSecond float64 `json:"connect_cpu_s"`
}

func measure(n int, idle time.Duration, on bool) (variant, error) {
	v := variant{Presence: on, Sockets: n, IdleWindowS: idle.Seconds()}
	c, err := startChild(n, on)
	if err != nil {
		return v, err
	}
	defer c.stop()
	heap0, _, err := c.gc()
	if err != nil {
		return v, err
	}
	if v.BaseRSSKB, err = rssKB(c.pid()); err != nil {
		return v, err
	}
	cpu0, _ := cpuSeconds(c.pid())
	start := time.Now()
	conns := make([]*websocket.Conn, 0, n)
	var wg sync.WaitGroup
	defer func() {
		for _, ws := range conns {
			_ = ws.Close()
		}
		wg.Wait()
	}()
	for i := range n {
		ws, err := dialClient(c.addr, fmt.Sprintf("bench-%d", i))
		if err != nil {
			return v, fmt.Errorf("client %d: %w", i, err)
		}
		conns = append(conns, ws)
		wg.Add(1)
		go idleLoop(ws, &wg)
	}
	v.ConnectSeconds = time.Since(start).Seconds()
	cpu1, _ := cpuSeconds(c.pid())
	v.ConnectCPUSecond = cpu1 - cpu0
	time.Sleep(3 * time.Second) // let connect work settle
	heap1, socks, err := c.gc()
	if err != nil {
		return v, err
	}
	if socks != n {
		return v, fmt.Errorf("server has %d sockets, want %d", socks, n)
	}
	if v.LoadedRSSKB, err = rssKB(c.pid()); err != nil {
		return v, err
	}
	v.RSSKBPerConn = float64(v.LoadedRSSKB-v.BaseRSSKB) / float64(n)
	v.HeapKBPerConn = float64(heap1-heap0) / 1024 / float64(n)
	a, _ := cpuSeconds(c.pid())
	time.Sleep(idle)
	b, _ := cpuSeconds(c.pid())
	v.IdleCPUSeconds = b - a
	v.IdleCPUPercent = 100 * v.IdleCPUSeconds / idle.Seconds()
	fmt.Fprintf(os.Stderr, "presence=%v: %+v\n", on, v)
	return v, nil
}

func parent(n int, idle time.Duration, out string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_ = ctx
	res := struct {
		Date      string    `json:"date"`
		GoVersion string    `json:"go_version"`
		CPUs      int       `json:"cpus"`
		Note      string    `json:"note"`
		Variants  []variant `json:"variants"`
		// Extra is presence minus baseline.
		ExtraRSSKBPerConn  float64 `json:"extra_rss_kb_per_conn"`
		ExtraHeapKBPerConn float64 `json:"extra_heap_kb_per_conn"`
		ExtraIdleCPUPoints float64 `json:"extra_idle_cpu_percent_points"`
		ExtraIdleCPURel    float64 `json:"extra_idle_cpu_percent_of_baseline"`
		ExtraConnectCPUPct float64 `json:"extra_connect_cpu_percent"`
	}{Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Note: "one run per variant; server GOMAXPROCS=1 pinned to CPU 0 when taskset exists; every socket is its own session in a room of 100; presence with default options (sampler every 15s)"}
	for _, on := range []bool{false, true} {
		v, err := measure(n, idle, on)
		if err != nil {
			return err
		}
		res.Variants = append(res.Variants, v)
	}
	base, pres := res.Variants[0], res.Variants[1]
	res.ExtraRSSKBPerConn = pres.RSSKBPerConn - base.RSSKBPerConn
	res.ExtraHeapKBPerConn = pres.HeapKBPerConn - base.HeapKBPerConn
	res.ExtraIdleCPUPoints = pres.IdleCPUPercent - base.IdleCPUPercent
	if base.IdleCPUSeconds > 0 {
		res.ExtraIdleCPURel = 100 * (pres.IdleCPUSeconds - base.IdleCPUSeconds) / base.IdleCPUSeconds
	}
	if base.ConnectCPUSecond > 0 {
		res.ExtraConnectCPUPct = 100 * (pres.ConnectCPUSecond - base.ConnectCPUSecond) / base.ConnectCPUSecond
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return os.WriteFile(out, append(b, '\n'), 0o644)
}
