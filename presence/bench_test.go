package presence

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSample10k is one sampler pass over 10,000 sockets of 10,000
// sessions, none idle: the steady-state cost the sampler adds per interval.
func BenchmarkSample10k(b *testing.B) {
	tr := newTracker(nil, nil, Options{}.withDefaults(), true)
	now := time.Now().UnixNano()
	for i := range 10000 {
		c := &fakeConn{id: fmt.Sprint("s", i), token: fmt.Sprint("t", i)}
		st := &socketState{c: c, last: now}
		ts := tr.tokenLocked(c.token)
		ts.socks = append(ts.socks, st)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tr.sample(ctx)
	}
}
