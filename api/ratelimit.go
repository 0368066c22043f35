package api

import (
	"context"
	"sync"
	"time"
)

// Store counts hits of fixed-window rate-limit buckets
// (luckystack-wire.md §13.3). Implementations must be safe for concurrent
// use; shared ones (Redis) make limits hold across instances.
type Store interface {
	// Hit counts one hit on bucket. The first hit of a window starts it
	// (window long); count is the hits in the current window, this one
	// included, and resetIn the time until the window ends.
	Hit(ctx context.Context, bucket string, window time.Duration) (count int64, resetIn time.Duration, err error)
}

// StoreErrorPolicy says what a [Limiter] does when its store fails.
type StoreErrorPolicy int

const (
	// FallbackToMemory counts in process memory while the store fails, so
	// limits keep holding per instance. The zero value.
	FallbackToMemory StoreErrorPolicy = iota
	// DenyOnStoreError refuses every request while the store fails
	// (fail closed).
	DenyOnStoreError
)

// DefaultMaxKeys is the number of buckets a [MemoryStore] keeps when
// NewMemoryStore is given zero.
const DefaultMaxKeys = 50_000

// LimiterOptions configures [NewLimiter].
type LimiterOptions struct {
	// Store counts hits. Nil means an in-memory store.
	Store Store
	// OnStoreError applies when Store fails. Zero means FallbackToMemory.
	OnStoreError StoreErrorPolicy
}

// Limiter applies fixed-window limits to named buckets. The api module
// and the sync module use it with their own bucket names. Safe for
// concurrent use.
type Limiter struct {
	store    Store
	policy   StoreErrorPolicy
	fallback *MemoryStore
}

// NewLimiter returns a limiter over opts.Store.
func NewLimiter(opts LimiterOptions) *Limiter {
	l := &Limiter{store: opts.Store, policy: opts.OnStoreError, fallback: NewMemoryStore(0)}
	if l.store == nil {
		l.store = l.fallback
	}
	return l
}

// Decision is the outcome of [Limiter.Allow].
type Decision struct {
	// Allowed reports whether the hit is within the limit.
	Allowed bool
	// Count is the hits in the window so far, this one included.
	Count int64
	// Limit is the limit the hit was checked against.
	Limit int
	// ResetIn is the time until the window ends.
	ResetIn time.Duration
	// StoreErr is the store's error when it failed (the decision then came
	// from the fallback or the deny policy).
	StoreErr error
}

// RetryAfter returns ResetIn in whole seconds, rounded up: the "seconds"
// param of a rate-limit error.
func (d Decision) RetryAfter() int {
	return int((d.ResetIn + time.Second - 1) / time.Second)
}

// Allow counts a hit on bucket and reports whether it stays within limit
// hits per window. A limit below 1 allows everything without counting.
func (l *Limiter) Allow(ctx context.Context, bucket string, limit int, window time.Duration) Decision {
	if limit < 1 {
		return Decision{Allowed: true, Limit: limit}
	}
	count, resetIn, err := l.store.Hit(ctx, bucket, window)
	d := Decision{Limit: limit, StoreErr: err}
	if err != nil {
		if l.policy == DenyOnStoreError {
			d.ResetIn = window
			return d
		}
		count, resetIn, _ = l.fallback.Hit(ctx, bucket, window)
	}
	d.Count, d.ResetIn = count, resetIn
	d.Allowed = count <= int64(limit)
	return d
}

// MemoryStore is an in-process [Store] holding at most a fixed number of
// buckets. When full it first drops expired buckets, then arbitrary ones
// (Go's map order), so a flood of distinct keys cannot grow memory without
// bound; the price is that an evicted bucket starts over.
type MemoryStore struct {
	max int
	now func() time.Time

	mu      sync.Mutex // Protects following.
	buckets map[string]memBucket
}

type memBucket struct {
	count   int64
	expires time.Time
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store of at most maxKeys buckets. Zero means
// [DefaultMaxKeys].
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &MemoryStore{max: maxKeys, now: time.Now, buckets: make(map[string]memBucket)}
}

// Hit implements [Store]. It never fails.
func (m *MemoryStore) Hit(_ context.Context, bucket string, window time.Duration) (int64, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[bucket]
	if !ok || !now.Before(b.expires) {
		if !ok && len(m.buckets) >= m.max {
			m.evictLocked(now)
		}
		b = memBucket{expires: now.Add(window)}
	}
	b.count++
	m.buckets[bucket] = b
	return b.count, b.expires.Sub(now), nil
}

// evictLocked makes room: expired buckets first, then arbitrary ones down
// to 15/16 of the cap, so that eviction is not paid again on every insert.
func (m *MemoryStore) evictLocked(now time.Time) {
	for k, b := range m.buckets {
		if !now.Before(b.expires) {
			delete(m.buckets, k)
		}
	}
	target := m.max - m.max/16
	if target >= m.max {
		target = m.max - 1
	}
	for k := range m.buckets {
		if len(m.buckets) <= target {
			break
		}
		delete(m.buckets, k)
	}
}

// Len returns the number of buckets held.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}
