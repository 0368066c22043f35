package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// httpTurns prepares the HTTP scenarios' turns for inTurns: each target
// gets a client of its own, so its keep-alive connections stay open
// between its turns, and a warm-up (its connections opened, not measured).
func httpTurns(clients, rate int, slice time.Duration) func(t target) (turnFunc, func(), error) {
	return func(t target) (turnFunc, func(), error) {
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients, DisableCompression: true}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		if _, _, err := httpRun(c, t.url, clients, 0, warmup, rate); err != nil {
			tr.CloseIdleConnections()
			return nil, nil, fmt.Errorf("%s warm-up: %w", t.name, err)
		}
		turn := func() ([]time.Duration, float64, float64, error) {
			cpu0 := cpuTree(t.pid)
			s, calls, err := httpRun(c, t.url, clients, turnSettle, slice, rate)
			return s, float64(calls), cpuTree(t.pid) - cpu0, err
		}
		return turn, tr.CloseIdleConnections, nil
	}
}

// httpRun sends GETs from clients for settle+d and returns the latencies
// of those sent after settle, and how many were answered in all:
// closed loop when rate is 0, else each client sends on a fixed schedule
// (rate over all clients, each starting at a random phase). Latency counts
// from the send, or from the scheduled time when the previous answer came
// too late to send on time, so a stall is not hidden by sending less. The
// request is an Engine.IO polling handshake the websocket-only bench
// server refuses at once: a small fixed answer from the backend.
func httpRun(c *http.Client, base string, clients int, settle, d time.Duration, rate int) ([]time.Duration, int, error) {
	url := base + "/socket.io/?EIO=4&transport=polling"
	start := time.Now().Add(settle)
	end := start.Add(d)
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	calls := 0
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			n := 0
			var interval time.Duration
			next := time.Now()
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(clients) / float64(rate))
				next = next.Add(time.Duration(rand.Int64N(int64(interval))))
			}
			for {
				t0 := time.Now()
				if rate > 0 {
					// Timed from the send, not the schedule, unless the last
					// answer made this send late: a sleep wakes up to a
					// millisecond late, noise ten times the latencies
					// compared here.
					if t0.Before(next) {
						time.Sleep(time.Until(next))
						t0 = time.Now()
					} else {
						t0 = next
					}
					next = next.Add(interval)
				}
				if t0.After(end) {
					break
				}
				resp, err := c.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadRequest {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				n++
				if !t0.Before(start) {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			all = append(all, mine...)
			calls += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if len(all) == 0 && d > 0 {
		return nil, 0, errors.New("no requests completed")
	}
	return all, calls, nil
}
