package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rpcClient is one S3 client: it emits ["ping", tsMicros(, pad)] with an ack
// id and the server echoes the arguments back in the ack, so latency is
// computed from the stamp the ack carries.
type rpcClient struct {
	c   *client
	pad string
	// api: call LuckyStack's apiRequest instead (see apiCall), or with
	// -call shape the raw server's apiShape, which answers the same way.
	api bool
	// event is the start of an api call's packet: `["apiRequest` or
	// `["apiShape`.
	event string

	// Owned by the reader goroutine until the client's read loop exited.
	rec    recorder
	acks   int64
	errors int64 // api: responses without the stamp (error envelopes)
	wbuf   []byte
	ended  bool

	sent     atomic.Int64
	acked    atomic.Int64
	inflight atomic.Int64 // closed loop: calls still circulating
}

// window is the measurement window in wall-clock microseconds; acks whose
// stamp is before start (warm-up) or that arrive after end are not counted.
type window struct{ start, end int64 }

// ping sends one call stamped ts using buf as scratch; it returns buf for reuse.
func (rc *rpcClient) ping(buf []byte, ts int64) ([]byte, error) {
	if rc.api {
		return rc.apiCall(buf, ts)
	}
	b := rc.c.appendEmitHeader(buf[:0], rc.c.nextID.Add(1))
	b = append(b, `["ping",`...)
	b = strconv.AppendInt(b, ts, 10)
	if rc.pad != "" {
		b = append(b, ',', '"')
		b = append(b, rc.pad...)
		b = append(b, '"')
	}
	b = append(b, ']')
	rc.sent.Add(1)
	return b, rc.c.send(b)
}

// apiRoute is the echo route of the bench server's LuckyStack layer.
const apiRoute = "api/bench/echo/v1"

// apiCall sends LuckyStack's apiRequest (wire spec §2.1): no Socket.IO ack,
// the answer is the event apiResponse-<responseIndex> carrying the route's
// output, {"ts":...} spread onto the envelope.
func (rc *rpcClient) apiCall(buf []byte, ts int64) ([]byte, error) {
	b := append(buf[:0], '4', '2')
	b = append(b, rc.c.ns...)
	b = append(b, rc.event...)
	b = append(b, `",{"name":"`+apiRoute+`","data":{"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	if rc.pad != "" {
		b = append(b, `,"pad":"`...)
		b = append(b, rc.pad...)
		b = append(b, '"')
	}
	b = append(b, `},"responseIndex":`...)
	b = strconv.AppendUint(b, rc.c.nextID.Add(1), 10)
	b = append(b, `}]`...)
	rc.sent.Add(1)
	return b, rc.c.send(b)
}

var (
	apiResponsePrefix = []byte(`["apiResponse-`)
	tsField           = []byte(`"ts":`)
)

// apiStamp returns the ts of an apiResponse-<i> event payload; ok is false
// for other events.
func apiStamp(payload []byte) (ts int64, isResponse bool) {
	if !bytes.HasPrefix(payload, apiResponsePrefix) {
		return 0, false
	}
	i := bytes.Index(payload, tsField)
	if i < 0 {
		return -1, true // an error envelope: counted, no latency
	}
	v, _, ok := parseInt(payload[i+len(tsField):])
	if !ok {
		return -1, true
	}
	return v, true
}

// record accounts for one ack and reports whether the sender should stop.
func (rc *rpcClient) record(payload []byte, w window) (now int64, stop bool) {
	now = nowMicros()
	rc.acked.Add(1)
	ts, ok := int64(0), false
	if rc.api {
		ts, _ = apiStamp(payload)
		ok = ts >= 0
		if !ok {
			rc.errors++
		}
	} else {
		ts, ok = firstInt(payload)
	}
	if ok && ts >= w.start && now <= w.end {
		rc.rec.add(now - ts)
		rc.acks++
	}
	return now, now >= w.end
}

// rpcCmd is S3: emit+ack round trips, closed loop (each client keeps
// -inflight calls outstanding) or open loop (-rate calls/s in total, sent
// on schedule whatever the server does, stamped with the scheduled time so
// queueing delay is not hidden: no coordinated omission).
func rpcCmd(fs *flag.FlagSet) scenarioFunc {
	clients := fs.Int("clients", 10, "concurrent clients")
	conc := fs.Int("c", 50, "handshakes in flight while connecting")
	duration := fs.Duration("duration", 5*time.Second, "measurement window")
	warmup := fs.Duration("warmup", 1*time.Second, "traffic before the window that is not counted")
	inflight := fs.Int("inflight", 1, "closed loop: calls outstanding per client")
	rate := fs.Int("rate", 0, "open loop: total calls per second (0: closed loop)")
	size := fs.Int("size", 0, "bytes of padding string added to each call")
	stamp := fs.String("stamp", "schedule", "open loop: latency from the call's scheduled time (schedule) or from when it was written (send); send leaves out this program's own timer lateness, up to 1 ms, where a comparison of two paths needs microseconds and the rate is far below saturation")
	samplesTo := fs.String("samples", "", "write every latency in the window to this file, microseconds, one per line (for pooling several runs)")
	call := fs.String("call", "ping", "ping: Socket.IO emit+ack of \"ping\"; api: LuckyStack apiRequest to "+apiRoute+" answered by apiResponse-<i>; shape: the same bytes as event apiShape, which the raw bench server answers with apiResponse-<i> itself")
	return func(ctx context.Context, c *common, r result) error {
		cfg, err := c.dialConfig(*clients)
		if err != nil {
			return err
		}
		pad := strings.Repeat("x", max(0, *size))
		rcs := make([]*rpcClient, *clients)
		// The window is published atomically: readers load it per ack, and
		// it is only set after all clients are connected.
		var wp atomic.Pointer[window]
		wp.Store(&window{start: 1<<62 - 1, end: 1<<62 - 1})
		cs, _, failed, cerr := connectAll(ctx, cfg, *clients, *conc, func(i int, cl *client) {
			rc := &rpcClient{c: cl, pad: pad, api: *call == "api" || *call == "shape", wbuf: make([]byte, 0, 128+len(pad))}
			rc.event = `["apiRequest`
			if *call == "shape" {
				rc.event = `["apiShape`
			}
			rcs[i] = rc
			// The answer comes as an ack, or for api as an event.
			answer := func(f func(p []byte)) {
				if !rc.api {
					cl.onAck = func(_ uint64, p []byte) { f(p) }
					return
				}
				cl.onEvent = func(p []byte) {
					if _, ok := apiStamp(p); ok {
						f(p)
					}
				}
			}
			if *rate > 0 {
				answer(func(p []byte) { rc.record(p, *wp.Load()) })
				return
			}
			answer(func(p []byte) {
				now, stop := rc.record(p, *wp.Load())
				if stop || rc.ended {
					rc.ended = true
					rc.inflight.Add(-1)
					return
				}
				var err error
				if rc.wbuf, err = rc.ping(rc.wbuf, now); err != nil {
					rc.ended = true
					rc.inflight.Add(-1)
				}
			})
		})
		defer closeAll(cs)
		if cerr != nil {
			return cerr
		}
		r["clients"], r["failed"] = *clients, failed
		r["mode"] = "closed"
		if *rate > 0 {
			r["mode"], r["rate"] = "open", *rate
		} else {
			r["inflight"] = *inflight
		}
		r["size"] = *size
		switch *stamp {
		case "schedule", "send":
			if *rate > 0 {
				r["stamp"] = *stamp
			}
		default:
			return fmt.Errorf("-stamp %q: want schedule or send", *stamp)
		}
		switch *call {
		case "ping", "api", "shape":
			r["call"] = *call
		default:
			return fmt.Errorf("-call %q: want ping, api or shape", *call)
		}

		start := time.Now()
		w := window{
			start: start.Add(*warmup).UnixMicro(),
			end:   start.Add(*warmup + *duration).UnixMicro(),
		}
		wp.Store(&w)
		var wg sync.WaitGroup
		if *rate > 0 {
			perClient := float64(*rate) / float64(len(rcs))
			interval := time.Duration(float64(time.Second) / perClient)
			for i, rc := range rcs {
				wg.Add(1)
				// Phase offsets spread the clients' schedules evenly.
				go openLoop(&wg, rc, start.Add(interval*time.Duration(i)/time.Duration(len(rcs))), interval, w.end, *stamp == "send")
			}
		} else {
			for _, rc := range rcs {
				var buf []byte
				for k := 0; k < *inflight; k++ {
					rc.inflight.Add(1)
					if buf, err = rc.ping(buf, nowMicros()); err != nil {
						rc.inflight.Add(-1)
						break
					}
				}
			}
		}
		if err := sleepUntil(ctx, start.Add(*warmup)); err != nil {
			return err
		}
		cpu0, _ := cpuOf(c.pid)
		if err := sleepUntil(ctx, start.Add(*warmup+*duration)); err != nil {
			return err
		}
		cpu1, _ := cpuOf(c.pid)
		wg.Wait()
		// Let the last calls come back (bounded), then stop the readers.
		drainUntil := time.Now().Add(2 * time.Second)
		for time.Now().Before(drainUntil) && outstanding(rcs) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		lost := outstanding(rcs)
		closeAndWait(cs, 5*time.Second)

		var all []int64
		var acks, sent, errs int64
		for _, rc := range rcs {
			all = append(all, rc.rec.v...)
			acks += rc.acks
			sent += rc.sent.Load()
			errs += rc.errors
		}
		if *call == "api" {
			r["error_responses"] = errs
		}
		if *samplesTo != "" {
			if err := writeSamples(*samplesTo, all); err != nil {
				return err
			}
		}
		secs := duration.Seconds()
		r["sent"], r["acks_in_window"], r["unanswered"] = sent, acks, lost
		r["acks_per_s"] = round3(float64(acks) / secs)
		r["latency"] = summarize(all)
		if c.pid > 0 {
			r["server_cpu_s"] = round3(cpu1 - cpu0)
			if cpu1 > cpu0 {
				r["acks_per_server_cpu_s"] = round3(float64(acks) / (cpu1 - cpu0))
			}
		}
		if acks == 0 {
			return errors.New("no acks received in the window")
		}
		return nil
	}
}

// writeSamples writes latencies (microseconds) one per line.
func writeSamples(path string, v []int64) error {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = strconv.AppendInt(b, x, 10)
		b = append(b, '\n')
	}
	return os.WriteFile(path, b, 0o644)
}

// outstanding is calls sent but not yet acknowledged, over all clients.
func outstanding(rcs []*rpcClient) int64 {
	var n int64
	for _, rc := range rcs {
		n += rc.sent.Load() - rc.acked.Load()
	}
	return n
}

// maxOutstandingOpen caps unanswered calls per client in open loop so a
// stalled server cannot make the load generator buffer without bound.
const maxOutstandingOpen = 10000

// openLoop sends calls on a fixed schedule until end, catching up after a
// late wake-up so the offered rate stays what was asked for. Each call is
// stamped with its scheduled time, or with the time it is written when
// stampSend is set.
func openLoop(wg *sync.WaitGroup, rc *rpcClient, first time.Time, interval time.Duration, end int64, stampSend bool) {
	defer wg.Done()
	var buf []byte
	var err error
	for k := int64(0); ; {
		now := time.Now()
		for {
			at := first.Add(time.Duration(k) * interval)
			if at.After(now) {
				break
			}
			ts := at.UnixMicro()
			if ts >= end {
				return
			}
			k++
			if rc.sent.Load()-rc.acked.Load() >= maxOutstandingOpen {
				continue // counted as not sent; the server is hopelessly behind
			}
			if stampSend {
				ts = nowMicros()
			}
			if buf, err = rc.ping(buf, ts); err != nil {
				return
			}
		}
		time.Sleep(time.Until(first.Add(time.Duration(k) * interval)))
	}
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	return sleepCtx(ctx, time.Until(t))
}
