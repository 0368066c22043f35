package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// This file is a minimal Engine.IO v4 / Socket.IO v5 client over WebSocket.
// It deliberately does not import the library under test: the same binary
// must drive the Go bench server and the Node peer with identical code.
//
// Only what the scenarios need is implemented: the websocket transport (no
// polling), text packets (no binary attachments), CONNECT/EVENT/ACK and
// the heartbeat.

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h; the
// syscall package lacks it. It defers the ephemeral port choice from bind()
// to connect(), where the kernel checks the full 4-tuple, so binding to an
// explicit 127.0.0.x source does not shrink the port space.
const ipBindAddressNoPort = 24

// dialConfig is what every client needs to reach a server.
type dialConfig struct {
	base      string // http://host:port
	namespace string // "/" or "/name"
	timeout   time.Duration
	srcIPs    []net.IP // source addresses to rotate through; empty means kernel choice
	rcvBuf    int      // SO_RCVBUF for the socket, 0 keeps the default
}

// wsURL turns the base HTTP address into the Engine.IO websocket endpoint.
func (d dialConfig) wsURL() (string, error) {
	u, err := url.Parse(d.base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	u.Path = "/socket.io/"
	u.RawQuery = "EIO=4&transport=websocket"
	return u.String(), nil
}

// client is one Socket.IO connection. Reads happen on the goroutine that
// calls run; writes may come from any goroutine and are serialised by wmu
// because gorilla/websocket allows one concurrent writer.
type client struct {
	ws  *websocket.Conn
	ns  string // namespace prefix for packets ("" for "/", else "/name,")
	wmu sync.Mutex

	nextID atomic.Uint64

	pmu     sync.Mutex
	pending map[uint64]chan []byte // synchronous calls waiting for an ack

	// onAck receives acks that no synchronous call waits for; onEvent
	// receives event payloads (the JSON array). Both run on the reader
	// goroutine and must not keep the slice.
	onAck   func(id uint64, payload []byte)
	onEvent func(payload []byte)

	// pauseReq/resume implement the slow consumer: when pauseReq is closed
	// the reader stops reading until resume is closed.
	pauseReq chan struct{}
	resume   chan struct{}

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
	exited    chan struct{} // closed when run returns
}

var srcCounter atomic.Uint64

// dial opens the websocket, reads the Engine.IO open packet and connects the
// namespace. It returns once the server acknowledged the CONNECT.
func dial(ctx context.Context, cfg dialConfig) (*client, error) {
	target, err := cfg.wsURL()
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: cfg.timeout}
	if len(cfg.srcIPs) > 1 {
		ip := cfg.srcIPs[srcCounter.Add(1)%uint64(len(cfg.srcIPs))]
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	rcv := cfg.rcvBuf
	nd.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if nd.LocalAddr != nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			}
			if serr == nil && rcv > 0 {
				// Set before connect so the window scale matches the small buffer.
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcv)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	d := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: cfg.timeout,
		// Small buffers keep the load generator's own memory modest with
		// 10k+ idle connections; 4 KB reads still batch several frames.
		ReadBufferSize:  4096,
		WriteBufferSize: 1024,
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	ws, resp, err := d.DialContext(dctx, target, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c := &client{ws: ws, pending: map[uint64]chan []byte{}, closed: make(chan struct{}), exited: make(chan struct{})}
	if cfg.namespace != "" && cfg.namespace != "/" {
		c.ns = cfg.namespace + ","
	}
	if err := c.handshake(cfg.timeout); err != nil {
		ws.Close()
		return nil, err
	}
	return c, nil
}

// handshake reads the EIO open packet, sends the SIO CONNECT and waits for
// the CONNECT ack, all under one deadline.
func (c *client) handshake(timeout time.Duration) error {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, msg, err := c.ws.ReadMessage()
	if err != nil {
		return fmt.Errorf("read open: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return fmt.Errorf("expected open packet, got %.40q", msg)
	}
	if err := c.send([]byte("40" + c.ns)); err != nil {
		return fmt.Errorf("send connect: %w", err)
	}
	for {
		_, msg, err = c.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("read connect ack: %w", err)
		}
		switch {
		case len(msg) == 1 && msg[0] == '2':
			if err := c.send([]byte{'3'}); err != nil {
				return err
			}
			continue
		case bytes.HasPrefix(msg, []byte("40")):
			_ = c.ws.SetReadDeadline(time.Time{})
			return nil
		case bytes.HasPrefix(msg, []byte("44")):
			return fmt.Errorf("connect_error: %.200s", msg)
		default:
			return fmt.Errorf("unexpected packet during connect: %.40q", msg)
		}
	}
}

// send writes one text frame.
func (c *client) send(b []byte) error {
	c.wmu.Lock()
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	return err
}

// appendEmitHeader appends "42<ns><id>" to b.
func (c *client) appendEmitHeader(b []byte, id uint64) []byte {
	b = append(b, '4', '2')
	b = append(b, c.ns...)
	return strconv.AppendUint(b, id, 10)
}

// call emits event with JSON-encoded args (a JSON array body without the
// brackets, e.g. `"r1"`) and waits for the ack payload.
func (c *client) call(event, args string, timeout time.Duration) ([]byte, error) {
	id := c.nextID.Add(1)
	ch := make(chan []byte, 1)
	c.pmu.Lock()
	c.pending[id] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pending, id)
		c.pmu.Unlock()
	}()
	b := c.appendEmitHeader(make([]byte, 0, 32+len(event)+len(args)), id)
	b = append(b, `["`...)
	b = append(b, event...)
	b = append(b, '"')
	if args != "" {
		b = append(b, ',')
		b = append(b, args...)
	}
	b = append(b, ']')
	if err := c.send(b); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case p := <-ch:
		return p, nil
	case <-c.closed:
		return nil, fmt.Errorf("closed while waiting for %s ack: %w", event, c.closeErr)
	case <-t.C:
		return nil, fmt.Errorf("%s ack timeout after %s", event, timeout)
	}
}

// run is the read loop. It answers heartbeats, dispatches acks and events
// and returns when the connection ends (the error says why).
func (c *client) run() error {
	defer close(c.exited)
	var buf bytes.Buffer
	err := c.readLoop(&buf)
	c.finish(err)
	return err
}

func (c *client) readLoop(buf *bytes.Buffer) error {
	for {
		if c.pauseReq != nil {
			select {
			case <-c.pauseReq:
				select {
				case <-c.resume:
				case <-c.closed:
					return errors.New("closed while paused")
				}
				c.pauseReq = nil
			default:
			}
		}
		_, r, err := c.ws.NextReader()
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return err
		}
		msg := buf.Bytes()
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '2': // EIO ping from the server: answer at once or it drops us.
			if err := c.send([]byte{'3'}); err != nil {
				return err
			}
		case '1': // EIO close
			return io.EOF
		case '4':
			if len(msg) < 2 {
				continue
			}
			body := stripNamespace(msg[2:])
			switch msg[1] {
			case '2':
				if c.onEvent != nil {
					c.onEvent(body)
				}
			case '3':
				id, payload, ok := parseAck(body)
				if !ok {
					continue
				}
				c.pmu.Lock()
				ch := c.pending[id]
				c.pmu.Unlock()
				if ch != nil {
					// Non-blocking: a duplicate ack must not wedge the reader.
					select {
					case ch <- append([]byte(nil), payload...):
					default:
					}
				} else if c.onAck != nil {
					c.onAck(id, payload)
				}
			case '1':
				return errors.New("server disconnected the namespace")
			case '4':
				return fmt.Errorf("connect_error: %.200s", body)
			}
		}
	}
}

// finish marks the client closed exactly once.
func (c *client) finish(err error) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		close(c.closed)
	})
}

// close ends the connection without a close handshake: the benchmarks only
// need the TCP connection gone, and a handshake per client would add server
// work that differs between implementations.
func (c *client) close() {
	c.ws.Close()
	c.finish(errors.New("closed by load generator"))
}

// stripNamespace removes a "/name," prefix from a Socket.IO packet body.
func stripNamespace(b []byte) []byte {
	if len(b) > 0 && b[0] == '/' {
		if i := bytes.IndexByte(b, ','); i >= 0 {
			return b[i+1:]
		}
	}
	return b
}

// parseAck splits "<id>[...]" into the id and the JSON array.
func parseAck(b []byte) (uint64, []byte, bool) {
	i := 0
	var id uint64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		id = id*10 + uint64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, nil, false
	}
	return id, b[i:], true
}

// parseInt reads an optionally negative decimal integer at the start of b
// and returns it with the rest of b.
func parseInt(b []byte) (int64, []byte, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	i := 0
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, b, false
	}
	if neg {
		v = -v
	}
	return v, b[i:], true
}

// firstInt parses the first element of a JSON array payload "[123,...]".
// Acks of the ping event carry the caller's timestamp there.
func firstInt(payload []byte) (int64, bool) {
	if len(payload) < 2 || payload[0] != '[' {
		return 0, false
	}
	v, _, ok := parseInt(payload[1:])
	return v, ok
}

var bPrefix = []byte(`["b",`)

// parseB parses a broadcast event payload `["b",seq,ts,...]`. It avoids
// encoding/json because a fan-out run decodes hundreds of thousands of
// these per second on a single core.
func parseB(payload []byte) (seq, ts int64, ok bool) {
	if !bytes.HasPrefix(payload, bPrefix) {
		return 0, 0, false
	}
	seq, rest, ok := parseInt(payload[len(bPrefix):])
	if !ok || len(rest) == 0 || rest[0] != ',' {
		return 0, 0, false
	}
	ts, _, ok = parseInt(rest[1:])
	return seq, ts, ok
}
