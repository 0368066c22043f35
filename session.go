package luckystack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// SessionTTL is what a refresh did to a session's lifetime.
type SessionTTL struct {
	// Old is the lifetime left before the refresh; zero when the session
	// was gone.
	Old time.Duration
	// New is the lifetime after it.
	New time.Duration
}

// ErrSessionNotFound is returned when a session does not exist (or expired).
var ErrSessionNotFound = errors.New("luckystack: session not found")

// Location is where a client's page is, as sent by updateLocation.
type Location struct {
	PathName     string            `json:"pathName"`
	SearchParams map[string]string `json:"searchParams,omitempty"`
}

// Session is a logged-in user's session. Fields the framework knows are
// typed; project fields live in Extra and travel flattened next to them, so
// the JSON is the original's layout and Node instances can share it.
type Session struct {
	ID        string    `json:"id"`
	Token     string    `json:"-"`
	Email     string    `json:"email,omitempty"`
	Name      string    `json:"name,omitempty"`
	Avatar    string    `json:"avatar,omitempty"`
	Admin     bool      `json:"admin,omitempty"`
	Language  string    `json:"language,omitempty"`
	Location  *Location `json:"location,omitempty"`
	RoomCodes []string  `json:"roomCodes,omitempty"`
	CSRFToken string    `json:"csrfToken,omitempty"`
	LastLogin string    `json:"lastLogin,omitempty"`
	// Extra holds project fields by JSON name.
	Extra map[string]json.RawMessage `json:"-"`
}

type sessionFields Session // without methods, for the default encoding

var knownSessionKeys = []string{"id", "email", "name", "avatar", "admin", "language", "location", "roomCodes", "csrfToken", "lastLogin", "token"}

// MarshalJSON writes the known fields and Extra as one object (never the token).
func (s Session) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(sessionFields(s))
	if err != nil || len(s.Extra) == 0 {
		return base, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	for k, v := range s.Extra {
		if _, known := m[k]; !known && !slices.Contains(knownSessionKeys, k) {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the known fields and keeps the rest in Extra.
func (s *Session) UnmarshalJSON(b []byte) error {
	var f sessionFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range knownSessionKeys {
		delete(m, k)
	}
	f.Extra = nil
	if len(m) > 0 {
		f.Extra = m
	}
	token := s.Token
	*s = Session(f)
	s.Token = token
	return nil
}

// Clone returns a deep copy, so stores never share state with callers.
func (s *Session) Clone() *Session {
	c := *s
	c.RoomCodes = slices.Clone(s.RoomCodes)
	if s.Location != nil {
		l := *s.Location
		l.SearchParams = maps.Clone(s.Location.SearchParams)
		c.Location = &l
	}
	c.Extra = maps.Clone(s.Extra)
	return &c
}

// SessionStore persists sessions. Implementations must be safe for
// concurrent use; Update must be atomic (also across instances for shared
// stores), because room joins of two tabs on two servers race on it.
type SessionStore interface {
	// Get returns the session of token and slides its expiry, or nil, nil.
	// It is the fast path of a read when no session-refresh hook is
	// registered (one round trip for shared stores).
	Get(ctx context.Context, token string) (*Session, error)
	// Peek returns the session of token without sliding its expiry, or
	// nil, nil; Refresh then slides it, so preSessionRefresh can veto.
	Peek(ctx context.Context, token string) (*Session, error)
	// Refresh slides the expiry of the session and of its user's token set
	// and reports the lifetime left before and after; Old is zero when the
	// session no longer exists (nothing is then refreshed).
	Refresh(ctx context.Context, token, userID string) (SessionTTL, error)
	// Set writes the session of token (creating it) and tracks the token
	// under the user's active tokens.
	Set(ctx context.Context, token string, s *Session) error
	// Update applies fn to the current session atomically and stores the
	// result; ErrSessionNotFound when there is none. fn may run more than
	// once (optimistic stores retry on conflict), so it must only change
	// the session it is given.
	Update(ctx context.Context, token string, fn func(*Session) error) (*Session, error)
	// Delete removes the session and untracks the token.
	Delete(ctx context.Context, token string) error
	// Tokens lists the active tokens of a user.
	Tokens(ctx context.Context, userID string) ([]string, error)
}

// NewToken returns a session token: 32 random bytes as 64 hex characters.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MemorySessionStore keeps sessions in process memory with sliding expiry.
type MemorySessionStore struct {
	ttl time.Duration

	mu     sync.Mutex // Protects following.
	byTok  map[string]memSession
	active map[string]map[string]struct{}
}

type memSession struct {
	s       *Session
	expires time.Time
}

var _ SessionStore = (*MemorySessionStore)(nil)

// NewMemorySessionStore returns an in-memory store; ttl zero means 7 days.
func NewMemorySessionStore(ttl time.Duration) *MemorySessionStore {
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	return &MemorySessionStore{ttl: ttl, byTok: make(map[string]memSession), active: make(map[string]map[string]struct{})}
}

func (m *MemorySessionStore) getLocked(token string) *Session {
	e, ok := m.byTok[token]
	if !ok {
		return nil
	}
	if time.Now().After(e.expires) {
		m.deleteLocked(token)
		return nil
	}
	e.expires = time.Now().Add(m.ttl)
	m.byTok[token] = e
	return e.s
}

// Get implements [SessionStore].
func (m *MemorySessionStore) Get(_ context.Context, token string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.getLocked(token)
	if s == nil {
		return nil, nil
	}
	c := s.Clone()
	c.Token = token
	return c, nil
}

// Peek implements [SessionStore].
func (m *MemorySessionStore) Peek(_ context.Context, token string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byTok[token]
	if !ok || time.Now().After(e.expires) {
		return nil, nil
	}
	c := e.s.Clone()
	c.Token = token
	return c, nil
}

// Refresh implements [SessionStore].
func (m *MemorySessionStore) Refresh(_ context.Context, token, _ string) (SessionTTL, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byTok[token]
	if !ok {
		return SessionTTL{}, nil
	}
	left := time.Until(e.expires)
	if left <= 0 {
		m.deleteLocked(token)
		return SessionTTL{}, nil
	}
	e.expires = time.Now().Add(m.ttl)
	m.byTok[token] = e
	return SessionTTL{Old: left, New: m.ttl}, nil
}

// Set implements [SessionStore].
func (m *MemorySessionStore) Set(_ context.Context, token string, s *Session) error {
	if s == nil || s.ID == "" {
		return errors.New("luckystack: session needs an id")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(token, s)
	return nil
}

func (m *MemorySessionStore) setLocked(token string, s *Session) {
	c := s.Clone()
	c.Token = ""
	if old, ok := m.byTok[token]; ok && old.s.ID != c.ID {
		m.untrackLocked(old.s.ID, token)
	}
	m.byTok[token] = memSession{s: c, expires: time.Now().Add(m.ttl)}
	set := m.active[c.ID]
	if set == nil {
		set = make(map[string]struct{})
		m.active[c.ID] = set
	}
	set[token] = struct{}{}
}

// Update implements [SessionStore].
func (m *MemorySessionStore) Update(_ context.Context, token string, fn func(*Session) error) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.getLocked(token)
	if cur == nil {
		return nil, ErrSessionNotFound
	}
	next := cur.Clone()
	next.Token = token
	if err := fn(next); err != nil {
		return nil, err
	}
	if next.ID == "" {
		return nil, errors.New("luckystack: session needs an id")
	}
	m.setLocked(token, next)
	return next.Clone(), nil
}

// Delete implements [SessionStore].
func (m *MemorySessionStore) Delete(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(token)
	return nil
}

func (m *MemorySessionStore) deleteLocked(token string) {
	if e, ok := m.byTok[token]; ok {
		m.untrackLocked(e.s.ID, token)
		delete(m.byTok, token)
	}
}

func (m *MemorySessionStore) untrackLocked(userID, token string) {
	if set := m.active[userID]; set != nil {
		delete(set, token)
		if len(set) == 0 {
			delete(m.active, userID)
		}
	}
}

// Tokens implements [SessionStore].
func (m *MemorySessionStore) Tokens(_ context.Context, userID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.active[userID]))
	for t := range m.active[userID] {
		if e, ok := m.byTok[t]; ok && time.Now().Before(e.expires) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Clear removes every session (used by /_test/reset).
func (m *MemorySessionStore) Clear(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.byTok)
	clear(m.active)
	return nil
}
