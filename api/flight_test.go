package api

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
)

// An apiCancel handled before the request started is applied when it
// starts.
func TestFlightAbortBeforeStartCancelsAtStart(t *testing.T) {
	var f flight
	f.abort(ErrCanceled)
	ctx := f.start(context.Background())
	defer f.end()
	assert.True(t, ctxEnded(ctx))
	require.Error(t, ctx.Err())
	assert.ErrorIs(t, context.Cause(ctx), ErrCanceled)
}

func TestFlightAbortAfterStartCancels(t *testing.T) {
	for _, used := range []bool{false, true} {
		var f flight
		ctx := f.start(context.Background())
		if used {
			require.NoError(t, ctx.Err()) // made now
		}
		assert.False(t, ctxEnded(ctx))
		f.abort(ErrCanceled)
		assert.True(t, ctxEnded(ctx))
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		assert.ErrorIs(t, context.Cause(ctx), ErrCanceled, "used before the abort: %v", used)
		f.end()
	}
}

// A handler that never looks at its context costs no context; one made
// after the request ended (a goroutine the handler left behind) is
// cancelled, as a derived context would have been.
func TestFlightContextIsMadeOnFirstUse(t *testing.T) {
	var f flight
	ctx := f.start(context.Background())
	assert.False(t, ctxEnded(ctx))
	f.end()
	f.mu.Lock()
	made := f.ctx != nil
	f.mu.Unlock()
	assert.False(t, made)
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done is open after the request ended")
	}
}

// The client going away ends the request's context, made or not, with the
// client's cause; contexts derived from it and AfterFunc see it too.
func TestFlightContextFollowsTheClient(t *testing.T) {
	gone := errors.New("client gone")
	parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, "v"))
	var f flight
	ctx := f.start(parent)
	defer f.end()
	assert.Equal(t, "v", ctx.Value(ctxKey{}))
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { close(fired) })
	defer stop()
	cancelParent(gone)
	<-fired
	<-child.Done()
	assert.True(t, ctxEnded(ctx))
	assert.ErrorIs(t, context.Cause(ctx), gone)

	var g flight
	ctx = g.start(parent) // parent already ended, nothing made yet
	defer g.end()
	assert.True(t, ctxEnded(ctx))
	assert.ErrorIs(t, context.Cause(ctx), gone)
}

type ctxKey struct{}

// The in-flight registry: a reused index takes over the cancel
// registration, the count bounds a client, and the last release leaves
// nothing behind.
func TestFlightRegistryReuseAndRelease(t *testing.T) {
	m := New(Options{MaxInFlight: 2})
	var a, b, c flight
	s, other := new(luckystack.Client), new(luckystack.Client)
	require.True(t, m.acquire(other, 1, &c), "clients are counted apart")
	require.True(t, m.acquire(s, 1, &a))
	require.True(t, m.acquire(s, 1, &b))
	assert.False(t, m.acquire(s, 2, &c), "MaxInFlight reached")
	m.release(s, 1, &a) // b keeps index 1
	assert.True(t, m.cancelFlight(s, 1))
	ctx := b.start(context.Background())
	defer b.end()
	assert.ErrorIs(t, context.Cause(ctx), ErrCanceled)
	m.release(s, 1, &b)
	assert.False(t, m.cancelFlight(s, 1))
	m.release(other, 1, &c)
	assert.Empty(t, m.flights)
	assert.Empty(t, m.inFlight)
}
