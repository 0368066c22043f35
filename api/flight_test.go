package api

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
)

// An apiCancel handled before the worker made the request's context is
// kept and applied when the context is made.
func TestFlightAbortBeforeStartCancelsAtStart(t *testing.T) {
	var f flight
	f.abort(ErrCanceled)
	ctx, cancel := f.start(context.Background())
	defer cancel(nil)
	require.Error(t, ctx.Err())
	assert.ErrorIs(t, context.Cause(ctx), ErrCanceled)
}

func TestFlightAbortAfterStartCancels(t *testing.T) {
	var f flight
	ctx, cancel := f.start(context.Background())
	defer cancel(nil)
	require.NoError(t, ctx.Err())
	f.abort(ErrCanceled)
	assert.ErrorIs(t, context.Cause(ctx), ErrCanceled)
}

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
	ctx, cancel := b.start(context.Background())
	defer cancel(nil)
	assert.ErrorIs(t, context.Cause(ctx), ErrCanceled)
	m.release(s, 1, &b)
	assert.False(t, m.cancelFlight(s, 1))
	m.release(other, 1, &c)
	assert.Empty(t, m.flights)
	assert.Empty(t, m.inFlight)
}
