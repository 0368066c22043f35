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

		bufs := c.srv.getIOV(2 * len(batch))
		for _, m := range batch {
			bufs = append(bufs, m.wsHeader(), m.wsPayload())
		}
		_ = nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		nb := net.Buffers(bufs)
		_, err := nb.WriteTo(nc)
		c.srv.putIOV(bufs)
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

func (s *Server) getIOV(n int) [][]byte {
	if p, ok := s.wsPool.Get().(*[][]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([][]byte, 0, n)
}

func (s *Server) putIOV(b [][]byte) {
	if cap(b) > 4096 {
		return
	}
	b = b[:cap(b)]
	clear(b)
	b = b[:0]
	s.wsPool.Put(&b)
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
			// Release a waiting GET so the client can pause polling.
			c.mu.Lock()
			if c.polling {
				select {
				case c.pollWake <- struct{}{}:
				default:
				}
			}
			c.mu.Unlock()
		case "5":
			c.mu.Lock()
			if c.probing != ws || c.state != stateOpen {
				c.mu.Unlock()
				_ = ws.Close()
				return
			}
			c.probing = nil
			c.upgradeTO.Stop()
			if c.polling {
				select {
				case c.pollWake <- struct{}{}:
				default:
				}
			}
			c.mu.Unlock()
			c.prepareWebSocket(ws)
			c.mu.Lock()
			c.ws = ws
			c.wsNet = ws.NetConn()
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
