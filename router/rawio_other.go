//go:build !linux || race

package router

import (
	"runtime"
	"syscall"
)

// rawIO: on Linux race builds sockConn still wraps connections (so the
// race tests cover it) over the ordinary calls; elsewhere it is not used.
const rawIO = runtime.GOOS == "linux"

func rawRead(fd int, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(fd, p)
	return n, errnoOf(err)
}

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(fd, p)
	return n, errnoOf(err)
}

func rawPeek(fd int) (int, syscall.Errno) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
