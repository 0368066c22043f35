package luckystack

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/luckystack/luckystack-go/events"
)

// ErrSessionLimit refuses a new session of a user who already holds
// SessionConfig.MaxPerUser sessions when RevokeOld is off.
var ErrSessionLimit = errors.New("luckystack: the user has the maximum number of sessions")

// Session hooks (spec section 8.2). Pre-hooks can refuse with a *Stop,
// which the session API returns as its error.
var (
	// PreSessionCreate runs before a new session is stored; it sees the
	// token the session will get.
	PreSessionCreate = NewHook[SessionCreateEvent]("preSessionCreate")
	// SessionCreated reports a stored new session (before PostSessionCreate).
	SessionCreated = NewHook[SessionCreateEvent]("sessionCreated")
	// PostSessionCreate reports a stored new session, after the user's
	// other sessions were revoked as SessionConfig.PerUser says.
	PostSessionCreate = NewHook[SessionCreateEvent]("postSessionCreate")
	// SessionRevoked reports a session ended because a newer one replaced
	// it (PerUserSingle) or pushed it over MaxPerUser (RevokeOld).
	SessionRevoked = NewHook[SessionRevokedEvent]("sessionRevoked")
	// PreSessionDelete runs before DeleteSession removes a session.
	PreSessionDelete = NewHook[SessionDeleteEvent]("preSessionDelete")
	// PostSessionDelete reports a deleted session.
	PostSessionDelete = NewHook[SessionDeleteEvent]("postSessionDelete")
	// PreSessionRefresh runs on every session read with a found session;
	// a stop skips sliding its expiry (the read still succeeds).
	PreSessionRefresh = NewHook[SessionRefreshEvent]("preSessionRefresh")
	// PostSessionRefresh reports each refresh, applied or skipped.
	PostSessionRefresh = NewHook[SessionRefreshEvent]("postSessionRefresh")
)

// SessionCreateEvent is the payload of the session-creation hooks.
type SessionCreateEvent struct {
	Token   string
	UserID  string
	Session *Session
}

// SessionRevokedEvent is the payload of [SessionRevoked].
type SessionRevokedEvent struct {
	Token  string
	UserID string
	// Reason is RevokeReplaced or RevokeLimit.
	Reason string
	// By is the token of the session whose creation revoked this one.
	By string
}

// The reasons of [SessionRevokedEvent].
const (
	RevokeReplaced = "session-replaced"
	RevokeLimit    = "session-limit"
)

// SessionDeleteEvent is the payload of the session-deletion hooks.
type SessionDeleteEvent struct {
	Token  string
	UserID string
}

// SessionRefreshEvent is the payload of the session-refresh hooks.
type SessionRefreshEvent struct {
	Token  string
	UserID string
	// OldTTL is the lifetime left before the refresh (zero when the
	// refresh was skipped or the session vanished meanwhile).
	OldTTL time.Duration
	// NewTTL is the lifetime after it (zero when not applied).
	NewTTL time.Duration
	// Applied is false when a preSessionRefresh handler stopped it.
	Applied bool
}

// CreateSession stores a new session for the host's own login flow and
// returns its token. A CSRF token is minted when sess has none and
// LastLogin is stamped when empty (it orders a user's sessions for
// RevokeOld). Then SessionConfig.PerUser applies: in single mode every other
// session of the user is revoked; in multiple mode with MaxPerUser the
// oldest are revoked (RevokeOld) or the new one is refused with
// ErrSessionLimit. Revoked sessions' sockets on every instance get
// sessionReplaced (unless NotifyOldDeviceOnRevoke is false), then logout,
// and are disconnected.
func (s *Server) CreateSession(ctx context.Context, sess *Session) (string, error) {
	if sess == nil || sess.ID == "" {
		return "", errors.New("luckystack: session needs an id")
	}
	c := sess.Clone()
	c.Token = ""
	if c.CSRFToken == "" {
		c.CSRFToken = NewToken()
	}
	if c.LastLogin == "" {
		c.LastLogin = time.Now().UTC().Format(time.RFC3339Nano)
	}
	token := NewToken()
	ev := &SessionCreateEvent{Token: token, UserID: c.ID, Session: c}
	if stop := DispatchHook(ctx, s, PreSessionCreate, ev); stop != nil {
		return "", stop
	}
	// Two logins of one user on this instance must not revoke each other.
	unlock := s.userLocks.lock(c.ID)
	defer unlock()
	victims, reason, err := s.sessionsToRevoke(ctx, c.ID)
	if err != nil {
		return "", err
	}
	if err := s.sessions.Set(ctx, token, c); err != nil {
		return "", err
	}
	for _, v := range victims {
		if err := s.revokeSession(ctx, v, c.ID, reason, token); err != nil {
			s.log.Warn("luckystack: revoke session", "userId", c.ID, "err", err)
		}
	}
	ev.Session = c.Clone()
	ev.Session.Token = token
	DispatchHook(ctx, s, SessionCreated, ev)
	DispatchHook(ctx, s, PostSessionCreate, ev)
	return token, nil
}

// sessionsToRevoke applies SessionConfig.PerUser to a user about to get
// one more session.
func (s *Server) sessionsToRevoke(ctx context.Context, userID string) ([]string, string, error) {
	cfg := s.cfg.Session
	if cfg.PerUser == PerUserMultiple && cfg.MaxPerUser == 0 {
		return nil, "", nil
	}
	tokens, err := s.sessions.Tokens(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	if cfg.PerUser != PerUserMultiple {
		return tokens, RevokeReplaced, nil
	}
	over := len(tokens) - cfg.MaxPerUser + 1
	if over <= 0 {
		return nil, "", nil
	}
	if !cfg.RevokeOld {
		return nil, "", ErrSessionLimit
	}
	return s.oldestSessions(ctx, tokens, over), RevokeLimit, nil
}

// oldestSessions picks the n sessions with the earliest LastLogin; a session
// without a readable one counts as oldest, ties go by token for a stable
// choice across instances.
func (s *Server) oldestSessions(ctx context.Context, tokens []string, n int) []string {
	type aged struct {
		token string
		at    time.Time
	}
	all := make([]aged, 0, len(tokens))
	for _, t := range tokens {
		a := aged{token: t}
		if sess, err := s.sessions.Peek(ctx, t); err == nil && sess != nil {
			a.at, _ = time.Parse(time.RFC3339Nano, sess.LastLogin)
		}
		all = append(all, a)
	}
	slices.SortFunc(all, func(x, y aged) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.token, y.token)
	})
	out := make([]string, 0, n)
	for _, a := range all[:min(n, len(all))] {
		out = append(out, a.token)
	}
	return out
}

// revokeSession ends a session that a newer one displaced. The notices go
// through the adapter, so the session's sockets on every instance hear them
// (the original only reached local ones, spec 14 item 12).
func (s *Server) revokeSession(ctx context.Context, token, userID, reason, by string) error {
	room := SessionRoom(token)
	if *s.cfg.Session.NotifyOldDeviceOnRevoke {
		payload, err := events.JSONString(events.SessionReplaced{Reason: events.ReasonSessionReplaced, UserID: userID})
		if err == nil {
			_ = s.io.To(room).Emit(string(events.NameSessionReplaced), payload)
		}
	}
	if err := s.sessions.Delete(ctx, token); err != nil {
		return err
	}
	err := s.LogoutSockets(ctx, token)
	DispatchHook(ctx, s, SessionRevoked, &SessionRevokedEvent{Token: token, UserID: userID, Reason: reason, By: by})
	return err
}

// GetSession reads a session (nil, nil when absent) and slides its expiry.
// With session-refresh hooks registered it reads first and refreshes after
// preSessionRefresh, which may veto the refresh; without them the read and
// the refresh are one store call.
func (s *Server) GetSession(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, nil
	}
	if HookCount(s, PreSessionRefresh) == 0 && HookCount(s, PostSessionRefresh) == 0 {
		return s.sessions.Get(ctx, token)
	}
	sess, err := s.sessions.Peek(ctx, token)
	if err != nil || sess == nil {
		return sess, err
	}
	ev := &SessionRefreshEvent{Token: token, UserID: sess.ID}
	if stop := DispatchHook(ctx, s, PreSessionRefresh, ev); stop == nil {
		ttl, err := s.sessions.Refresh(ctx, token, sess.ID)
		if err != nil {
			return nil, err
		}
		ev.OldTTL, ev.NewTTL, ev.Applied = ttl.Old, ttl.New, ttl.Old > 0
	}
	DispatchHook(ctx, s, PostSessionRefresh, ev)
	return sess, nil
}

// UpdateSession changes a session atomically and pushes updateSession (the
// session as a JSON string, without its token) to every socket of that
// session on every instance.
func (s *Server) UpdateSession(ctx context.Context, token string, fn func(*Session) error) (*Session, error) {
	next, err := s.sessions.Update(ctx, token, fn)
	if err != nil {
		return nil, err
	}
	s.pushSession(token, next)
	return next, nil
}

// SetSession replaces a session and pushes updateSession like UpdateSession.
func (s *Server) SetSession(ctx context.Context, token string, sess *Session) error {
	if err := s.sessions.Set(ctx, token, sess); err != nil {
		return err
	}
	s.pushSession(token, sess)
	return nil
}

func (s *Server) pushSession(token string, sess *Session) {
	payload, err := events.JSONString(sess) // MarshalJSON never writes the token
	if err != nil {
		s.log.Warn("luckystack: encode session push", "err", err)
		return
	}
	_ = s.io.To(SessionRoom(token)).Emit(string(events.NameUpdateSession), payload)
}

// DeleteSession removes a session (unless a preSessionDelete handler
// refuses: the *Stop is returned), tells its sockets on every instance
// "logout" "success" and disconnects them.
func (s *Server) DeleteSession(ctx context.Context, token string) error {
	ev := &SessionDeleteEvent{Token: token}
	if sess, err := s.sessions.Peek(ctx, token); err == nil && sess != nil {
		ev.UserID = sess.ID
	}
	if stop := DispatchHook(ctx, s, PreSessionDelete, ev); stop != nil {
		return stop
	}
	if err := s.sessions.Delete(ctx, token); err != nil {
		return err
	}
	err := s.LogoutSockets(ctx, token)
	DispatchHook(ctx, s, PostSessionDelete, ev)
	return err
}

// LogoutSockets tells every socket of a session, on every instance, "logout"
// "success" and disconnects them. DeleteSession does it after deleting; a
// module that deletes the session itself and must answer its caller in
// between (the api's logout shortcut) calls it afterwards.
func (s *Server) LogoutSockets(ctx context.Context, token string) error {
	room := SessionRoom(token)
	_ = s.io.To(room).Emit(string(events.NameLogout), string(events.LogoutSuccess))
	return s.io.To(room).DisconnectSockets(ctx, false)
}
