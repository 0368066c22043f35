package redisadapter

// The fault test: redis-server goes away during steady cross-server traffic
// and comes back on the same port, empty (no subscriptions survive).

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
)

func TestFaultRedisRestart(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	var errs atomic.Int64
	nodes := newCluster(t, rs.Addr, 2, Options{OnError: func(error) { errs.Add(1) }})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	local := dial(t, ctx, a.ts.URL)
	remote := dial(t, ctx, b.ts.URL)
	local.join(ctx, "r")
	remote.join(ctx, "r")

	// Steady traffic: one broadcast every 2ms from a.
	var (
		sent     atomic.Int64
		emitErrs atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := a.srv.To("r").Emit("seq", sent.Load()); err != nil {
					emitErrs.Add(1)
				}
				sent.Add(1)
			}
		}
	}()
	stopSending := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopSending)

	maxSeq := func(c *testClient) int64 {
		m := int64(-1)
		for _, e := range c.buffered() {
			if v, ok := e.Args[0].(float64); ok && int64(v) > m {
				m = int64(v)
			}
		}
		return m
	}
	eventually(t, "steady traffic", func() bool { return remote.count("seq") >= 100 })
	baseline := runtime.NumGoroutine()

	sentAtDown := sent.Load()
	rs.Stop()
	downAt := time.Now()
	peak := baseline
	for time.Since(downAt) < time.Second {
		peak = max(peak, runtime.NumGoroutine())
		time.Sleep(20 * time.Millisecond) // sampling while Redis is down
	}
	rs.Restart()
	restartAt := time.Now()
	firstAfter := sent.Load()

	deadline := restartAt.Add(5 * time.Second)
	for maxSeq(remote) < firstAfter {
		if time.Now().After(deadline) {
			t.Fatalf("cross-server delivery did not resume within 5s of Redis restarting (last seq %d, sent %d)",
				maxSeq(remote), sent.Load())
		}
		peak = max(peak, runtime.NumGoroutine())
		time.Sleep(10 * time.Millisecond) // polling the client's buffer
	}
	resumed := time.Since(restartAt)
	sentAtResume := sent.Load()

	// Keep going a little, then let everything drain.
	eventually(t, "traffic after the restart", func() bool { return maxSeq(remote) >= sentAtResume+200 })
	stopSending()
	total := sent.Load()
	eventually(t, "local delivery of every message", func() bool { return local.count("seq") == int(total) })
	eventually(t, "the last message across", func() bool { return maxSeq(remote) == total-1 })

	lost := total - int64(remote.count("seq"))
	t.Logf("sent at down %d, at restart %d, at resume %d, total %d; received ranges %v", sentAtDown, firstAfter, sentAtResume, total, ranges(remote))
	st := a.ra.Stats()
	t.Logf("Redis down %v; cross-server delivery resumed %v after restart; %d of %d messages lost across servers "+
		"(%.1f%%), 0 lost locally; emit errors %d; adapter A stats %+v; reconnects B %d; OnError calls %d; "+
		"goroutines baseline %d, peak %d",
		restartAt.Sub(downAt).Round(time.Millisecond), resumed.Round(time.Millisecond), lost, total,
		100*float64(lost)/float64(total), emitErrs.Load(), st, b.ra.Stats().Reconnects, errs.Load(), baseline, peak)
	assert.Less(t, resumed, 5*time.Second)
	assert.Positive(t, b.ra.Stats().Reconnects, "B saw its subscription come back")
	assert.Positive(t, errs.Load(), "the outage was reported")
	assert.LessOrEqual(t, peak, baseline+20, "goroutines piled up during the outage")
	// Only what was in flight at the failure or sent before the
	// subscription came back may be lost.
	assert.LessOrEqual(t, lost, sentAtResume-sentAtDown+50, "messages lost outside the outage")

	// Requests work again too.
	n, err := a.srv.Sockets().Adapter().ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func ranges(c *testClient) [][2]int64 {
	var out [][2]int64
	for _, e := range c.buffered() {
		v := int64(e.Args[0].(float64))
		if len(out) > 0 && out[len(out)-1][1] == v-1 {
			out[len(out)-1][1] = v
			continue
		}
		out = append(out, [2]int64{v, v})
	}
	return out
}

// TestFaultUnresponsiveConnection: Redis stops answering without closing the
// connection (CLIENT PAUSE); the keeper's unanswered PING makes it replace the
// subscription connection, and delivery works again afterwards.
func TestFaultUnresponsiveConnection(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	var noPong atomic.Int64
	nodes := newCluster(t, addr, 2, Options{OnError: func(err error) {
		if errors.Is(err, errNoPong) {
			noPong.Add(1)
		}
	}})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	c := dial(t, ctx, b.ts.URL)

	pause := 4 * healthInterval
	require.NoError(t, newRedisClient(t, addr).Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err())
	// Detection takes up to 2.5 health intervals after the last message:
	// silence, then an unanswered ping, both seen at the keeper's ticks.
	ready, cancel := context.WithTimeout(context.Background(), pause+waitFor)
	defer cancel()
	for noPong.Load() == 0 {
		if ready.Err() != nil {
			t.Fatal("the silent subscription connection was not replaced")
		}
		time.Sleep(20 * time.Millisecond) // polling a counter
	}
	require.NoError(t, b.ra.Ready(ready))
	require.NoError(t, a.ra.Ready(ready))
	require.NoError(t, a.srv.Emit("after"))
	c.expect(ready, "after")
}
