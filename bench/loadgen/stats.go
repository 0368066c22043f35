package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxSamplesPerRecorder bounds the memory of one latency recorder (16 MiB).
// One recorder belongs to one connection, and no scenario comes near this
// many messages per connection; past it samples are only counted in seen.
const maxSamplesPerRecorder = 1 << 21

// recorder collects latency samples in microseconds. It is owned by one
// goroutine at a time; merge recorders after the owners stopped.
type recorder struct {
	v    []int64
	seen int64
}

func (r *recorder) add(us int64) {
	r.seen++
	if len(r.v) < maxSamplesPerRecorder {
		r.v = append(r.v, us)
	}
}

// latency is the summary written to JSON, in milliseconds.
type latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summarize sorts all samples (exact percentiles, no histogram error).
func summarize(all []int64) latency {
	if len(all) == 0 {
		return latency{}
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(all)))) - 1
		i = max(0, min(i, len(all)-1))
		return float64(all[i]) / 1000
	}
	var sum float64
	for _, v := range all {
		sum += float64(v)
	}
	return latency{
		N: len(all), P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), P999: pct(0.999),
		Max: float64(all[len(all)-1]) / 1000, Mean: round3(sum / float64(len(all)) / 1000),
	}
}

// summarizeDurations converts durations to microsecond samples and summarises them.
func summarizeDurations(ds []time.Duration) latency {
	v := make([]int64, len(ds))
	for i, d := range ds {
		v[i] = d.Microseconds()
	}
	return summarize(v)
}

// nowMicros is the wall clock in microseconds, the unit of payload stamps.
func nowMicros() int64 { return time.Now().UnixMicro() }

// readRSSKB returns VmRSS of pid in KiB from /proc/<pid>/status.
func readRSSKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// clockTicks is USER_HZ; it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// readCPUSeconds returns utime+stime of pid from /proc/<pid>/stat.
func readCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return (ut + st) / clockTicks, nil
}

// selfCPUSeconds is the load generator's own CPU time, reported so a run
// that was limited by the load generator rather than the server shows it.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// fetchStats GETs the server's /stats endpoint (which runs a GC first).
func fetchStats(ctx context.Context, statsURL string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", statsURL, resp.Status)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// num reads a numeric field from a decoded /stats object.
func num(m map[string]any, key string) (float64, bool) {
	v, ok := m[key].(float64)
	return v, ok
}

// connectAll dials n clients with at most conc handshakes in flight and
// returns the clients that connected (in order of index; nil for failures),
// the per-client connect durations and the first error seen. setup runs on
// each client before its read loop starts (to install callbacks).
func connectAll(ctx context.Context, cfg dialConfig, n, conc int, setup func(i int, c *client)) ([]*client, []time.Duration, int, error) {
	clients := make([]*client, n)
	durs := make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(conc, n)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				c, err := dial(ctx, cfg)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				durs[i] = time.Since(t0)
				if setup != nil {
					setup(i, c)
				}
				clients[i] = c
				go c.run()
			}
		}()
	}
	wg.Wait()
	var err error
	if s, ok := firstErr.Load().(string); ok {
		err = fmt.Errorf("%d of %d connects failed, first: %s", failed.Load(), n, s)
	}
	okDurs := durs[:0:0]
	for i, c := range clients {
		if c != nil {
			okDurs = append(okDurs, durs[i])
		}
	}
	return clients, okDurs, int(failed.Load()), err
}

// closeAll closes every non-nil client.
func closeAll(cs []*client) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// closeAndWait closes every client and waits (bounded) for their read
// loops to return, so per-client state they own can be read safely.
func closeAndWait(cs []*client, limit time.Duration) {
	closeAll(cs)
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for _, c := range cs {
		if c == nil {
			continue
		}
		select {
		case <-c.exited:
		case <-deadline.C:
			return
		}
	}
}

// live returns the non-nil clients.
func live(cs []*client) []*client {
	out := make([]*client, 0, len(cs))
	for _, c := range cs {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}
