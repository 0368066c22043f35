package registry

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddGetKeys(t *testing.T) {
	t.Parallel()
	var r Registry[int]
	_, ok := r.Get("a")
	assert.False(t, ok, "the zero value is empty")
	assert.Empty(t, r.Keys())
	require.True(t, r.Add("b", 2))
	require.True(t, r.Add("a", 1))
	assert.False(t, r.Add("a", 3), "a taken key is refused")
	v, ok := r.Get("a")
	assert.True(t, ok)
	assert.Equal(t, 1, v, "and keeps its first value")
	assert.Equal(t, []string{"a", "b"}, r.Keys())

	v, ok = r.GetBytes([]byte("b"))
	assert.True(t, ok)
	assert.Equal(t, 2, v)
	_, ok = r.GetBytes([]byte("c"))
	assert.False(t, ok)
}

// TestGetBytesAllocatesNothing is not parallel: AllocsPerRun counts the
// whole process's allocations.
func TestGetBytesAllocatesNothing(t *testing.T) {
	var r Registry[int]
	require.True(t, r.Add("api/bench/echo/v1", 1))
	key := []byte("api/bench/echo/v1")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = r.GetBytes(key) }))
}

// TestConcurrentAddsAndReads: readers never see a half-built table and
// every add lands exactly once (run with -race).
func TestConcurrentAddsAndReads(t *testing.T) {
	t.Parallel()
	var r Registry[int]
	var wg sync.WaitGroup
	added := make([]bool, 200)
	for i := range 200 {
		wg.Go(func() { added[i] = r.Add(fmt.Sprint(i%100), i) })
		wg.Go(func() { _, _ = r.Get(fmt.Sprint(i % 100)); _ = r.Keys() })
	}
	wg.Wait()
	n := 0
	for _, ok := range added {
		if ok {
			n++
		}
	}
	assert.Equal(t, 100, n)
	assert.Len(t, r.Keys(), 100)
}
