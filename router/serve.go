package router

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// Listener serves plain HTTP/1.1 requests on ln with the router's own
// connection loop and returns a listener for an [http.Server] whose
// Handler is rt; that server gets every connection the loop does not
// handle itself, from the request on that made it give up:
//
//	srv := &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second}
//	srv.RegisterOnShutdown(rt.Close)
//	err := srv.Serve(rt.Listener(ln))
//
// The loop forwards keep-alive requests with a small body or none and no
// proxyRequestGate or preProxyRequest hook registered; an upgrade, a
// chunked or large body, Expect, HTTP/1.0, a malformed or oversize head,
// a TLS connection, and every request while such a hook is registered go
// to net/http's server, with the same statuses and hooks as ServeHTTP. It
// saves net/http's per-request background read of the client connection
// (a goroutine and a read system call), its request and response objects
// and its response writer: about a fifth of the router's CPU per small
// request (bench/router/README.md).
//
// Closing the returned listener (http.Server.Shutdown and Close do) closes
// ln. [Router.Close] ends the loop's idle connections and lets busy ones
// finish their request; [Router.Shutdown] waits for them.
func (rt *Router) Listener(ln net.Listener) net.Listener {
	l := &handoffListener{rt: rt, ln: ln, conns: make(chan net.Conn), done: make(chan struct{}), loopDone: make(chan struct{})}
	go l.acceptLoop()
	return l
}

// handoffListener accepts on the real listener, serves plain connections
// itself and passes the others to the http.Server calling Accept.
type handoffListener struct {
	rt       *Router
	ln       net.Listener
	conns    chan net.Conn
	done     chan struct{} // closed by Close or a fatal accept error
	loopDone chan struct{}
	once     sync.Once
	err      error // the accept error that ended the loop; read after done
}

// Accept returns the next connection handed to net/http's server.
func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close closes the real listener and waits for the accept loop to end.
func (l *handoffListener) Close() error {
	err := l.stop(nil)
	<-l.loopDone
	return err
}

func (l *handoffListener) stop(cause error) error {
	var err error
	l.once.Do(func() {
		l.err = cause
		err = l.ln.Close()
		close(l.done)
	})
	return err
}

// Addr is the real listener's address.
func (l *handoffListener) Addr() net.Addr { return l.ln.Addr() }

// acceptLoop runs until the listener is closed; temporary accept errors
// (out of file descriptors) back off as net/http's server does.
func (l *handoffListener) acceptLoop() {
	defer close(l.loopDone)
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-l.done:
					return
				}
				continue
			}
			_ = l.stop(err)
			return
		}
		backoff = 0
		c = wrapConn(c)
		if _, isTLS := c.(*tls.Conn); isTLS {
			l.handOff(c, nil)
			continue
		}
		cc := l.rt.newClientConn(c, l)
		if cc == nil {
			l.handOff(c, nil) // the router is closed: ServeHTTP answers 503
			continue
		}
		go cc.serve()
	}
}

// handOff passes c, with the bytes already read from it, to net/http's
// server; it closes c when that server stopped accepting.
func (l *handoffListener) handOff(c net.Conn, read []byte) {
	var hc net.Conn = c
	if len(read) > 0 {
		hc = &handoffConn{Conn: c, prefix: read}
	}
	select {
	case l.conns <- hc:
	case <-l.done:
		_ = c.Close()
	}
}

// handoffConn replays the bytes the own loop read before giving the
// connection to net/http's server.
type handoffConn struct {
	net.Conn
	prefix []byte
}

func (c *handoffConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite passes a tunnel's half-close on.
func (c *handoffConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("router: connection cannot half-close")
}

// SyscallConn gives a tunnel the socket once the replayed bytes are
// consumed; before that reads must go through Read.
func (c *handoffConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok || len(c.prefix) > 0 {
		return nil, errors.New("router: no raw access to this connection")
	}
	return sc.SyscallConn()
}
