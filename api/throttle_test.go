package api

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type frames struct {
	mu  sync.Mutex
	got []map[string]string
	err error
}

func (f *frames) emit(p any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, p.(map[string]string))
	return nil
}

func (f *frames) list() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.got...)
}

func TestStreamThrottle(t *testing.T) {
	t.Run("size and timer flushes with the defaults", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var f frames
			th := NewStreamThrottle(f.emit, ThrottleOptions{})
			require.NoError(t, th.Write("hello "))
			require.NoError(t, th.Write("world"))
			assert.Empty(t, f.list(), "small pieces wait")
			time.Sleep(49 * time.Millisecond)
			assert.Empty(t, f.list())
			time.Sleep(time.Millisecond)
			synctest.Wait()
			assert.Equal(t, []map[string]string{{"chunk": "hello world"}}, f.list(), "50ms after the first write")

			long := "0123456789012345678901234567890123456789"
			require.NoError(t, th.Write(long))
			assert.Equal(t, map[string]string{"chunk": long}, f.list()[1], "32 bytes leave at once")
			require.NoError(t, th.Write("tail"))
			require.NoError(t, th.Close())
			assert.Equal(t, map[string]string{"chunk": "tail"}, f.list()[2], "close sends the tail")
			time.Sleep(time.Second)
			assert.Len(t, f.list(), 3, "no timer frame after close")
			assert.ErrorIs(t, th.Write("late"), ErrStreamClosed)
			assert.NoError(t, th.Close(), "close twice is fine")
		})
	})
	t.Run("options", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var f frames
			th := NewStreamThrottle(f.emit, ThrottleOptions{FlushAtChars: 4, FlushEvery: -1, Field: "text"})
			require.NoError(t, th.Write("ab"))
			time.Sleep(time.Hour)
			assert.Empty(t, f.list(), "no timer when FlushEvery is negative")
			require.NoError(t, th.Write("cd"))
			require.NoError(t, th.Write("e"))
			require.NoError(t, th.Flush())
			require.NoError(t, th.Flush(), "flushing nothing sends nothing")
			assert.Equal(t, []map[string]string{{"text": "abcd"}, {"text": "e"}}, f.list())
		})
	})
	t.Run("an emit failure on the timer is reported by the next call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := frames{err: errors.New("gone")}
			th := NewStreamThrottle(f.emit, ThrottleOptions{})
			require.NoError(t, th.Write("x"))
			time.Sleep(time.Second)
			assert.EqualError(t, th.Write("y"), "gone", "the lost x is reported")
			require.NoError(t, th.Close(), "y was refused with the error, not buffered")
			assert.Empty(t, f.list())
		})
	})
}
