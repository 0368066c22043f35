package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
)

// redisBackend yields a fresh client on one Redis per test: miniredis, and a
// real redis-server when one is installed.
type redisBackend struct {
	name string
	new  func(t *testing.T) redis.UniversalClient
}

var redisBackends = []redisBackend{
	{"miniredis", func(t *testing.T) redis.UniversalClient {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}},
	{"redis-server", func(t *testing.T) redis.UniversalClient {
		addr := redistest.Start(t)
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}},
}

func forEachRedis(t *testing.T, fn func(t *testing.T, newClient func() redis.UniversalClient)) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			first := b.new(t)
			opts := first.(*redis.Client).Options()
			fn(t, func() redis.UniversalClient {
				// Another client on the same Redis: another instance.
				c := redis.NewClient(&redis.Options{Addr: opts.Addr})
				t.Cleanup(func() { _ = c.Close() })
				return c
			})
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func assertTTLNear(t *testing.T, c redis.UniversalClient, key string, want time.Duration) {
	t.Helper()
	got, err := c.TTL(context.Background(), key).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, got, want, "TTL of %s", key)
	assert.Greater(t, got, want-10*time.Second, "TTL of %s", key)
}

func TestRedisSessionStore(t *testing.T) {
	t.Parallel()
	forEachRedis(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		t.Run("layout", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "layout"})
			ctx := ctxT(t)
			sess := &Session{ID: "u1", Token: "ignored", Name: "Ann", RoomCodes: []string{"a", "b"},
				Extra: map[string]json.RawMessage{"plan": json.RawMessage(`"pro"`)}}
			require.NoError(t, st.Set(ctx, "tok1", sess))

			raw, err := c.Get(ctx, "layout-session:tok1").Result()
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &m))
			assert.Equal(t, map[string]any{"id": "u1", "name": "Ann", "roomCodes": []any{"a", "b"}, "plan": "pro"}, m)
			assertTTLNear(t, c, "layout-session:tok1", 7*24*time.Hour)

			members, err := c.SMembers(ctx, "layout-activeUsers:u1").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{"tok1"}, members)
			assertTTLNear(t, c, "layout-activeUsers:u1", 7*24*time.Hour)

			got, err := st.Get(ctx, "tok1")
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, "tok1", got.Token)
			assert.Equal(t, "Ann", got.Name)
			assert.Equal(t, []string{"a", "b"}, got.RoomCodes)
			assert.JSONEq(t, `"pro"`, string(got.Extra["plan"]))

			missing, err := st.Get(ctx, "nope")
			require.NoError(t, err)
			assert.Nil(t, missing)
		})

		t.Run("set refuses a session without id", func(t *testing.T) {
			t.Parallel()
			st := NewRedisSessionStore(newClient(), RedisSessionOptions{ProjectName: "noid"})
			assert.Error(t, st.Set(ctxT(t), "t", &Session{}))
			assert.Error(t, st.Set(ctxT(t), "t", nil))
		})

		t.Run("get slides the expiry of the session and the active set", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "slide", TTL: time.Hour})
			ctx := ctxT(t)
			require.NoError(t, st.Set(ctx, "tok", &Session{ID: "u"}))
			require.NoError(t, c.Expire(ctx, "slide-session:tok", 10*time.Second).Err())
			require.NoError(t, c.Expire(ctx, "slide-activeUsers:u", 10*time.Second).Err())
			got, err := st.Get(ctx, "tok")
			require.NoError(t, err)
			require.NotNil(t, got)
			assertTTLNear(t, c, "slide-session:tok", time.Hour)
			assertTTLNear(t, c, "slide-activeUsers:u", time.Hour)
		})

		t.Run("peek does not slide, refresh does and reports the lifetimes", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "peek", TTL: time.Hour})
			ctx := ctxT(t)
			require.NoError(t, st.Set(ctx, "tok", &Session{ID: "u", Name: "N"}))
			require.NoError(t, c.Expire(ctx, "peek-session:tok", 100*time.Second).Err())
			require.NoError(t, c.Expire(ctx, "peek-activeUsers:u", 100*time.Second).Err())
			got, err := st.Peek(ctx, "tok")
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, "N", got.Name)
			assert.Equal(t, "tok", got.Token)
			assertTTLNear(t, c, "peek-session:tok", 100*time.Second)

			ttl, err := st.Refresh(ctx, "tok", "u")
			require.NoError(t, err)
			assert.InDelta(t, 100*time.Second, ttl.Old, float64(5*time.Second))
			assert.Equal(t, time.Hour, ttl.New)
			assertTTLNear(t, c, "peek-session:tok", time.Hour)
			assertTTLNear(t, c, "peek-activeUsers:u", time.Hour)

			gone, err := st.Refresh(ctx, "missing", "u")
			require.NoError(t, err)
			assert.Zero(t, gone.Old, "a missing session is not refreshed")
			none, err := st.Peek(ctx, "missing")
			require.NoError(t, err)
			assert.Nil(t, none)
			n, err := c.Exists(ctx, "peek-session:missing").Result()
			require.NoError(t, err)
			assert.Zero(t, n, "refresh never creates a key")
		})

		t.Run("reads sessions written by the Node server", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "node"})
			ctx := ctxT(t)
			nodeJSON := `{"id":"u2","token":"stale","email":null,"avatarFallback":"AB","roomCodes":["r1"],"csrfToken":"c","language":"nl","location":{"pathName":"/x","searchParams":{"a":"1"}}}`
			require.NoError(t, c.Set(ctx, "node-session:tok2", nodeJSON, time.Hour).Err())
			got, err := st.Get(ctx, "tok2")
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, "tok2", got.Token)
			assert.Equal(t, "u2", got.ID)
			assert.Equal(t, []string{"r1"}, got.RoomCodes)
			assert.Equal(t, "c", got.CSRFToken)
			assert.Equal(t, &Location{PathName: "/x", SearchParams: map[string]string{"a": "1"}}, got.Location)
			assert.JSONEq(t, `"AB"`, string(got.Extra["avatarFallback"]))
			assert.NotContains(t, got.Extra, "token")

			// A write keeps the fields Go does not know and never stores a token.
			_, err = st.Update(ctx, "tok2", func(s *Session) error { s.RoomCodes = append(s.RoomCodes, "r2"); return nil })
			require.NoError(t, err)
			raw, err := c.Get(ctx, "node-session:tok2").Result()
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &m))
			assert.Equal(t, "AB", m["avatarFallback"])
			assert.Equal(t, []any{"r1", "r2"}, m["roomCodes"])
			assert.NotContains(t, m, "token")
		})

		t.Run("update is atomic across instances", func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			a := NewRedisSessionStore(newClient(), RedisSessionOptions{ProjectName: "atomic"})
			b := NewRedisSessionStore(newClient(), RedisSessionOptions{ProjectName: "atomic"})
			require.NoError(t, a.Set(ctx, "tok", &Session{ID: "u"}))
			const writers = 24
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i := range writers {
				st := a
				if i%2 == 1 {
					st = b
				}
				wg.Go(func() {
					_, err := st.Update(ctx, "tok", func(s *Session) error {
						s.RoomCodes = append(s.RoomCodes, fmt.Sprintf("r%02d", i))
						return nil
					})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			got, err := a.Get(ctx, "tok")
			require.NoError(t, err)
			codes := slices.Clone(got.RoomCodes)
			slices.Sort(codes)
			want := make([]string, writers)
			for i := range want {
				want[i] = fmt.Sprintf("r%02d", i)
			}
			assert.Equal(t, want, codes)
		})

		t.Run("update of a missing session and a failing fn write nothing", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "upd"})
			ctx := ctxT(t)
			_, err := st.Update(ctx, "missing", func(*Session) error { return nil })
			require.ErrorIs(t, err, ErrSessionNotFound)

			require.NoError(t, st.Set(ctx, "tok", &Session{ID: "u", Name: "before"}))
			boom := errors.New("boom")
			_, err = st.Update(ctx, "tok", func(s *Session) error { s.Name = "after"; return boom })
			require.ErrorIs(t, err, boom)
			_, err = st.Update(ctx, "tok", func(s *Session) error { s.ID = ""; return nil })
			require.Error(t, err)
			got, err := st.Get(ctx, "tok")
			require.NoError(t, err)
			assert.Equal(t, "before", got.Name)
			assert.Equal(t, "u", got.ID)
		})

		t.Run("a new owner moves the token between active sets", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "owner"})
			ctx := ctxT(t)
			require.NoError(t, st.Set(ctx, "tok", &Session{ID: "old"}))
			_, err := st.Update(ctx, "tok", func(s *Session) error { s.ID = "new"; return nil })
			require.NoError(t, err)
			oldToks, _ := st.Tokens(ctx, "old")
			newToks, _ := st.Tokens(ctx, "new")
			assert.Empty(t, oldToks)
			assert.Equal(t, []string{"tok"}, newToks)

			require.NoError(t, st.Set(ctx, "tok", &Session{ID: "third"}))
			newToks, _ = st.Tokens(ctx, "new")
			thirdToks, _ := st.Tokens(ctx, "third")
			assert.Empty(t, newToks)
			assert.Equal(t, []string{"tok"}, thirdToks)
		})

		t.Run("delete removes the session and untracks the token", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "del"})
			ctx := ctxT(t)
			require.NoError(t, st.Set(ctx, "t1", &Session{ID: "u"}))
			require.NoError(t, st.Set(ctx, "t2", &Session{ID: "u"}))
			require.NoError(t, st.Delete(ctx, "t1"))
			n, err := c.Exists(ctx, "del-session:t1").Result()
			require.NoError(t, err)
			assert.Zero(t, n)
			members, err := c.SMembers(ctx, "del-activeUsers:u").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{"t2"}, members)
			require.NoError(t, st.Delete(ctx, "t1"), "deleting twice is fine")
		})

		t.Run("tokens lists live sessions only", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "toks"})
			ctx := ctxT(t)
			for _, tok := range []string{"b", "a", "c"} {
				require.NoError(t, st.Set(ctx, tok, &Session{ID: "u"}))
			}
			require.NoError(t, c.Del(ctx, "toks-session:c").Err()) // expired behind our back
			got, err := st.Tokens(ctx, "u")
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b"}, got)
			none, err := st.Tokens(ctx, "nobody")
			require.NoError(t, err)
			assert.Empty(t, none)
		})

		t.Run("clear deletes only the project's session keys", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			ctx := ctxT(t)
			// A glob character in the name must not widen the match.
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "cl*"})
			for i := range 1200 { // more than one SCAN page
				require.NoError(t, st.Set(ctx, fmt.Sprintf("t%d", i), &Session{ID: fmt.Sprintf("u%d", i%7)}))
			}
			keep := []string{"clx-session:keep", "clx-activeUsers:keep", "cl*:rate-limit:ip", "clother-session:x"}
			for _, k := range keep {
				require.NoError(t, c.Set(ctx, k, "1", 0).Err())
			}
			require.NoError(t, st.Clear(ctx))
			keys, err := c.Keys(ctx, "cl*").Result() // other subtests share this Redis
			require.NoError(t, err)
			slices.Sort(keys)
			want := slices.Clone(keep)
			slices.Sort(want)
			assert.Equal(t, want, keys)
		})

		t.Run("server configuration fills zero options", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			ctx := ctxT(t)
			st := NewRedisSessionStore(c, RedisSessionOptions{})
			srv := newServer(t, Options{Sessions: st, Config: Config{Session: SessionConfig{ProjectName: "fromcfg", ExpiryDays: 2}}})
			tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)
			assertTTLNear(t, c, "fromcfg-session:"+tok, 48*time.Hour)
			assert.Equal(t, "fromcfg-session:"+tok, st.SessionKey(tok))

			explicit := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "mine", TTL: time.Hour})
			newServer(t, Options{Sessions: explicit, Config: Config{Session: SessionConfig{ProjectName: "fromcfg", ExpiryDays: 2}}})
			assert.Equal(t, "mine-activeUsers:u", explicit.ActiveUsersKey("u"))
			assert.Equal(t, time.Hour, explicit.TTL())

			// The server never closes the caller's client.
			require.NoError(t, srv.Shutdown(ctx))
			require.NoError(t, c.Ping(ctx).Err())
		})

		t.Run("test reset clears the redis sessions", func(t *testing.T) {
			t.Parallel()
			c := newClient()
			ctx := ctxT(t)
			st := NewRedisSessionStore(c, RedisSessionOptions{ProjectName: "reset"})
			srv, ts := newHTTPServer(t, Options{Sessions: st, Config: Config{TestMode: ptr(true)},
				Getenv: envMap(map[string]string{"TEST_RESET_TOKEN": "sekrit"})})
			tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)
			res := do(t, ts, "POST", "/_test/reset", hdr("X-Test-Reset-Token", "sekrit", "Origin", srv.origins.sameOrigin()), "")
			assert.Equal(t, 200, res.code, res.body)
			assert.JSONEq(t, `{"status":"success","cleared":["sessions"]}`, res.body)
			got, err := st.Get(ctx, tok)
			require.NoError(t, err)
			assert.Nil(t, got)
			keys, _ := c.Keys(ctx, "reset-*").Result()
			assert.Empty(t, keys)
		})
	})
}

func TestEscapeGlob(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `a\*b\?c\[d\]e\\f`, escapeGlob(`a*b?c[d]e\f`))
	assert.Equal(t, "plain", escapeGlob("plain"))
	assert.False(t, strings.Contains(escapeGlob("x"), `\`))
}
