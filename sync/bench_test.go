package sync

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	stdsync "sync"
	"testing"
	"time"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// These benchmarks measure fan-out deliveries per second to one room over
// real sockets on loopback, clients included. Issue 4's target is the sync
// layer at >= 70% of the raw broadcast ceiling for a 1,000-member room:
//
//	SYNC_BENCH_MEMBERS=1000 go test -run '^$' -bench Fanout -benchtime 50x ./sync/
//
// BenchmarkFanoutCeiling is one room broadcast of a ready frame by the
// protocol server; BenchmarkFanoutBroadcast is a sync request of a route
// without a client handler (one broadcast); BenchmarkFanoutClientHandler
// runs a client handler per recipient. An iteration ends when every member
// read its frame. Compare the deliveries/s metric. Members default to 100.

func benchMembers() int {
	if n, err := strconv.Atoi(os.Getenv("SYNC_BENCH_MEMBERS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// benchRoom is a server with the two bench routes and members clients in
// room "bench"; the first member sends.
func benchRoom(b *testing.B) (*testEnv, []*sioclient.Client) {
	b.Helper()
	e := newEnv(b, Options{MaxInFlight: -1, FanoutConcurrency: 16, RateLimit: noLimits().RateLimit}, func(m *Module) {
		mustRegister(b, m, "bench/plain/v1", echoRoute())
		mustRegister(b, m, "bench/client/v1", Route[Msg, Msg]{Server: echoServer, Client: func(_ context.Context, rc *Recipient, _ Msg, _ Msg) (any, error) {
			return map[string]string{"to": rc.UserID}, nil
		}})
	})
	n := benchMembers()
	clients := make([]*sioclient.Client, n)
	for i := range clients {
		clients[i], _ = e.member("m"+strconv.Itoa(i), "bench")
	}
	return e, clients
}

// waitAll waits until every client read one "sync" frame.
func waitAll(b *testing.B, clients []*sioclient.Client) {
	var wg stdsync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range clients {
		wg.Go(func() {
			if _, err := c.Expect(ctx, "sync"); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

func runFanout(b *testing.B, clients []*sioclient.Client, once func(i int)) {
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		once(i)
		waitAll(b, clients)
	}
	b.ReportMetric(float64(b.N*len(clients))/time.Since(start).Seconds(), "deliveries/s")
}

func BenchmarkFanoutCeiling(b *testing.B) {
	e, clients := benchRoom(b)
	frame, _ := json.Marshal(map[string]any{"cb": "bench/plain/v1", "fullName": "sync/bench/plain/v1", "serverOutput": Msg{Text: "x"}, "clientOutput": map[string]any{}, "message": "m", "status": "success"})
	nsp := e.srv.IO().Sockets()
	runFanout(b, clients, func(int) {
		if err := nsp.To("bench").Emit("sync", json.RawMessage(frame)); err != nil {
			b.Fatal(err)
		}
	})
}

func benchSync(b *testing.B, route string) {
	_, clients := benchRoom(b)
	sender := clients[0]
	runFanout(b, clients, func(i int) {
		idx := i + 1
		if err := sender.Emit("sync", syncMsg(route, Msg{Text: "x"}, "bench", idx)); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range []string{"sync-progress-", "sync-"} {
			if _, err := sender.Expect(ctx, name+strconv.Itoa(idx)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFanoutBroadcast(b *testing.B) { benchSync(b, "sync/bench/plain/v1") }

func BenchmarkFanoutClientHandler(b *testing.B) { benchSync(b, "sync/bench/client/v1") }
