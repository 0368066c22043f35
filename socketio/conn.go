package socketio

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/luckystack/luckystack-go/internal/workpool"
)

type connState int

const (
	stateOpen    connState = iota
	stateClosing           // draining the queue before closing the transport
	stateClosed
)

// conn is one Engine.IO session. Outgoing packets go through one bounded
// queue whichever transport carries them, which keeps their order across
// the polling→websocket upgrade. No goroutine waits on an idle conn: the
// websocket reader is the only long-lived one, writes run on a goroutine
// started when the queue goes from empty to non-empty, and the heartbeat is
// a timer.
type conn struct {
	srv    *Server
	id     string
	hs     *handshakeInfo
	client *client
	// flush runs c.flushWebSocket, bound once: a method value allocates,
	// and every broadcast to an idle websocket starts it.
	flush workpool.Task
	// read is c.readWebSocket, bound once: each wait for the next packets
	// starts it on a fresh goroutine.
	read func()

	mu        sync.Mutex // Protects following.
	state     connState
	reason    string
	wsNet     net.Conn  // nil while polling
	reader    *wsReader // wsNet's; used by its reader goroutine only
	closeCode uint16    // the websocket close frame's code; 0 means 1000
	probing   net.Conn  // an upgrade in progress
	upgrading bool      // the probe was answered; polling pauses
	out       []*wireMsg
	spare     []*wireMsg
	outBytes  int
	writing   bool          // a websocket flush goroutine runs
	held      int           // connect phases in progress; the queue waits while open
	polling   bool          // a GET waits
	posting   bool          // a POST is being read
	pollWake  chan struct{} // buffered(1); wakes the waiting GET
	heartbeat *time.Timer
	awaitPong bool
	upgradeTO *time.Timer
	closeTO   *time.Timer
}

func newConn(s *Server, hs *handshakeInfo) *conn {
	c := &conn{srv: s, id: newID(), hs: hs}
	c.client = newClient(s, c)
	c.flush = func(context.Context) { c.flushWebSocket() }
	c.read = c.readWebSocket
	return c
}

// start arms the heartbeat and the namespace connect timeout.
func (c *conn) start() {
	c.mu.Lock()
	c.heartbeat = time.AfterFunc(c.srv.opts.PingInterval, c.onHeartbeat)
	c.mu.Unlock()
	c.client.start()
}

func (c *conn) transportName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wsNet != nil {
		return "websocket"
	}
	return "polling"
}

// onHeartbeat sends a ping, or closes the conn when the previous one went
// unanswered, as engine.io's schedulePing/resetPingTimeout pair.
func (c *conn) onHeartbeat() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if c.awaitPong {
		c.mu.Unlock()
		c.finish("ping timeout")
		return
	}
	c.awaitPong = true
	c.heartbeat.Reset(c.srv.opts.PingTimeout)
	c.mu.Unlock()
	c.send(c.srv.pingMsg)
}

func (c *conn) onPong() {
	c.mu.Lock()
	if c.state == stateOpen && c.awaitPong {
		c.awaitPong = false
		c.heartbeat.Reset(c.srv.opts.PingInterval)
	}
	c.mu.Unlock()
}

// send queues messages in order. It never blocks on the network.
func (c *conn) send(msgs ...*wireMsg) bool {
	return c.enqueue(false, msgs...)
}

// enqueue adds msgs; volatile ones are dropped when the transport cannot
// take them right away.
func (c *conn) enqueue(volatile bool, msgs ...*wireMsg) bool {
	size := 0
	for _, m := range msgs {
		size += m.size()
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return false
	}
	if volatile && (len(c.out) > 0 || (c.wsNet == nil && !c.polling)) {
		c.mu.Unlock()
		return false
	}
	if c.outBytes+size > c.srv.opts.MaxQueuedBytes && len(c.out) > 0 {
		c.mu.Unlock()
		if c.srv.opts.SlowConsumer == SlowConsumerDrop {
			return false
		}
		c.srv.opts.Logger.Warn("socketio: slow consumer disconnected", "sid", c.id, "queued", c.outBytes)
		c.finish("slow consumer")
		return false
	}
	c.out = append(c.out, msgs...)
	c.outBytes += size
	c.kickLocked()
	c.mu.Unlock()
	return true
}

// kickLocked makes the active transport take the queue.
func (c *conn) kickLocked() {
	if c.heldLocked() {
		return
	}
	if c.wsNet != nil {
		if !c.writing {
			c.writing = true
			if !c.srv.routines.Run(c.flush) {
				c.writing = false
			}
		}
		return
	}
	if c.polling && c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
}

// heldLocked reports whether the queue must stay unsent: a namespace
// connect is running its handlers. A closing conn is never held, so its
// last packets and the close frame still go out.
func (c *conn) heldLocked() bool { return c.held > 0 && c.state == stateOpen }

// hold keeps everything queued from reaching the wire until release. A
// socket's CONNECT is queued under a hold and its connection handlers run
// before release, so the client cannot act on the connect (and make other
// sockets act on it) before what those handlers set up, such as rooms,
// exists: Node gives the same guarantee by running the handlers in the
// tick that sends CONNECT.
func (c *conn) hold() {
	c.mu.Lock()
	c.held++
	c.mu.Unlock()
}

// release ends one hold and sends what waited.
func (c *conn) release() {
	c.mu.Lock()
	c.held--
	if len(c.out) > 0 {
		c.kickLocked()
	}
	c.mu.Unlock()
}

// takeLocked removes and returns the queue, swapping in the spare slice so a
// steady stream allocates nothing.
func (c *conn) takeLocked() []*wireMsg {
	batch := c.out
	c.out = c.spare[:0]
	c.spare = nil
	c.outBytes = 0
	return batch
}

func (c *conn) giveBack(batch []*wireMsg) {
	clear(batch)
	c.mu.Lock()
	if c.spare == nil && cap(batch) <= 256 {
		c.spare = batch[:0]
	}
	c.mu.Unlock()
}

// closeGracefully sends what is queued, then closes the transport; the conn
// finishes with reason.
func (c *conn) closeGracefully(reason string) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.reason = reason
	if c.wsNet != nil {
		if !c.writing {
			c.writing = true
			if !c.srv.routines.Run(c.flush) {
				c.writing = false
				c.mu.Unlock()
				c.finish(reason)
				return
			}
		}
		c.mu.Unlock()
		return
	}
	// Polling: the close packet goes out with the next (or waiting) GET.
	c.out = append(c.out, newTextMsg(eioClose, nil))
	wake := c.polling
	if wake {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	if !wake && c.srv.closed.Load() {
		// A server shutting down answers no more polls: nobody can fetch it.
		c.finish(reason)
		return
	}
	if !wake {
		// No GET waiting: give the client one ping timeout to fetch it.
		c.mu.Lock()
		c.closeTO = time.AfterFunc(c.srv.opts.PingTimeout, func() { c.finish(reason) })
		c.mu.Unlock()
	}
}

// closeWithCode closes a websocket conn gracefully with a close frame
// carrying code.
func (c *conn) closeWithCode(code uint16, reason string) {
	c.mu.Lock()
	if c.state == stateOpen {
		c.closeCode = code
	}
	c.mu.Unlock()
	c.closeGracefully(reason)
}

// finish closes the conn at once (idempotent) and tells the Socket.IO layer.
func (c *conn) finish(reason string) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	if c.state == stateClosing && c.reason != "" {
		reason = c.reason
	}
	c.state = stateClosed
	c.reason = reason
	if c.heartbeat != nil {
		c.heartbeat.Stop()
	}
	if c.upgradeTO != nil {
		c.upgradeTO.Stop()
	}
	if c.closeTO != nil {
		c.closeTO.Stop()
	}
	nc, probe := c.wsNet, c.probing
	c.probing = nil
	if c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
	clear(c.out)
	c.out = nil
	c.spare = nil
	c.mu.Unlock()
	if nc != nil {
		_ = nc.Close()
	}
	if probe != nil {
		_ = probe.Close()
	}
	c.srv.removeConn(c)
	c.client.onClose(reason)
}

// onPacket handles one Engine.IO packet from either transport.
func (c *conn) onPacket(typ byte, data []byte, binary bool) bool {
	switch typ {
	case eioMessage:
		c.client.onData(data, binary)
	case eioPong:
		c.onPong()
	case eioClose:
		c.finish("transport close")
		return false
	case eioPing:
		// engine.io 6: "invalid heartbeat direction" (v4 servers ping).
		c.finish("transport error")
		return false
	case eioOpen, eioNoop, eioUpgrade:
		// Ignored, as engine.io does.
	default:
		c.finish("parse error")
		return false
	}
	return true
}
