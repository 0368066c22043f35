//go:build unix

package socketio

import "syscall"

// rawReadSupported: on Unix the reader waits for readability through the
// RawConn and reads with read(2) itself.
const rawReadSupported = true

// readRaw runs inside RawConn.Read: it reads into r.dst, or into the read
// buffer (taken from the pool only now that bytes are there). Returning
// false makes the runtime wait for readability and call it again; the
// buffer goes back to the pool meanwhile, so a waiting connection holds none.
func (r *wsReader) readRaw(fd uintptr) bool {
	p := r.dst
	if p == nil {
		if r.bufp == nil {
			r.bufp = r.pool.get()
		}
		p = (*r.bufp)[r.w:]
	}
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if r.dst == nil && r.w == 0 {
				r.pool.put(r.bufp)
				r.bufp = nil
			}
			return false
		}
		r.n, r.err = max(n, 0), err
		return true
	}
}
