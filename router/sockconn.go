package router

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// sockConn is a TCP connection whose reads and writes skip the runtime's
// system-call bookkeeping (see rawRead). The first system call a
// goroutine makes after the process was idle wakes the runtime's monitor
// thread, which then polls every 20 µs for a while, competing with the
// router for its CPU: at 2,000 websocket round trips a second the router
// spent 66 µs of CPU per round trip with those wake-ups and 45 without
// (docs/PERFORMANCE.md, issue 9). Sockets in Go are non-blocking, so these
// calls return at once and need none of that bookkeeping.
//
// Everything but Read and Write is the TCP connection's own. Reads are
// serialised with each other, and writes with each other, as net.Conn's
// are; deadlines and Close wake a waiting call as they do there.
type sockConn struct {
	*net.TCPConn
	rc syscall.RawConn

	rmu  sync.Mutex // Serialises Read and protects the r fields.
	rp   []byte
	rn   int
	rerr error
	rfn  func(uintptr) bool

	wmu  sync.Mutex // Serialises Write and protects the w fields.
	wp   []byte
	wn   int
	werr error
	wfn  func(uintptr) bool
}

// wrapConn returns c as a sockConn when it is a plain TCP connection and
// the platform has raw system calls; otherwise c itself.
func wrapConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok || !rawIO {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	s := &sockConn{TCPConn: tc, rc: rc}
	// Method values bound once: a closure per call would be an allocation
	// per read and per write.
	s.rfn, s.wfn = s.readFD, s.writeFD
	return s
}

// Read reads once, waiting for the socket to become readable.
func (c *sockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rp, c.rn, c.rerr = p, 0, nil
	err := c.rc.Read(c.rfn)
	c.rp = nil
	if err == nil {
		err = c.rerr
	}
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return c.rn, err
}

func (c *sockConn) readFD(fd uintptr) bool {
	for {
		n, errno := rawRead(int(fd), c.rp)
		switch errno {
		case 0:
			c.rn = n
			if n == 0 {
				c.rerr = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.rerr = os.NewSyscallError("read", errno)
			return true
		}
	}
}

// Write writes all of p, waiting for room in the socket as needed.
func (c *sockConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wp, c.wn, c.werr = p, 0, nil
	err := c.rc.Write(c.wfn)
	c.wp = nil
	if err == nil {
		err = c.werr
	}
	if err != nil {
		err = c.opError("write", err)
	}
	return c.wn, err
}

func (c *sockConn) writeFD(fd uintptr) bool {
	for c.wn < len(c.wp) {
		n, errno := rawWrite(int(fd), c.wp[c.wn:])
		switch errno {
		case 0:
			c.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = os.NewSyscallError("write", errno)
			return true
		}
	}
	return true
}

// SyscallConn returns the connection's RawConn, made once: the TCP
// connection's own makes a new one per call, and the pool's liveness peek
// asks for it on every reused connection.
func (c *sockConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// opError wraps err as net.Conn's methods do, so callers' checks
// (timeouts, net.ErrClosed, resets) see what they would on a TCPConn.
func (c *sockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
