package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// turnSettle starts each turn and is not measured: a proxy idle through
// the other targets' turns answers its first calls from cold caches.
const turnSettle = 200 * time.Millisecond

// turnFunc runs one measured turn against its target and returns the
// latencies of the turn's window, and for the CPU per call the proxy's
// CPU seconds over some stretch of the turn and the calls it served in
// that stretch.
type turnFunc func() (samples []time.Duration, calls, cpu float64, err error)

// inTurns measures the targets of one repetition in turns: each gets a
// turn of slice in every round, the first target moving on by one each
// round, until each had d; each target's latencies are pooled over its
// turns. Measured back to back for d each, a proxy was compared with a
// direct run up to 2d earlier, and other work on this machine comes and
// goes within that time: it moved the added p50 by more than the proxies
// differ. In turns, every target samples the same stretch of time.
//
// prepare is called once per target before the rounds (connections,
// warm-up); the returned cleanup runs when the repetition ends.
func inTurns(order []target, d, slice time.Duration, prepare func(t target) (turnFunc, func(), error)) (map[string]measure, error) {
	type state struct {
		turn    turnFunc
		samples []time.Duration
		cpu     float64
		calls   float64
	}
	st := make([]*state, len(order))
	for i, t := range order {
		turn, cleanup, err := prepare(t)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		st[i] = &state{turn: turn}
	}
	rounds := max(1, int(d/slice))
	for r := range rounds {
		for i := range order {
			k := (i + r) % len(order)
			s, t := st[k], order[k]
			samples, calls, cpu, err := s.turn()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			s.cpu += cpu
			s.calls += calls
			s.samples = append(s.samples, samples...)
		}
	}
	runs := map[string]measure{}
	window := time.Duration(rounds) * slice
	for i, t := range order {
		s := st[i]
		if len(s.samples) == 0 {
			return nil, fmt.Errorf("%s: no calls completed", t.name)
		}
		all := s.samples
		slices.Sort(all)
		q := func(p float64) float64 {
			return round3(float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000)
		}
		m := measure{P50: q(0.50), P99: q(0.99), PerSecond: round3(float64(len(all)) / window.Seconds()), N: int64(len(all))}
		if t.pid > 0 && s.calls > 0 {
			m.ProxyCPUs = round3(s.cpu)
			m.ProxyCPUPerCall = round3(s.cpu * 1e6 / s.calls)
		}
		runs[t.name] = m
	}
	return runs, nil
}

// loadgenTurns prepares websocket turns for inTurns: each turn is one
// bench/loadgen rpc run (its clients connect, a settle of turnSettle, a
// window of slice), its latencies read back from loadgen's -samples file
// and the proxy's CPU taken by loadgen over the window alone, so the
// clients' connecting is not counted as calls' cost.
func loadgenTurns(command func(args ...string) (string, []string), dir string, slice time.Duration, args ...string) func(t target) (turnFunc, func(), error) {
	return func(t target) (turnFunc, func(), error) {
		file := filepath.Join(dir, "samples-"+t.name)
		turn := func() ([]time.Duration, float64, float64, error) {
			full := append([]string{"-duration", slice.String(), "-warmup", turnSettle.String(), "-samples", file,
				"-pid", strconv.Itoa(t.cpuPid)}, args...)
			m, err := loadgen(command, t, full...)
			if err != nil {
				return nil, 0, 0, err
			}
			samples, err := readSamples(file)
			if err != nil {
				return nil, 0, 0, err
			}
			return samples, float64(m.N), m.ProxyCPUs, nil
		}
		return turn, func() { _ = os.Remove(file) }, nil
	}
}

// readSamples reads loadgen's -samples file: microseconds, one per line.
func readSamples(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var v []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		us, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		v = append(v, time.Duration(us)*time.Microsecond)
	}
	return v, sc.Err()
}

// names lists the targets' names for progress lines.
func names(ts []target) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.name
	}
	return strings.Join(n, ", ")
}
