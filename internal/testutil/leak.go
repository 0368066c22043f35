// Package testutil holds small helpers shared by the module's tests.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// background marks goroutines that the Go runtime, the testing package or
// the fuzzing engine start for themselves; they are not leaks.
var background = [][]byte{
	[]byte("os/signal.signal_recv"),
	[]byte("testing.(*F).Fuzz"),
	[]byte("testing.runFuzzTests"),
	[]byte("internal/fuzz."),
}

// goroutines returns the stacks of the goroutines that count, the caller's
// excepted.
func goroutines() [][]byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out [][]byte
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 || len(g) == 0 { // the first one is ours
			continue
		}
		ignored := false
		for _, b := range background {
			if bytes.Contains(g, b) {
				ignored = true
				break
			}
		}
		if !ignored {
			out = append(out, g)
		}
	}
	return out
}

// WaitGoroutines waits up to timeout for the goroutines other than the
// caller's and the runtime's to drop to baseline or below. It returns nil
// when they do, and otherwise an error carrying their stacks.
func WaitGoroutines(baseline int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		gs := goroutines()
		if len(gs) <= baseline {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines still running, %d expected:\n\n%s",
				len(gs), baseline, bytes.Join(gs, []byte("\n\n")))
		}
		time.Sleep(20 * time.Millisecond) // polling the runtime, not asserting on time
	}
}

// RunWithLeakCheck runs m and fails the run when goroutines started by the
// tests are still alive a few seconds after the last test. Use it as the
// body of TestMain:
//
//	func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }
func RunWithLeakCheck(m *testing.M) {
	baseline := len(goroutines())
	code := m.Run()
	if code == 0 {
		if err := WaitGoroutines(baseline, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
