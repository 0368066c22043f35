package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// member is one room member receiving ["b", seq, tsMicros, pad] events.
type member struct {
	c *client

	// mu guards the fields below: the reader goroutine writes them per
	// message and the coordinator swaps them out between steps.
	mu       sync.Mutex
	rec      recorder
	count    int64
	lastSeq  int64
	disorder int64 // sequence numbers that were not last+1 (gaps or reordering)
	lastRecv int64 // wall-clock µs of the latest delivery
}

// room is the member set of one fan-out run and its trigger client.
type room struct {
	name    string
	members []*member
	clients []*client // members' clients plus the trigger, for closing
	trigger *client
	total   atomic.Int64 // deliveries to counted members since the last reset

	// sync: the trigger sends LuckyStack sync requests (one per message)
	// instead of asking the server to broadcast; acks and errors count
	// its sync-<i> answers.
	sync       bool
	syncAcks   atomic.Int64
	syncErrors atomic.Int64
	syncIndex  atomic.Int64
}

// syncRoute is the fan-out route of the bench server's LuckyStack layer.
const syncRoute = "sync/bench/fanout/v1"

var (
	syncFramePrefix = []byte(`["sync",`)
	seqField        = []byte(`"seq":`)
	syncAckPrefix   = []byte(`["sync-`)
	syncProgress    = []byte(`["sync-progress-`)
	statusError     = []byte(`"status":"error"`)
)

// parseSyncFrame reads seq and ts from a fan-out frame
// ["sync",{...,"serverOutput":{"seq":..,"ts":..,"pad":..},...}].
func parseSyncFrame(p []byte) (seq, ts int64, ok bool) {
	if !bytes.HasPrefix(p, syncFramePrefix) {
		return 0, 0, false
	}
	i, j := bytes.Index(p, seqField), bytes.Index(p, tsField)
	if i < 0 || j < 0 {
		return 0, 0, false
	}
	if seq, _, ok = parseInt(p[i+len(seqField):]); !ok {
		return 0, 0, false
	}
	ts, _, ok = parseInt(p[j+len(tsField):])
	return seq, ts, ok
}

// onSyncAnswer counts the trigger's sync-<i> acknowledgements.
func (rm *room) onSyncAnswer(p []byte) {
	if !bytes.HasPrefix(p, syncAckPrefix) || bytes.HasPrefix(p, syncProgress) {
		return
	}
	if bytes.Contains(p, statusError) {
		rm.syncErrors.Add(1)
	}
	rm.syncAcks.Add(1)
}

// sendSync sends n sync requests to the room, due at rate per second from
// now on and each stamped when sent, catching up on late ticks as the bench
// server's bcast does; then it waits (bounded) for their acknowledgements.
func (rm *room) sendSync(ctx context.Context, n int, rate float64, size int, drain time.Duration) (string, error) {
	rm.syncAcks.Store(0)
	rm.syncErrors.Store(0)
	pad := strings.Repeat("x", max(0, size))
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var buf []byte
	for seq := 0; seq < n; {
		due := min(n, int(time.Since(start)/interval)+1)
		for ; seq < due; seq++ {
			buf = append(buf[:0], `42["sync",{"name":"`+syncRoute+`","cb":"bench/fanout/v1","ignoreSelf":true,"receiver":`...)
			buf = strconv.AppendQuote(buf, rm.name)
			buf = append(buf, `,"responseIndex":`...)
			buf = strconv.AppendInt(buf, rm.syncIndex.Add(1), 10)
			buf = append(buf, `,"data":{"seq":`...)
			buf = strconv.AppendInt(buf, int64(seq), 10)
			buf = append(buf, `,"ts":`...)
			buf = strconv.AppendInt(buf, nowMicros(), 10)
			buf = append(buf, `,"pad":"`...)
			buf = append(buf, pad...)
			buf = append(buf, `"}}]`...)
			if err := rm.trigger.send(buf); err != nil {
				return "", err
			}
		}
		if seq < n {
			if err := sleepUntil(ctx, start.Add(time.Duration(seq)*interval)); err != nil {
				return "", err
			}
		}
	}
	last, lastChange := int64(-1), time.Now()
	for rm.syncAcks.Load() < int64(n) && time.Since(lastChange) < drain && ctx.Err() == nil {
		if v := rm.syncAcks.Load(); v != last {
			last, lastChange = v, time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Sprintf("sync acks %d of %d, errors %d", rm.syncAcks.Load(), n, rm.syncErrors.Load()), nil
}

func (m *member) onEvent(rm *room, counted bool) func([]byte) {
	parse := parseB
	if rm.sync {
		parse = parseSyncFrame
	}
	return func(p []byte) {
		seq, ts, ok := parse(p)
		if !ok {
			return
		}
		now := nowMicros()
		m.mu.Lock()
		m.rec.add(now - ts)
		m.count++
		if seq != m.lastSeq+1 {
			m.disorder++
		}
		m.lastSeq = seq
		m.lastRecv = now
		m.mu.Unlock()
		if counted {
			rm.total.Add(1)
		}
	}
}

// take returns the member's data since the last take and resets it.
func (m *member) take() (rec recorder, count, disorder, lastRecv int64) {
	m.mu.Lock()
	rec, count, disorder, lastRecv = m.rec, m.count, m.disorder, m.lastRecv
	m.rec, m.count, m.disorder, m.lastRecv, m.lastSeq = recorder{}, 0, 0, 0, -1
	m.mu.Unlock()
	return
}

// fanoutFlags are shared by the fanout (S4/S5) and slow (S7) scenarios.
type fanoutFlags struct {
	members   *int
	conc      *int
	roomName  *string
	memberURL *string
	size      *int
	pid2      *int
	call      *string // fanout only: bcast or sync
}

func registerFanout(fs *flag.FlagSet, members int, size int) fanoutFlags {
	return fanoutFlags{
		members:   fs.Int("members", members, "room members"),
		conc:      fs.Int("c", 50, "handshakes in flight while connecting"),
		roomName:  fs.String("room", "bench", "room name"),
		memberURL: fs.String("member-url", "", "server the members connect to (default -url; S5 uses the second instance)"),
		size:      fs.Int("size", size, "padding bytes per broadcast message"),
		pid2:      fs.Int("pid2", 0, "pid of the member server when it differs from -pid (CPU is summed)"),
	}
}

// setupRoom connects the members (joining the room, acked) to the member
// server and the trigger client to the -url server.
func setupRoom(ctx context.Context, c *common, f fanoutFlags, nMembers int) (*room, error) {
	memberBase := c.url
	if *f.memberURL != "" {
		if err := checkLoopback(*f.memberURL); err != nil {
			return nil, err
		}
		memberBase = *f.memberURL
	}
	cfg, err := c.dialConfig(nMembers + 1)
	if err != nil {
		return nil, err
	}
	rm := &room{name: *f.roomName, sync: f.call != nil && *f.call == "sync"}
	mcfg := cfg
	mcfg.base = memberBase
	rm.members = make([]*member, nMembers)
	cs, _, _, cerr := connectAll(ctx, mcfg, nMembers, *f.conc, func(i int, cl *client) {
		m := &member{c: cl, lastSeq: -1}
		cl.onEvent = m.onEvent(rm, true)
		rm.members[i] = m
	})
	rm.clients = live(cs)
	if cerr != nil {
		closeAll(rm.clients)
		return nil, cerr
	}
	if err := joinAll(rm.clients, rm.name, *f.conc); err != nil {
		closeAll(rm.clients)
		return nil, err
	}
	rm.trigger, err = dial(ctx, cfg)
	if err != nil {
		closeAll(rm.clients)
		return nil, fmt.Errorf("trigger: %w", err)
	}
	if rm.sync {
		rm.trigger.onEvent = rm.onSyncAnswer
	}
	go rm.trigger.run()
	if rm.sync {
		// A LuckyStack sender is a member of the room it syncs to (the
		// module requires it by default); ignoreSelf keeps its own frame
		// from coming back.
		if _, err := rm.trigger.call("join", strconv.Quote(rm.name), 10*time.Second); err != nil {
			closeAll(append(rm.clients, rm.trigger))
			return nil, fmt.Errorf("trigger join: %w", err)
		}
	}
	rm.clients = append(rm.clients, rm.trigger)
	return rm, nil
}

// joinAll makes every client join the room and waits for all acks.
func joinAll(cs []*client, name string, conc int) error {
	arg := strconv.Quote(name)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(conc, len(cs))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(cs); i = int(next.Add(1) - 1) {
				if _, err := cs[i].call("join", arg, 10*time.Second); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d joins failed", n, len(cs))
	}
	return nil
}

// bcastArgs is the JSON argument of the bcast event.
func bcastArgs(room string, n int, intervalMs float64, size int) string {
	return fmt.Sprintf(`{"room":%s,"n":%d,"intervalMs":%s,"size":%d}`,
		strconv.Quote(room), n, strconv.FormatFloat(intervalMs, 'f', -1, 64), size)
}

// step is the outcome of one broadcast burst at one rate.
type step struct {
	Rate         float64 `json:"rate_msg_per_s"`
	N            int     `json:"n"`
	TargetPerS   float64 `json:"target_deliveries_per_s"`
	AchievedPerS float64 `json:"achieved_deliveries_per_s"`
	Expected     int64   `json:"expected"`
	Received     int64   `json:"received"`
	Lost         int64   `json:"lost"`
	Disorder     int64   `json:"disorder"`
	Latency      latency `json:"latency"`
	ServerCPU    float64 `json:"server_cpu_s,omitempty"`
	BcastAck     string  `json:"bcast_ack,omitempty"`
	SyncErrors   int64   `json:"sync_errors,omitempty"`
}

// runStep asks the trigger's server to broadcast n = rate*dur messages and
// collects what the counted members received, waiting up to drain after the
// server finished sending.
func runStep(ctx context.Context, rm *room, counted []*member, rate float64, dur time.Duration, size int, drain time.Duration, cpu func() float64) (step, error) {
	n := max(1, int(rate*dur.Seconds()))
	for _, m := range rm.members {
		m.take()
	}
	rm.total.Store(0)
	expected := int64(n) * int64(len(counted))
	cpu0 := cpu()
	t0 := nowMicros()
	timeout := 2*dur + 30*time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	var ack []byte
	var err error
	if rm.sync {
		var summary string
		summary, err = rm.sendSync(ctx, n, rate, size, drain)
		ack = []byte(summary)
	} else {
		ack, err = rm.trigger.call("bcast", bcastArgs(rm.name, n, 1000/rate, size), timeout)
	}
	if err != nil {
		return step{}, err
	}
	// Wait for the deliveries, giving up after drain without progress.
	last, lastChange := int64(-1), time.Now()
	for rm.total.Load() < expected && time.Since(lastChange) < drain && ctx.Err() == nil {
		if v := rm.total.Load(); v != last {
			last, lastChange = v, time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1 := cpu()
	var all []int64
	s := step{Rate: rate, N: n, TargetPerS: rate * float64(len(counted)), Expected: expected, BcastAck: string(ack)}
	if rm.sync {
		s.SyncErrors = rm.syncErrors.Load()
	}
	var lastRecv int64
	for _, m := range counted {
		rec, count, disorder, lr := m.take()
		all = append(all, rec.v...)
		s.Received += count
		s.Disorder += disorder
		lastRecv = max(lastRecv, lr)
	}
	s.Lost = max(0, expected-s.Received)
	if lastRecv > t0 {
		// n messages span (n-1) intervals; never credit more than the
		// offered rate, so a server that keeps up scores exactly the target.
		span := max(float64(lastRecv-t0)/1e6, float64(n)/rate)
		s.AchievedPerS = round3(float64(s.Received) / span)
	}
	s.Latency = summarize(all)
	s.ServerCPU = round3(cpu1 - cpu0)
	return s, nil
}

// cpuSum returns a function summing the CPU seconds of the given pids.
func cpuSum(pids ...int) func() float64 {
	return func() float64 {
		var t float64
		for _, p := range pids {
			if v, err := cpuOf(p); err == nil {
				t += v
			}
		}
		return t
	}
}

// fanoutCmd is S4 (members and trigger on one server) and S5 (-member-url
// points at a second instance sharing Redis). It raises the rate step by
// step and reports the highest delivery rate whose p99 stayed under the
// limit with no loss, and the highest rate delivered at all. Escalation
// goes on past the latency limit until the server saturates (achieved below
// 90% of the offered rate), loses messages, or p99 exceeds 10x the limit,
// so both the latency-bound and the throughput ceiling are seen.
func fanoutCmd(fs *flag.FlagSet) scenarioFunc {
	f := registerFanout(fs, 1000, 64)
	f.call = fs.String("call", "bcast", "bcast: the server broadcasts on request (contract's bcast); sync: the trigger sends one LuckyStack sync request per message to "+syncRoute+", answered by a fan-out frame to every member")
	rates := fs.String("rates", "2,5,10,20,30,50,75,100,150,200,300", "broadcast rates (messages/s) to try, ascending")
	dur := fs.Duration("step", 2*time.Second, "length of each rate step")
	drain := fs.Duration("drain", 2*time.Second, "give up waiting for deliveries after this long without progress")
	limit := fs.Duration("p99-limit", 50*time.Millisecond, "p99 delivery latency a step must stay under to count")
	return func(ctx context.Context, c *common, r result) error {
		rs, err := parseInts(*rates)
		if err != nil {
			return err
		}
		rm, err := setupRoom(ctx, c, f, *f.members)
		if err != nil {
			return err
		}
		defer closeAll(rm.clients)
		limitMs := float64(limit.Microseconds()) / 1000
		r["members"], r["size"], r["step_s"], r["p99_limit_ms"] = *f.members, *f.size, dur.Seconds(), limitMs
		r["cross_instance"] = *f.memberURL != "" && *f.memberURL != c.url
		switch *f.call {
		case "bcast", "sync":
			r["call"] = *f.call
		default:
			return fmt.Errorf("-call %q: want bcast or sync", *f.call)
		}
		// A short uncounted burst first: JIT (Node), first-use allocations
		// and the loadgen's goroutine wake-ups would otherwise land in the
		// lowest step, whose few messages make its p99 fragile.
		if _, err := runStep(ctx, rm, rm.members, 10, 500*time.Millisecond, *f.size, *drain, cpuSum()); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		var steps []step
		var best, top step
		var lost, syncErrors int64
		for _, rate := range rs {
			s, err := runStep(ctx, rm, rm.members, float64(rate), *dur, *f.size, *drain, cpuSum(c.pid, *f.pid2))
			if err != nil {
				return fmt.Errorf("rate %d: %w", rate, err)
			}
			steps = append(steps, s)
			lost += s.Lost
			syncErrors += s.SyncErrors
			logf("fanout %d msg/s x %d: %.0f/s p99 %.1f ms lost %d", rate, *f.members, s.AchievedPerS, s.Latency.P99, s.Lost)
			if s.Lost == 0 && s.Latency.P99 < limitMs && s.AchievedPerS > best.AchievedPerS {
				best = s
			}
			if s.Lost == 0 && s.AchievedPerS > top.AchievedPerS {
				top = s
			}
			if s.Lost > 0 || s.AchievedPerS < 0.9*s.TargetPerS || s.Latency.P99 > 10*limitMs {
				break
			}
		}
		r["steps"] = steps
		// 0 means not even the lowest rate met the limit; its p99 is then
		// left out rather than reported as a misleading 0.
		r["deliveries_per_s"] = best.AchievedPerS
		if best.Rate > 0 {
			r["best_rate_msg_per_s"] = best.Rate
			r["best_p99_ms"] = best.Latency.P99
		}
		r["max_deliveries_per_s"] = top.AchievedPerS
		r["max_rate_p99_ms"] = top.Latency.P99
		r["lost_total"] = lost
		if rm.sync {
			r["sync_errors"] = syncErrors
		}
		return nil
	}
}

// slowCmd is S7: one member stops reading while the room receives -rate
// messages/s. It records the server's RSS over time and the other members'
// latency, then lets the slow member read again to see whether the server
// kept its backlog or disconnected it.
func slowCmd(fs *flag.FlagSet) scenarioFunc {
	f := registerFanout(fs, 100, 1024)
	rate := fs.Int("rate", 1000, "broadcast messages per second")
	dur := fs.Duration("duration", 10*time.Second, "broadcast duration")
	drain := fs.Duration("drain", 2*time.Second, "give up waiting for deliveries after this long without progress")
	resumeWait := fs.Duration("resume-wait", 5*time.Second, "how long the slow member reads after resuming")
	rcvBuf := fs.Int("slow-rcvbuf", 4096, "SO_RCVBUF of the slow member, so back-pressure reaches the server quickly")
	return func(ctx context.Context, c *common, r result) error {
		rm, err := setupRoom(ctx, c, f, *f.members)
		if err != nil {
			return err
		}
		defer closeAll(rm.clients)
		// The slow member connects to the member server with a tiny
		// receive buffer and is paused right after its join is acked.
		cfg, _ := c.dialConfig(1)
		if *f.memberURL != "" {
			cfg.base = *f.memberURL
		}
		cfg.rcvBuf = *rcvBuf
		sc, err := dial(ctx, cfg)
		if err != nil {
			return fmt.Errorf("slow member: %w", err)
		}
		rm.clients = append(rm.clients, sc)
		slow := &member{c: sc, lastSeq: -1}
		sc.onEvent = slow.onEvent(rm, false)
		sc.pauseReq, sc.resume = make(chan struct{}), make(chan struct{})
		go sc.run()
		if _, err := sc.call("join", strconv.Quote(rm.name), 10*time.Second); err != nil {
			return fmt.Errorf("slow member join: %w", err)
		}
		close(sc.pauseReq)
		rm.members = append(rm.members, slow)
		counted := rm.members[:len(rm.members)-1]

		// Sample the server's RSS while the broadcast runs.
		var series [][2]float64
		var smu sync.Mutex
		stop := make(chan struct{})
		var swg sync.WaitGroup
		if c.pid > 0 {
			swg.Add(1)
			go func() {
				defer swg.Done()
				t0 := time.Now()
				tk := time.NewTicker(500 * time.Millisecond)
				defer tk.Stop()
				for {
					if kb, err := readRSSKB(c.pid); err == nil {
						smu.Lock()
						series = append(series, [2]float64{round3(time.Since(t0).Seconds()), float64(kb)})
						smu.Unlock()
					}
					select {
					case <-stop:
						return
					case <-tk.C:
					}
				}
			}()
		}
		s, err := runStep(ctx, rm, counted, float64(*rate), *dur, *f.size, *drain, cpuSum(c.pid, *f.pid2))
		close(stop)
		swg.Wait()
		if err != nil {
			return err
		}
		r["members"], r["size"], r["rate"], r["duration_s"] = *f.members, *f.size, *rate, dur.Seconds()
		r["others"] = s
		r["others_p99_ms"] = s.Latency.P99
		r["others_lost"] = s.Lost
		r["rss_series_kb"] = series
		if len(series) > 0 {
			first, peak := series[0][1], series[0][1]
			for _, p := range series {
				peak = max(peak, p[1])
			}
			r["rss_start_kb"], r["rss_peak_kb"] = first, peak
			r["rss_growth_kb"] = peak - first
		}

		// Resume the slow member and see what the server kept for it.
		close(sc.resume)
		deadline := time.Now().Add(*resumeWait)
		expected := int64(s.N)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			select {
			case <-sc.closed:
			default:
				slow.mu.Lock()
				got := slow.count
				slow.mu.Unlock()
				if got < expected {
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			break
		}
		_, got, _, _ := slow.take()
		r["slow_expected"], r["slow_received"] = expected, got
		select {
		case <-sc.closed:
			r["slow_closed"] = true
			if sc.closeErr != nil {
				r["slow_close_error"] = sc.closeErr.Error()
			}
		default:
			r["slow_closed"] = false
		}
		if s.Received == 0 {
			return errors.New("other members received nothing")
		}
		return nil
	}
}
