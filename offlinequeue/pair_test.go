package offlinequeue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/offlinequeue"
)

func newPair(t *testing.T, opts offlinequeue.Options) *offlinequeue.Pair[string] {
	t.Helper()
	p, err := offlinequeue.NewPair[string](opts)
	require.NoError(t, err)
	return p
}

func TestPairFlushesAPIBeforeSync(t *testing.T) {
	t.Parallel()
	p := newPair(t, offlinequeue.Options{})
	// Interleave the two queues: arrival order across them must not
	// matter, API requests always go first.
	enqueue(t, p.Sync(), "sync-1")
	enqueue(t, p.API(), "api-1")
	enqueue(t, p.Sync(), "sync-2")
	enqueue(t, p.API(), "api-2")

	var sent []string
	require.NoError(t, p.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
		sent = append(sent, it.Key)
		return nil
	}))
	assert.Equal(t, []string{"api-1", "api-2", "sync-1", "sync-2"}, sent)
	assert.Zero(t, p.Len())
}

func TestPairFlushStopsAtAPIFailure(t *testing.T) {
	t.Parallel()
	p := newPair(t, offlinequeue.Options{})
	enqueue(t, p.API(), "api-1")
	s := enqueue(t, p.Sync(), "sync-1")

	var sent []string
	err := p.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
		sent = append(sent, it.Key)
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, []string{"api-1"}, sent, "the sync queue is not touched after a failure")
	assert.Equal(t, 1, p.API().Len())
	assert.Equal(t, 1, p.Sync().Len())
	pending(t, s)
}

func TestPairQueuesHaveSeparateCapacity(t *testing.T) {
	t.Parallel()
	p := newPair(t, offlinequeue.Options{MaxSize: 1})
	enqueue(t, p.API(), "api")
	enqueue(t, p.Sync(), "sync")
	_, err := p.Sync().Enqueue("sync-2", "x")
	var qe *offlinequeue.Error
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, offlinequeue.Sync, qe.Queue)
	assert.Equal(t, 2, p.Len())
}

func TestPairRemovalsSpanBothQueues(t *testing.T) {
	t.Parallel()
	var log dropLog
	p := newPair(t, offlinequeue.Options{OnDrop: log.observe})
	a := enqueue(t, p.API(), "shared")
	s := enqueue(t, p.Sync(), "shared")
	other := enqueue(t, p.Sync(), "other")
	byID := enqueue(t, p.Sync(), "by-id")

	assert.True(t, p.RemoveByID(byID.ID), "found in the sync queue")
	requireDropped(t, byID, offlinequeue.ReasonRemoved)
	assert.False(t, p.RemoveByID(byID.ID))

	assert.Equal(t, 2, p.RemoveByKey("shared"))
	requireDropped(t, a, offlinequeue.ReasonRemoved)
	requireDropped(t, s, offlinequeue.ReasonRemoved)
	pending(t, other)

	enqueue(t, p.API(), "later")
	assert.Equal(t, 2, p.Clear())
	requireDropped(t, other, offlinequeue.ReasonCleared)
	assert.Zero(t, p.Len())

	queues := map[offlinequeue.Kind]int{}
	for _, ev := range log.all() {
		queues[ev.Queue]++
	}
	assert.Equal(t, map[offlinequeue.Kind]int{offlinequeue.API: 2, offlinequeue.Sync: 3}, queues)
}

func TestPairRemoveByIDMarksInFlightSyncItem(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, offlinequeue.Options{})
		s := enqueue(t, p.Sync(), "sync-1")
		res := make(chan error)
		done := make(chan error, 1)
		go func() {
			done <- p.Flush(context.Background(), func(offlinequeue.Item[string]) error { return <-res })
		}()
		synctest.Wait()

		assert.False(t, p.RemoveByID(s.ID))
		res <- errBoom
		require.ErrorIs(t, <-done, errBoom)
		requireDropped(t, s, offlinequeue.ReasonRemoved)
	})
}

func TestPairConcurrentFlush(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, offlinequeue.Options{})
		enqueue(t, p.Sync(), "s")
		release := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- p.Flush(context.Background(), func(offlinequeue.Item[string]) error { <-release; return nil })
		}()
		synctest.Wait()

		require.ErrorIs(t, p.Flush(context.Background(), nil), offlinequeue.ErrFlushInProgress)
		// Flushing one queue directly while the pair is on it is refused too.
		require.ErrorIs(t, p.Sync().Flush(context.Background(), nil), offlinequeue.ErrFlushInProgress)

		close(release)
		require.NoError(t, <-done)
	})
}

func TestPairPrune(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, offlinequeue.Options{})
		a := enqueue(t, p.API(), "a")
		s := enqueue(t, p.Sync(), "s")
		time.Sleep(offlinequeue.DefaultMaxAge + time.Nanosecond)
		assert.Equal(t, 2, p.Prune())
		requireDropped(t, a, offlinequeue.ReasonExpired)
		requireDropped(t, s, offlinequeue.ReasonExpired)
	})
}

// TestEveryTicketSettlesOnce hammers a Pair from many goroutines. A double
// settle would block on the ticket's one-slot buffer while holding the
// queue's lock, which synctest reports as a deadlock; a missing settle fails
// the final count.
func TestEveryTicketSettlesOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var dropped atomic.Int64
		p := newPair(t, offlinequeue.Options{
			MaxSize:    20,
			DropPolicy: offlinequeue.DropOldest,
			OnDrop:     func(offlinequeue.DropEvent) { dropped.Add(1) },
		})

		var (
			mu      sync.Mutex
			tickets []offlinequeue.Ticket
			sent    atomic.Int64
			wg      sync.WaitGroup
		)
		for w := range 8 {
			wg.Go(func() {
				for i := range 200 {
					q := p.API()
					if (w+i)%2 == 0 {
						q = p.Sync()
					}
					var opts []offlinequeue.EnqueueOption
					if i%7 == 0 {
						opts = append(opts, offlinequeue.WithDropPolicy(offlinequeue.Reject))
					}
					tk, err := q.Enqueue(fmt.Sprintf("key-%d", i%5), "x", opts...)
					if err != nil {
						require.ErrorIs(t, err, offlinequeue.ErrQueueFull)
						continue
					}
					mu.Lock()
					tickets = append(tickets, tk)
					mu.Unlock()
					if i%11 == 0 {
						p.RemoveByID(tk.ID)
					}
				}
			})
		}
		for f := range 4 {
			wg.Go(func() {
				for i := range 100 {
					err := p.Flush(context.Background(), func(offlinequeue.Item[string]) error {
						if (f+i)%3 == 0 {
							return errBoom
						}
						sent.Add(1)
						return nil
					})
					if err != nil && !errors.Is(err, errBoom) {
						assert.ErrorIs(t, err, offlinequeue.ErrFlushInProgress)
					}
					if i%10 == 0 {
						p.RemoveByKey("key-3")
					}
				}
			})
		}
		wg.Wait()
		p.Clear()

		var nilCount, dropCount int64
		for _, tk := range tickets {
			if err := settled(t, tk); err == nil {
				nilCount++
			} else {
				require.ErrorIs(t, err, offlinequeue.ErrDropped)
				dropCount++
			}
			assert.Empty(t, tk.Done, "a second value was delivered")
		}
		assert.Equal(t, sent.Load(), nilCount)
		assert.Equal(t, dropped.Load(), dropCount)
		assert.Equal(t, int64(len(tickets)), nilCount+dropCount)
	})
}
