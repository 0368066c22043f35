package router

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// tunnel pipes the bytes of one upgraded connection between the client and
// the backend. It ends when both directions have ended: a clean EOF
// half-closes the other side, anything else (reset, idle timeout, byte cap,
// Close) closes both. It runs on an event loop of the router's when it
// has one and both legs are sockets (evloop_linux.go), else as a pair of
// goroutines.
type tunnel struct {
	client, backend net.Conn
	idle            time.Duration // <= 0: off
	maxBytes        int64         // 0: no cap

	last  atomic.Int64 // UnixNano of the last byte in either direction
	bytes atomic.Int64
	once  sync.Once

	mu      sync.Mutex // Protects closing and lp.
	closing bool
	lp      *evLoop // set once the loop carries the tunnel

	// On a loop: done is closed when the tunnel ended; legs and lastNs
	// belong to the loop goroutine.
	done   chan struct{}
	legs   [2]leg
	lastNs int64
}

// loopCmd asks a loop to take a tunnel (add) or to end it.
type loopCmd struct {
	t   *tunnel
	add bool
}

func newTunnel(client, backend net.Conn, idle time.Duration, maxBytes int64) *tunnel {
	t := &tunnel{client: client, backend: backend, idle: idle, maxBytes: maxBytes}
	t.last.Store(time.Now().UnixNano())
	return t
}

// close ends the tunnel. On a loop it asks the loop, which owns the
// sockets. As a goroutine pair it closes both connections and the pipes
// then end; a deadline in the past first wakes any read or write blocked
// on either leg: a socket's Close waits until no call is using it, and a
// pipe can be inside its source's RawConn.Read while writing to the other
// leg.
func (t *tunnel) close() {
	t.mu.Lock()
	t.closing = true
	lp := t.lp
	t.mu.Unlock()
	if lp != nil {
		// A stopped loop ends its tunnels itself.
		_ = lp.send(loopCmd{t: t})
		return
	}
	t.once.Do(func() {
		past := time.Unix(1, 0)
		_ = t.client.SetDeadline(past)
		_ = t.backend.SetDeadline(past)
		_ = t.client.Close()
		_ = t.backend.Close()
	})
}

// copyBufPool holds the tunnels' copy buffers. On TCP legs a buffer is
// taken only while a read is being forwarded, not for the tunnel's life,
// so an idle websocket costs no buffer.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// errCloseTunnel ends a pipe that must close the tunnel (byte cap reached,
// destination failed). The pipe closes it once outside RawConn.Read,
// whose socket cannot be closed from within.
var errCloseTunnel = errors.New("router: closing the tunnel")

// run pipes both ways and returns when both directions are done: on lp
// when it is not nil and takes the tunnel, else with the
// client-to-backend direction on a goroutine of its own, owned and joined
// here.
func (t *tunnel) run(lp *evLoop) {
	if lp != nil && t.enterLoop(lp) {
		<-t.done
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.pipe(t.backend, t.client)
	}()
	t.pipe(t.client, t.backend)
	<-done
	t.close()
}

// pipe copies src to dst until src ends or fails. A write blocked by a
// peer that stopped reading needs no deadline of its own: the other
// direction's idle check closes the tunnel, which ends the write.
func (t *tunnel) pipe(dst, src net.Conn) {
	if t.idle > 0 {
		_ = src.SetReadDeadline(time.Now().Add(t.idle))
	}
	var raw syscall.RawConn
	if sc, ok := src.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	for {
		var err error
		if raw != nil {
			err = t.copyRaw(dst, raw)
		} else {
			err = t.copyConn(dst, src)
		}
		if errors.Is(err, errCloseTunnel) {
			t.close()
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && t.idle > 0 {
			// The deadline is armed once per idle period, not per read: on
			// expiry, traffic in either direction since then re-arms it.
			last := time.Unix(0, t.last.Load())
			if time.Since(last) < t.idle {
				_ = src.SetReadDeadline(last.Add(t.idle))
				continue
			}
			t.close()
			return
		}
		if !isEOF(err) {
			t.close()
			return
		}
		// A clean end of one direction: pass the half-close on, so the
		// other side can finish (a websocket close handshake).
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return
		}
		t.close()
		return
	}
}

// forward passes p, just read, on to dst; false when the tunnel must
// close (byte cap reached, dst failed).
func (t *tunnel) forward(dst net.Conn, p []byte) bool {
	if t.idle > 0 {
		t.last.Store(time.Now().UnixNano())
	}
	if t.maxBytes > 0 && t.bytes.Add(int64(len(p))) > t.maxBytes {
		return false
	}
	_, err := dst.Write(p)
	return err == nil
}

// copyConn is the portable copy loop (TLS, in-memory pipes); it returns
// the error that ended src's reads.
func (t *tunnel) copyConn(dst, src net.Conn) error {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 && !t.forward(dst, buf[:n]) {
			return errCloseTunnel
		}
		if err != nil {
			return err
		}
	}
}

// copyRaw is the copy loop of a socket. The reads happen inside
// RawConn.Read, which takes a buffer from the pool only once the socket is
// readable and returns it when a read finds the socket drained (EAGAIN):
// an idle tunnel holds no buffer, where a net.Conn.Read loop keeps one per
// direction for the tunnel's life (64 KiB per websocket). A short read is
// not taken as drained: it can leave a peer's FIN or reset unreported with
// no further readiness edge to come. It returns the error that ended
// src's reads.
func (t *tunnel) copyRaw(dst net.Conn, raw syscall.RawConn) error {
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		bp := copyBufPool.Get().(*[]byte)
		defer copyBufPool.Put(bp)
		buf := *bp
		for {
			n, errno := rawRead(int(fd), buf)
			switch {
			case errno == syscall.EINTR:
				continue
			case errno == syscall.EAGAIN:
				return false // wait for readiness
			case errno != 0:
				rerr = os.NewSyscallError("read", errno)
				return true
			case n == 0:
				rerr = io.EOF
				return true
			}
			if !t.forward(dst, buf[:n]) {
				rerr = errCloseTunnel
				return true
			}
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
