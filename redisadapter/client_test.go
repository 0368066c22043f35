package redisadapter

// A minimal Socket.IO v5 websocket client for the adapter's tests: unlike
// internal/testutil/sioclient it receives binary events and answers the
// server's ack requests, which broadcasts with acks need.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// event is one received event; binary arguments are []byte in Args.
type event struct {
	Name string
	Args []any
}

// testClient is one socket on the "/" namespace.
type testClient struct {
	t  testing.TB
	ws *websocket.Conn
	id string

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // Protects following.
	events  []event
	notify  chan struct{}
	acks    map[int64]chan []json.RawMessage
	nextAck int64
	ackWith func(name string) []any // answers the server's ack requests
	closed  bool
	done    chan struct{}
}

// dial connects to a server's base URL and waits for the namespace CONNECT.
func dial(t testing.TB, ctx context.Context, baseURL string) *testClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	c := &testClient{t: t, ws: ws, notify: make(chan struct{}), acks: make(map[int64]chan []json.RawMessage), done: make(chan struct{})}
	if _, msg, err := ws.ReadMessage(); err != nil || len(msg) == 0 || msg[0] != '0' {
		t.Fatalf("engine.io open: %q %v", msg, err)
	}
	c.write("40")
	_, msg, err := ws.ReadMessage()
	if err != nil || !strings.HasPrefix(string(msg), "40") {
		t.Fatalf("namespace connect: %q %v", msg, err)
	}
	var hello struct{ SID string }
	if err := json.Unmarshal(msg[2:], &hello); err != nil {
		t.Fatalf("connect payload %q: %v", msg, err)
	}
	c.id = hello.SID
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *testClient) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

// onAck makes the client answer every event that asks for an ack with
// fn(name)'s arguments.
func (c *testClient) onAck(fn func(name string) []any) {
	c.mu.Lock()
	c.ackWith = fn
	c.mu.Unlock()
}

func (c *testClient) close() {
	_ = c.ws.Close()
	<-c.done
}

func (c *testClient) readLoop() {
	defer close(c.done)
	defer func() {
		c.mu.Lock()
		c.closed = true
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			c.write("3")
		case strings.HasPrefix(s, "4"):
			if err := c.onPacket(s[1:]); err != nil {
				return
			}
		}
	}
}

// onPacket parses "<type>[<n>-][<id>]<json>" and reads the n binary frames
// that follow a binary packet.
func (c *testClient) onPacket(s string) error {
	if s == "" {
		return nil
	}
	typ, rest := s[0], s[1:]
	nAtt := 0
	if typ == '5' || typ == '6' {
		i := strings.IndexByte(rest, '-')
		if i < 0 {
			return errors.New("bad binary packet")
		}
		nAtt, _ = strconv.Atoi(rest[:i])
		rest = rest[i+1:]
	}
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	id := int64(-1)
	if j > 0 {
		id, _ = strconv.ParseInt(rest[:j], 10, 64)
		rest = rest[j:]
	}
	atts := make([][]byte, 0, nAtt)
	for range nAtt {
		mt, b, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		if mt != websocket.BinaryMessage {
			return fmt.Errorf("attachment in a %d frame", mt)
		}
		atts = append(atts, b)
	}
	switch typ {
	case '1':
		return errors.New("disconnected by server")
	case '2', '5':
		var arr []any
		if err := json.Unmarshal([]byte(rest), &arr); err != nil || len(arr) == 0 {
			return nil
		}
		arr = fillBinary(arr, atts).([]any)
		name, _ := arr[0].(string)
		c.mu.Lock()
		c.events = append(c.events, event{Name: name, Args: arr[1:]})
		close(c.notify)
		c.notify = make(chan struct{})
		ackWith := c.ackWith
		c.mu.Unlock()
		if id >= 0 && ackWith != nil {
			b, _ := json.Marshal(ackWith(name))
			c.write("43" + strconv.FormatInt(id, 10) + string(b))
		}
	case '3':
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
	return nil
}

// fillBinary replaces placeholders by their attachments.
func fillBinary(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = fillBinary(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if n, ok := x["num"].(float64); ok && int(n) < len(atts) {
				return atts[int(n)]
			}
		}
		for k := range x {
			x[k] = fillBinary(x[k], atts)
		}
	}
	return v
}

// emitWithAck sends an event and waits for the server's ack.
func (c *testClient) emitWithAck(ctx context.Context, name string, args ...any) []json.RawMessage {
	c.t.Helper()
	b, err := json.Marshal(append([]any{name}, args...))
	if err != nil {
		c.t.Fatal(err)
	}
	ch := make(chan []json.RawMessage, 1)
	c.mu.Lock()
	id := c.nextAck
	c.nextAck++
	c.acks[id] = ch
	c.mu.Unlock()
	c.write("42" + strconv.FormatInt(id, 10) + string(b))
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		c.t.Fatalf("no ack for %q: %v", name, ctx.Err())
		return nil
	}
}

// join asks the server (see the "join" handler of newCluster) to put the
// socket in room.
func (c *testClient) join(ctx context.Context, room string) {
	c.t.Helper()
	c.emitWithAck(ctx, "join", room)
}

// expect removes and returns the oldest event called name, waiting for it.
func (c *testClient) expect(ctx context.Context, name string) event {
	c.t.Helper()
	e, err := c.wait(ctx, name)
	if err != nil {
		c.t.Fatalf("client %s: waiting for %q: %v (buffered: %v)", c.id, name, err, c.buffered())
	}
	return e
}

func (c *testClient) wait(ctx context.Context, name string) (event, error) {
	for {
		c.mu.Lock()
		for i, e := range c.events {
			if e.Name == name {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				c.mu.Unlock()
				return e, nil
			}
		}
		notify, closed := c.notify, c.closed
		c.mu.Unlock()
		if closed {
			return event{}, errors.New("connection closed")
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return event{}, ctx.Err()
		}
	}
}

// count reports how many events called name are buffered.
func (c *testClient) count(name string) int {
	n := 0
	for _, e := range c.buffered() {
		if e.Name == name {
			n++
		}
	}
	return n
}

func (c *testClient) buffered() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.events...)
}

// waitClosed waits until the server ended the connection or the namespace.
func (c *testClient) waitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
