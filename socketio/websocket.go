package socketio

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// attachWebSocket makes ws the conn's transport and starts its reader.
func (c *conn) attachWebSocket(ws *websocket.Conn) {
	c.prepareWebSocket(ws)
	c.mu.Lock()
	c.ws = ws
	c.wsNet = ws.NetConn()
	c.kickLocked()
	c.mu.Unlock()
	if !c.srv.routines.Go(func() { c.readWebSocket(ws) }) {
		c.finish("server shutting down")
	}
}

// prepareWebSocket routes gorilla's automatic control-frame replies into our
// queue, so that every frame is written by one goroutine at a time.
func (c *conn) prepareWebSocket(ws *websocket.Conn) {
	ws.SetReadLimit(c.srv.opts.MaxHTTPBufferSize)
	ws.SetPingHandler(func(data string) error {
		c.send(newControlFrame(0xA, []byte(data)))
		return nil
	})
	ws.SetCloseHandler(func(int, string) error { return nil })
}

// readWebSocket is the conn's only long-lived goroutine. It returns when the
// connection ends, whoever ends it.
func (c *conn) readWebSocket(ws *websocket.Conn) {
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			c.finish(readErrorReason(err))
			return
		}
		if mt == websocket.BinaryMessage {
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

// readErrorReason maps a read error to Node's disconnect reason: the peer
// going away is a "transport close", a broken or oversize frame a
// "transport error".
func readErrorReason(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
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
		if len(c.out) == 0 || c.state == stateClosed {
			closing := c.state == stateClosing
			c.writing = false
			nc := c.wsNet
			c.mu.Unlock()
			if closing && nc != nil {
				_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = nc.Write([]byte{0x88, 0x02, 0x03, 0xE8}) // close 1000
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
	busy := c.ws != nil || c.probing != nil || c.state != stateOpen
	c.mu.Unlock()
	if busy {
		writeEIOError(w, errCodeBadRequest, "")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c.mu.Lock()
	if c.ws != nil || c.probing != nil || c.state != stateOpen {
		c.mu.Unlock()
		_ = ws.Close()
		return
	}
	c.probing = ws
	c.upgradeTO = time.AfterFunc(s.opts.UpgradeTimeout, func() { c.abortProbe(ws) })
	c.mu.Unlock()
	ws.SetReadLimit(s.opts.MaxHTTPBufferSize)
	if !s.routines.Go(func() { c.probe(ws) }) {
		_ = ws.Close()
	}
}

func (c *conn) abortProbe(ws *websocket.Conn) {
	c.mu.Lock()
	if c.probing == ws {
		c.probing = nil
		c.upgrading = false
	}
	c.mu.Unlock()
	_ = ws.Close()
}

func (c *conn) probe(ws *websocket.Conn) {
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			c.abortProbe(ws)
			return
		}
		switch string(data) {
		case "2probe":
			_ = ws.NetConn().SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, []byte("3probe")); err != nil {
				c.abortProbe(ws)
				return
			}
			// Release a waiting GET so the client can pause polling; until
			// the upgrade ends, GETs return at once.
			c.mu.Lock()
			if c.probing == ws {
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
			c.prepareWebSocket(ws)
			c.mu.Lock()
			if c.probing != ws || c.state != stateOpen {
				c.mu.Unlock()
				_ = ws.Close()
				return
			}
			c.probing = nil
			c.upgrading = false
			c.upgradeTO.Stop()
			// Switch in one step: a GET woken here sees the websocket and
			// leaves the queue to it.
			c.ws = ws
			c.wsNet = ws.NetConn()
			if c.polling {
				select {
				case c.pollWake <- struct{}{}:
				default:
				}
			}
			c.kickLocked()
			c.mu.Unlock()
			c.readWebSocket(ws)
			return
		default:
			c.abortProbe(ws)
			return
		}
	}
}
