package presence

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
)

// storeSuite is the behaviour every Store shares.
func storeSuite(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	g1 := Grace{ID: "g1", Reason: "transport close", Deadline: now.Add(time.Minute)}
	g2 := Grace{ID: "g2", Reason: "transport error", TabSwitch: true, Deadline: now.Add(time.Minute)}

	ok, err := s.Arm(ctx, "t", g1)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Arm(ctx, "t", g2)
	require.NoError(t, err)
	assert.False(t, ok, "one window per session: the first wins")

	ok, err = s.Finish(ctx, "t", "g2")
	require.NoError(t, err)
	assert.False(t, ok, "only the owner's id finishes it")

	got, ok, err := s.Take(ctx, "t")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, g1.ID, got.ID)
	assert.Equal(t, g1.Reason, got.Reason)
	assert.True(t, g1.Deadline.Equal(got.Deadline))

	_, ok, err = s.Take(ctx, "t")
	require.NoError(t, err)
	assert.False(t, ok, "taken once")
	ok, err = s.Finish(ctx, "t", "g1")
	require.NoError(t, err)
	assert.False(t, ok, "a taken window cannot be finished")

	ok, err = s.Arm(ctx, "t", g2)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Finish(ctx, "t", "g2")
	require.NoError(t, err)
	assert.True(t, ok)
	_, ok, err = s.Take(ctx, "t")
	require.NoError(t, err)
	assert.False(t, ok)

	last, err := s.LastActive(ctx, "t")
	require.NoError(t, err)
	assert.True(t, last.IsZero())
	at := time.UnixMilli(now.UnixMilli())
	require.NoError(t, s.Touch(ctx, "t", at, time.Minute))
	last, err = s.LastActive(ctx, "t")
	require.NoError(t, err)
	assert.True(t, at.Equal(last), "%v != %v", at, last)
}

func TestMemoryStore(t *testing.T) {
	storeSuite(t, NewMemoryStore())
}

func TestMemoryStoreExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := NewMemoryStore()
		_, _ = s.Arm(ctx, "t", Grace{ID: "g", Deadline: time.Now().Add(time.Second)})
		require.NoError(t, s.Touch(ctx, "t", time.Now(), time.Minute))
		time.Sleep(time.Second + leaseMargin + time.Millisecond)
		_, ok, _ := s.Take(ctx, "t")
		assert.False(t, ok, "an orphaned window disappears")
		ok, _ = s.Arm(ctx, "t", Grace{ID: "g2", Deadline: time.Now().Add(time.Second)})
		assert.True(t, ok)
		time.Sleep(time.Minute)
		last, _ := s.LastActive(ctx, "t")
		assert.True(t, last.IsZero())
		// Pruning keeps the activity map bounded.
		for i := range 3000 {
			_ = s.Touch(ctx, string(rune('a'+i%26))+time.Duration(i).String(), time.Now(), time.Second)
			if i%1000 == 999 {
				time.Sleep(2 * time.Second)
			}
		}
		s.mu.Lock()
		assert.LessOrEqual(t, len(s.active), 2048)
		s.mu.Unlock()
	})
}

func TestRedisStore(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	s := NewRedisStore(client, RedisStoreOptions{KeyPrefix: "test-presence"})
	storeSuite(t, s)

	ctx := context.Background()
	_, err := s.Arm(ctx, "x", Grace{ID: "g", Deadline: time.Now().Add(time.Second)})
	require.NoError(t, err)
	ttl, err := client.PTTL(ctx, "test-presence-grace:x").Result()
	require.NoError(t, err)
	assert.InDelta(t, (time.Second + leaseMargin).Seconds(), ttl.Seconds(), 1, "the window record expires by itself")
	require.NoError(t, s.Touch(ctx, "x", time.Now(), 2*time.Minute))
	ttl, err = client.PTTL(ctx, "test-presence-active:x").Result()
	require.NoError(t, err)
	assert.InDelta(t, 120, ttl.Seconds(), 1)
}
