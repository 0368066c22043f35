package workpool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// owner counts the goroutines a pool asks for and waits for them.
type owner struct {
	started atomic.Int32
	running atomic.Int32
	wg      sync.WaitGroup
	refuse  atomic.Bool
}

func (o *owner) start(loop func(context.Context)) bool {
	if o.refuse.Load() {
		return false
	}
	o.started.Add(1)
	o.running.Add(1)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer o.running.Add(-1)
		loop(context.Background())
	}()
	return true
}

func TestSequentialTasksReuseOneWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &owner{}
		p := New(o.start, time.Second)
		done := make(chan int, 1)
		for i := range 50 {
			require.True(t, p.Run(func(context.Context) { done <- i }))
			require.Equal(t, i, <-done)
			synctest.Wait() // the worker is parked again
		}
		assert.EqualValues(t, 1, o.started.Load(), "one worker served every task")
		p.Close()
		o.wg.Wait()
	})
}

func TestBusyWorkersDoNotQueueTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &owner{}
		p := New(o.start, time.Second)
		release := make(chan struct{})
		var ran sync.WaitGroup
		ran.Add(3)
		for range 3 {
			require.True(t, p.Run(func(context.Context) { ran.Done(); <-release }))
		}
		ran.Wait() // all three run at once: none waited for another
		assert.EqualValues(t, 3, o.started.Load())
		close(release)
		p.Close()
		o.wg.Wait()
	})
}

func TestIdleWorkersRetire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &owner{}
		p := New(o.start, time.Second)
		block := make(chan struct{})
		require.True(t, p.Run(func(context.Context) { <-block }))
		require.True(t, p.Run(func(context.Context) {}))
		synctest.Wait()
		assert.EqualValues(t, 2, o.running.Load())
		time.Sleep(500 * time.Millisecond)
		close(block) // the first worker goes idle half a period later
		synctest.Wait()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 1, o.running.Load(), "the worker idle for a period retired, the other stays")
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 0, o.running.Load())
		require.True(t, p.Run(func(context.Context) {}), "a retired pool part starts anew")
		synctest.Wait()
		assert.EqualValues(t, 3, o.started.Load())
		p.Close()
		o.wg.Wait()
	})
}

func TestCloseRetiresIdleAndRefusesTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &owner{}
		p := New(o.start, time.Hour)
		block := make(chan struct{})
		require.True(t, p.Run(func(context.Context) {}))
		require.True(t, p.Run(func(context.Context) { <-block }))
		synctest.Wait()
		p.Close()
		synctest.Wait()
		assert.EqualValues(t, 1, o.running.Load(), "the idle worker left at once, the busy one still runs")
		assert.False(t, p.Run(func(context.Context) { t.Error("ran after Close") }))
		close(block)
		o.wg.Wait()
		assert.EqualValues(t, 0, o.running.Load())
	})
}

func TestOwnerRefusal(t *testing.T) {
	o := &owner{}
	o.refuse.Store(true)
	p := New(o.start, time.Second)
	assert.False(t, p.Run(func(context.Context) { t.Error("ran without a goroutine") }))
}
