package router

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tunnel pipes the bytes of one upgraded connection between the client and
// the backend. It ends when both directions have ended: a clean EOF
// half-closes the other side, anything else (reset, idle timeout, byte cap,
// Close) closes both.
type tunnel struct {
	client, backend net.Conn
	idle            time.Duration // <= 0: off
	maxBytes        int64         // 0: no cap

	last  atomic.Int64 // UnixNano of the last byte in either direction
	bytes atomic.Int64
	once  sync.Once
}

func newTunnel(client, backend net.Conn, idle time.Duration, maxBytes int64) *tunnel {
	t := &tunnel{client: client, backend: backend, idle: idle, maxBytes: maxBytes}
	t.last.Store(time.Now().UnixNano())
	return t
}

// close closes both connections; the pipes then end.
func (t *tunnel) close() {
	t.once.Do(func() {
		_ = t.client.Close()
		_ = t.backend.Close()
	})
}

var (
	copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// run pipes both ways and returns when both directions are done. The
// client-to-backend direction runs on its own goroutine, owned and joined
// here.
func (t *tunnel) run() {
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
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	if t.idle > 0 {
		_ = src.SetReadDeadline(time.Now().Add(t.idle))
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			t.last.Store(time.Now().UnixNano())
			if t.maxBytes > 0 && t.bytes.Add(int64(n)) > t.maxBytes {
				t.close()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				t.close()
				return
			}
		}
		if err == nil {
			continue
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

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
