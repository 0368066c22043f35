package api

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStoreWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := NewMemoryStore(0)
	s.now = func() time.Time { return now }
	l := NewLimiter(LimiterOptions{Store: s})
	ctx := context.Background()

	for i := 1; i <= 3; i++ {
		d := l.Allow(ctx, "b", 3, time.Minute)
		require.True(t, d.Allowed, "hit %d", i)
		assert.Equal(t, int64(i), d.Count)
	}
	now = now.Add(20500 * time.Millisecond)
	d := l.Allow(ctx, "b", 3, time.Minute)
	assert.False(t, d.Allowed)
	assert.Equal(t, int64(4), d.Count)
	assert.Equal(t, 40, d.RetryAfter(), "39.5s left rounds up")
	assert.True(t, l.Allow(ctx, "other", 3, time.Minute).Allowed, "buckets are independent")

	now = now.Add(40 * time.Second)
	d = l.Allow(ctx, "b", 3, time.Minute)
	assert.True(t, d.Allowed, "a new window starts at expiry")
	assert.Equal(t, int64(1), d.Count)

	assert.True(t, l.Allow(ctx, "b", 0, time.Minute).Allowed, "limit 0 allows")
}

func TestMemoryStoreCap(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := NewMemoryStore(32)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 32 {
		_, _, _ = s.Hit(ctx, "k"+strconv.Itoa(i), time.Second)
	}
	assert.Equal(t, 32, s.Len())
	_, _, _ = s.Hit(ctx, "new", time.Second)
	assert.LessOrEqual(t, s.Len(), 32, "never above the cap")
	assert.Equal(t, 31, s.Len(), "evicts down to 15/16 of the cap, then inserts")

	now = now.Add(2 * time.Second)
	_, _, _ = s.Hit(ctx, "later", time.Second)
	assert.Equal(t, 32, s.Len(), "room left: nothing swept")
	_, _, _ = s.Hit(ctx, "later2", time.Second)
	assert.Equal(t, 2, s.Len(), "when full, expired buckets go first")
	for i := range 40 {
		_, _, _ = s.Hit(ctx, "x"+strconv.Itoa(i), time.Second)
		require.LessOrEqual(t, s.Len(), 32)
	}
}

// failingStore fails every hit.
type failingStore struct{}

func (failingStore) Hit(context.Context, string, time.Duration) (int64, time.Duration, error) {
	return 0, 0, errors.New("store down")
}

func TestLimiterStoreErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLimiter(LimiterOptions{Store: failingStore{}})
	d := l.Allow(ctx, "b", 1, time.Minute)
	assert.True(t, d.Allowed, "falls back to memory")
	require.Error(t, d.StoreErr)
	assert.False(t, l.Allow(ctx, "b", 1, time.Minute).Allowed, "the fallback still limits")

	deny := NewLimiter(LimiterOptions{Store: failingStore{}, OnStoreError: DenyOnStoreError})
	d = deny.Allow(ctx, "b", 100, time.Minute)
	assert.False(t, d.Allowed)
	assert.Equal(t, 60, d.RetryAfter())
}

func TestRedisStore(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	store := NewRedisStore(client, "proj")
	l := NewLimiter(LimiterOptions{Store: store})
	ctx := context.Background()

	d := l.Allow(ctx, "ip:1.2.3.4:api:all", 2, 30*time.Second)
	require.NoError(t, d.StoreErr)
	assert.True(t, d.Allowed)
	assert.Equal(t, int64(1), d.Count)
	assert.Equal(t, 30*time.Second, d.ResetIn)
	key := "proj:rate-limit:ip:1.2.3.4:api:all"
	assert.Equal(t, key, store.Key("ip:1.2.3.4:api:all"))
	assert.Equal(t, "1", mustGet(t, mr, key))
	assert.Equal(t, 30*time.Second, mr.TTL(key))

	mr.FastForward(10 * time.Second)
	d = l.Allow(ctx, "ip:1.2.3.4:api:all", 2, 30*time.Second)
	assert.True(t, d.Allowed)
	assert.Equal(t, 20*time.Second, d.ResetIn, "the second hit keeps the window")
	d = l.Allow(ctx, "ip:1.2.3.4:api:all", 2, 30*time.Second)
	assert.False(t, d.Allowed)
	assert.Equal(t, int64(3), d.Count)
	assert.Equal(t, 20, d.RetryAfter())

	mr.FastForward(21 * time.Second)
	d = l.Allow(ctx, "ip:1.2.3.4:api:all", 2, 30*time.Second)
	assert.True(t, d.Allowed, "expired window starts over")
	assert.Equal(t, int64(1), d.Count)

	// A key without TTL (left by a crashed non-atomic writer) gets one.
	require.NoError(t, mr.Set("proj:rate-limit:stuck", "5"))
	d = l.Allow(ctx, "stuck", 10, time.Minute)
	assert.Equal(t, int64(6), d.Count)
	assert.Equal(t, time.Minute, mr.TTL("proj:rate-limit:stuck"))

	assert.Equal(t, "luckystack:rate-limit:x", NewRedisStore(client, "").Key("x"))
}

func TestRedisStoreFallback(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	mem := NewLimiter(LimiterOptions{Store: NewRedisStore(client, "p")})
	deny := NewLimiter(LimiterOptions{Store: NewRedisStore(client, "p"), OnStoreError: DenyOnStoreError})
	mr.SetError("LOADING")

	d := mem.Allow(ctx, "b", 1, time.Minute)
	require.Error(t, d.StoreErr)
	assert.True(t, d.Allowed)
	assert.False(t, mem.Allow(ctx, "b", 1, time.Minute).Allowed, "memory fallback counts")
	assert.False(t, deny.Allow(ctx, "b", 5, time.Minute).Allowed)

	mr.SetError("")
	d = deny.Allow(ctx, "b", 5, time.Minute)
	require.NoError(t, d.StoreErr)
	assert.True(t, d.Allowed)
}

func mustGet(t *testing.T, mr *miniredis.Miniredis, key string) string {
	t.Helper()
	v, err := mr.Get(key)
	require.NoError(t, err)
	return v
}
