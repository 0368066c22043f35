package luckystack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testPayload struct{ calls []string }

var testHook = NewHook[testPayload]("testHook")

func appendCall(name string) HookFunc[testPayload] {
	return func(_ context.Context, p *testPayload) error {
		p.calls = append(p.calls, name)
		return nil
	}
}

func TestHooksRunInRegistrationOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	RegisterHook(srv, testHook, appendCall("a"))
	RegisterHook(srv, testHook, appendCall("b"))
	same := appendCall("c")
	RegisterHook(srv, testHook, same)
	RegisterHook(srv, testHook, same) // not idempotent: runs twice
	p := &testPayload{}
	assert.Nil(t, DispatchHook(context.Background(), srv, testHook, p))
	assert.Equal(t, []string{"a", "b", "c", "c"}, p.calls)
	assert.Equal(t, 4, HookCount(srv, testHook))
	assert.Equal(t, "testHook", testHook.Name())
}

func TestHookUnregisterRemovesExactlyThatRegistration(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	a := appendCall("a")
	unA1 := RegisterHook(srv, testHook, a)
	RegisterHook(srv, testHook, appendCall("b"))
	unA2 := RegisterHook(srv, testHook, a)

	unA1()
	p := &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"b", "a"}, p.calls, "the second registration of the same function stays")

	unA1() // idempotent
	assert.Equal(t, 2, HookCount(srv, testHook))
	unA2()
	p = &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"b"}, p.calls)
}

func TestHookStopSignal(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	RegisterHook(srv, testHook, appendCall("a"))
	RegisterHook(srv, testHook, func(_ context.Context, p *testPayload) error {
		p.calls = append(p.calls, "stopper")
		return StopWith("custom.code", 429)
	})
	RegisterHook(srv, testHook, appendCall("never"))
	p := &testPayload{}
	stop := DispatchHook(context.Background(), srv, testHook, p)
	require.NotNil(t, stop)
	assert.Equal(t, "custom.code", stop.ErrorCode)
	assert.Equal(t, 429, stop.HTTPStatus)
	assert.Equal(t, []string{"a", "stopper"}, p.calls)
	assert.Contains(t, stop.Error(), "custom.code")

	t.Run("a wrapped stop counts", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, Options{})
		RegisterHook(srv, testHook, func(context.Context, *testPayload) error {
			return fmt.Errorf("refused: %w", &Stop{ErrorCode: "wrapped", OverrideOutput: 1})
		})
		stop := DispatchHook(context.Background(), srv, testHook, &testPayload{})
		require.NotNil(t, stop)
		assert.Equal(t, "wrapped", stop.ErrorCode)
		assert.Equal(t, 1, stop.OverrideOutput)
	})
}

func TestHookFailuresAreSkipped(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	srv := newServer(t, Options{Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))})
	RegisterHook(srv, testHook, func(context.Context, *testPayload) error { panic("kaboom") })
	RegisterHook(srv, testHook, appendCall("after-panic"))
	RegisterHook(srv, testHook, func(context.Context, *testPayload) error { return errors.New("plain failure") })
	RegisterHook(srv, testHook, appendCall("after-error"))
	p := &testPayload{}
	assert.Nil(t, DispatchHook(context.Background(), srv, testHook, p))
	assert.Equal(t, []string{"after-panic", "after-error"}, p.calls)
	logMu.Lock()
	defer logMu.Unlock()
	assert.Contains(t, logs.String(), "kaboom")
	assert.Contains(t, logs.String(), "plain failure")
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestHookRegistrationWhileDispatching(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	var added atomic.Int32
	// A handler that registers another one during dispatch must neither
	// deadlock nor see the new handler run in the same dispatch.
	RegisterHook(srv, testHook, func(_ context.Context, p *testPayload) error {
		if added.Add(1) == 1 {
			RegisterHook(srv, testHook, appendCall("late"))
		}
		p.calls = append(p.calls, "first")
		return nil
	})
	p := &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"first"}, p.calls)
	p = &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"first", "late"}, p.calls)

	// Concurrent dispatchers and (un)registrations, checked by -race.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					DispatchHook(context.Background(), srv, testHook, &testPayload{})
				}
			}
		})
	}
	for i := range 200 {
		un := RegisterHook(srv, testHook, appendCall(fmt.Sprint(i)))
		if i%2 == 0 {
			un()
		}
	}
	close(stop)
	wg.Wait()
	assert.Equal(t, 2+100, HookCount(srv, testHook))
}

func TestClearHooksAndTypeMismatch(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	unA := RegisterHook(srv, testHook, appendCall("a"))
	// Another declaration of the same name with another payload type is
	// the same hook point; its handlers are skipped for testHook's type.
	other := NewHook[int]("testHook")
	var otherRan atomic.Bool
	RegisterHook(srv, other, func(context.Context, *int) error { otherRan.Store(true); return nil })
	p := &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"a"}, p.calls)
	assert.False(t, otherRan.Load())
	assert.Equal(t, 2, HookCount(srv, testHook))

	srv.ClearHooks()
	assert.Zero(t, HookCount(srv, testHook))
	p = &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Empty(t, p.calls)

	// A registration after the clear runs, and removing one the clear
	// already removed leaves it alone.
	RegisterHook(srv, testHook, appendCall("z"))
	unA()
	p = &testPayload{}
	DispatchHook(context.Background(), srv, testHook, p)
	assert.Equal(t, []string{"z"}, p.calls)
	assert.Equal(t, 1, HookCount(srv, testHook))

	assert.Panics(t, func() { RegisterHook(srv, testHook, nil) })
}
