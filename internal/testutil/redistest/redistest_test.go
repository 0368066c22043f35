package redistest

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	require.NoError(t, ping(s.Addr))

	Stop(t, s.Addr)
	assert.Error(t, ping(s.Addr), "stopped server still answers")

	Restart(t, s.Addr)
	require.NoError(t, ping(s.Addr), "restarted on the same address")

	s.Restart() // restarting a running server stops it first
	require.NoError(t, ping(s.Addr))
}

func TestStartGivesEachTestItsOwnServer(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	assert.NotEqual(t, a, b)
	require.NoError(t, ping(a))
	require.NoError(t, ping(b))
}

// recorder stands in for a testing.TB to observe Skip and Fatal without
// ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runRecorded(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
	}()
	<-done
	return r
}

// Not parallel: it changes PATH for the whole process.
func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	t.Setenv(RequireEnv, "")
	r := runRecorded(t)
	assert.Contains(t, r.skipped, "redis-server not found")
	assert.Empty(t, r.failed)

	t.Setenv(RequireEnv, "1")
	r = runRecorded(t)
	assert.Contains(t, r.failed, "redis-server not found")
	assert.Contains(t, r.failed, RequireEnv)
	assert.Empty(t, r.skipped)
}
