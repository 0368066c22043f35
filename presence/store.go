package presence

import (
	"context"
	"sync"
	"time"
)

// Grace is a session's pending grace window: the lease the instance that
// saw the disconnect holds until the window ends or the session comes back.
type Grace struct {
	// ID identifies this window; only its owner can finish it.
	ID string `json:"id"`
	// Reason is the disconnect reason that opened it.
	Reason string `json:"reason"`
	// TabSwitch reports whether it followed an intentionalDisconnect.
	TabSwitch bool `json:"tabSwitch"`
	// Deadline is when the window ends.
	Deadline time.Time `json:"deadline"`
}

// leaseMargin keeps a grace record this long past its deadline, so its
// owner can still finish it when its timer runs a little late, and a record
// whose owner died still disappears.
const leaseMargin = 30 * time.Second

// Store keeps what the instances of a cluster share about presence: at
// most one pending grace window per session token, and each session's
// latest activity. Implementations must be safe for concurrent use and
// atomic per call, across instances for shared stores.
type Store interface {
	// Arm records g as token's pending window unless one is pending, and
	// reports whether g was recorded. The record disappears by itself
	// shortly after g.Deadline.
	Arm(ctx context.Context, token string, g Grace) (bool, error)
	// Take removes token's pending window and returns it: the session came
	// back (a warm reconnect).
	Take(ctx context.Context, token string) (Grace, bool, error)
	// Finish removes token's pending window if it is still the one called
	// id, and reports whether it was: the window expired and nobody took it.
	Finish(ctx context.Context, token, id string) (bool, error)
	// Touch records that a socket of token was active at t; the record
	// disappears after ttl.
	Touch(ctx context.Context, token string, t time.Time, ttl time.Duration) error
	// LastActive returns token's latest recorded activity (zero when none).
	LastActive(ctx context.Context, token string) (time.Time, error)
}

// MemoryStore is the in-process [Store]: enough for one instance, where it
// costs no network round trip.
type MemoryStore struct {
	now func() time.Time

	mu      sync.Mutex // Protects following.
	graces  map[string]Grace
	active  map[string]memActivity
	pruneAt int
}

type memActivity struct{ at, until time.Time }

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{now: time.Now, graces: map[string]Grace{}, active: map[string]memActivity{}, pruneAt: 1024}
}

func (m *MemoryStore) liveLocked(token string) (Grace, bool) {
	g, ok := m.graces[token]
	if ok && m.now().After(g.Deadline.Add(leaseMargin)) {
		delete(m.graces, token)
		return Grace{}, false
	}
	return g, ok
}

// Arm implements [Store].
func (m *MemoryStore) Arm(_ context.Context, token string, g Grace) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.liveLocked(token); ok {
		return false, nil
	}
	m.graces[token] = g
	return true, nil
}

// Take implements [Store].
func (m *MemoryStore) Take(_ context.Context, token string) (Grace, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.liveLocked(token)
	delete(m.graces, token)
	return g, ok, nil
}

// Finish implements [Store].
func (m *MemoryStore) Finish(_ context.Context, token, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.liveLocked(token)
	if !ok || g.ID != id {
		return false, nil
	}
	delete(m.graces, token)
	return true, nil
}

// Touch implements [Store].
func (m *MemoryStore) Touch(_ context.Context, token string, t time.Time, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active[token] = memActivity{at: t, until: m.now().Add(ttl)}
	if len(m.active) >= m.pruneAt {
		// Amortised pruning keeps the map at about twice its live size.
		now := m.now()
		for k, a := range m.active {
			if now.After(a.until) {
				delete(m.active, k)
			}
		}
		m.pruneAt = max(1024, 2*len(m.active))
	}
	return nil
}

// LastActive implements [Store].
func (m *MemoryStore) LastActive(_ context.Context, token string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.active[token]
	if !ok || m.now().After(a.until) {
		return time.Time{}, nil
	}
	return a.at, nil
}
