package presence

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStoreOptions configures [NewRedisStore].
type RedisStoreOptions struct {
	// KeyPrefix starts every key. Zero means "luckystack-presence".
	KeyPrefix string
}

// RedisStore is the cluster [Store]: one key per pending window
// (<prefix>-grace:<token>) and per active session
// (<prefix>-active:<token>), both expiring by themselves. Every operation
// is one round trip and atomic on the Redis side.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store on client. The caller owns the client.
func NewRedisStore(client redis.UniversalClient, opts RedisStoreOptions) *RedisStore {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "luckystack-presence"
	}
	return &RedisStore{client: client, prefix: opts.KeyPrefix}
}

func (r *RedisStore) graceKey(token string) string  { return r.prefix + "-grace:" + token }
func (r *RedisStore) activeKey(token string) string { return r.prefix + "-active:" + token }

// Arm implements [Store] with SET NX PX.
func (r *RedisStore) Arm(ctx context.Context, token string, g Grace) (bool, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return false, err
	}
	ttl := time.Until(g.Deadline) + leaseMargin
	if ttl < leaseMargin {
		ttl = leaseMargin
	}
	err = r.client.SetArgs(ctx, r.graceKey(token), b, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

// Take implements [Store] with GETDEL.
func (r *RedisStore) Take(ctx context.Context, token string) (Grace, bool, error) {
	b, err := r.client.GetDel(ctx, r.graceKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Grace{}, false, nil
	}
	if err != nil {
		return Grace{}, false, err
	}
	var g Grace
	if err := json.Unmarshal(b, &g); err != nil {
		return Grace{}, false, err
	}
	return g, true, nil
}

// finishScript deletes the grace record only while it is still the caller's.
var finishScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).id == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`)

// Finish implements [Store] with a compare-and-delete script.
func (r *RedisStore) Finish(ctx context.Context, token, id string) (bool, error) {
	n, err := finishScript.Run(ctx, r.client, []string{r.graceKey(token)}, id).Int()
	return n == 1, err
}

// Touch implements [Store].
func (r *RedisStore) Touch(ctx context.Context, token string, t time.Time, ttl time.Duration) error {
	return r.client.Set(ctx, r.activeKey(token), t.UnixMilli(), ttl).Err()
}

// LastActive implements [Store].
func (r *RedisStore) LastActive(ctx context.Context, token string) (time.Time, error) {
	s, err := r.client.Get(ctx, r.activeKey(token)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
