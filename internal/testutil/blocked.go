package testutil

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Blocked waits until a handler reports entering a call that may block
// (its index on entered) and does not report leaving it (on left) within
// quiet, and returns that index. Calls that do come back in time must come
// back without error; the test fails when none blocks within timeout.
func Blocked(t testing.TB, entered <-chan int, left <-chan error, quiet, timeout time.Duration) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		var i int
		select {
		case i = <-entered:
		case <-deadline:
			t.Fatal("the handler never entered FlushPressure")
		}
		select {
		case err := <-left:
			require.NoError(t, err, "chunk %d", i)
		case <-time.After(quiet):
			return i
		}
	}
}
