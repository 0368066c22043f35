package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// transport is the message-oriented connection under Engine.IO. A
// *websocket.Conn is one; tests plug in an in-memory fake.
type transport interface {
	ReadMessage() (messageType int, p []byte, err error)
	WriteMessage(messageType int, data []byte) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// Disconnect reasons reported in [StatusEvent.Reason], spelled as
// socket.io-client spells them where it has them.
const (
	// ReasonTransportClose: the connection was closed (server restart,
	// proxy, network).
	ReasonTransportClose = "transport close"
	// ReasonTransportError: reading or writing failed.
	ReasonTransportError = "transport error"
	// ReasonPingTimeout: the server was silent for its ping interval plus
	// its ping timeout.
	ReasonPingTimeout = "ping timeout"
	// ReasonServerDisconnect: the server disconnected the socket on purpose
	// (logout, kick); the client does not reconnect on its own.
	ReasonServerDisconnect = "io server disconnect"
	// ReasonClientDisconnect: Close or Reconnect ended the connection.
	ReasonClientDisconnect = "io client disconnect"
	// ReasonProbeTimeout: Resume's probe got no answer in time.
	ReasonProbeTimeout = "probe timeout"
	// ReasonParseError: the server sent a packet the client cannot decode.
	ReasonParseError = "parse error"
)

// conn is one established Socket.IO connection. Its reader goroutine (run)
// owns all reads; writes come from any goroutine and are serialised by wmu,
// because a websocket allows one writer at a time.
type conn struct {
	t            transport
	nsp          string
	sid          string // Engine.IO session id
	id           string // Socket.IO socket id
	pingWait     time.Duration
	writeTimeout time.Duration
	gen          uint64 // the client's connection generation

	wmu sync.Mutex

	lastRead atomic.Int64 // unix nanoseconds of the last frame received

	endOnce sync.Once
	reason  string        // why the connection ended; set before done closes
	done    chan struct{} // closed when the reader has exited
	killMu  sync.Mutex    // Protects following.
	killed  string        // reason given to kill, if any
}

// wsURL turns the server address into the websocket endpoint.
func wsURL(server, path string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("client: server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("client: server URL %q: scheme must be http, https, ws or wss", server)
	}
	if u.Host == "" {
		return "", fmt.Errorf("client: server URL %q has no host", server)
	}
	u.Path = path
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dialConn opens a transport and runs both handshakes: the Engine.IO open
// packet, then the Socket.IO CONNECT with auth. It does not start reading.
func dialConn(ctx context.Context, o *Options, dial dialFunc, target string, header http.Header, auth map[string]any) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	t, err := dial(ctx, target, header)
	if err != nil {
		return nil, err
	}
	c := &conn{t: t, nsp: o.Namespace, writeTimeout: o.WriteTimeout, done: make(chan struct{})}
	// The handshake must not outlive ctx even if the server stalls.
	stop := context.AfterFunc(ctx, func() { _ = t.Close() })
	err = c.handshake(auth)
	if !stop() && err != nil {
		err = fmt.Errorf("client: handshake: %w", ctx.Err())
	}
	if err != nil {
		_ = t.Close()
		return nil, err
	}
	return c, nil
}

func (c *conn) handshake(auth map[string]any) error {
	typ, msg, err := c.t.ReadMessage()
	if err != nil {
		return fmt.Errorf("client: read open packet: %w", err)
	}
	if typ != websocket.TextMessage || len(msg) == 0 || msg[0] != eioOpen {
		return fmt.Errorf("%w: expected open packet, got %.40q", errBadPacket, msg)
	}
	var open openPacket
	if err := json.Unmarshal(msg[1:], &open); err != nil {
		return fmt.Errorf("%w: open packet: %v", errBadPacket, err)
	}
	c.sid = open.SID
	if open.PingInterval > 0 {
		// socket.io-client allows one interval plus the server's timeout
		// between pings before it declares the connection dead.
		c.pingWait = time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond
	}
	c.touch()
	pkt, err := encodeConnect(c.nsp, auth)
	if err != nil {
		return err
	}
	if err := c.write(pkt); err != nil {
		return err
	}
	for {
		typ, msg, err := c.t.ReadMessage()
		if err != nil {
			return fmt.Errorf("client: waiting for CONNECT: %w", err)
		}
		if typ != websocket.TextMessage || len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case eioPing:
			if err := c.write([]byte{eioPong}); err != nil {
				return err
			}
			continue
		case eioClose:
			return errors.New("client: server closed the connection during the handshake")
		case eioMessage:
		default:
			continue
		}
		p, err := decodePacket(msg[1:])
		if err != nil {
			return err
		}
		if p.nsp != c.nsp {
			continue
		}
		switch p.typ {
		case sioConnect:
			var ok struct {
				SID string `json:"sid"`
			}
			if err := json.Unmarshal(p.data, &ok); err != nil {
				return fmt.Errorf("%w: CONNECT: %v", errBadPacket, err)
			}
			c.id = ok.SID
			return nil
		case sioConnectError:
			ce := &ConnectError{}
			if err := json.Unmarshal(p.data, ce); err != nil {
				// Old servers sent a bare string.
				var s string
				if json.Unmarshal(p.data, &s) != nil {
					return fmt.Errorf("%w: CONNECT_ERROR: %v", errBadPacket, err)
				}
				ce.Message = s
			}
			return ce
		}
	}
}

// touch records that the server was heard from now.
func (c *conn) touch() { c.lastRead.Store(time.Now().UnixNano()) }

// silentFor returns how long the server has been silent.
func (c *conn) silentFor() time.Duration {
	return time.Since(time.Unix(0, c.lastRead.Load()))
}

// write sends one text frame.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.t.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.t.WriteMessage(websocket.TextMessage, b)
}

// emit sends an EVENT with pre-encoded arguments; id < 0 asks for no ack.
func (c *conn) emit(id int64, event string, args ...json.RawMessage) error {
	b, err := encodeEvent(c.nsp, id, event, args...)
	if err != nil {
		return err
	}
	return c.write(b)
}

// kill ends the connection with reason; the reader exits soon after.
func (c *conn) kill(reason string) {
	c.killMu.Lock()
	if c.killed == "" {
		c.killed = reason
	}
	c.killMu.Unlock()
	_ = c.t.Close()
}

// killReason returns the reason given to kill, or "".
func (c *conn) killReason() string {
	c.killMu.Lock()
	defer c.killMu.Unlock()
	return c.killed
}

// disconnect leaves the namespace politely, then closes the transport.
func (c *conn) disconnect() {
	_ = c.write(appendHeader(nil, sioDisconnect, c.nsp, -1))
	c.kill(ReasonClientDisconnect)
}

// handler receives what the reader decodes.
type handler interface {
	// onEvent is called on the reader goroutine for each EVENT; it must not
	// block.
	onEvent(c *conn, name string, args []json.RawMessage)
	// onAck is called on the reader goroutine for each ACK.
	onAck(c *conn, id int64, args []json.RawMessage)
}

// run reads until the connection ends and records why. The server's pings
// double as the watchdog: the read deadline is one ping interval plus the
// ping timeout, refreshed by every frame, so a server that went silent (a
// dead network after a laptop sleep) ends the connection with "ping timeout"
// instead of leaving it hanging.
func (c *conn) run(h handler) {
	reason := c.readLoop(h)
	if k := c.killReason(); k != "" && reason != ReasonServerDisconnect {
		// The server's own DISCONNECT, once read, is the truth: it decides
		// whether the client reconnects.
		reason = k
	}
	c.endOnce.Do(func() {
		c.reason = reason
		_ = c.t.Close()
		close(c.done)
	})
}

func (c *conn) readLoop(h handler) string {
	skip := 0 // binary attachments of an unsupported packet still to drop
	for {
		if c.pingWait > 0 {
			_ = c.t.SetReadDeadline(time.Now().Add(c.pingWait))
		}
		typ, msg, err := c.t.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				return ReasonPingTimeout
			case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
				return ReasonTransportClose
			case errors.Is(err, net.ErrClosed):
				return ReasonTransportClose
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ReasonTransportClose
			}
			return ReasonTransportError
		}
		c.touch()
		if typ == websocket.BinaryMessage {
			if skip > 0 {
				skip--
			}
			continue
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case eioPing:
			if err := c.write([]byte{eioPong}); err != nil {
				return ReasonTransportError
			}
		case eioClose:
			return ReasonTransportClose
		case eioMessage:
			p, err := decodePacket(msg[1:])
			if err != nil {
				return ReasonParseError
			}
			if p.nsp != c.nsp {
				continue
			}
			switch p.typ {
			case sioEvent:
				name, args, err := splitEvent(p.data)
				if err != nil {
					return ReasonParseError
				}
				h.onEvent(c, name, args)
			case sioAck:
				var args []json.RawMessage
				if err := json.Unmarshal(p.data, &args); err != nil {
					return ReasonParseError
				}
				h.onAck(c, p.id, args)
			case sioBinaryEvent, sioBinaryAck:
				// Binary packets are not supported (LuckyStack never sends
				// them); their attachments follow as binary frames and are
				// skipped so the stream stays in sync.
				skip = p.attachments
			case sioDisconnect:
				return ReasonServerDisconnect
			}
		}
	}
}

// isTerminal reports whether a dial error means "do not retry on your own".
func isTerminal(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}
