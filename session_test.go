package luckystack

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestCreateSession(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple}}})
	ctx := wctx(t)
	seen := map[string]bool{}
	for range 20 {
		tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
		require.NoError(t, err)
		assert.Regexp(t, hex64, tok)
		assert.False(t, seen[tok], "tokens are unique")
		seen[tok] = true
	}
	assert.Regexp(t, hex64, NewToken())

	in := &Session{ID: "u2", CSRFToken: "mine", Name: "N"}
	tok, err := srv.CreateSession(ctx, in)
	require.NoError(t, err)
	got, err := srv.GetSession(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, "mine", got.CSRFToken, "an existing CSRF token is kept")
	assert.Equal(t, tok, got.Token)
	assert.Empty(t, in.Token, "the caller's session is not modified")

	_, err = srv.CreateSession(ctx, &Session{})
	assert.Error(t, err)
	_, err = srv.CreateSession(ctx, nil)
	assert.Error(t, err)
	none, err := srv.GetSession(ctx, "")
	assert.NoError(t, err)
	assert.Nil(t, none)

	toks, err := srv.Sessions().Tokens(ctx, "u")
	require.NoError(t, err)
	assert.Len(t, toks, 20)
	assert.True(t, slices.IsSorted(toks))
}

func TestSessionJSON(t *testing.T) {
	t.Parallel()
	s := Session{ID: "u", Token: "secret", Name: "Ann", Admin: true, RoomCodes: []string{"a"},
		Extra: map[string]json.RawMessage{"plan": json.RawMessage(`"pro"`), "id": json.RawMessage(`"spoof"`), "token": json.RawMessage(`"t"`)}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"u","name":"Ann","admin":true,"roomCodes":["a"],"plan":"pro"}`, string(b),
		"Extra flattens, never overrides a known field, and the token is never written")

	var back Session
	back.Token = "kept"
	require.NoError(t, json.Unmarshal([]byte(`{"id":"u","token":"x","name":"Ann","plan":"pro","roomCodes":["a"]}`), &back))
	assert.Equal(t, "kept", back.Token)
	assert.Equal(t, map[string]json.RawMessage{"plan": json.RawMessage(`"pro"`)}, back.Extra)

	c := back.Clone()
	c.RoomCodes[0] = "changed"
	c.Extra["plan"] = nil
	assert.Equal(t, "a", back.RoomCodes[0], "Clone is deep")
	assert.JSONEq(t, `"pro"`, string(back.Extra["plan"]))
}

func TestMemorySessionStoreSlidingExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := NewMemorySessionStore(time.Hour)
		require.NoError(t, st.Set(ctx, "tok", &Session{ID: "u"}))
		time.Sleep(50 * time.Minute)
		got, _ := st.Get(ctx, "tok")
		require.NotNil(t, got, "still alive")
		time.Sleep(50 * time.Minute)
		got, _ = st.Get(ctx, "tok")
		require.NotNil(t, got, "the previous read slid the expiry")
		toks, _ := st.Tokens(ctx, "u")
		assert.Equal(t, []string{"tok"}, toks)
		time.Sleep(61 * time.Minute)
		got, _ = st.Get(ctx, "tok")
		assert.Nil(t, got, "expired")
		toks, _ = st.Tokens(ctx, "u")
		assert.Empty(t, toks)
		_, err := st.Update(ctx, "tok", func(*Session) error { return nil })
		assert.ErrorIs(t, err, ErrSessionNotFound)
	})
}

func TestUpdateSessionIsAtomic(t *testing.T) {
	t.Parallel()
	for _, b := range append([]redisBackend{{"memory", nil}}, redisBackends...) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{}
			if b.new != nil {
				opts.Sessions = NewRedisSessionStore(b.new(t), RedisSessionOptions{})
			}
			srv := newServer(t, opts)
			ctx := wctx(t)
			tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)
			const n = 30
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := srv.UpdateSession(ctx, tok, func(s *Session) error {
						s.RoomCodes = append(s.RoomCodes, fmt.Sprint(i))
						return nil
					})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			got, err := srv.GetSession(ctx, tok)
			require.NoError(t, err)
			assert.Len(t, got.RoomCodes, n)
			_, err = srv.UpdateSession(ctx, "missing", func(*Session) error { return nil })
			assert.ErrorIs(t, err, ErrSessionNotFound)
		})
	}
}

func TestUpdateSessionPushesToEverySocketOfTheSession(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	ctx := wctx(t)
	tok, err := srv.CreateSession(ctx, &Session{ID: "u", Name: "Ann", CSRFToken: "c", LastLogin: "2026-11-26T00:00:00Z"})
	require.NoError(t, err)
	other, err := srv.CreateSession(ctx, &Session{ID: "v"})
	require.NoError(t, err)
	tab1 := dial(t, ts, cookieOpts(tok))
	tab2 := dial(t, ts, cookieOpts(tok))
	stranger := dial(t, ts, cookieOpts(other))

	next, err := srv.UpdateSession(ctx, tok, func(s *Session) error { s.Name = "Bea"; return nil })
	require.NoError(t, err)
	assert.Equal(t, tok, next.Token)
	assert.Equal(t, "Bea", next.Name)

	for _, c := range []*struct {
		name string
		raw  json.RawMessage
	}{{"tab1", expect(t, tab1, "updateSession")}, {"tab2", expect(t, tab2, "updateSession")}} {
		var s string
		require.NoError(t, json.Unmarshal(c.raw, &s), "%s: the payload is a JSON string", c.name)
		assert.JSONEq(t, `{"id":"u","name":"Bea","csrfToken":"c","lastLogin":"2026-11-26T00:00:00Z"}`, s, c.name)
		assert.NotContains(t, s, tok, "never the token")
	}
	roundTrip(t, stranger, 1)
	assert.False(t, stranger.Has("updateSession"), "other sessions hear nothing")

	require.NoError(t, srv.SetSession(ctx, tok, &Session{ID: "u", Name: "Cy"}))
	var s string
	require.NoError(t, json.Unmarshal(expect(t, tab1, "updateSession"), &s))
	assert.JSONEq(t, `{"id":"u","name":"Cy"}`, s)
}

func TestDeleteSession(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple}}})
	ctx := wctx(t)
	tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
	require.NoError(t, err)
	keep, err := srv.CreateSession(ctx, &Session{ID: "u"})
	require.NoError(t, err)
	tab1 := dial(t, ts, cookieOpts(tok))
	tab2 := dial(t, ts, cookieOpts(tok))
	survivor := dial(t, ts, cookieOpts(keep))

	var reasons []string
	var mu sync.Mutex
	RegisterHook(srv, OnSocketDisconnect, func(_ context.Context, e *SocketDisconnectEvent) error {
		mu.Lock()
		reasons = append(reasons, e.Reason)
		mu.Unlock()
		return nil
	})
	require.NoError(t, srv.DeleteSession(ctx, tok))
	for _, c := range []*sioclientClient{tab1, tab2} {
		assert.JSONEq(t, `"success"`, string(expect(t, c, "logout")))
		reason, err := c.WaitDisconnect(wctx(t))
		require.NoError(t, err)
		assert.Equal(t, "io server disconnect", reason)
	}
	got, _ := srv.GetSession(ctx, tok)
	assert.Nil(t, got)
	toks, _ := srv.Sessions().Tokens(ctx, "u")
	assert.Equal(t, []string{keep}, toks)

	roundTrip(t, survivor, 1)
	assert.False(t, survivor.Has("logout"))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reasons) == 2
	}, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	assert.Equal(t, []string{"server namespace disconnect", "server namespace disconnect"}, reasons)
	mu.Unlock()
}
