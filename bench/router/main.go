// Command router measures the latency luckystack-go's router adds in front
// of a backend, next to nginx (Debian package) proxying the same backend
// in the same run. See README.md.
//
//	go run ./bench/router                       # 5 alternating reps -> bench/results/router.json
//	go run ./bench/router -reps 1 -duration 1s  # quick check
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/router:", err)
		os.Exit(1)
	}
}

type options struct {
	reps     int
	clients  int
	duration time.Duration
	slice    time.Duration
	rate     int
	httpRate int
	out      string
	nginx    string
	pin      bool
	// routerProcs is the router's GOMAXPROCS.
	routerProcs int
}

// warmup precedes each measured window: bench/loadgen's default, and the
// HTTP load generator's.
const warmup = time.Second

// Pinning (-pin): the proxy under test gets a core of its own and the
// backend with the load generators share the other, the same for router
// and nginx, so that a proxy's latency is not its scheduling against the
// processes it serves.
const (
	proxyCPU = "0"
	loadCPU  = "1"
)

func run() error {
	var o options
	flag.IntVar(&o.reps, "reps", 5, "alternating repetitions")
	flag.IntVar(&o.clients, "clients", 100, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measurement window of each run")
	flag.DurationVar(&o.slice, "slice", time.Second, "length of one target's turn within a repetition; -slice equal to -duration measures the targets back to back")
	flag.IntVar(&o.rate, "rate", 2000, "open-loop websocket scenario: calls per second over all clients")
	flag.IntVar(&o.httpRate, "http-rate", 1000, "open-loop HTTP scenario: requests per second over all clients")
	flag.StringVar(&o.out, "out", "bench/results/router.json", "result file")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary (Debian package nginx)")
	flag.BoolVar(&o.pin, "pin", true, "pin proxies to CPU "+proxyCPU+", backend and load generators to CPU "+loadCPU+" with taskset (needs 2+ CPUs)")
	flag.IntVar(&o.routerProcs, "router-procs", 2, "GOMAXPROCS of the router: 2 or more gives upgraded connections an event loop (router.Config.TunnelLoops); pinned, the router still has nginx's one CPU")
	only := flag.String("scenarios", "", "comma list of scenarios to run (ws_closed, ws_open, http_closed, http_open); empty runs all")
	flag.Parse()
	nginxBin, err := exec.LookPath(o.nginx)
	if err != nil {
		return fmt.Errorf("nginx not found (apt-get install nginx): %w", err)
	}
	onCPU := func(cpu, bin string, args ...string) (string, []string) {
		if !o.pin {
			return bin, args
		}
		return "taskset", append([]string{"-c", cpu, bin}, args...)
	}
	dir, err := os.MkdirTemp("", "bench-router-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for name, pkg := range map[string]string{
		"server":  "./bench/server",
		"router":  "./cmd/luckystack-router",
		"loadgen": "./bench/loadgen",
	} {
		bins[name] = filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-o", bins[name], pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}

	if o.pin {
		if err := pinSelf(); err != nil {
			return err
		}
	}
	var procs procSet
	defer procs.stopAll()
	backendPort := freePort()
	bin, args := onCPU(loadCPU, bins["server"])
	_, err = procs.start("backend", []string{"PORT=" + strconv.Itoa(backendPort), "HOST=127.0.0.1", "GOMAXPROCS=1"}, bin, args...)
	if err != nil {
		return err
	}
	backendURL := "http://127.0.0.1:" + strconv.Itoa(backendPort)
	routerPort := freePort()
	bin, args = onCPU(proxyCPU, bins["router"], "-quiet",
		"-listen", "127.0.0.1:"+strconv.Itoa(routerPort), "-service", "system="+backendURL)
	routerProc, err := procs.start("router", []string{"GOMAXPROCS=" + strconv.Itoa(o.routerProcs)}, bin, args...)
	if err != nil {
		return err
	}
	nginxPort := freePort()
	conf, err := writeNginxConf(dir, nginxPort, backendPort)
	if err != nil {
		return err
	}
	bin, args = onCPU(proxyCPU, nginxBin, "-p", dir, "-c", conf)
	nginxProc, err := procs.start("nginx", nil, bin, args...)
	if err != nil {
		return err
	}
	targets := []target{
		{name: "direct", url: backendURL},
		{name: "router", url: "http://127.0.0.1:" + strconv.Itoa(routerPort), pid: routerProc.Process.Pid},
		{name: "nginx", url: "http://127.0.0.1:" + strconv.Itoa(nginxPort), pid: nginxProc.Process.Pid},
	}
	for _, t := range targets {
		if err := waitUp(t.url); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	targets[1].cpuPid = targets[1].pid
	if targets[2].cpuPid, err = onlyChild(targets[2].pid); err != nil {
		return fmt.Errorf("nginx worker: %w", err)
	}
	loadgenCmd := func(args ...string) (string, []string) { return onCPU(loadCPU, bins["loadgen"], args...) }
	scenarios := []scenario{
		{name: "ws_closed", what: fmt.Sprintf("Socket.IO emit+ack round trips over websocket, %d clients, closed loop, targets in %s turns", o.clients, o.slice),
			rep: func(order []target) (map[string]measure, error) {
				return inTurns(order, o.duration, o.slice, loadgenTurns(loadgenCmd, dir, o.slice, "-clients", strconv.Itoa(o.clients)))
			}},
		{name: "ws_open", what: fmt.Sprintf("Socket.IO emit+ack over websocket, %d clients, open loop at %d calls/s, latency from the send, targets in %s turns", o.clients, o.rate, o.slice),
			rep: func(order []target) (map[string]measure, error) {
				return inTurns(order, o.duration, o.slice, loadgenTurns(loadgenCmd, dir, o.slice, "-clients", strconv.Itoa(o.clients),
					"-rate", strconv.Itoa(o.rate), "-stamp", "send"))
			}},
		{name: "http_closed", what: fmt.Sprintf("HTTP GET round trips (keep-alive), %d clients, closed loop, targets in %s turns", o.clients, o.slice),
			rep: func(order []target) (map[string]measure, error) {
				return inTurns(order, o.duration, o.slice, httpTurns(o.clients, 0, o.slice))
			}},
		{name: "http_open", what: fmt.Sprintf("HTTP GET (keep-alive), %d clients, open loop at %d requests/s, latency from the send, targets in %s turns", o.clients, o.httpRate, o.slice),
			rep: func(order []target) (map[string]measure, error) {
				return inTurns(order, o.duration, o.slice, httpTurns(o.clients, o.httpRate, o.slice))
			}},
	}

	if *only != "" {
		scenarios = slices.DeleteFunc(scenarios, func(s scenario) bool { return !slices.Contains(strings.Split(*only, ","), s.name) })
	}
	placement := "Nothing pinned: the cores are shared by proxy, backend and load generators."
	if o.pin {
		placement = "Pinned with taskset: the proxy under test (router or nginx, master and worker) on CPU " + proxyCPU +
			", the backend, bench/loadgen and the HTTP load generator (this program, GOMAXPROCS=1) on CPU " + loadCPU +
			"; a direct run leaves CPU " + proxyCPU + " idle."
	}
	res := result{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: machine(),
		Method: "Backend: bench/server (Go Socket.IO, GOMAXPROCS=1). Proxies: cmd/luckystack-router (GOMAXPROCS=" + strconv.Itoa(o.routerProcs) + ") and " +
			"nginx " + nginxVersion(nginxBin) + " (worker_processes 1, upstream keepalive, websocket upgrade map), both " +
			"in front of the same backend process. " + placement + " Each rep measures direct, router and nginx in " +
			"turns of " + o.slice.String() + " rotating through the targets until each had the window, latencies " +
			"pooled over a target's turns, each turn after a settle of " + turnSettle.String() + " that is not measured " +
			"(websocket: one bench/loadgen run per turn; HTTP: one client per target kept across its turns); " +
			"added = proxied minus direct of the same rep. " +
			"Other work on the machine still adds noise; medians over reps are reported with every rep kept.",
		Pinned:   o.pin,
		Clients:  o.clients,
		Duration: o.duration.String(),
		Reps:     o.reps,
	}
	for _, sc := range scenarios {
		sr := scenarioResult{Name: sc.name, What: sc.what}
		for rep := 0; rep < o.reps; rep++ {
			order := slices.Clone(targets)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			fmt.Fprintf(os.Stderr, "%s rep %d: %s in turns ...", sc.name, rep+1, names(order))
			runs, err := sc.rep(order)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			for _, t := range order {
				m := runs[t.name]
				fmt.Fprintf(os.Stderr, " %s p50 %.3f ms p99 %.3f ms;", t.name, m.P50, m.P99)
			}
			fmt.Fprintln(os.Stderr)
			sr.Reps = append(sr.Reps, runs)
		}
		sr.summarize()
		res.Scenarios = append(res.Scenarios, sr)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

type target struct {
	name string
	url  string
	pid  int // proxy process, 0 for direct
	// cpuPid is the process doing the proxy's work (nginx: its worker).
	cpuPid int
}

// scenario measures every target of one repetition, given its order.
type scenario struct {
	name, what string
	rep        func(order []target) (map[string]measure, error)
}

// measure is one run against one target.
type measure struct {
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	PerSecond float64 `json:"per_s"`
	N         int64   `json:"n"`
	ProxyCPUs float64 `json:"proxy_cpu_s,omitempty"`
	// ProxyCPUPerCall is the proxy's CPU microseconds per round trip in
	// its turns (settles included; for websocket turns also the clients'
	// connecting, the settle's calls estimated at the window's rate): what the proxy
	// costs per call, less sensitive to other work on the machine than
	// latency is.
	ProxyCPUPerCall float64 `json:"proxy_cpu_us_per_call,omitempty"`
}

type scenarioResult struct {
	Name string               `json:"name"`
	What string               `json:"what"`
	Reps []map[string]measure `json:"reps"`
	// Added latency of each proxy over direct: medians over reps.
	RouterAddedP50 float64 `json:"router_added_p50_ms"`
	RouterAddedP99 float64 `json:"router_added_p99_ms"`
	NginxAddedP50  float64 `json:"nginx_added_p50_ms"`
	NginxAddedP99  float64 `json:"nginx_added_p99_ms"`
	// RatioP50/P99: router added / nginx added (target <= 1.2).
	RatioP50 float64 `json:"ratio_p50"`
	RatioP99 float64 `json:"ratio_p99"`
	// Proxy CPU microseconds per round trip, medians over reps, and their
	// router/nginx ratio.
	RouterCPUPerCall float64 `json:"router_cpu_us_per_call"`
	NginxCPUPerCall  float64 `json:"nginx_cpu_us_per_call"`
	RatioCPUPerCall  float64 `json:"ratio_cpu_per_call"`
}

func (s *scenarioResult) summarize() {
	var rp50, rp99, np50, np99, rcpu, ncpu []float64
	for _, r := range s.Reps {
		d := r["direct"]
		rcpu = append(rcpu, r["router"].ProxyCPUPerCall)
		ncpu = append(ncpu, r["nginx"].ProxyCPUPerCall)
		rp50 = append(rp50, r["router"].P50-d.P50)
		rp99 = append(rp99, r["router"].P99-d.P99)
		np50 = append(np50, r["nginx"].P50-d.P50)
		np99 = append(np99, r["nginx"].P99-d.P99)
	}
	s.RouterAddedP50, s.RouterAddedP99 = round3(median(rp50)), round3(median(rp99))
	s.NginxAddedP50, s.NginxAddedP99 = round3(median(np50)), round3(median(np99))
	if s.NginxAddedP50 > 0 {
		s.RatioP50 = round3(s.RouterAddedP50 / s.NginxAddedP50)
	}
	if s.NginxAddedP99 > 0 {
		s.RatioP99 = round3(s.RouterAddedP99 / s.NginxAddedP99)
	}
	s.RouterCPUPerCall, s.NginxCPUPerCall = round3(median(rcpu)), round3(median(ncpu))
	if s.NginxCPUPerCall > 0 {
		s.RatioCPUPerCall = round3(s.RouterCPUPerCall / s.NginxCPUPerCall)
	}
}

type result struct {
	Date      string           `json:"date"`
	Machine   string           `json:"machine"`
	Method    string           `json:"method"`
	Clients   int              `json:"clients"`
	Duration  string           `json:"duration"`
	Reps      int              `json:"reps"`
	Pinned    bool             `json:"pinned"`
	Scenarios []scenarioResult `json:"scenarios"`
}

// loadgen runs bench/loadgen's rpc scenario against t; command places
// the loadgen binary (on its CPU when pinned).
func loadgen(command func(args ...string) (string, []string), t target, args ...string) (measure, error) {
	bin, full := command(append([]string{"rpc", "-url", t.url, "-label", t.name, "-timeout", "90s"}, args...)...)
	cmd := exec.Command(bin, full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return measure{}, fmt.Errorf("loadgen: %v\n%s%s", err, out.String(), errb.String())
	}
	var r struct {
		Error    string  `json:"error"`
		CPU      float64 `json:"server_cpu_s"`
		AcksPerS float64 `json:"acks_per_s"`
		Acks     int64   `json:"acks_in_window"`
		Latency  struct {
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(lastLine(out.Bytes()), &r); err != nil {
		return measure{}, fmt.Errorf("loadgen output: %v: %s", err, out.String())
	}
	if r.Error != "" {
		return measure{}, errors.New("loadgen: " + r.Error)
	}
	return measure{P50: r.Latency.P50, P99: r.Latency.P99, PerSecond: r.AcksPerS, N: r.Acks, ProxyCPUs: r.CPU}, nil
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// pinSelf moves every thread of this process (the HTTP load generator)
// to loadCPU; threads started later inherit it. One P matches the one CPU.
func pinSelf() error {
	if runtime.NumCPU() < 2 {
		return errors.New("-pin needs 2 CPUs; run with -pin=false")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("-pin needs taskset (util-linux); run with -pin=false: %w", err)
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", loadCPU, strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	runtime.GOMAXPROCS(1)
	return nil
}

func writeNginxConf(dir string, port, backendPort int) (string, error) {
	for _, sub := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			return "", err
		}
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process on;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream backend { server 127.0.0.1:%[3]d; keepalive 256; }
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 120s;
      proxy_buffering off;
    }
  }
}
`, dir, port, backendPort)
	p := filepath.Join(dir, "nginx.conf")
	return p, os.WriteFile(p, []byte(conf), 0o644)
}

func nginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	s := strings.TrimSpace(string(out))
	if i := strings.Index(s, "nginx/"); i >= 0 {
		return s[i+len("nginx/"):]
	}
	return s
}

// procSet owns the processes the benchmark starts.
type procSet struct{ cmds []*exec.Cmd }

func (p *procSet) start(name string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.cmds = append(p.cmds, cmd)
	return cmd, nil
}

// stopAll ends each process group it started (nginx's workers included).
func (p *procSet) stopAll() {
	for _, c := range p.cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range p.cmds {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
}

func waitUp(url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/socket.io/?EIO=4&transport=polling")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// onlyChild returns the one child process of pid (nginx's worker).
func onlyChild(pid int) (int, error) {
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(kids))
	if len(f) != 1 {
		return 0, fmt.Errorf("process %d has %d children, want 1", pid, len(f))
	}
	return strconv.Atoi(f[0])
}

// cpuTree is the user+system CPU seconds of pid and its child processes.
func cpuTree(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	total := cpuOf(pid)
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(kids)) {
		if k, err := strconv.Atoi(f); err == nil {
			total += cpuOf(k)
		}
	}
	return total
}

func cpuOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%s, %d CPUs, %s, %s; loadavg at start %s", model, runtime.NumCPU(), runtime.GOOS, runtime.Version(),
		strings.Join(strings.Fields(string(load))[:3], " "))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
