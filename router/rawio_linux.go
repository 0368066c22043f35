//go:build linux && !race

package router

import (
	"syscall"
	"unsafe"
)

// rawIO: this platform has rawRead and rawWrite.
const rawIO = true

// rawRead and rawWrite are read(2) and write(2) without the runtime's
// system-call entry and exit (sockConn says why). Only for non-blocking
// descriptors: the runtime does not know the thread is in the kernel, so
// the call must not wait there. Race builds take the ordinary calls
// (rawio_other.go): the race detector learns from them that bytes written
// to a socket happen before they are read, and without that it reports
// races in programs that synchronise through the router.
func rawRead(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// rawPeek reports what a non-blocking one-byte MSG_PEEK finds: n < 0 with
// EAGAIN when nothing is waiting, 0 at end of stream.
func rawPeek(fd int) (int, syscall.Errno) {
	var b [1]byte
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), 0
}
