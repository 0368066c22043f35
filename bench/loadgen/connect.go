package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"
)

// connectCmd is S1: how fast the server accepts full Socket.IO connections
// (TCP + websocket upgrade + EIO open + SIO CONNECT and its ack).
func connectCmd(fs *flag.FlagSet) scenarioFunc {
	n := fs.Int("n", 5000, "connections to open")
	conc := fs.Int("c", 50, "handshakes in flight at once")
	hold := fs.Duration("hold", 0, "keep the connections open this long before closing")
	return func(ctx context.Context, c *common, r result) error {
		cfg, err := c.dialConfig(*n)
		if err != nil {
			return err
		}
		cpu0, _ := cpuOf(c.pid)
		t0 := time.Now()
		clients, durs, failed, cerr := connectAll(ctx, cfg, *n, *conc, nil)
		elapsed := time.Since(t0)
		cpu1, _ := cpuOf(c.pid)
		ok := len(durs)
		r["n"], r["concurrency"], r["connected"], r["failed"] = *n, *conc, ok, failed
		r["connect_s"] = round3(elapsed.Seconds())
		r["conn_per_s"] = round3(float64(ok) / elapsed.Seconds())
		r["connect_latency"] = summarizeDurations(durs)
		if c.pid > 0 {
			r["server_cpu_s"] = round3(cpu1 - cpu0)
		}
		if *hold > 0 {
			select {
			case <-time.After(*hold):
			case <-ctx.Done():
			}
		}
		closeAll(clients)
		if cerr != nil && ok == 0 {
			return cerr
		}
		if cerr != nil {
			r["connect_error"] = cerr.Error()
		}
		return ctx.Err()
	}
}

// cpuOf reads server CPU seconds when a pid was given.
func cpuOf(pid int) (float64, error) {
	if pid <= 0 {
		return 0, nil
	}
	return readCPUSeconds(pid)
}

// idleCmd is S2: memory per idle connection. It grows the connection count
// through the steps, measuring after each (VmRSS from /proc and the server's
// own /stats after its forced GC), then closes everything and measures again
// to show whether memory returns to the baseline.
func idleCmd(fs *flag.FlagSet) scenarioFunc {
	stepsFlag := fs.String("steps", "1000,5000,10000", "cumulative connection counts to measure at")
	conc := fs.Int("c", 50, "handshakes in flight at once")
	settle := fs.Duration("settle", 2*time.Second, "wait after each step before measuring")
	after := fs.Duration("after", 3*time.Second, "wait after closing all before the final measurement")
	return func(ctx context.Context, c *common, r result) error {
		steps, err := parseInts(*stepsFlag)
		if err != nil {
			return err
		}
		if !slices.IsSorted(steps) {
			return fmt.Errorf("-steps must be ascending: %v", steps)
		}
		top := steps[len(steps)-1]
		cfg, err := c.dialConfig(top)
		if err != nil {
			return err
		}
		measure := func() (rssKB int64, st map[string]any, err error) {
			st, err = fetchStats(ctx, c.stats())
			if err != nil {
				return 0, nil, err
			}
			if c.pid > 0 {
				rssKB, err = readRSSKB(c.pid)
				return rssKB, st, err
			}
			// Without a pid fall back to the server's own report.
			v, _ := num(st, "rss")
			return int64(v / 1024), st, nil
		}
		if err := sleepCtx(ctx, *settle); err != nil {
			return err
		}
		baseRSS, baseStats, err := measure()
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		r["baseline_rss_kb"], r["baseline_stats"] = baseRSS, baseStats

		var all []*client
		var points []map[string]any
		have := 0
		var failedTotal int
		for _, target := range steps {
			if target <= have {
				continue
			}
			cs, _, failed, cerr := connectAll(ctx, cfg, target-have, *conc, nil)
			failedTotal += failed
			all = append(all, live(cs)...)
			have = target
			if cerr != nil {
				logf("idle step %d: %v", target, cerr)
			}
			if err := sleepCtx(ctx, *settle); err != nil {
				closeAll(all)
				return err
			}
			rss, st, err := measure()
			if err != nil {
				closeAll(all)
				return fmt.Errorf("step %d: %w", target, err)
			}
			conns := len(all)
			p := map[string]any{
				"step":            target,
				"conns":           conns,
				"rss_kb":          rss,
				"rss_kb_per_conn": round3(float64(rss-baseRSS) / float64(max(1, conns))),
				"stats":           st,
			}
			// Heap and stack per connection from whichever fields the server reports.
			for _, k := range []string{"heapUsed", "heapInuse", "stackInuse", "goroutines"} {
				v1, ok1 := num(st, k)
				v0, ok0 := num(baseStats, k)
				if ok1 && ok0 {
					scale := 1024.0
					if k == "goroutines" {
						scale = 1
					}
					p[k+"_per_conn"] = round3((v1 - v0) / scale / float64(max(1, conns)))
				}
			}
			points = append(points, p)
			logf("idle %d conns: %.2f KB RSS/conn", conns, p["rss_kb_per_conn"])
		}
		r["points"] = points
		r["failed"] = failedTotal
		// Fields keyed by the nominal step size make the orchestrator's job easy.
		for _, p := range points {
			r[fmt.Sprintf("rss_kb_per_conn_%d", p["step"])] = p["rss_kb_per_conn"]
			// Heap is heapUsed (Node) or heapInuse (Go): same meaning, live heap.
			for _, k := range []string{"heapUsed_per_conn", "heapInuse_per_conn"} {
				if v, ok := p[k]; ok {
					r[fmt.Sprintf("heap_kb_per_conn_%d", p["step"])] = v
				}
			}
			if v, ok := p["stackInuse_per_conn"]; ok {
				r[fmt.Sprintf("stack_kb_per_conn_%d", p["step"])] = v
			}
			if v, ok := p["goroutines_per_conn"]; ok {
				r[fmt.Sprintf("goroutines_per_conn_%d", p["step"])] = v
			}
		}
		closeAll(all)
		// One collection right after the clients left, then -after to let
		// the runtime hand memory back: a runtime returns freed memory
		// against the goal its last collection set, and an idle server
		// collects rarely (Go forces one every 2 minutes). Both servers get
		// the same treatment; the final measure collects again.
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		if _, err := fetchStats(ctx, c.stats()); err != nil {
			return fmt.Errorf("after close: %w", err)
		}
		if err := sleepCtx(ctx, *after); err != nil {
			return err
		}
		endRSS, endStats, err := measure()
		if err != nil {
			return fmt.Errorf("after close: %w", err)
		}
		r["after_rss_kb"], r["after_stats"] = endRSS, endStats
		peak := points[len(points)-1]["rss_kb"].(int64)
		if peak > baseRSS {
			// 0 = fully back to baseline, 1 = nothing released.
			r["after_retained_fraction"] = round3(float64(endRSS-baseRSS) / float64(peak-baseRSS))
		}
		return nil
	}
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
