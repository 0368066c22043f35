package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUpdateConflict is returned by [RedisSessionStore.Update] when other
// writers changed the session on every attempt.
var ErrUpdateConflict = errors.New("luckystack: session update kept conflicting with other writers")

// RedisSessionOptions configures [NewRedisSessionStore].
type RedisSessionOptions struct {
	// ProjectName prefixes the keys: <ProjectName>-session:<token> and
	// <ProjectName>-activeUsers:<userId>. Zero means the server's
	// Config.Session.ProjectName once the store is passed in
	// Options.Sessions, else "luckystack".
	ProjectName string
	// TTL is the sliding lifetime of a session. Zero means the server's
	// Config.Session.ExpiryDays once the store is passed in
	// Options.Sessions, else 7 days. It is rounded down to whole seconds.
	TTL time.Duration
	// MaxUpdateAttempts bounds the optimistic retries of Update. Zero
	// means 64.
	MaxUpdateAttempts int
}

// RedisSessionStore keeps sessions in Redis with the layout of the original
// Node server, so Go and Node instances sharing a Redis share sessions:
//
//   - <P>-session:<token> is the session's JSON without its token, written
//     with SET ... EX ttl; every Get slides the expiry (EXPIRE);
//   - <P>-activeUsers:<userId> is the set of the user's tokens (SADD,
//     EXPIRE with the same ttl, SREM on delete).
//
// Update is an optimistic transaction (WATCH/MULTI/EXEC on the session key,
// retried on conflict), so concurrent updates on any number of instances
// never lose a write. Every key an operation touches in one command lives in
// one hash slot, so the store also works with a Redis Cluster client.
//
// The store uses the caller's client and never closes it.
type RedisSessionStore struct {
	client   redis.UniversalClient
	attempts int

	// settings is swapped once when the server applies its configuration.
	settings atomic.Pointer[redisSessionSettings]
	explicit RedisSessionOptions
}

type redisSessionSettings struct {
	prefix string
	ttl    time.Duration
}

var _ SessionStore = (*RedisSessionStore)(nil)

// NewRedisSessionStore returns a store on client. It does not contact
// Redis.
func NewRedisSessionStore(client redis.UniversalClient, opts RedisSessionOptions) *RedisSessionStore {
	if client == nil {
		panic("luckystack: NewRedisSessionStore with a nil client")
	}
	st := &RedisSessionStore{client: client, attempts: opts.MaxUpdateAttempts, explicit: opts}
	if st.attempts <= 0 {
		st.attempts = 64
	}
	set := &redisSessionSettings{prefix: opts.ProjectName, ttl: opts.TTL}
	if set.prefix == "" {
		set.prefix = "luckystack"
	}
	if set.ttl <= 0 {
		set.ttl = 7 * 24 * time.Hour
	}
	st.settings.Store(set)
	return st
}

// configureFromServer fills the options left zero from the server's
// configuration (called by NewServer before the store is used).
func (r *RedisSessionStore) configureFromServer(cfg Config) {
	set := *r.settings.Load()
	if r.explicit.ProjectName == "" {
		set.prefix = cfg.Session.ProjectName
	}
	if r.explicit.TTL <= 0 {
		set.ttl = cfg.SessionTTL()
	}
	r.settings.Store(&set)
}

// sessionConfigurer is implemented by stores whose zero options follow the
// server's configuration.
type sessionConfigurer interface{ configureFromServer(Config) }

func (r *RedisSessionStore) cfg() *redisSessionSettings { return r.settings.Load() }

// SessionKey returns the Redis key of a token's session.
func (r *RedisSessionStore) SessionKey(token string) string {
	return r.cfg().prefix + "-session:" + token
}

// ActiveUsersKey returns the Redis key of a user's token set.
func (r *RedisSessionStore) ActiveUsersKey(userID string) string {
	return r.cfg().prefix + "-activeUsers:" + userID
}

// TTL returns the sliding session lifetime.
func (r *RedisSessionStore) TTL() time.Duration { return r.cfg().ttl }

func (r *RedisSessionStore) ttl() time.Duration {
	// Redis EX takes whole seconds; never let a sub-second TTL become 0.
	t := r.cfg().ttl.Truncate(time.Second)
	if t < time.Second {
		t = time.Second
	}
	return t
}

func decodeStoredSession(raw []byte, token string) (*Session, error) {
	s := &Session{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("luckystack: decode session: %w", err)
	}
	s.Token = token
	return s, nil
}

// Get implements [SessionStore]: it reads the session and slides the expiry
// of the session and of the user's token set.
func (r *RedisSessionStore) Get(ctx context.Context, token string) (*Session, error) {
	key := r.SessionKey(token)
	ttl := r.ttl()
	var get *redis.StringCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Expire(ctx, key, ttl)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := decodeStoredSession(raw, token)
	if err != nil {
		return nil, err
	}
	if s.ID != "" {
		if err := r.client.Expire(ctx, r.ActiveUsersKey(s.ID), ttl).Err(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Peek implements [SessionStore]: a plain GET, no sliding.
func (r *RedisSessionStore) Peek(ctx context.Context, token string) (*Session, error) {
	raw, err := r.client.Get(ctx, r.SessionKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeStoredSession(raw, token)
}

// Refresh implements [SessionStore]: TTL then EXPIRE of the session and of
// the user's token set, in one pipeline.
func (r *RedisSessionStore) Refresh(ctx context.Context, token, userID string) (SessionTTL, error) {
	key := r.SessionKey(token)
	ttl := r.ttl()
	var before *redis.DurationCmd
	var applied *redis.BoolCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		before = p.PTTL(ctx, key)
		applied = p.Expire(ctx, key, ttl)
		if userID != "" {
			p.Expire(ctx, r.ActiveUsersKey(userID), ttl)
		}
		return nil
	})
	if err != nil {
		return SessionTTL{}, err
	}
	if !applied.Val() {
		return SessionTTL{}, nil
	}
	old := before.Val()
	if old < 0 { // -1: no expiry set; count it as the full lifetime
		old = ttl
	}
	return SessionTTL{Old: old, New: ttl}, nil
}

func encodeStoredSession(s *Session) ([]byte, error) {
	c := s.Clone()
	c.Token = ""
	return json.Marshal(c)
}

// Set implements [SessionStore].
func (r *RedisSessionStore) Set(ctx context.Context, token string, s *Session) error {
	if s == nil || s.ID == "" {
		return errors.New("luckystack: session needs an id")
	}
	b, err := encodeStoredSession(s)
	if err != nil {
		return err
	}
	key := r.SessionKey(token)
	old, err := r.client.Get(ctx, key).Bytes()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if err := r.client.Set(ctx, key, b, r.ttl()).Err(); err != nil {
		return err
	}
	var oldID string
	if old != nil {
		if prev, err := decodeStoredSession(old, token); err == nil {
			oldID = prev.ID
		}
	}
	return r.track(ctx, token, oldID, s.ID)
}

// track adds token to the user's set and, when the session changed owner,
// removes it from the previous owner's set.
func (r *RedisSessionStore) track(ctx context.Context, token, oldID, newID string) error {
	ttl := r.ttl()
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if oldID != "" && oldID != newID {
			p.SRem(ctx, r.ActiveUsersKey(oldID), token)
		}
		k := r.ActiveUsersKey(newID)
		p.SAdd(ctx, k, token)
		p.Expire(ctx, k, ttl)
		return nil
	})
	return err
}

// Update implements [SessionStore] with an optimistic transaction: the
// session key is WATCHed, fn runs on a copy, and the write only commits if no
// other writer touched the key meanwhile; otherwise it starts over. fn may
// therefore run more than once and must not have side effects beyond the
// session it is given.
func (r *RedisSessionStore) Update(ctx context.Context, token string, fn func(*Session) error) (*Session, error) {
	key := r.SessionKey(token)
	ttl := r.ttl()
	for attempt := 0; attempt < r.attempts; attempt++ {
		var next *Session
		var oldID string
		err := r.client.Watch(ctx, func(tx *redis.Tx) error {
			raw, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return ErrSessionNotFound
			}
			if err != nil {
				return err
			}
			cur, err := decodeStoredSession(raw, token)
			if err != nil {
				return err
			}
			oldID = cur.ID
			next = cur.Clone()
			if err := fn(next); err != nil {
				return err
			}
			if next.ID == "" {
				return errors.New("luckystack: session needs an id")
			}
			b, err := encodeStoredSession(next)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, b, ttl)
				return nil
			})
			return err
		}, key)
		switch {
		case err == nil:
			next.Token = token
			if err := r.track(ctx, token, oldID, next.ID); err != nil {
				return nil, err
			}
			return next.Clone(), nil
		case errors.Is(err, redis.TxFailedErr):
			// Another writer won; back off a little so that a crowd of
			// writers does not retry in lockstep.
			d := time.Duration(rand.IntN(1+min(attempt, 10))) * time.Millisecond
			if d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			continue
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", ErrUpdateConflict, r.attempts)
}

// Delete implements [SessionStore].
func (r *RedisSessionStore) Delete(ctx context.Context, token string) error {
	key := r.SessionKey(token)
	raw, err := r.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := r.client.Del(ctx, key).Err(); err != nil {
		return err
	}
	if s, err := decodeStoredSession(raw, token); err == nil && s.ID != "" {
		return r.client.SRem(ctx, r.ActiveUsersKey(s.ID), token).Err()
	}
	return nil
}

// Tokens implements [SessionStore]: the user's tokens whose session still
// exists, sorted.
func (r *RedisSessionStore) Tokens(ctx context.Context, userID string) ([]string, error) {
	members, err := r.client.SMembers(ctx, r.ActiveUsersKey(userID)).Result()
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return []string{}, nil
	}
	exists := make([]*redis.IntCmd, len(members))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range members {
			exists[i] = p.Exists(ctx, r.SessionKey(t))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(members))
	for i, t := range members {
		if exists[i].Val() > 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Clear deletes every session and token set of the project (the
// <P>-session:* and <P>-activeUsers:* keys), scanning instead of KEYS so a
// large Redis is not blocked. It is what POST /_test/reset uses.
func (r *RedisSessionStore) Clear(ctx context.Context) error {
	prefix := escapeGlob(r.cfg().prefix)
	patterns := []string{prefix + "-session:*", prefix + "-activeUsers:*"}
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		for _, pat := range patterns {
			var cursor uint64
			for {
				keys, next, err := c.Scan(ctx, cursor, pat, 500).Result()
				if err != nil {
					return err
				}
				if len(keys) > 0 {
					// One DEL per key: keys of a cluster live in different slots.
					if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
						for _, k := range keys {
							p.Del(ctx, k)
						}
						return nil
					}); err != nil {
						return err
					}
				}
				if cursor = next; cursor == 0 {
					break
				}
			}
		}
		return nil
	}
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, r.client)
}

// escapeGlob escapes the characters SCAN MATCH treats specially.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
