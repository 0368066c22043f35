package socketio

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// upgradeNoopDelay is how long a GET waits during an upgrade before it is
// answered with a noop (engine.io's check interval).
const upgradeNoopDelay = 100 * time.Millisecond

// handlePoll answers a long-polling GET with everything queued, waiting for
// the queue to fill when it is empty.
func (c *conn) handlePoll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.polling {
		// A second GET while one waits: engine.io treats it as a client bug
		// and closes the session.
		c.mu.Unlock()
		writeEIOError(w, errCodeBadRequest, "")
		c.finish("transport error")
		return
	}
	if c.state == stateClosed {
		c.mu.Unlock()
		writeEIOError(w, errCodeUnknownSID, "")
		return
	}
	var noop <-chan time.Time
	for len(c.out) == 0 || c.heldLocked() {
		if c.pollWake == nil {
			c.pollWake = make(chan struct{}, 1)
		}
		c.polling = true
		wake := c.pollWake
		if c.upgrading && noop == nil {
			// The probe was answered: as engine.io, release the poll with a
			// noop soon so the client can pause polling, but not at once, or
			// a client that does not pause would poll in a tight loop.
			t := time.NewTimer(upgradeNoopDelay)
			defer t.Stop()
			noop = t.C
		}
		c.mu.Unlock()
		fired := false
		select {
		case <-wake:
		case <-noop:
			fired = true
		case <-r.Context().Done():
			c.mu.Lock()
			c.polling = false
			c.mu.Unlock()
			// engine.io: "poll connection closed prematurely".
			c.finish("transport error")
			return
		}
		c.mu.Lock()
		c.polling = false
		if c.wsNet != nil {
			// Upgraded while waiting: the queue now belongs to the websocket.
			c.mu.Unlock()
			writePollBody(w, []byte{eioNoop})
			return
		}
		if fired || c.state == stateClosed {
			// Answered below: a noop, or the close packet.
			break
		}
		// Woken with nothing to send (the probe, a packet still held for
		// the connect phase, a wake left over from an earlier GET): wait
		// on, now with the probe's noop timer.
	}
	var batch []*wireMsg
	if !c.heldLocked() {
		batch = c.takeLocked()
	}
	closing := c.state == stateClosing
	closed := c.state == stateClosed
	if n := len(batch); closing && n > 1 && len(batch[n-1].text) == 1 && batch[n-1].text[0] == eioClose {
		// As engine.io, send the close packet in a later response than the
		// packets queued before it: socket.io-client handles a payload's
		// messages a tick after its close packet, so a DISCONNECT sent along
		// would be lost and the client would see "transport close".
		c.out = append(c.out, batch[n-1])
		batch = batch[:n-1]
		closing = false
		if c.closeTO == nil {
			c.closeTO = time.AfterFunc(c.srv.opts.PingTimeout, func() { c.finish("") })
		}
	}
	c.mu.Unlock()

	var body bytes.Buffer
	for i, m := range batch {
		if i > 0 {
			body.WriteByte(recordSeparator)
		}
		body.Write(m.pollingText())
	}
	if len(batch) == 0 {
		if closed {
			body.WriteByte(eioClose)
		} else {
			body.WriteByte(eioNoop) // released for an upgrade probe
		}
	}
	c.giveBack(batch)
	writePollBody(w, body.Bytes())
	if closing {
		c.finish("")
	}
}

// handlePost reads a polling POST body of Engine.IO packets.
func (c *conn) handlePost(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.posting {
		c.mu.Unlock()
		writeEIOError(w, errCodeBadRequest, "")
		c.finish("transport error")
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		writeEIOError(w, errCodeBadRequest, "")
		c.finish("transport error")
		return
	}
	limit := c.srv.opts.MaxHTTPBufferSize
	if r.ContentLength > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		c.finish("transport error")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		c.finish("transport error")
		return
	}
	if int64(len(body)) > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		c.finish("transport error")
		return
	}
	ok := decodePollingPayload(body, c.onPacket)
	if !ok {
		c.finish("parse error")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

func writePollBody(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
