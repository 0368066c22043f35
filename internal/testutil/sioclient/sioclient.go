// Package sioclient is a small Socket.IO v5 / Engine.IO v4 client for tests.
// It speaks the websocket transport only, knows nothing about the server
// code of this module, and keeps every event it receives so that a test can
// wait for one by name without losing the others.
//
//	c, err := sioclient.Dial(ctx, ts.URL, sioclient.Options{Auth: map[string]any{"token": tok}})
//	_ = c.Emit("joinRoom", map[string]any{"group": "a", "responseIndex": 1})
//	ev, err := c.Expect(ctx, "joinRoom-1")
//
// Binary events from the server are received (their attachments decode as
// []byte through [Event.Values]); the client sends text packets only. With
// [Client.OnAck] it answers the server's ack requests.
package sioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned when waiting on a client whose connection ended and
// whose buffer holds no matching event.
var ErrClosed = errors.New("sioclient: connection closed")

// Options configures [Dial].
type Options struct {
	// Header is sent with the websocket handshake (Origin, Cookie, ...).
	Header http.Header
	// Auth is the CONNECT packet's auth payload. Nil sends none.
	Auth any
	// Namespace to join. Zero means "/".
	Namespace string
	// Path of the server. Zero means "/socket.io/".
	Path string
	// AckWith answers the server's ack requests from the first event on
	// (see [Client.OnAck]). Nil leaves them unanswered.
	AckWith func(Event) []any
}

// HandshakeError is returned when the server refuses the HTTP handshake.
type HandshakeError struct {
	StatusCode int
	Body       string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("sioclient: handshake refused: %d %s", e.StatusCode, e.Body)
}

// ConnectError is the server's CONNECT_ERROR packet (the client's
// connect_error event).
type ConnectError struct {
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *ConnectError) Error() string { return "sioclient: connect_error: " + e.Message }

// Event is one received event.
type Event struct {
	Name string
	// Args are the arguments as sent; binary ones are placeholders
	// {"_placeholder":true,"num":n} into Attachments.
	Args []json.RawMessage
	// Attachments are the binary frames of a binary event, in order.
	Attachments [][]byte
}

// Values decodes every argument into a Go value (numbers are float64, as
// encoding/json does) with binary placeholders replaced by their []byte.
func (e Event) Values() ([]any, error) {
	out := make([]any, len(e.Args))
	for i, a := range e.Args {
		var v any
		if err := json.Unmarshal(a, &v); err != nil {
			return nil, fmt.Errorf("sioclient: event %q argument %d: %w", e.Name, i, err)
		}
		out[i] = fillBinary(v, e.Attachments)
	}
	return out, nil
}

// fillBinary replaces placeholders by their attachments.
func fillBinary(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = fillBinary(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(x) == 2 {
			if n, ok := x["num"].(float64); ok && n >= 0 && int(n) < len(atts) {
				return atts[int(n)]
			}
		}
		for k := range x {
			x[k] = fillBinary(x[k], atts)
		}
	}
	return v
}

// Arg returns argument i, or nil.
func (e Event) Arg(i int) json.RawMessage {
	if i < 0 || i >= len(e.Args) {
		return nil
	}
	return e.Args[i]
}

// Decode decodes argument i into v.
func (e Event) Decode(i int, v any) error {
	a := e.Arg(i)
	if a == nil {
		return fmt.Errorf("sioclient: event %q has no argument %d", e.Name, i)
	}
	return json.Unmarshal(a, v)
}

// Client is one connected socket.
type Client struct {
	ws  *websocket.Conn
	nsp string
	sid string // Engine.IO session id
	id  string // Socket.IO socket id

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // Protects following.
	events  []Event
	notify  chan struct{}
	acks    map[int64]chan []json.RawMessage
	nextAck int64
	ackWith func(Event) []any // answers the server's ack requests
	closed  bool
	closing bool // Close was called: the reason is ours whoever notices first
	reason  string
	done    chan struct{}
}

// Dial connects to baseURL (http://host:port) and joins the namespace. A
// refused handshake is a *HandshakeError, a refused namespace connection a
// *ConnectError.
func Dial(ctx context.Context, baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = opts.Path
	if u.Path == "" {
		u.Path = "/socket.io/"
	}
	u.RawQuery = "EIO=4&transport=websocket"
	nsp := opts.Namespace
	if nsp == "" {
		nsp = "/"
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, u.String(), opts.Header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Body: string(body)}
		}
		return nil, err
	}
	c := &Client{ws: ws, nsp: nsp, notify: make(chan struct{}), done: make(chan struct{}), acks: map[int64]chan []json.RawMessage{}, ackWith: opts.AckWith}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	}
	if err := c.open(opts.Auth); err != nil {
		_ = ws.Close()
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

// open reads the Engine.IO open packet, sends CONNECT and waits for its answer.
func (c *Client) open(auth any) error {
	_, msg, err := c.ws.ReadMessage()
	if err != nil {
		return fmt.Errorf("sioclient: read open packet: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return fmt.Errorf("sioclient: expected open packet, got %q", msg)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(msg[1:], &open); err != nil {
		return fmt.Errorf("sioclient: open packet: %w", err)
	}
	c.sid = open.SID
	pkt := "40"
	if c.nsp != "/" {
		pkt += c.nsp + ","
	}
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			return err
		}
		pkt += string(b)
	}
	if err := c.write(pkt); err != nil {
		return err
	}
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("sioclient: waiting for CONNECT: %w", err)
		}
		s := string(msg)
		switch {
		case s == "2":
			if err := c.write("3"); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(s, "40"):
			body := c.stripNsp(s[2:])
			var ok struct {
				SID string `json:"sid"`
			}
			if err := json.Unmarshal([]byte(body), &ok); err != nil {
				return fmt.Errorf("sioclient: CONNECT packet %q: %w", s, err)
			}
			c.id = ok.SID
			return nil
		case strings.HasPrefix(s, "44"):
			ce := &ConnectError{}
			if err := json.Unmarshal([]byte(c.stripNsp(s[2:])), ce); err != nil {
				return fmt.Errorf("sioclient: CONNECT_ERROR packet %q: %w", s, err)
			}
			return ce
		case s == "1":
			return ErrClosed
		default:
			return fmt.Errorf("sioclient: unexpected packet before CONNECT: %q", s)
		}
	}
}

func (c *Client) stripNsp(s string) string {
	if strings.HasPrefix(s, "/") {
		if i := strings.IndexByte(s, ','); i >= 0 {
			return s[i+1:]
		}
		return ""
	}
	return s
}

// ID is the Socket.IO socket id.
func (c *Client) ID() string { return c.id }

// SID is the Engine.IO session id.
func (c *Client) SID() string { return c.sid }

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (c *Client) eventPacket(id int64, event string, args []any) (string, error) {
	arr := make([]any, 0, 1+len(args))
	arr = append(arr, event)
	arr = append(arr, args...)
	b, err := json.Marshal(arr)
	if err != nil {
		return "", err
	}
	pkt := "42"
	if c.nsp != "/" {
		pkt += c.nsp + ","
	}
	if id >= 0 {
		pkt += strconv.FormatInt(id, 10)
	}
	return pkt + string(b), nil
}

// Emit sends an event; args are JSON-encoded (a json.RawMessage is sent
// as is).
func (c *Client) Emit(event string, args ...any) error {
	pkt, err := c.eventPacket(-1, event, args)
	if err != nil {
		return err
	}
	return c.write(pkt)
}

// EmitRaw sends a ready-made Socket.IO packet text (without the Engine.IO
// "4" prefix), for tests of malformed input.
func (c *Client) EmitRaw(packet string) error { return c.write("4" + packet) }

// EmitWithAck sends an event asking for an acknowledgement and waits for it.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	ch := make(chan []json.RawMessage, 1)
	c.mu.Lock()
	id := c.nextAck
	c.nextAck++
	c.acks[id] = ch
	c.mu.Unlock()
	pkt, err := c.eventPacket(id, event, args)
	if err != nil {
		return nil, err
	}
	if err := c.write(pkt); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-c.done:
		select {
		case a := <-ch: // answered just before the connection ended
			return a, nil
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) readLoop() {
	reason := "transport close"
	defer func() { c.finish(reason) }()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			if c.write("3") != nil {
				return
			}
		case s == "1":
			return
		case s == "6":
		case strings.HasPrefix(s, "4"):
			bye, err := c.onPacket(s[1:])
			if err != nil {
				return
			}
			if bye {
				reason = "io server disconnect"
				return
			}
		}
	}
}

// OnAck makes the client answer every event that asks for an ack with
// fn's arguments; without it such requests stay unanswered.
func (c *Client) OnAck(fn func(Event) []any) {
	c.mu.Lock()
	c.ackWith = fn
	c.mu.Unlock()
}

// onPacket handles a Socket.IO packet "<type>[<n>-][<nsp>,][<id>]<json>",
// reading the n binary frames that follow a binary one, and reports
// whether it was a DISCONNECT of our namespace.
func (c *Client) onPacket(s string) (bye bool, err error) {
	if s == "" {
		return false, nil
	}
	typ := s[0]
	rest := s[1:]
	nAtt := 0
	if typ == '5' || typ == '6' {
		i := strings.IndexByte(rest, '-')
		if i < 0 {
			return false, errors.New("sioclient: binary packet without attachment count")
		}
		if nAtt, err = strconv.Atoi(rest[:i]); err != nil || nAtt < 0 {
			return false, fmt.Errorf("sioclient: attachment count %q", rest[:i])
		}
		rest = rest[i+1:]
	}
	nsp := "/"
	if strings.HasPrefix(rest, "/") {
		i := strings.IndexByte(rest, ',')
		if i < 0 {
			nsp, rest = rest, ""
		} else {
			nsp, rest = rest[:i], rest[i+1:]
		}
	}
	id := int64(-1)
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j > 0 {
		id, _ = strconv.ParseInt(rest[:j], 10, 64)
		rest = rest[j:]
	}
	var atts [][]byte
	for range nAtt {
		mt, b, err := c.ws.ReadMessage()
		if err != nil {
			return false, err
		}
		if mt != websocket.BinaryMessage {
			return false, fmt.Errorf("sioclient: attachment in a frame of type %d", mt)
		}
		atts = append(atts, b)
	}
	if nsp != c.nsp {
		return false, nil
	}
	switch typ {
	case '1':
		return true, nil
	case '2', '5':
		var arr []json.RawMessage
		if json.Unmarshal([]byte(rest), &arr) != nil || len(arr) == 0 {
			return false, nil
		}
		var name string
		_ = json.Unmarshal(arr[0], &name)
		args := make([]json.RawMessage, 0, len(arr)-1)
		for _, a := range arr[1:] {
			args = append(args, json.RawMessage(bytes.Clone(a)))
		}
		ev := Event{Name: name, Args: args, Attachments: atts}
		c.mu.Lock()
		c.events = append(c.events, ev)
		close(c.notify)
		c.notify = make(chan struct{})
		ackWith := c.ackWith
		c.mu.Unlock()
		if id >= 0 && ackWith != nil {
			b, err := json.Marshal(ackWith(ev))
			if err != nil {
				return false, err
			}
			pkt := "43"
			if c.nsp != "/" {
				pkt += c.nsp + ","
			}
			if err := c.write(pkt + strconv.FormatInt(id, 10) + string(b)); err != nil {
				return false, err
			}
		}
	case '3', '6':
		var arr []json.RawMessage
		_ = json.Unmarshal([]byte(rest), &arr)
		c.mu.Lock()
		ch := c.acks[id]
		delete(c.acks, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- arr
		}
	}
	return false, nil
}

func (c *Client) finish(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.closing {
		reason = "io client disconnect"
	}
	c.reason = reason
	close(c.done)
	c.mu.Unlock()
	_ = c.ws.Close()
}

// Done is closed when the connection ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// DisconnectReason is "io server disconnect" when the server disconnected
// the socket, "transport close" when the connection dropped, "io client
// disconnect" after Close, and "" while connected.
func (c *Client) DisconnectReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// WaitDisconnect waits until the connection ended and returns the reason.
func (c *Client) WaitDisconnect(ctx context.Context) (string, error) {
	select {
	case <-c.done:
		return c.DisconnectReason(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Next removes and returns the oldest buffered event, waiting for one.
func (c *Client) Next(ctx context.Context) (Event, error) {
	return c.wait(ctx, func(Event) bool { return true })
}

// Expect removes and returns the oldest buffered event called name, waiting
// for one; other events stay buffered.
func (c *Client) Expect(ctx context.Context, name string) (Event, error) {
	return c.wait(ctx, func(e Event) bool { return e.Name == name })
}

func (c *Client) wait(ctx context.Context, match func(Event) bool) (Event, error) {
	for {
		c.mu.Lock()
		for i, e := range c.events {
			if match(e) {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				c.mu.Unlock()
				return e, nil
			}
		}
		notify, closed := c.notify, c.closed
		c.mu.Unlock()
		if closed {
			return Event{}, ErrClosed
		}
		select {
		case <-notify:
		case <-c.done:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Buffered returns a copy of the events received and not yet taken.
func (c *Client) Buffered() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Has reports whether an event called name is buffered.
func (c *Client) Has(name string) bool {
	for _, e := range c.Buffered() {
		if e.Name == name {
			return true
		}
	}
	return false
}

// Close leaves the namespace and closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	closed := c.closed
	c.closing = true
	c.mu.Unlock()
	if closed {
		return nil
	}
	pkt := "41"
	if c.nsp != "/" {
		pkt += c.nsp + ","
	}
	_ = c.write(pkt)
	c.finish("io client disconnect")
	return nil
}
