package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookLog records hook payloads in dispatch order.
type hookLog struct {
	mu  sync.Mutex
	got []string
}

func (h *hookLog) add(s string) {
	h.mu.Lock()
	h.got = append(h.got, s)
	h.mu.Unlock()
}

func (h *hookLog) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func TestCreateSessionSingleRevokesTheUsersOtherSessions(t *testing.T) {
	t.Parallel()
	for _, notify := range []bool{true, false} {
		t.Run(map[bool]string{true: "with sessionReplaced", false: "without sessionReplaced"}[notify], func(t *testing.T) {
			t.Parallel()
			srv, ts := newHTTPServer(t, Options{Config: Config{Session: SessionConfig{NotifyOldDeviceOnRevoke: ptr(notify)}}})
			ctx := wctx(t)
			var log hookLog
			RegisterHook(srv, SessionRevoked, func(_ context.Context, e *SessionRevokedEvent) error {
				log.add(e.UserID + " " + e.Reason + " " + e.Token + " by " + e.By)
				return nil
			})
			old, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)
			other, err := srv.CreateSession(ctx, &Session{ID: "v"})
			require.NoError(t, err)
			tab := dial(t, ts, cookieOpts(old))
			bystander := dial(t, ts, cookieOpts(other))

			fresh, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)

			if notify {
				var s string
				require.NoError(t, json.Unmarshal(expect(t, tab, "sessionReplaced"), &s), "the payload is a JSON string")
				assert.JSONEq(t, `{"reason":"session-replaced","userId":"u"}`, s)
			}
			assert.JSONEq(t, `"success"`, string(expect(t, tab, "logout")))
			reason, err := tab.WaitDisconnect(wctx(t))
			require.NoError(t, err)
			assert.Equal(t, "io server disconnect", reason)
			if !notify {
				assert.False(t, tab.Has("sessionReplaced"), "no notice when NotifyOldDeviceOnRevoke is off")
			}

			gone, err := srv.GetSession(ctx, old)
			require.NoError(t, err)
			assert.Nil(t, gone, "the old session is deleted")
			toks, err := srv.Sessions().Tokens(ctx, "u")
			require.NoError(t, err)
			assert.Equal(t, []string{fresh}, toks)
			assert.Equal(t, []string{"u session-replaced " + old + " by " + fresh}, log.list())

			roundTrip(t, bystander, 1)
			assert.False(t, bystander.Has("logout"), "another user's session is untouched")
			assert.False(t, bystander.Has("sessionReplaced"))
		})
	}
}

func TestCreateSessionMultipleWithCap(t *testing.T) {
	t.Parallel()
	ctx := wctx(t)
	t.Run("uncapped keeps every session", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple}}})
		for range 5 {
			_, err := srv.CreateSession(ctx, &Session{ID: "u"})
			require.NoError(t, err)
		}
		toks, err := srv.Sessions().Tokens(ctx, "u")
		require.NoError(t, err)
		assert.Len(t, toks, 5)
	})
	t.Run("reject new beyond the cap", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple, MaxPerUser: 2}}})
		a, err := srv.CreateSession(ctx, &Session{ID: "u"})
		require.NoError(t, err)
		b, err := srv.CreateSession(ctx, &Session{ID: "u"})
		require.NoError(t, err)
		_, err = srv.CreateSession(ctx, &Session{ID: "u"})
		assert.ErrorIs(t, err, ErrSessionLimit)
		toks, err := srv.Sessions().Tokens(ctx, "u")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{a, b}, toks, "nothing stored, nothing revoked")
		_, err = srv.CreateSession(ctx, &Session{ID: "other"})
		assert.NoError(t, err, "the cap is per user")
	})
	t.Run("revoke old evicts the earliest logins", func(t *testing.T) {
		t.Parallel()
		srv, ts := newHTTPServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple, MaxPerUser: 2, RevokeOld: true}}})
		var log hookLog
		RegisterHook(srv, SessionRevoked, func(_ context.Context, e *SessionRevokedEvent) error {
			log.add(e.Reason + " " + e.Token)
			return nil
		})
		// Created out of order: LastLogin, not creation order, decides.
		newer, err := srv.CreateSession(ctx, &Session{ID: "u", LastLogin: "2026-11-20T10:00:00Z"})
		require.NoError(t, err)
		oldest, err := srv.CreateSession(ctx, &Session{ID: "u", LastLogin: "2026-11-01T10:00:00Z"})
		require.NoError(t, err)
		tab := dial(t, ts, cookieOpts(oldest))
		keep := dial(t, ts, cookieOpts(newer))
		third, err := srv.CreateSession(ctx, &Session{ID: "u"})
		require.NoError(t, err)
		assert.JSONEq(t, `"success"`, string(expect(t, tab, "logout")))
		toks, err := srv.Sessions().Tokens(ctx, "u")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{newer, third}, toks)
		assert.Equal(t, []string{"session-limit " + oldest}, log.list())
		roundTrip(t, keep, 1)
		assert.False(t, keep.Has("logout"))
	})
}

func TestSessionCreateAndDeleteHooks(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Config: Config{Session: SessionConfig{PerUser: PerUserMultiple}}})
	ctx := wctx(t)
	var log hookLog
	RegisterHook(srv, PreSessionCreate, func(_ context.Context, e *SessionCreateEvent) error {
		log.add("pre " + e.UserID)
		if e.Token == "" || e.Session.CSRFToken == "" {
			return errors.New("the pre-hook sees the token and the minted CSRF token")
		}
		if e.UserID == "banned" {
			return StopWith("auth.forbidden", 403)
		}
		return nil
	})
	RegisterHook(srv, SessionCreated, func(_ context.Context, e *SessionCreateEvent) error {
		log.add("created " + e.UserID)
		return nil
	})
	RegisterHook(srv, PostSessionCreate, func(_ context.Context, e *SessionCreateEvent) error {
		log.add("post " + e.UserID + " " + e.Session.Token[:4])
		return nil
	})
	RegisterHook(srv, PreSessionDelete, func(_ context.Context, e *SessionDeleteEvent) error {
		log.add("preDelete " + e.UserID)
		if e.UserID == "sticky" {
			return StopWith("session.deleteBlocked", 409)
		}
		return nil
	})
	RegisterHook(srv, PostSessionDelete, func(_ context.Context, e *SessionDeleteEvent) error {
		log.add("postDelete " + e.UserID)
		return nil
	})

	_, err := srv.CreateSession(ctx, &Session{ID: "banned"})
	var stop *Stop
	require.ErrorAs(t, err, &stop)
	assert.Equal(t, "auth.forbidden", stop.ErrorCode)
	toks, _ := srv.Sessions().Tokens(ctx, "banned")
	assert.Empty(t, toks, "a refused session is not stored")

	tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
	require.NoError(t, err)
	sticky, err := srv.CreateSession(ctx, &Session{ID: "sticky"})
	require.NoError(t, err)
	require.NoError(t, srv.DeleteSession(ctx, tok))
	err = srv.DeleteSession(ctx, sticky)
	require.ErrorAs(t, err, &stop)
	assert.Equal(t, "session.deleteBlocked", stop.ErrorCode)
	still, err := srv.GetSession(ctx, sticky)
	require.NoError(t, err)
	assert.NotNil(t, still, "a refused delete keeps the session")

	assert.Equal(t, []string{
		"pre banned",
		"pre u", "created u", "post u " + tok[:4],
		"pre sticky", "created sticky", "post sticky " + sticky[:4],
		"preDelete u", "postDelete u",
		"preDelete sticky",
	}, log.list())
}

func TestSessionRefreshHooks(t *testing.T) {
	t.Parallel()
	store := NewMemorySessionStore(time.Hour)
	srv := newServer(t, Options{Sessions: store, Config: Config{Session: SessionConfig{PerUser: PerUserMultiple}}})
	ctx := wctx(t)
	frozen, err := srv.CreateSession(ctx, &Session{ID: "frozen"})
	require.NoError(t, err)
	live, err := srv.CreateSession(ctx, &Session{ID: "live"})
	require.NoError(t, err)

	var mu sync.Mutex
	var got []SessionRefreshEvent
	RegisterHook(srv, PreSessionRefresh, func(_ context.Context, e *SessionRefreshEvent) error {
		if e.UserID == "frozen" {
			return StopWith("session.frozen", 0)
		}
		return nil
	})
	RegisterHook(srv, PostSessionRefresh, func(_ context.Context, e *SessionRefreshEvent) error {
		mu.Lock()
		got = append(got, *e)
		mu.Unlock()
		return nil
	})

	// Age both sessions, then read them through the server.
	for _, tok := range []string{frozen, live} {
		store.mu.Lock()
		e := store.byTok[tok]
		e.expires = time.Now().Add(time.Minute)
		store.byTok[tok] = e
		store.mu.Unlock()
	}
	s1, err := srv.GetSession(ctx, frozen)
	require.NoError(t, err)
	require.NotNil(t, s1, "a vetoed refresh still reads the session")
	s2, err := srv.GetSession(ctx, live)
	require.NoError(t, err)
	require.NotNil(t, s2)
	none, err := srv.GetSession(ctx, "missing")
	require.NoError(t, err)
	assert.Nil(t, none)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2, "no refresh event for a missing session")
	assert.Equal(t, SessionRefreshEvent{Token: frozen, UserID: "frozen"}, got[0])
	assert.Equal(t, live, got[1].Token)
	assert.True(t, got[1].Applied)
	assert.InDelta(t, time.Minute, got[1].OldTTL, float64(10*time.Second))
	assert.Equal(t, time.Hour, got[1].NewTTL)

	store.mu.Lock()
	defer store.mu.Unlock()
	assert.Less(t, time.Until(store.byTok[frozen].expires), 2*time.Minute, "the vetoed session kept its expiry")
	assert.Greater(t, time.Until(store.byTok[live].expires), 59*time.Minute, "the other slid")
}

func TestBootstrapRefusesBadSessionPolicy(t *testing.T) {
	t.Parallel()
	_, err := NewServer(Options{Getenv: envMap(nil), Config: Config{Session: SessionConfig{PerUser: "some", MaxPerUser: -1}}})
	var be *BootstrapError
	require.ErrorAs(t, err, &be)
	assert.Contains(t, be.Error(), `session.perUser "some"`)
	assert.Contains(t, be.Error(), "session.maxPerUser -1")
}
