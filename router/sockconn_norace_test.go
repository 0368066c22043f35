//go:build !race

package router

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The point of sockConn is per-call cost; a closure per call would
// allocate. Race builds allocate in the runtime's own annotations, so
// this is checked by the non-race run of make test.
func TestSockConnReadWriteAllocateNothing(t *testing.T) {
	a, b := tcpPair(t)
	msg := []byte("ping")
	buf := make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		_, _ = a.Write(msg)
		_, _ = b.Read(buf)
	})
	require.Zero(t, allocs)
}

// The pool's liveness peek asks each reused connection for its RawConn.
func TestSockConnSyscallConnAllocatesNothing(t *testing.T) {
	a, _ := tcpPair(t)
	sc, ok := a.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	require.True(t, ok)
	allocs := testing.AllocsPerRun(100, func() { _, _ = sc.SyscallConn() })
	require.Zero(t, allocs)
}
