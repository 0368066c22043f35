package api

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// hitScript counts a hit atomically: INCR, PEXPIRE on the window's first
// hit, PTTL. One round trip, and no window can be left without an expiry
// (a key that lost its TTL, e.g. after a crash between the calls of a
// non-atomic client, gets it back here).
var hitScript = redis.NewScript(`
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`)

// RedisStore is a [Store] in Redis, shared by every instance of a cluster.
// Buckets live under "<prefix>:rate-limit:<bucket>", the layout of the
// original, so Go and Node instances count together.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store using client, which the caller owns (the
// store never closes it). prefix should be the project name
// (Config.Session.ProjectName); empty means "luckystack".
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = "luckystack"
	}
	return &RedisStore{client: client, prefix: prefix}
}

// Key returns the Redis key of bucket.
func (r *RedisStore) Key(bucket string) string { return r.prefix + ":rate-limit:" + bucket }

// Hit implements [Store].
func (r *RedisStore) Hit(ctx context.Context, bucket string, window time.Duration) (int64, time.Duration, error) {
	ms := window.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	res, err := hitScript.Run(ctx, r.client, []string{r.Key(bucket)}, ms).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("api: rate-limit store: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("api: rate-limit store: unexpected reply %v", res)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}
