package offlinequeue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/offlinequeue"
)

var errBoom = errors.New("boom")

// dropLog records OnDrop calls; the observer may run on any goroutine.
type dropLog struct {
	mu     sync.Mutex
	events []offlinequeue.DropEvent
}

func (l *dropLog) observe(ev offlinequeue.DropEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *dropLog) all() []offlinequeue.DropEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]offlinequeue.DropEvent(nil), l.events...)
}

func newQueue(t *testing.T, opts offlinequeue.Options) *offlinequeue.Queue[string] {
	t.Helper()
	q, err := offlinequeue.New[string](offlinequeue.API, opts)
	require.NoError(t, err)
	return q
}

func enqueue(t *testing.T, q *offlinequeue.Queue[string], key string, opts ...offlinequeue.EnqueueOption) offlinequeue.Ticket {
	t.Helper()
	tk, err := q.Enqueue(key, "payload:"+key, opts...)
	require.NoError(t, err)
	require.NotEmpty(t, tk.ID)
	return tk
}

// settled returns the ticket's outcome, failing if it has none yet.
func settled(t *testing.T, tk offlinequeue.Ticket) error {
	t.Helper()
	select {
	case err := <-tk.Done:
		return err
	default:
		require.FailNow(t, "ticket not settled", "id %s", tk.ID)
		return nil
	}
}

func pending(t *testing.T, tk offlinequeue.Ticket) {
	t.Helper()
	select {
	case err := <-tk.Done:
		require.FailNow(t, "ticket settled early", "id %s: %v", tk.ID, err)
	default:
	}
}

// requireDropped asserts a ticket settled as dropped for reason.
func requireDropped(t *testing.T, tk offlinequeue.Ticket, reason offlinequeue.Reason) {
	t.Helper()
	err := settled(t, tk)
	require.ErrorIs(t, err, offlinequeue.ErrDropped)
	var qe *offlinequeue.Error
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, offlinequeue.CodeDropped, qe.Code)
	assert.Equal(t, reason, qe.Reason)
	assert.Equal(t, tk.ID, qe.ID)
}

// flushAll flushes q and returns the keys send received, in order.
func flushAll(t *testing.T, q *offlinequeue.Queue[string]) []string {
	t.Helper()
	var keys []string
	require.NoError(t, q.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
		assert.Equal(t, "payload:"+it.Key, it.Payload)
		keys = append(keys, it.Key)
		return nil
	}))
	return keys
}

func TestDefaultsRejectThe101stItem(t *testing.T) {
	t.Parallel()
	q := newQueue(t, offlinequeue.Options{})
	for range offlinequeue.DefaultMaxSize {
		enqueue(t, q, "k")
	}
	_, err := q.Enqueue("api/chat/send/v1", "late")
	require.ErrorIs(t, err, offlinequeue.ErrQueueFull)
	assert.NotErrorIs(t, err, offlinequeue.ErrDropped)
	var qe *offlinequeue.Error
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, offlinequeue.Error{
		Code: "offline.queueFull", Reason: offlinequeue.ReasonQueueFull,
		Queue: offlinequeue.API, Key: "api/chat/send/v1",
	}, *qe)
	assert.Equal(t, 100, q.Len())
}

func TestDropOldestEvictsHead(t *testing.T) {
	t.Parallel()
	var log dropLog
	q := newQueue(t, offlinequeue.Options{MaxSize: 2, DropPolicy: offlinequeue.DropOldest, OnDrop: log.observe})
	a := enqueue(t, q, "a")
	b := enqueue(t, q, "b")
	c := enqueue(t, q, "c")

	requireDropped(t, a, offlinequeue.ReasonQueueFull)
	assert.Equal(t, []offlinequeue.DropEvent{{
		Queue: offlinequeue.API, ID: a.ID, Key: "a",
		Reason: offlinequeue.ReasonQueueFull, DropPolicy: offlinequeue.DropOldest,
	}}, log.all())
	pending(t, b)
	assert.Equal(t, []string{"b", "c"}, flushAll(t, q))
	assert.NoError(t, settled(t, b))
	assert.NoError(t, settled(t, c))
}

func TestDropNewestRefusesIncoming(t *testing.T) {
	t.Parallel()
	var log dropLog
	q := newQueue(t, offlinequeue.Options{MaxSize: 1, DropPolicy: offlinequeue.DropNewest, OnDrop: log.observe})
	a := enqueue(t, q, "a")
	_, err := q.Enqueue("b", "payload:b")
	require.ErrorIs(t, err, offlinequeue.ErrQueueFull)
	pending(t, a)
	assert.Empty(t, log.all(), "a refused enqueue is not a drop of an accepted item")
	assert.Equal(t, []string{"a"}, flushAll(t, q))
}

func TestItemPolicyOverridesQueue(t *testing.T) {
	t.Parallel()
	t.Run("item drop-oldest on reject queue", func(t *testing.T) {
		t.Parallel()
		q := newQueue(t, offlinequeue.Options{MaxSize: 1})
		a := enqueue(t, q, "a")
		b := enqueue(t, q, "b", offlinequeue.WithDropPolicy(offlinequeue.DropOldest))
		requireDropped(t, a, offlinequeue.ReasonQueueFull)
		pending(t, b)
		var got offlinequeue.Item[string]
		require.NoError(t, q.Flush(context.Background(), func(it offlinequeue.Item[string]) error { got = it; return nil }))
		assert.Equal(t, offlinequeue.DropOldest, got.DropPolicy, "the item carries its effective policy")
	})
	t.Run("item reject on drop-oldest queue", func(t *testing.T) {
		t.Parallel()
		q := newQueue(t, offlinequeue.Options{MaxSize: 1, DropPolicy: offlinequeue.DropOldest})
		a := enqueue(t, q, "a")
		_, err := q.Enqueue("b", "x", offlinequeue.WithDropPolicy(offlinequeue.Reject))
		require.ErrorIs(t, err, offlinequeue.ErrQueueFull)
		pending(t, a)
	})
}

func TestInvalidPolicies(t *testing.T) {
	t.Parallel()
	_, err := offlinequeue.New[int](offlinequeue.API, offlinequeue.Options{DropPolicy: 9})
	require.ErrorIs(t, err, offlinequeue.ErrInvalidPolicy)
	_, err = offlinequeue.NewPair[int](offlinequeue.Options{DropPolicy: -1})
	require.ErrorIs(t, err, offlinequeue.ErrInvalidPolicy)

	q := newQueue(t, offlinequeue.Options{})
	_, err = q.Enqueue("k", "x", offlinequeue.WithDropPolicy(offlinequeue.Policy(4)))
	require.ErrorIs(t, err, offlinequeue.ErrInvalidPolicy)
	assert.Zero(t, q.Len())
}

func TestExpiryOnEnqueue(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var log dropLog
		q := newQueue(t, offlinequeue.Options{MaxAge: time.Minute, OnDrop: log.observe})
		a := enqueue(t, q, "a")

		time.Sleep(time.Minute)
		b := enqueue(t, q, "b")
		pending(t, a) // exactly MaxAge old is still sendable

		time.Sleep(time.Nanosecond)
		enqueue(t, q, "c")
		requireDropped(t, a, offlinequeue.ReasonExpired)
		pending(t, b)
		assert.Equal(t, 2, q.Len())
		require.Len(t, log.all(), 1)
		assert.Equal(t, offlinequeue.ReasonExpired, log.all()[0].Reason)
		assert.Equal(t, offlinequeue.Reject, log.all()[0].DropPolicy)
	})
}

func TestExpiryOnFlush(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{})
		a := enqueue(t, q, "a")
		time.Sleep(30 * time.Second)
		b := enqueue(t, q, "b")

		time.Sleep(offlinequeue.DefaultMaxAge - 30*time.Second + time.Nanosecond)
		assert.Equal(t, []string{"b"}, flushAll(t, q), "an expired item is never replayed")
		requireDropped(t, a, offlinequeue.ReasonExpired)
		assert.NoError(t, settled(t, b))
	})
}

func TestItemExpiringDuringFlushIsNotSent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{MaxAge: time.Minute})
		a := enqueue(t, q, "a")
		b := enqueue(t, q, "b")
		var sent []string
		require.NoError(t, q.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
			sent = append(sent, it.Key)
			time.Sleep(2 * time.Minute) // a slow send outlives b's MaxAge
			return nil
		}))
		assert.Equal(t, []string{"a"}, sent)
		assert.NoError(t, settled(t, a))
		requireDropped(t, b, offlinequeue.ReasonExpired)
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{MaxAge: time.Minute})
		a := enqueue(t, q, "a")
		time.Sleep(2 * time.Minute)
		assert.Equal(t, 1, q.Len(), "nothing expires in the background")
		pending(t, a)
		assert.Equal(t, 1, q.Prune())
		requireDropped(t, a, offlinequeue.ReasonExpired)
		assert.Zero(t, q.Len())
	})
}

func TestNegativeLimitsDisableBounds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{MaxSize: -1, MaxAge: -1})
		first := enqueue(t, q, "first")
		for range 5 * offlinequeue.DefaultMaxSize {
			enqueue(t, q, "k")
		}
		time.Sleep(365 * 24 * time.Hour)
		assert.Zero(t, q.Prune())
		assert.Equal(t, 5*offlinequeue.DefaultMaxSize+1, q.Len())
		pending(t, first)
	})
}

func TestFlushFailurePutsItemBackAndStops(t *testing.T) {
	t.Parallel()
	q := newQueue(t, offlinequeue.Options{})
	a := enqueue(t, q, "a")
	b := enqueue(t, q, "b")
	c := enqueue(t, q, "c")

	var sent []string
	err := q.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
		sent = append(sent, it.Key)
		if it.Key == "b" {
			return errBoom
		}
		return nil
	})
	require.ErrorIs(t, err, errBoom)
	assert.Contains(t, err.Error(), b.ID)
	assert.Equal(t, []string{"a", "b"}, sent, "flush stops at the failure")
	assert.NoError(t, settled(t, a))
	pending(t, b)
	pending(t, c)
	assert.Equal(t, 2, q.Len())

	assert.Equal(t, []string{"b", "c"}, flushAll(t, q), "the failed item is retried first")
	assert.NoError(t, settled(t, b))
	assert.NoError(t, settled(t, c))
}

func TestConcurrentFlushReturnsSentinel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{})
		a := enqueue(t, q, "a")
		release := make(chan struct{})
		firstDone := make(chan error, 1)
		go func() {
			firstDone <- q.Flush(context.Background(), func(offlinequeue.Item[string]) error {
				<-release
				return nil
			})
		}()
		synctest.Wait() // the first flush is now blocked inside send

		called := false
		err := q.Flush(context.Background(), func(offlinequeue.Item[string]) error { called = true; return nil })
		require.ErrorIs(t, err, offlinequeue.ErrFlushInProgress)
		assert.False(t, called)

		close(release)
		require.NoError(t, <-firstDone)
		assert.NoError(t, settled(t, a))
		// The guard is released once the first flush ends.
		require.NoError(t, q.Flush(context.Background(), func(offlinequeue.Item[string]) error { return nil }))
	})
}

func TestFlushHonoursContext(t *testing.T) {
	t.Parallel()
	q := newQueue(t, offlinequeue.Options{})
	a := enqueue(t, q, "a")
	b := enqueue(t, q, "b")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := q.Flush(ctx, func(offlinequeue.Item[string]) error { t.Error("send called after cancel"); return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, q.Len())

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	err = q.Flush(ctx, func(offlinequeue.Item[string]) error { cancel(); return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.NoError(t, settled(t, a), "the item in hand was sent")
	pending(t, b)
	assert.Equal(t, 1, q.Len())
}

func TestRemovalsSettleOwners(t *testing.T) {
	t.Parallel()
	var log dropLog
	q := newQueue(t, offlinequeue.Options{OnDrop: log.observe})
	a := enqueue(t, q, "x")
	b := enqueue(t, q, "y")
	c := enqueue(t, q, "y")
	d := enqueue(t, q, "z")
	e := enqueue(t, q, "z")

	assert.False(t, q.RemoveByID("no-such-id"))
	assert.True(t, q.RemoveByID(a.ID))
	assert.False(t, q.RemoveByID(a.ID), "already removed")
	requireDropped(t, a, offlinequeue.ReasonRemoved)

	// The original removed by key without settling; nobody may wait forever.
	assert.Equal(t, 2, q.RemoveByKey("y"))
	requireDropped(t, b, offlinequeue.ReasonRemoved)
	requireDropped(t, c, offlinequeue.ReasonRemoved)
	assert.Zero(t, q.RemoveByKey("y"))

	assert.Equal(t, 2, q.Clear())
	requireDropped(t, d, offlinequeue.ReasonCleared)
	requireDropped(t, e, offlinequeue.ReasonCleared)
	assert.Zero(t, q.Len())

	reasons := []offlinequeue.Reason{}
	for _, ev := range log.all() {
		reasons = append(reasons, ev.Reason)
	}
	assert.Equal(t, []offlinequeue.Reason{
		offlinequeue.ReasonRemoved, offlinequeue.ReasonRemoved, offlinequeue.ReasonRemoved,
		offlinequeue.ReasonCleared, offlinequeue.ReasonCleared,
	}, reasons)
}

// blockingFlush starts a flush whose send waits for a result on the
// returned channel, and returns once send holds the first item.
func blockingFlush(t *testing.T, q *offlinequeue.Queue[string]) (result chan<- error, flushErr <-chan error) {
	t.Helper()
	res := make(chan error)
	done := make(chan error, 1)
	go func() {
		done <- q.Flush(context.Background(), func(offlinequeue.Item[string]) error { return <-res })
	}()
	synctest.Wait()
	return res, done
}

func TestRemovingInFlightItem(t *testing.T) {
	t.Parallel()
	t.Run("failed send drops instead of requeueing", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := newQueue(t, offlinequeue.Options{})
			a := enqueue(t, q, "a")
			result, flushErr := blockingFlush(t, q)

			assert.False(t, q.RemoveByID(a.ID), "an item being sent is not waiting")
			result <- errBoom
			require.ErrorIs(t, <-flushErr, errBoom)
			requireDropped(t, a, offlinequeue.ReasonRemoved)
			assert.Zero(t, q.Len())
		})
	})
	t.Run("successful send still settles as sent", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := newQueue(t, offlinequeue.Options{})
			a := enqueue(t, q, "a")
			result, flushErr := blockingFlush(t, q)

			assert.Zero(t, q.RemoveByKey("a"))
			result <- nil
			require.NoError(t, <-flushErr)
			assert.NoError(t, settled(t, a))
		})
	})
	t.Run("clear during send", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := newQueue(t, offlinequeue.Options{})
			a := enqueue(t, q, "a")
			b := enqueue(t, q, "b")
			result, flushErr := blockingFlush(t, q)

			assert.Equal(t, 1, q.Clear())
			requireDropped(t, b, offlinequeue.ReasonCleared)
			result <- errBoom
			require.ErrorIs(t, <-flushErr, errBoom)
			requireDropped(t, a, offlinequeue.ReasonCleared)
			assert.Zero(t, q.Len())
		})
	})
}

func TestRequeueMayExceedMaxSizeByOne(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{MaxSize: 1})
		a := enqueue(t, q, "a")
		result, flushErr := blockingFlush(t, q)

		// The item in hand has left the queue, so its slot is free again.
		b := enqueue(t, q, "b")

		result <- errBoom
		require.ErrorIs(t, <-flushErr, errBoom)
		assert.Equal(t, 2, q.Len(), "the failed item returns even though the queue is full")
		pending(t, a)

		_, err := q.Enqueue("c", "payload:c")
		require.ErrorIs(t, err, offlinequeue.ErrQueueFull)
		assert.Equal(t, []string{"a", "b"}, flushAll(t, q), "the failed item keeps its place")
		assert.NoError(t, settled(t, b))
	})
}

func TestDropOldestRestoresLimitAfterOverflow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{MaxSize: 2, DropPolicy: offlinequeue.DropOldest})
		a := enqueue(t, q, "a")
		result, flushErr := blockingFlush(t, q)
		b := enqueue(t, q, "b")
		c := enqueue(t, q, "c")
		result <- errBoom
		require.ErrorIs(t, <-flushErr, errBoom)
		require.Equal(t, 3, q.Len())

		d := enqueue(t, q, "d")
		requireDropped(t, a, offlinequeue.ReasonQueueFull)
		requireDropped(t, b, offlinequeue.ReasonQueueFull)
		assert.Equal(t, []string{"c", "d"}, flushAll(t, q))
		assert.NoError(t, settled(t, c))
		assert.NoError(t, settled(t, d))
	})
}

func TestPanickingSendKeepsQueueUsable(t *testing.T) {
	t.Parallel()
	q := newQueue(t, offlinequeue.Options{})
	a := enqueue(t, q, "a")
	enqueue(t, q, "b")

	assert.PanicsWithValue(t, "send exploded", func() {
		_ = q.Flush(context.Background(), func(offlinequeue.Item[string]) error { panic("send exploded") })
	})
	pending(t, a)
	assert.Equal(t, 2, q.Len())
	assert.Equal(t, []string{"a", "b"}, flushAll(t, q), "flush guard released and order kept")
	assert.NoError(t, settled(t, a))
}

func TestCallbacksMayCallBackIntoQueue(t *testing.T) {
	t.Parallel()
	var q *offlinequeue.Queue[string]
	var lens []int
	q = newQueue(t, offlinequeue.Options{
		MaxSize:    1,
		DropPolicy: offlinequeue.DropOldest,
		OnDrop:     func(offlinequeue.DropEvent) { lens = append(lens, q.Len()) },
	})
	enqueue(t, q, "a")
	enqueue(t, q, "b") // evicts a; OnDrop reads Len without deadlocking
	assert.Equal(t, []int{1}, lens)

	// A send that re-enqueues (the original re-runs the whole send path,
	// which may queue again) must not deadlock either.
	err := q.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
		if it.Key == "b" {
			_, err := q.Enqueue("b-again", "payload:b-again")
			return err
		}
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, q.Len(), "the re-enqueued item was flushed in the same run")
}

func TestItemFields(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, offlinequeue.Options{})
		start := time.Now()
		a := enqueue(t, q, "api/chat/send/v1")
		b := enqueue(t, q, "api/chat/send/v1")
		assert.NotEqual(t, a.ID, b.ID)
		time.Sleep(time.Second)

		var items []offlinequeue.Item[string]
		require.NoError(t, q.Flush(context.Background(), func(it offlinequeue.Item[string]) error {
			items = append(items, it)
			return nil
		}))
		require.Len(t, items, 2)
		assert.Equal(t, offlinequeue.Item[string]{
			ID: a.ID, Key: "api/chat/send/v1", CreatedAt: start,
			DropPolicy: offlinequeue.Reject, Payload: "payload:api/chat/send/v1",
		}, items[0])
		assert.Equal(t, b.ID, items[1].ID)
	})
}
