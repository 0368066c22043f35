package redisadapter

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// BenchmarkPublish measures broadcasts published per second by one server
// through a real redis-server: each iteration is one room broadcast
// (encode, queue, pipelined PUBLISH); the clock stops once Redis has
// accepted all of them. As with Node's adapter, the server's own pattern
// subscription receives each message back (and drops it by room before
// decoding), so that cost is included. Peers would run on other machines;
// on the 2-core test machine Redis shares the cores with the benchmark.
//
//	go test ./redisadapter -run '^$' -bench Publish -benchtime 500000x
func BenchmarkPublish(b *testing.B) {
	addr := startRedis(b)
	nodes := newCluster(b, addr, 1, Options{})
	nsa := nodes[0].nsa()
	p := &socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Data: []byte(`["tick",{"n":1,"text":"hello world"}]`)}
	opts := socketio.BroadcastOptions{Rooms: []string{"room"}}
	base := nodes[0].ra.Stats().Published
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	for b.Loop() {
		for nsa.Broadcast(p, opts) == ErrQueueFull {
			// The producer outruns Redis: wait for the queue to drain
			// rather than measure refusals.
			time.Sleep(50 * time.Microsecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for nodes[0].ra.Stats().Published-base < uint64(b.N) {
		if ctx.Err() != nil {
			b.Fatalf("only %d of %d published", nodes[0].ra.Stats().Published-base, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
	// CPU time of this process per publish (encoding, queue, pipeline and
	// the subscriber dropping the echo), which, unlike the rate, does not
	// depend on what else runs on the machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/publish")
	b.Logf("N=%d stats %+v", b.N, nodes[0].ra.Stats())
	if st := nodes[0].ra.Stats(); st.PublishFailed > 0 {
		b.Fatalf("%d publishes failed", st.PublishFailed)
	}
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
