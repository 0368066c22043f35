package sync

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/redisadapter"
)

// TestSyncClusterFanout: three instances share one Redis (adapter and
// sessions); a sync sent on the first reaches every member of the room on
// every instance exactly once, with the client handler run once per
// recipient on the sender's instance, and the one-broadcast path does the
// same.
func TestSyncClusterFanout(t *testing.T) {
	addr := redistest.Start(t)
	var clientRuns atomic.Int32
	envs := make([]*testEnv, 3)
	for i := range envs {
		rc := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rc.Close() })
		ra, err := redisadapter.New(rc, redisadapter.Options{RequestsTimeout: 3 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			assert.NoError(t, ra.Close(ctx))
		})
		envs[i] = newEnvWith(t, noLimits(), envConfig{
			adapter:  ra.For,
			sessions: luckystack.NewRedisSessionStore(rc, luckystack.RedisSessionOptions{}),
		}, func(m *Module) {
			mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{
				Server: echoServer,
				Client: func(_ context.Context, rc *Recipient, in Msg, _ Msg) (any, error) {
					clientRuns.Add(1)
					return map[string]string{"to": rc.UserID}, nil
				},
			})
			mustRegister(t, m, "chat/plain/v1", echoRoute())
		})
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		require.NoError(t, ra.Ready(ctx))
		cancel()
	}
	var clients []*sioclient.Client
	ids := map[*sioclient.Client]string{}
	for i, e := range envs {
		for j := range 2 {
			id := string(rune('a'+i)) + string(rune('0'+j))
			c, _ := e.member(id, "room")
			clients = append(clients, c)
			ids[c] = id
		}
	}
	outsider, _ := envs[2].member("z", "other")
	wait := envs[0].trackFanout()

	ack := send(t, clients[0], syncMsg("sync/chat/message/v1", Msg{Text: "cluster"}, "room", 1))
	require.Equal(t, "success", ack["status"])
	assert.Equal(t, 6, wait().RecipientCount)
	assert.EqualValues(t, 6, clientRuns.Load())
	for _, c := range clients {
		f := expect(t, c, "sync")
		assert.Equal(t, "cluster", f.Obj("serverOutput")["text"])
		assert.Equal(t, map[string]any{"to": ids[c]}, f["clientOutput"])
		assert.Equal(t, "sync/chat/message/v1", f["fullName"])
	}

	// No client handler and no recipient hook: one room broadcast, which
	// the adapter carries to the other instances.
	ack = send(t, clients[1], syncMsg("sync/chat/plain/v1", Msg{Text: "once"}, "room", 2))
	require.Equal(t, "success", ack["status"])
	assert.Equal(t, 6, wait().RecipientCount)
	for _, c := range clients {
		assert.Equal(t, "once", expect(t, c, "sync").Obj("serverOutput")["text"])
	}
	envs[0].mark(append(clients, outsider)...)
	for _, c := range clients {
		assert.Zero(t, count(c, "sync"), "exactly once: %s", ids[c])
	}
	assert.Zero(t, count(outsider, "sync"))
}
