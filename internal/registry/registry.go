package registry

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Registry maps keys to values. The zero value is empty and ready to use;
// it must not be copied after first use.
type Registry[V any] struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[string]V]
}

// Add stores v under key unless key is taken, and reports whether it did.
func (r *Registry[V]) Add(key string, v V) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur map[string]V
	if p := r.m.Load(); p != nil {
		cur = *p
	}
	if _, dup := cur[key]; dup {
		return false
	}
	next := make(map[string]V, len(cur)+1)
	maps.Copy(next, cur)
	next[key] = v
	r.m.Store(&next)
	return true
}

// Get returns the value under key.
func (r *Registry[V]) Get(key string) (V, bool) {
	if p := r.m.Load(); p != nil {
		v, ok := (*p)[key]
		return v, ok
	}
	var zero V
	return zero, false
}

// GetBytes is Get for a key still in bytes: a map index by string(key)
// does not allocate, where making the key a string first would.
func (r *Registry[V]) GetBytes(key []byte) (V, bool) {
	if p := r.m.Load(); p != nil {
		v, ok := (*p)[string(key)]
		return v, ok
	}
	var zero V
	return zero, false
}

// Keys returns the keys, sorted (nil when there are none).
func (r *Registry[V]) Keys() []string {
	p := r.m.Load()
	if p == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(*p))
}
