package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// value is one scenario key of the result file: medians over the
// repetitions, their range, and the Go/Node ratio of the medians.
// Pointers make a missing side show as null instead of a fake 0.
type value struct {
	Go      *float64 `json:"go"`
	Node    *float64 `json:"node"`
	Ratio   *float64 `json:"ratio"`
	GoMin   *float64 `json:"go_min,omitempty"`
	GoMax   *float64 `json:"go_max,omitempty"`
	NodeMin *float64 `json:"node_min,omitempty"`
	NodeMax *float64 `json:"node_max,omitempty"`
	GoRuns  int      `json:"go_runs"`
	NodeRun int      `json:"node_runs"`
	Unit    string   `json:"unit"`
	Better  string   `json:"better,omitempty"`
	Desc    string   `json:"desc"`
	Point   string   `json:"point"`
	// RawKey and OfRaw compare a LuckyStack-layer key with the raw
	// Socket.IO key of the same run: OfRaw = Go ÷ raw Go medians.
	RawKey string   `json:"raw_key,omitempty"`
	OfRaw  *float64 `json:"of_raw,omitempty"`
}

// report is the whole result file.
type report struct {
	Date      string            `json:"date"`
	Mode      string            `json:"mode"`
	Variant   string            `json:"variant"`
	Placement string            `json:"placement"`
	Reps      int               `json:"reps"`
	Command   string            `json:"command"`
	DurationS float64           `json:"duration_s"`
	Machine   map[string]any    `json:"machine"`
	Versions  map[string]string `json:"versions"`
	Servers   map[string]string `json:"servers"`
	Points    map[string]string `json:"points"`
	Order     []string          `json:"order"`
	Scenarios map[string]*value `json:"scenarios"`
	Warnings  []string          `json:"warnings,omitempty"`
	Runs      []runRecord       `json:"runs"`
}

func (r *runner) placement() string {
	if r.pinned {
		return "pinned: each server taskset -c 0 (Go GOMAXPROCS=1), loadgen taskset -c 1 (GOMAXPROCS=1); " +
			"S5 puts both instances and redis-server on core 0; S5_pub puts its redis-server on core 1"
	}
	return "2core: nothing pinned; Go server GOMAXPROCS=2; Node is one process (one JS thread, no cluster mode); " +
		"the loadgen shares both cores"
}

// report aggregates the runs into medians per scenario key.
func (r *runner) report(start time.Time, plan []point) *report {
	rep := &report{
		Date:      time.Now().UTC().Format(time.RFC3339),
		Mode:      r.mode,
		Variant:   r.variant,
		Placement: r.placement(),
		Reps:      r.reps,
		Command:   commandLine(),
		DurationS: round1(time.Since(start).Seconds()),
		Machine:   machineInfo(),
		Versions:  r.versions(),
		Servers:   map[string]string{"go": strings.Join(r.goSpec.argv, " "), "node": strings.Join(r.nodeSpec.argv, " ")},
		Points:    map[string]string{},
		Scenarios: map[string]*value{},
		Warnings:  r.warnings,
		Runs:      r.records,
	}
	for _, pt := range plan {
		rep.Points[pt.id] = pt.desc
		ms := append(slices.Clone(pt.metrics), metric{
			pt.id + "_server_cpu_s", "", "CPU-s", "", "server CPU seconds during the run (utime+stime, all instances)"})
		for _, m := range ms {
			v := &value{Unit: m.unit, Better: m.better, Desc: m.desc, Point: pt.id}
			samples := map[string][]float64{}
			for _, rec := range r.records {
				if rec.Point != pt.id || rec.Error != "" {
					continue
				}
				var x float64
				var ok bool
				if m.path == "" {
					x, ok = rec.ServerCPU, true
				} else {
					x, ok = lookup(rec.Result, m.path)
				}
				if ok {
					samples[rec.Server] = append(samples[rec.Server], x)
				}
			}
			v.GoRuns, v.NodeRun = len(samples["go"]), len(samples["node"])
			v.Go, v.GoMin, v.GoMax = stats(samples["go"])
			v.Node, v.NodeMin, v.NodeMax = stats(samples["node"])
			if v.Go != nil && v.Node != nil && *v.Node != 0 {
				ratio := round3(*v.Go / *v.Node)
				v.Ratio = &ratio
			}
			rep.Scenarios[m.key] = v
			rep.Order = append(rep.Order, m.key)
		}
		for key, rawKey := range pt.raw {
			if v := rep.Scenarios[key]; v != nil {
				v.RawKey = rawKey
			}
		}
	}
	// After every point: a raw key may come later in the plan.
	for _, v := range rep.Scenarios {
		if v.RawKey == "" || v.Go == nil {
			continue
		}
		if raw := rep.Scenarios[v.RawKey]; raw != nil && raw.Go != nil && *raw.Go != 0 {
			f := round3(*v.Go / *raw.Go)
			v.OfRaw = &f
		}
	}
	return rep
}

// stats returns median, min and max (nil when there are no samples).
func stats(xs []float64) (med, lo, hi *float64) {
	if len(xs) == 0 {
		return nil, nil, nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	m, l, h := round3(m), round3(s[0]), round3(s[len(s)-1])
	return &m, &l, &h
}

// lookup follows a dot path through decoded JSON; booleans count as 0/1.
func lookup(m map[string]any, path string) (float64, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		cur = obj[part]
	}
	switch v := cur.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// commandLine is the exact command to write into the docs; bench/run.sh
// passes its own invocation through BENCH_CMD.
func commandLine() string {
	if c := os.Getenv("BENCH_CMD"); c != "" {
		return c
	}
	parts := []string{"go", "run", "./bench/cmd/benchrun"}
	for _, a := range os.Args[1:] {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// machineInfo describes the host from /proc and /etc/os-release.
func machineInfo() map[string]any {
	m := map[string]any{"cores": runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					m["mem_gib"] = round1(kb / 1024 / 1024)
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m["os"] = strings.Trim(v, `"`)
			}
		}
	}
	m["kernel"] = readTrim("/proc/sys/kernel/osrelease")
	m["somaxconn"] = readTrim("/proc/sys/net/core/somaxconn")
	m["ip_local_port_range"] = strings.Join(strings.Fields(readTrim("/proc/sys/net/ipv4/ip_local_port_range")), "-")
	return m
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// versions records every component whose version moves the numbers.
func (r *runner) versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(out))
	}
	v["node"] = run(r.nodeSpec.argv[0], "--version")
	rs := run("redis-server", "--version")
	if i := strings.Index(rs, "v="); i >= 0 {
		rs = strings.Fields(rs[i+2:])[0]
	}
	v["redis-server"] = rs
	nm := filepath.Join(r.root, "bench", "node", "node_modules")
	for _, pkg := range []string{"socket.io", "engine.io", "ws", "bufferutil", "utf-8-validate", "@socket.io/redis-adapter", "redis"} {
		var pj struct{ Version string }
		if b, err := os.ReadFile(filepath.Join(nm, pkg, "package.json")); err == nil && json.Unmarshal(b, &pj) == nil {
			v["npm:"+pkg] = pj.Version
		}
	}
	if b, err := os.ReadFile(filepath.Join(r.root, "go.mod")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "github.com/gorilla/websocket" {
				v["gorilla/websocket"] = f[1]
			}
		}
	}
	commit := run("git", "-C", r.root, "rev-parse", "--short", "HEAD")
	if commit != "unknown" && run("git", "-C", r.root, "status", "--porcelain") != "" {
		commit += "+dirty"
	}
	v["luckystack-go"] = commit
	return v
}

// printSummary writes the key table to stderr.
func printSummary(rep *report) {
	fmt.Fprintf(os.Stderr, "\n%-40s %14s %14s %8s\n", "scenario", "go", "node", "go/node")
	for _, k := range rep.Order {
		v := rep.Scenarios[k]
		if v.RawKey != "" {
			fmt.Fprintf(os.Stderr, "%-40s %14s %14s %8s of raw %s\n", k, fmtNum(v.Go), "-", fmtNum(v.OfRaw), v.RawKey)
			continue
		}
		fmt.Fprintf(os.Stderr, "%-40s %14s %14s %8s\n", k, fmtNum(v.Go), fmtNum(v.Node), fmtNum(v.Ratio))
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
}

// fmtNum prints a number with precision that suits its size; nil is "-".
func fmtNum(p *float64) string {
	if p == nil {
		return "-"
	}
	x := *p
	switch a := math.Abs(x); {
	case x == math.Trunc(x) && a < 1e15:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
}
