package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"
)

// clientConn states: Router.Close closes a connection only while it waits
// for a request; a busy one finishes its request first.
const (
	connIdle int32 = iota
	connActive
	connClosed
)

// clientWatchDelay is how long a request may wait for its answer before
// the loop starts watching the client connection for a close (net/http's
// server watches from the start, one goroutine and one read per request):
// a client that gives up a long poll still ends the backend leg at once.
const clientWatchDelay = 10 * time.Millisecond

// clientConn is one client connection served by the own loop. Everything
// a request needs is kept and reused across the connection's requests:
// the request, its header map and URL, the response writer.
type clientConn struct {
	rt  *Router
	l   *handoffListener
	nc  net.Conn
	raw syscall.RawConn // nil when the connection has no socket

	buf  []byte // read buffer; buf[r:w] is unread
	r, w int
	bw   *bufio.Writer

	head reqHead
	req  *http.Request
	url  url.URL
	hdr  http.Header
	vals []string
	body bodyReader
	rw   respWriter

	ctx    context.Context // canceled when the client is seen gone
	cancel context.CancelFunc
	state  atomic.Int32

	watch     *time.Timer
	watchDone chan struct{}
	// watchEnd tells a watch that started late not to begin waiting.
	watchEnd atomic.Bool
	served   bool // at least one request was answered
}

// newClientConn registers c with rt; nil when rt is closed.
func (rt *Router) newClientConn(c net.Conn, l *handoffListener) *clientConn {
	cc := &clientConn{rt: rt, l: l, nc: c, buf: make([]byte, 4<<10), bw: bufio.NewWriterSize(c, 4<<10),
		hdr: make(http.Header, 8), watchDone: make(chan struct{}, 1)}
	if sc, ok := c.(syscall.Conn); ok {
		cc.raw, _ = sc.SyscallConn()
	}
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.req = (&http.Request{}).WithContext(cc.ctx)
	cc.req.RemoteAddr = c.RemoteAddr().String()
	cc.body.c = cc
	cc.rw.c = cc
	cc.rw.h = make(http.Header, 8)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		cc.cancel()
		return nil
	}
	rt.clients[cc] = struct{}{}
	rt.clientWG.Add(1)
	return cc
}

// closeIfIdle closes the connection when it waits for a request.
func (c *clientConn) closeIfIdle() {
	if c.state.CompareAndSwap(connIdle, connClosed) {
		_ = c.nc.Close()
	}
}

// serve runs the connection's requests until it closes or is handed to
// net/http's server.
func (c *clientConn) serve() {
	handedOff := false
	defer func() {
		// net/http's server survives a panic in a handler by closing that
		// connection; so does this loop.
		if p := recover(); p != nil {
			c.rt.cfg.Logger.Error("router: request panicked; closing its connection", "panic", p, "stack", string(debug.Stack()))
			handedOff = false
		}
		c.cancel()
		if c.watch != nil {
			c.watch.Stop()
		}
		if !handedOff {
			_ = c.nc.Close()
		}
		c.rt.mu.Lock()
		delete(c.rt.clients, c)
		c.rt.mu.Unlock()
		c.rt.clientWG.Done()
	}()
	for {
		n, st := c.readHead()
		if st == headIncomplete {
			return // closed, timed out or failed
		}
		if !c.state.CompareAndSwap(connIdle, connActive) {
			return // Router.Close
		}
		if st == headUnusual || c.rt.gates.list.Load() != nil || c.rt.pres.list.Load() != nil ||
			!parseHead(string(c.buf[c.r:c.r+n]), &c.head, maxBufferedBody) {
			handedOff = true
			c.l.handOff(c.nc, c.buf[c.r:c.w])
			return
		}
		c.r += n
		if !c.serveOne() {
			return
		}
		c.state.Store(connIdle)
		if c.rt.isClosed() {
			return
		}
	}
}

// readHead waits until buf holds a complete request head and returns its
// length (headComplete), headUnusual for input net/http's server is to
// judge, or headIncomplete when the connection ended.
func (c *clientConn) readHead() (int, headStatus) {
	armed := false
	max := c.rt.cfg.MaxHeaderBytes
	for {
		if c.w > c.r {
			n, st := scanHead(c.buf[c.r:c.w], max)
			if st != headIncomplete {
				return n, st
			}
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if c.w == len(c.buf) {
			if c.r > 0 {
				c.w = copy(c.buf, c.buf[c.r:c.w])
				c.r = 0
			} else {
				nb := make([]byte, min(2*len(c.buf), max+1))
				copy(nb, c.buf)
				c.buf = nb
			}
		}
		if !armed {
			armed = true
			// A new connection or a started head gets the header
			// timeout, an idle keep-alive connection the idle one.
			d := c.rt.cfg.ReadHeaderTimeout
			if c.served && c.w == c.r {
				d = c.rt.cfg.KeepAliveTimeout
			}
			var deadline time.Time
			if d > 0 {
				deadline = time.Now().Add(d)
			}
			_ = c.nc.SetReadDeadline(deadline)
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if err != nil && n == 0 {
			return 0, headIncomplete
		}
	}
}

// serveOne forwards the request whose head was just parsed and reports
// whether the connection stays open for another.
func (c *clientConn) serveOne() bool {
	start := time.Now()
	h := &c.head
	clear(c.hdr)
	if cap(c.vals) < len(h.fields) {
		c.vals = make([]string, len(h.fields))
	}
	vals := c.vals[:len(h.fields)]
	for i, f := range h.fields {
		vals[i] = f.value
		if old, ok := c.hdr[f.name]; ok {
			c.hdr[f.name] = append(old, f.value)
		} else {
			c.hdr[f.name] = vals[i : i+1 : i+1]
		}
	}
	c.url = url.URL{Path: h.path, RawQuery: h.query}
	r := c.req
	r.Method, r.RequestURI, r.Host = h.method, h.target, h.host
	r.URL, r.Header = &c.url, c.hdr
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.ContentLength, r.Close = h.contentLength, h.close
	r.Body = http.NoBody
	c.body.remaining, c.body.armed = h.contentLength, false
	if h.contentLength > 0 {
		r.Body = &c.body
	}
	c.rw.reset(h.method, h.close || c.rt.isClosed())

	c.startWatch()
	c.rt.serveRouted(&c.rw, r, start)
	c.stopWatch()
	if c.ctx.Err() != nil {
		return false // the client is gone: nothing more is written
	}
	keep := c.rw.finish()
	c.served = true
	if c.body.remaining > 0 && !c.body.discard() {
		return false
	}
	return keep
}

// startWatch arms the client watch of one request.
func (c *clientConn) startWatch() {
	if c.raw == nil {
		return
	}
	c.watchEnd.Store(false)
	if c.watch == nil {
		c.watch = time.AfterFunc(clientWatchDelay, c.watchClient)
		return
	}
	c.watch.Reset(clientWatchDelay)
}

// stopWatch ends the client watch of a request, waiting for it when it
// had started.
func (c *clientConn) stopWatch() {
	if c.watch == nil || c.watch.Stop() {
		return
	}
	// The watch runs (or ran): a past deadline ends its wait, the flag
	// one that has yet to clear the deadline and begin.
	c.watchEnd.Store(true)
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	<-c.watchDone
	_ = c.nc.SetReadDeadline(time.Time{})
}

// watchClient waits until the client connection is readable without
// consuming anything; a close or reset (not a pipelined request) cancels
// the connection's context, which ends the backend leg.
func (c *clientConn) watchClient() {
	defer func() { c.watchDone <- struct{}{} }()
	// The request's head deadline must not end the watch of a long poll.
	_ = c.nc.SetReadDeadline(time.Time{})
	if c.watchEnd.Load() {
		return
	}
	gone := false
	_ = c.raw.Read(func(fd uintptr) bool {
		n, errno := rawPeek(int(fd))
		if errno == syscall.EAGAIN || errno == syscall.EINTR {
			return false
		}
		gone = n <= 0
		return true
	})
	if gone {
		c.cancel()
	}
}

// bodyReader reads a request body of known length from the buffered bytes
// first, then the connection.
type bodyReader struct {
	c         *clientConn
	remaining int64
	armed     bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	c := b.c
	if c.w > c.r {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		b.remaining -= int64(n)
		return n, nil
	}
	if !b.armed {
		b.armed = true
		var deadline time.Time
		if d := c.rt.cfg.KeepAliveTimeout; d > 0 {
			deadline = time.Now().Add(d)
		}
		_ = c.nc.SetReadDeadline(deadline)
	}
	n, err := c.nc.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// discard reads the rest of a body the request did not consume, so the
// next request starts at its head.
func (b *bodyReader) discard() bool {
	_, err := io.Copy(io.Discard, b)
	return err == nil && b.remaining == 0
}
