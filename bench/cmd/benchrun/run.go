package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// runRecord is one loadgen run against one server kind, as stored in the
// "runs" array of the result file.
type runRecord struct {
	Point          string         `json:"point"`
	Scenario       string         `json:"scenario"`
	Server         string         `json:"server"`
	Rep            int            `json:"rep"`
	ServerCPU      float64        `json:"server_cpu_s"`
	MachineBusyPct float64        `json:"machine_busy_pct_before"`
	RestartS       float64        `json:"server_restart_s,omitempty"`
	Error          string         `json:"error,omitempty"`
	Result         map[string]any `json:"loadgen,omitempty"`
}

// busyWarnPct is the machine load (all cores, our idle servers included)
// above which a run is flagged: someone else is using the CPU.
const busyWarnPct = 25

// runPoint starts fresh server(s) of one kind, runs the loadgen once and
// stops everything again.
func (r *runner) runPoint(ctx context.Context, pt point, spec serverSpec, rep int) runRecord {
	rec := runRecord{Point: pt.id, Scenario: pt.scenario, Server: spec.kind, Rep: rep}
	fail := func(err error) runRecord {
		rec.Error = err.Error()
		return rec
	}
	redisURL := ""
	if pt.twoServers {
		redisURL = r.redisURL
	}
	if pt.redis {
		// A redis-server of its own, on the loadgen's core when pinned (the
		// publish loadgen only waits): a peer that would run on another
		// machine should not take the measured server's core.
		p, url, err := r.startRedis("1")
		if err != nil {
			return fail(fmt.Errorf("redis: %w", err))
		}
		defer p.stop(3 * time.Second)
		redisURL = url
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	var a, b *server
	defer func() {
		for _, s := range []*server{a, b} {
			if s != nil {
				s.stop(3 * time.Second)
			}
		}
	}()
	if a, err = r.startServer(spec, port, redisURL, pt.serverEnv); err != nil {
		return fail(err)
	}
	env := runEnv{url: a.url(), pid: a.pid()}
	if pt.twoServers {
		port2, err := freePort()
		if err != nil {
			return fail(err)
		}
		if b, err = r.startServer(spec, port2, redisURL, pt.serverEnv); err != nil {
			return fail(err)
		}
		env.url2, env.pid2 = b.url(), b.pid()
	}
	cpuNow := func() float64 {
		t := 0.0
		for _, s := range []*server{a, b} {
			if s != nil {
				t += cpuSeconds(s.pid())
			}
		}
		return t
	}
	// Wait (bounded) for other work on the machine to finish: a build in
	// another shell would skew both sides and make the ratio meaningless.
	busy := machineBusy(ctx, 300*time.Millisecond)
	for waitUntil := time.Now().Add(r.idleWait); busy > busyWarnPct && time.Now().Before(waitUntil); {
		busy = machineBusy(ctx, time.Second)
	}
	rec.MachineBusyPct = round1(busy)
	if rec.MachineBusyPct > busyWarnPct {
		r.warnings = append(r.warnings, fmt.Sprintf("%s %s #%d: machine %.0f%% busy before the run", pt.id, spec.kind, rep, rec.MachineBusyPct))
	}

	args := append([]string{pt.sub}, pt.args(env)...)
	args = append(args, "-label", spec.kind, "-timeout", pt.timeout.String())
	argv := append([]string{r.loadgen}, args...)
	var lgEnv []string
	if r.pinned {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
		lgEnv = []string{"GOMAXPROCS=1"}
	}
	r.logSeq++
	outPath := filepath.Join(r.logDir, fmt.Sprintf("%03d-loadgen-%s-%s.jsonl", r.logSeq, pt.id, spec.kind))
	outF, err := os.Create(outPath)
	if err != nil {
		return fail(err)
	}
	pr, pw := io.Pipe()
	cpu0 := cpuNow()
	lg, err := startProc("loadgen", r.root, argv, lgEnv, outF, pw, outF, pw)
	if err != nil {
		return fail(err)
	}
	ready := make(chan struct{})
	var stderrTail tailBuf
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			stderrTail.add(line)
			fmt.Fprintf(os.Stderr, "  [%s %s #%d] %s\n", pt.id, spec.kind, rep, line)
			if strings.Contains(line, "loadgen: ready") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	limit := time.NewTimer(pt.timeout + 30*time.Second)
	defer limit.Stop()
	var oldCPU float64
	if pt.restart {
		select {
		case <-ready:
			// The storm: SIGKILL (no goodbye packets), then a new process on
			// the same port, exactly what a crash plus supervisor restart does.
			oldCPU = cpuNow() - cpu0
			t := time.Now()
			a.kill()
			na, err := r.startServer(spec, port, redisURL, pt.serverEnv)
			if err != nil {
				lg.kill()
				return fail(fmt.Errorf("restart: %w", err))
			}
			a, cpu0 = na, cpuNow()
			rec.RestartS = round3(time.Since(t).Seconds())
		case <-lg.done:
		case <-limit.C:
			lg.kill()
			return fail(fmt.Errorf("loadgen never became ready; stderr: %s", stderrTail.String()))
		}
	}
	select {
	case <-lg.done:
	case <-limit.C:
		lg.kill()
		return fail(fmt.Errorf("loadgen exceeded %s; stderr: %s", pt.timeout+30*time.Second, stderrTail.String()))
	}
	rec.ServerCPU = round3(oldCPU + cpuNow() - cpu0)

	res, err := lastJSON(outPath)
	if err != nil {
		return fail(fmt.Errorf("loadgen output: %v; stderr: %s", err, stderrTail.String()))
	}
	rec.Result = res
	if ok, _ := res["ok"].(bool); !ok {
		msg, _ := res["error"].(string)
		rec.Error = "loadgen: " + msg
	}
	return rec
}

// lastJSON parses the last non-empty line of path as a JSON object.
func lastJSON(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return nil, fmt.Errorf("no output")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(last), &m); err != nil {
		return nil, fmt.Errorf("bad JSON %.200q: %w", last, err)
	}
	return m, nil
}

// tailBuf keeps the last few stderr lines of a loadgen for error messages.
type tailBuf struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuf) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 8 {
		t.lines = t.lines[len(t.lines)-8:]
	}
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, " | ")
}
