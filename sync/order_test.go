package sync

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

// orderServer sleeps a pseudo-random 0-2 ms so that handlers finish out of
// order, and fails every 10th request (a failed predecessor must not hold
// its successors back).
func orderServer(_ context.Context, _ *Request, in Msg) (Msg, error) {
	time.Sleep(time.Duration(in.N*7919%3) * time.Millisecond)
	if in.N%10 == 9 {
		return Msg{}, api.NewError("chat.refused", 400)
	}
	return in, nil
}

// orderSend sends n requests back to back and checks every ack, then that
// each recipient got the successful ones' frames in send order.
func orderSend(t *testing.T, sender *sioclient.Client, recipients []*sioclient.Client, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, sender.Emit("sync", syncMsg("sync/chat/message/v1", Msg{Text: strconv.Itoa(i), N: i}, "r", i+1)))
	}
	for i := range n {
		ack := expect(t, sender, "sync-"+strconv.Itoa(i+1))
		if i%10 == 9 {
			assert.Equal(t, "chat.refused", ack.Code(), i)
		} else {
			assert.Equal(t, "success", ack["status"], i)
		}
	}
	for ri, c := range recipients {
		for i := range n {
			if i%10 == 9 {
				continue
			}
			f := expect(t, c, "sync")
			require.Equal(t, strconv.Itoa(i), f.Obj("serverOutput")["text"], "recipient %d: frame out of order", ri)
		}
	}
}

// TestSyncOrderPerSender: one client's requests, handled in parallel with
// random delays, reach every recipient in the order they were sent, on the
// broadcast path and on the per-recipient (client handler) path.
func TestSyncOrderPerSender(t *testing.T) {
	const n = 200
	opts := noLimits()
	opts.MaxInFlight = n
	t.Run("broadcast", func(t *testing.T) {
		e := newEnv(t, opts, func(m *Module) {
			mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{Server: orderServer})
		})
		a, _ := e.member("a", "r")
		b, _ := e.member("b", "r")
		c, _ := e.member("c", "r")
		orderSend(t, a, []*sioclient.Client{a, b, c}, n)
	})
	t.Run("client handler", func(t *testing.T) {
		e := newEnv(t, opts, func(m *Module) {
			mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{
				Server: orderServer,
				Client: func(_ context.Context, rc *Recipient, in, _ Msg) (any, error) {
					// Recipients' handlers also finish out of order.
					time.Sleep(time.Duration((in.N+len(rc.UserID))%2) * time.Millisecond)
					return nil, nil
				},
			})
		})
		a, _ := e.member("a", "r")
		b, _ := e.member("bb", "r")
		orderSend(t, a, []*sioclient.Client{a, b}, n)
	})
}

// TestSyncOrderCancelledPredecessor: a request cancelled while its handler
// runs passes its turn, so the next one is delivered without waiting.
func TestSyncOrderCancelledPredecessor(t *testing.T) {
	started := make(chan struct{}, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/slow/v1", Route[Msg, Msg]{Server: func(ctx context.Context, _ *Request, in Msg) (Msg, error) {
			started <- struct{}{}
			<-ctx.Done()
			return in, ctx.Err()
		}})
		mustRegister(t, m, "chat/message/v1", echoRoute())
	})
	a, _ := e.member("a", "r")
	b, _ := e.member("b", "r")
	require.NoError(t, a.Emit("sync", syncMsg("sync/chat/slow/v1", Msg{Text: "slow"}, "r", 1)))
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("slow handler did not start")
	}
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "fast"}, "r", 2))["status"])
	e.mark(b)
	assert.Zero(t, count(b, "sync"), "the successor waits for its running predecessor")
	require.NoError(t, a.Emit("syncCancel", map[string]any{"cb": "chat/slow/v1"}))
	f := expect(t, b, "sync")
	assert.Equal(t, "fast", f.Obj("serverOutput")["text"])
	e.mark(a, b)
	assert.Zero(t, count(a, "sync-1"), "a request cancelled before its ack gets none")
}

// fetchCounter is the memory adapter counting cluster-wide fetches.
type fetchCounter struct {
	*socketio.MemoryAdapter
	n *atomic.Int64
}

func (f fetchCounter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	f.n.Add(1)
	return f.MemoryAdapter.FetchSockets(ctx, opts)
}

// TestSyncNonMemberNoFetch: a sender outside the room (AllowNonMembers)
// on the broadcast path fetches no sockets when a local socket is in the
// room, and still gets sync.noReceiversFound for an empty room.
func TestSyncNonMemberNoFetch(t *testing.T) {
	var fetches atomic.Int64
	opts := noLimits()
	opts.AllowNonMembers = true
	e := newEnvWith(t, opts, envConfig{adapter: func(nsp *socketio.Namespace) socketio.Adapter {
		return fetchCounter{MemoryAdapter: socketio.NewMemoryAdapter(nsp), n: &fetches}
	}}, func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	outsider, _ := e.member("a", "elsewhere")
	b, _ := e.member("b", "r")
	for i := range 5 {
		assert.Equal(t, "success", send(t, outsider, syncMsg("sync/chat/message/v1", Msg{Text: strconv.Itoa(i)}, "r", i+1))["status"])
		assert.Equal(t, strconv.Itoa(i), expect(t, b, "sync").Obj("serverOutput")["text"])
	}
	assert.Zero(t, fetches.Load(), "no cluster-wide fetch on the broadcast path")
	assert.Equal(t, "sync.noReceiversFound", send(t, outsider, syncMsg("sync/chat/message/v1", Msg{Text: "hi"}, "empty", 9)).Code())
	assert.Equal(t, int64(1), fetches.Load(), "an empty local room is checked cluster-wide")
}
