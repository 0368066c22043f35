package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// backoff mirrors socket.io-client's Backoff (lib/contrib/backo2.ts):
// min*2^attempt, randomised by ±jitter (the sign taken from the same random
// draw, as the client does), capped at max. Reproducing it matters: the
// jitter is what spreads a reconnect storm over time.
func backoff(attempt int, minD, maxD time.Duration, jitter float64) time.Duration {
	if minD <= 0 {
		return 0
	}
	ms := float64(minD.Milliseconds()) * math.Pow(2, float64(attempt))
	if jitter > 0 {
		r := rand.Float64()
		dev := math.Floor(r * jitter * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	ms = math.Min(ms, float64(maxD.Milliseconds()))
	return time.Duration(ms) * time.Millisecond
}

// reconnectCmd is S6: connect n clients, print "loadgen: ready" on stderr,
// and wait for the server to go away (the orchestrator kills and restarts
// it). Each client then reconnects with socket.io-client's backoff (or none
// with -backoff-min 0); the result is the time from the first disconnect
// until every client is connected again.
func reconnectCmd(fs *flag.FlagSet) scenarioFunc {
	n := fs.Int("n", 5000, "clients")
	conc := fs.Int("c", 50, "handshakes in flight for the initial connect")
	minD := fs.Duration("backoff-min", time.Second, "first reconnect delay (socket.io-client reconnectionDelay); 0 retries at once")
	maxD := fs.Duration("backoff-max", 5*time.Second, "delay cap (reconnectionDelayMax)")
	jitter := fs.Float64("jitter", 0.5, "randomizationFactor")
	maxAttempts := fs.Int("max-attempts", 10000, "reconnect attempts per client before giving up")
	waitKill := fs.Duration("wait-kill", 60*time.Second, "how long to wait for the server to go away")
	roomName := fs.String("room", "", "room to (re)join after each connect; empty joins none")
	return func(ctx context.Context, c *common, r result) error {
		cfg, err := c.dialConfig(*n)
		if err != nil {
			return err
		}
		r["n"], r["backoff_min_ms"], r["backoff_max_ms"], r["jitter"] = *n, minD.Milliseconds(), maxD.Milliseconds(), *jitter
		join := func(cl *client) error {
			if *roomName == "" {
				return nil
			}
			_, err := cl.call("join", strconv.Quote(*roomName), 10*time.Second)
			return err
		}
		cs, durs, failed, cerr := connectAll(ctx, cfg, *n, *conc, nil)
		if cerr != nil {
			closeAll(cs)
			return cerr
		}
		for _, cl := range cs {
			if err := join(cl); err != nil {
				closeAll(cs)
				return fmt.Errorf("initial join: %w", err)
			}
		}
		r["initial_connect"] = summarizeDurations(durs)
		r["initial_failed"] = failed

		var (
			mu         sync.Mutex
			current    = append([]*client(nil), cs...) // for closing at the end
			discAt     = make([]time.Time, *n)
			backAt     = make([]time.Time, *n)
			attempts   = make([]int, *n)
			firstDisc  atomic.Int64 // unix µs of the first disconnect seen
			discCount  atomic.Int64
			backCount  atomic.Int64
			gaveUp     atomic.Int64
			firstDiscC = make(chan struct{})
			once       sync.Once
			wg         sync.WaitGroup
		)
		defer func() {
			mu.Lock()
			closeAll(current)
			mu.Unlock()
		}()
		for i, cl := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-cl.exited:
				case <-ctx.Done():
					return
				}
				t := time.Now()
				discAt[i] = t
				discCount.Add(1)
				firstDisc.CompareAndSwap(0, t.UnixMicro())
				once.Do(func() { close(firstDiscC) })
				for a := 0; a < *maxAttempts; a++ {
					if sleepCtx(ctx, backoff(a, *minD, *maxD, *jitter)) != nil {
						return
					}
					nc, err := dial(ctx, cfg)
					if err != nil {
						continue
					}
					go nc.run()
					mu.Lock()
					current[i] = nc
					mu.Unlock()
					if join(nc) != nil {
						nc.close()
						continue
					}
					backAt[i], attempts[i] = time.Now(), a+1
					backCount.Add(1)
					return
				}
				gaveUp.Add(1)
			}()
		}
		fmt.Fprintln(os.Stderr, "loadgen: ready")
		select {
		case <-firstDiscC:
		case <-time.After(*waitKill):
			return errors.New("the server never went away (no disconnect within -wait-kill)")
		case <-ctx.Done():
			return ctx.Err()
		}
		// Wait until every disconnected client is back (or gave up), bounded by ctx.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			// The supervisors watch ctx too; give them a moment to stop so
			// their slots are no longer written while we read them.
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}
		t0 := time.UnixMicro(firstDisc.Load())
		var per []time.Duration
		var last time.Time
		totalAttempts, maxAtt := 0, 0
		backs := make([]time.Duration, 0, *n)
		for i := range backAt {
			if backAt[i].IsZero() {
				continue
			}
			per = append(per, backAt[i].Sub(discAt[i]))
			backs = append(backs, backAt[i].Sub(t0))
			if backAt[i].After(last) {
				last = backAt[i]
			}
			totalAttempts += attempts[i]
			maxAtt = max(maxAtt, attempts[i])
		}
		back := backCount.Load()
		r["disconnected"], r["reconnected"], r["gave_up"] = discCount.Load(), back, gaveUp.Load()
		r["reconnect_latency"] = summarizeDurations(per)
		r["attempts_total"], r["attempts_max"] = totalAttempts, maxAtt
		if back > 0 {
			r["reconnect_all_s"] = round3(last.Sub(t0).Seconds())
			// Time until 99% of the clients were back, from the same origin.
			sum := summarizeDurations(backs)
			r["reconnect_99pct_s"] = round3(sum.P99 / 1000)
		}
		if back < int64(*n) {
			return fmt.Errorf("only %d of %d clients reconnected", back, *n)
		}
		return nil
	}
}
