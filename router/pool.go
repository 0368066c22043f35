package router

import (
	"bufio"
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// The router forwards HTTP/1.1 itself instead of through net/http's
// Transport: the handler goroutine writes the request and reads the answer
// on a pooled connection, without the Transport's two goroutines per
// connection and the hand-offs between them, which cost about half the
// router's CPU per small request.

const (
	// maxIdlePerBackend caps the idle keep-alive connections kept to one
	// backend.
	maxIdlePerBackend = 256
	// idleConnTimeout drops connections idle longer than this, below the
	// usual server keep-alive timeouts so a backend rarely closes one
	// first.
	idleConnTimeout = 50 * time.Second
	// freshIdle is how long a connection may have been idle and still be
	// used for a request that can be resent without the liveness peek: a
	// backend rarely closes one this soon after answering, the resend
	// covers it when it does, and on a busy pool (the most recent
	// connection is taken first) the peek would be a system call on
	// every request.
	freshIdle = 200 * time.Millisecond
)

// backendConn is one keep-alive connection to a backend.
type backendConn struct {
	net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// connPool holds a backend's idle connections, most recent last.
type connPool struct {
	mu     sync.Mutex // Protects following.
	idle   []*backendConn
	closed bool
}

// getConn returns an idle connection (reused) or dials a new one.
// resendable says the request can be sent again on a fresh connection when
// the reused one turns out closed (errStale), so a recently pooled
// connection is not peeked at first.
func (rt *Router) getConn(ctx context.Context, b *backend, resendable bool) (bc *backendConn, reused bool, err error) {
	p := &b.pool
	now := time.Now()
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		bc = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		idle := now.Sub(bc.idleSince)
		if idle < idleConnTimeout && bc.alive(resendable && idle < freshIdle) {
			p.mu.Unlock()
			return bc, true, nil
		}
		_ = bc.Close()
	}
	p.mu.Unlock()
	return rt.newConn(ctx, b)
}

func (rt *Router) newConn(ctx context.Context, b *backend) (*backendConn, bool, error) {
	c, err := rt.dial(ctx, b)
	if err != nil {
		return nil, false, err
	}
	return &backendConn{Conn: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10)}, false, nil
}

// putConn keeps bc for reuse, or closes it when the pool is full or shut.
func (rt *Router) putConn(b *backend, bc *backendConn) {
	p := &b.pool
	bc.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerBackend {
		p.mu.Unlock()
		_ = bc.Close()
		return
	}
	p.idle = append(p.idle, bc)
	p.mu.Unlock()
}

// closeIdle closes every idle connection of every backend and stops
// pooling.
func (rt *Router) closeIdle() {
	for _, svc := range rt.services {
		for _, b := range svc.backends {
			p := &b.pool
			p.mu.Lock()
			p.closed = true
			idle := p.idle
			p.idle = nil
			p.mu.Unlock()
			for _, bc := range idle {
				_ = bc.Close()
			}
		}
	}
}

// alive reports whether an idle connection can take a request: the
// backend has not closed it (Node closes idle keep-alive connections after
// 5s) and has sent nothing unasked. Unless skipPeek, it peeks at the
// socket without blocking, one system call, so a closed connection is
// found before a request is written to it rather than after.
func (bc *backendConn) alive(skipPeek bool) bool {
	if bc.br.Buffered() > 0 {
		return false
	}
	if skipPeek {
		return true
	}
	sc, ok := bc.Conn.(syscall.Conn)
	if !ok {
		return true // TLS: found out on use
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = raw.Read(func(fd uintptr) bool {
		n, errno := rawPeek(int(fd))
		alive = n < 0 && errno == syscall.EAGAIN
		return true
	})
	return err == nil && alive
}
