package api

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

// These benchmarks measure round trips per second over a real socket on
// loopback, client included. Issue 4's target is the API layer at >= 70%
// of the raw ceiling:
//
//	go test -run '^$' -bench . -benchtime 3s ./api/
//
// BenchmarkCeilingAck is Socket.IO's own emit+ack; BenchmarkCeilingEmit is
// the LuckyStack shape without the API layer (a socket event answered by an
// indexed event); BenchmarkAPIRequest is apiRequest → apiResponse-<i> with
// a trivial echo route. Each has a Parallel variant with one client per
// benchmark goroutine. The req/s metric is the one to compare.

func benchEnv(b *testing.B) *testEnv {
	b.Helper()
	e := newEnv(b, Options{RateLimit: RateLimitOptions{Disabled: true}, MaxInFlight: -1}, func(m *Module) {
		if err := Register(m, "bench/echo/v1", echoRoute()); err != nil {
			b.Fatal(err)
		}
	})
	e.srv.IO().Sockets().On("echoAck", func(ev *socketio.Event) { _ = ev.Ack(ev.Args.Raw(0)) })
	e.srv.HandleSocketEvent("echoEmit", func(_ context.Context, c *luckystack.Client, p json.RawMessage) {
		var msg struct {
			ResponseIndex int             `json:"responseIndex"`
			Data          json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(p, &msg)
		_ = c.Emit("echoEmit-"+strconv.Itoa(msg.ResponseIndex), msg.Data)
	})
	return e
}

func benchDial(b *testing.B, e *testEnv) *sioclient.Client {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := sioclient.Dial(ctx, e.Base, sioclient.Options{})
	if err != nil {
		b.Error(err)
		return nil
	}
	return c
}

// roundTrip is one request of a kind, waiting for its answer.
type roundTrip func(ctx context.Context, c *sioclient.Client, i int) error

var payload = map[string]any{"n": 1, "s": "hello"}

func ackTrip(ctx context.Context, c *sioclient.Client, _ int) error {
	_, err := c.EmitWithAck(ctx, "echoAck", payload)
	return err
}

func emitTrip(ctx context.Context, c *sioclient.Client, i int) error {
	if err := c.Emit("echoEmit", map[string]any{"data": payload, "responseIndex": i}); err != nil {
		return err
	}
	_, err := c.Expect(ctx, "echoEmit-"+strconv.Itoa(i))
	return err
}

func apiTrip(ctx context.Context, c *sioclient.Client, i int) error {
	if err := c.Emit("apiRequest", map[string]any{"name": "api/bench/echo/v1", "data": payload, "responseIndex": i}); err != nil {
		return err
	}
	_, err := c.Expect(ctx, "apiResponse-"+strconv.Itoa(i))
	return err
}

func runSequential(b *testing.B, trip roundTrip) {
	e := benchEnv(b)
	c := benchDial(b, e)
	if c == nil {
		b.FailNow()
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := trip(ctx, c, i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func runParallel(b *testing.B, trip roundTrip) {
	e := benchEnv(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := benchDial(b, e)
		if c == nil {
			return
		}
		defer c.Close()
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			if err := trip(ctx, c, i); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkCeilingAck(b *testing.B)          { runSequential(b, ackTrip) }
func BenchmarkCeilingEmit(b *testing.B)         { runSequential(b, emitTrip) }
func BenchmarkAPIRequest(b *testing.B)          { runSequential(b, apiTrip) }
func BenchmarkCeilingAckParallel(b *testing.B)  { runParallel(b, ackTrip) }
func BenchmarkCeilingEmitParallel(b *testing.B) { runParallel(b, emitTrip) }
func BenchmarkAPIRequestParallel(b *testing.B)  { runParallel(b, apiTrip) }
