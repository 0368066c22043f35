package socketio

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// attachWebSocket makes nc, a connection gorilla has upgraded, the conn's
// transport and starts its reader.
func (c *conn) attachWebSocket(nc net.Conn) {
	rd := newWSReader(nc, &c.srv.readBufs, c.srv.opts.MaxHTTPBufferSize)
	c.mu.Lock()
	c.wsNet = nc
	c.reader = rd
	c.kickLocked()
	c.mu.Unlock()
	if !c.srv.routines.Go(c.read) {
		c.finish("server shutting down")
	}
}

// pong queues the answer to a client's ping, so that every frame is written
// by one goroutine at a time.
func (c *conn) pong(payload []byte) { c.send(newControlFrame(opPong, payload)) }

// idleHandoff is how long the goroutine that handled packets keeps waiting
// for more before it hands the wait to a fresh goroutine (see
// readWebSocket). Traffic that resumes within it costs no handoff.
const idleHandoff = 20 * time.Millisecond

// readWebSocket is the conn's only long-lived goroutine. It returns when the
// connection ends, whoever ends it.
//
// An idle connection's cost is mostly this goroutine's stack, which never
// shrinks below four times what it uses while parked, and handling packets
// grows it. So once the socket has had nothing to read for idleHandoff, the
// goroutine that handled packets starts a fresh one (a 2 KB stack) to wait
// for the next packets, and returns.
func (c *conn) readWebSocket() {
	rd := c.reader
	handled := false
	for {
		if handled && rd.raw != nil && rd.idle() {
			// Bytes already there are read at once; otherwise wait at most
			// idleHandoff.
			_ = rd.nc.SetReadDeadline(time.Now().Add(idleHandoff))
			err := rd.fill()
			_ = rd.nc.SetReadDeadline(time.Time{})
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if !c.srv.routines.Go(c.read) {
					c.finish("server shutting down")
				}
				return
			}
			if err != nil {
				c.onReadError(err)
				return
			}
		}
		op, data, err := rd.next(c.pong)
		if err != nil {
			c.onReadError(err)
			return
		}
		handled = true
		if op == opBinary {
			c.onPacket(eioMessage, data, true)
			continue
		}
		if len(data) == 0 {
			c.finish("parse error")
			return
		}
		if !c.onPacket(data[0], data[1:], false) {
			return
		}
	}
}

// onReadError ends the conn after a failed read; a frame that breaks the
// protocol or the size limit is answered with a close frame first, as
// Node's ws does.
func (c *conn) onReadError(err error) {
	switch {
	case errors.Is(err, errWSTooBig):
		c.closeWithCode(1009, "transport error")
	case errors.Is(err, errWSProtocol):
		c.closeWithCode(1002, "transport error")
	default:
		c.finish(readErrorReason(err))
	}
}

// readErrorReason maps a read error to Node's disconnect reason: the peer
// going away is a "transport close", a broken or oversize frame a
// "transport error".
func readErrorReason(err error) string {
	switch {
	case errors.Is(err, errWSClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "transport close"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "transport close"
	}
	return "transport error"
}

// flushWebSocket writes the queue with vectored writes until it is empty,
// then exits; it runs only while there is something to write.
func (c *conn) flushWebSocket() {
	for {
		c.mu.Lock()
		if len(c.out) == 0 || c.state == stateClosed || c.heldLocked() {
			closing := c.state == stateClosing
			c.writing = false
			nc, code := c.wsNet, c.closeCode
			c.mu.Unlock()
			if closing && nc != nil {
				_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
				if code == 0 {
					code = 1000
				}
				_, _ = nc.Write([]byte{0x80 | opClose, 0x02, byte(code >> 8), byte(code)})
				c.finish("")
			}
			return
		}
		batch := c.takeLocked()
		nc := c.wsNet
		c.mu.Unlock()

		iov := c.srv.getIOV(2 * len(batch))
		for _, m := range batch {
			*iov = append(*iov, m.wsHeader(), m.wsPayload())
		}
		_ = nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		bufs := *iov
		_, err := iov.WriteTo(nc) // consumes *iov
		*iov = bufs
		c.srv.putIOV(iov)
		c.giveBack(batch)
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.finish("transport error")
			return
		}
	}
}

// getIOV returns an empty pooled vector with room for n buffers. The pool
// holds pointers so that neither Put nor WriteTo allocates.
func (s *Server) getIOV(n int) *net.Buffers {
	p, _ := s.wsPool.Get().(*net.Buffers)
	if p == nil {
		p = new(net.Buffers)
	}
	if cap(*p) < n {
		*p = make(net.Buffers, 0, n)
	}
	return p
}

func (s *Server) putIOV(p *net.Buffers) {
	if cap(*p) > 4096 {
		return
	}
	clear((*p)[:cap(*p)])
	*p = (*p)[:0]
	s.wsPool.Put(p)
}

// upgradeConn runs the polling→websocket upgrade of engine.io: the client
// probes with "2probe", we answer "3probe" and release the waiting GET, and
// the client's "5" switches the conn to the websocket.
func (s *Server) upgradeConn(c *conn, w http.ResponseWriter, r *http.Request) {
	if s.opts.DisableUpgrades {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	c.mu.Lock()
	busy := c.wsNet != nil || c.probing != nil || c.state != stateOpen
	c.mu.Unlock()
	if busy {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	nc := ws.NetConn()
	c.mu.Lock()
	if c.wsNet != nil || c.probing != nil || c.state != stateOpen {
		c.mu.Unlock()
		_ = nc.Close()
		return
	}
	c.probing = nc
	c.upgradeTO = time.AfterFunc(s.opts.UpgradeTimeout, func() { c.abortProbe(nc) })
	c.mu.Unlock()
	if !s.routines.Go(func() { c.probe(nc) }) {
		_ = nc.Close()
	}
}

func (c *conn) abortProbe(nc net.Conn) {
	c.mu.Lock()
	if c.probing == nc {
		c.probing = nil
		c.upgrading = false
	}
	c.mu.Unlock()
	_ = nc.Close()
}

// probe reads the probing websocket until the client's "5" switches the
// conn to it; then it carries on as the conn's reader.
func (c *conn) probe(nc net.Conn) {
	rd := newWSReader(nc, &c.srv.readBufs, c.srv.opts.MaxHTTPBufferSize)
	ignore := func([]byte) {} // nobody may write to the probe but us
	for {
		op, data, err := rd.next(ignore)
		if err != nil || op != opText {
			c.abortProbe(nc)
			return
		}
		switch string(data) {
		case "2probe":
			_ = nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
			frame := appendFrameHeader(make([]byte, 0, 8), opText, 6)
			if _, err := nc.Write(append(frame, "3probe"...)); err != nil {
				c.abortProbe(nc)
				return
			}
			// A waiting GET now gets its noop after upgradeNoopDelay, as
			// later GETs do until the upgrade ends.
			c.mu.Lock()
			if c.probing == nc {
				c.upgrading = true
			}
			if c.polling {
				select {
				case c.pollWake <- struct{}{}:
				default:
				}
			}
			c.mu.Unlock()
		case "5":
			c.mu.Lock()
			if c.probing != nc || c.state != stateOpen {
				c.mu.Unlock()
				_ = nc.Close()
				return
			}
			c.probing = nil
			c.upgrading = false
			c.upgradeTO.Stop()
			// Switch in one step: a GET woken here sees the websocket and
			// leaves the queue to it.
			c.wsNet = nc
			c.reader = rd
			if c.polling {
				select {
				case c.pollWake <- struct{}{}:
				default:
				}
			}
			c.kickLocked()
			c.mu.Unlock()
			c.readWebSocket()
			return
		default:
			c.abortProbe(nc)
			return
		}
	}
}
