// Command benchrun runs the luckystack-go benchmark matrix: it builds the
// load generator and the Go bench server, starts each server (Go and the
// Node socket.io peer) fresh for every run, drives it with bench/loadgen,
// and writes medians, ranges and Go/Node ratios to bench/results/*.json
// and the tables of docs/BENCHMARKS.md.
//
// Usage (from the repository root; bench/run.sh wraps this):
//
//	go run ./bench/cmd/benchrun -smoke               # < 2 min, one small point each (= -mode smoke)
//	go run ./bench/cmd/benchrun                      # full matrix, pinned, 3 reps
//	go run ./bench/cmd/benchrun -variant 2core       # Go with GOMAXPROCS=2, unpinned
//	go run ./bench/cmd/benchrun -go-server "node --expose-gc bench/node/server.mjs"  # harness self-test
//	go run ./bench/cmd/benchrun -render-docs         # only regenerate docs/BENCHMARKS.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runner holds the configuration of one benchrun invocation.
type runner struct {
	root       string
	mode       string // "full" or "smoke"
	variant    string // "pinned" or "2core"
	pinned     bool
	goMaxProcs int
	reps       int
	loadgen    string
	goSpec     serverSpec
	goBuilt    bool // goSpec is ./bench/server, which has the LuckyStack layer
	nodeSpec   serverSpec
	logDir     string
	binDir     string // temporary build output, removed on exit
	keepLogs   bool
	logSeq     int
	idleWait   time.Duration // how long to wait for a quiet machine before each run
	redisURL   string
	redis      *proc
	records    []runRecord
	warnings   []string
}

func main() {
	var (
		mode       = flag.String("mode", "full", "full (the matrix, ~15 min) or smoke (< 2 min)")
		smoke      = flag.Bool("smoke", false, "shorthand for -mode smoke")
		variant    = flag.String("variant", "pinned", "pinned: servers on core 0 (Go GOMAXPROCS=1), loadgen on core 1; 2core: Go GOMAXPROCS=2, nothing pinned")
		reps       = flag.Int("reps", 0, "repetitions per point and server (default 3, smoke 1)")
		goServer   = flag.String("go-server", "", "command line of the Go-side server (default: build ./bench/server)")
		nodeBin    = flag.String("node", "node", "node binary for the peer server")
		only       = flag.String("scenarios", "", "comma-separated point ids or scenarios to run (e.g. S1,S3_100); default all")
		out        = flag.String("out", "", "result JSON (default bench/results/latest.json, latest-2core.json, or smoke.json)")
		docs       = flag.String("docs", "", "markdown to regenerate (default docs/BENCHMARKS.md for full runs, none for smoke)")
		renderOnly = flag.Bool("render-docs", false, "only regenerate -docs from result files (-from, default bench/results/latest*.json)")
		from       = flag.String("from", "", "with -render-docs: comma-separated result files to render")
		keepLogs   = flag.Bool("keep-logs", false, "keep server and loadgen logs under bench/results/logs")
		idleWait   = flag.Duration("idle-wait", -1, "wait up to this long for the machine to be quiet before each run (default 60s, smoke 0)")
	)
	flag.Parse()

	if *smoke {
		*mode = "smoke"
	}
	root, err := findRoot()
	if err != nil {
		fatal(err)
	}
	if *renderOnly {
		path := *docs
		if path == "" {
			path = filepath.Join(root, "docs", "BENCHMARKS.md")
		}
		var files []string
		if *from != "" {
			files = strings.Split(*from, ",")
		}
		if err := renderDocs(root, path, files); err != nil {
			fatal(err)
		}
		fmt.Fprintln(os.Stderr, "benchrun: wrote", path)
		return
	}
	r := &runner{root: root, mode: *mode, variant: *variant, reps: *reps, idleWait: *idleWait}
	if r.idleWait < 0 {
		r.idleWait = time.Minute
		if *mode == "smoke" {
			r.idleWait = 0
		}
	}
	var z sizes
	switch *mode {
	case "full":
		z = fullSizes
	case "smoke":
		z = smokeSizes
	default:
		fatal(fmt.Errorf("-mode %q: want full or smoke", *mode))
	}
	switch *variant {
	case "pinned":
		r.pinned, r.goMaxProcs = true, 1
	case "2core":
		r.pinned, r.goMaxProcs = false, 2
	default:
		fatal(fmt.Errorf("-variant %q: want pinned or 2core", *variant))
	}
	if r.reps <= 0 {
		r.reps = 3
		if *mode == "smoke" {
			r.reps = 1
		}
	}
	outPath := *out
	if outPath == "" {
		name := "latest.json"
		switch {
		case *mode == "smoke":
			name = "smoke.json"
		case *variant == "2core":
			name = "latest-2core.json"
		}
		outPath = filepath.Join(root, "bench", "results", name)
	}
	docsPath := *docs
	if docsPath == "" && *mode == "full" {
		docsPath = filepath.Join(root, "docs", "BENCHMARKS.md")
	}

	// Kill every child on any way out, including Ctrl-C.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "benchrun: %v, stopping children\n", s)
		killAllChildren()
		r.cleanup()
		os.Exit(130)
	}()
	defer killAllChildren()

	if err := r.prepare(*goServer, *nodeBin, *keepLogs); err != nil {
		killAllChildren()
		r.cleanup()
		fatal(err)
	}
	plan := filterPlan(buildPlan(z), *only)
	if len(plan) == 0 {
		fatal(fmt.Errorf("-scenarios %q matches no point", *only))
	}
	start := time.Now()
	failures := r.runPlan(plan)
	if r.redis != nil {
		r.redis.stop(3 * time.Second)
	}
	rep := r.report(start, plan)
	if err := writeJSON(outPath, rep); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "benchrun: wrote %s (%s)\n", outPath, time.Since(start).Round(time.Second))
	printSummary(rep)
	if docsPath != "" {
		// This run's file plus the other variant's when it exists, pinned first.
		var files []string
		custom := true
		for _, f := range defaultResultFiles {
			p := filepath.Join(root, "bench", "results", f)
			if p == outPath {
				custom = false
				files = append(files, p)
			} else if *mode == "full" && fileExists(p) {
				files = append(files, p)
			}
		}
		if custom {
			files = []string{outPath}
		}
		if err := renderDocs(root, docsPath, files); err != nil {
			fatal(err)
		}
		fmt.Fprintln(os.Stderr, "benchrun: wrote", docsPath)
	}
	r.cleanup()
	if failures > 0 {
		killAllChildren()
		fmt.Fprintf(os.Stderr, "benchrun: %d run(s) failed, see \"error\" in %s\n", failures, outPath)
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchrun:", err)
	os.Exit(2)
}

// findRoot walks up from the working directory to this module's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/luckystack/luckystack-go") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run inside the luckystack-go checkout (no go.mod found)")
		}
		dir = parent
	}
}

// prepare raises the fd limit, checks tools, builds binaries and installs
// the Node peer's locked dependencies when they are missing.
func (r *runner) prepare(goServer, nodeBin string, keepLogs bool) error {
	raiseNoFile()
	r.keepLogs = keepLogs
	need := []string{"go", nodeBin, "redis-server"}
	if r.pinned {
		need = append(need, "taskset")
	}
	for _, t := range need {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found in PATH", t)
		}
	}
	if keepLogs {
		r.logDir = filepath.Join(r.root, "bench", "results", "logs", time.Now().Format("20060102-150405"))
		if err := os.MkdirAll(r.logDir, 0o755); err != nil {
			return err
		}
	} else {
		d, err := os.MkdirTemp("", "benchrun-")
		if err != nil {
			return err
		}
		r.logDir = d
	}
	binDir, err := os.MkdirTemp("", "benchrun-bin-")
	if err != nil {
		return err
	}
	r.binDir = binDir
	r.loadgen = filepath.Join(binDir, "loadgen")
	if err := r.goBuild(r.loadgen, "./bench/loadgen"); err != nil {
		return err
	}
	// GO BENCH SERVER: once bench/server/main.go exists (the contract is in
	// bench/README.md) it is built here and used as the "go" column. Until
	// then -go-server must name a command, e.g. the Node server for a
	// self-test of the harness.
	switch {
	case goServer != "":
		r.goSpec = serverSpec{kind: "go", argv: strings.Fields(goServer)}
	case fileExists(filepath.Join(r.root, "bench", "server", "main.go")):
		bin := filepath.Join(binDir, "goserver")
		if err := r.goBuild(bin, "./bench/server"); err != nil {
			return err
		}
		r.goSpec = serverSpec{kind: "go", argv: []string{bin}}
		r.goBuilt = true
	default:
		return errors.New("bench/server/main.go does not exist yet: pass -go-server CMD " +
			`(e.g. -go-server "node --expose-gc bench/node/server.mjs" to self-test the harness)`)
	}
	nodeDir := filepath.Join(r.root, "bench", "node")
	if !fileExists(filepath.Join(nodeDir, "node_modules", "socket.io")) {
		fmt.Fprintln(os.Stderr, "benchrun: installing bench/node dependencies (npm ci)")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = nodeDir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm ci in bench/node: %w", err)
		}
	}
	r.nodeSpec = serverSpec{kind: "node", argv: []string{nodeBin, "--expose-gc", filepath.Join(nodeDir, "server.mjs")}}
	return nil
}

// cleanup removes the temporary binaries and, unless -keep-logs, the logs.
func (r *runner) cleanup() {
	if r.binDir != "" {
		os.RemoveAll(r.binDir)
	}
	if r.logDir != "" && !r.keepLogs {
		os.RemoveAll(r.logDir)
	}
}

func (r *runner) goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = r.root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// raiseNoFile lifts RLIMIT_NOFILE for benchrun and, by inheritance, for the
// servers and the load generator: 10k+ connections need 10k+ descriptors
// on each side, and the default soft limit here is 20000.
func raiseNoFile() {
	const want = 200000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur >= want {
		return
	}
	nl := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		// Not root: take what the hard limit allows.
		nl = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl)
	}
}

// filterPlan keeps the points whose id or scenario is listed.
func filterPlan(ps []point, only string) []point {
	if only == "" {
		return ps
	}
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		want[strings.TrimSpace(s)] = true
	}
	var out []point
	for _, p := range ps {
		if want[p.id] || want[p.scenario] {
			out = append(out, p)
		}
	}
	return out
}

// runPlan runs every point reps times per server kind, alternating the
// order (Go, Node, Node, Go, ...) so slow drift of the machine does not
// favour one side. It returns the number of failed runs.
func (r *runner) runPlan(plan []point) int {
	failures := 0
	ctx := context.Background()
	for _, pt := range plan {
		if pt.twoServers && r.redis == nil {
			p, url, err := r.startRedis("0")
			if err != nil {
				r.warnings = append(r.warnings, "redis: "+err.Error())
				failures++
				continue
			}
			r.redis, r.redisURL = p, url
		}
		if pt.goOnly && !r.goBuilt {
			r.warnings = append(r.warnings, pt.id+": skipped, it needs the built Go bench server (not -go-server)")
			continue
		}
		for rep := 1; rep <= r.reps; rep++ {
			order := []serverSpec{r.goSpec, r.nodeSpec}
			if rep%2 == 0 {
				order[0], order[1] = order[1], order[0]
			}
			if pt.goOnly {
				order = []serverSpec{r.goSpec}
			}
			for _, spec := range order {
				rec := r.runPoint(ctx, pt, spec, rep)
				if rec.Error != "" {
					failures++
					fmt.Fprintf(os.Stderr, "benchrun: %s %s #%d FAILED: %s\n", pt.id, spec.kind, rep, rec.Error)
				}
				r.records = append(r.records, rec)
			}
		}
	}
	return failures
}
