package sioclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// script is a fake Engine.IO server: it upgrades, then runs fn on the raw
// websocket.
func script(t *testing.T, fn func(ws *websocket.Conn, r *http.Request)) string {
	t.Helper()
	up := websocket.Upgrader{}
	done := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("EIO") != "4" || r.URL.Query().Get("transport") != "websocket" {
			http.Error(w, "bad query", 400)
			return
		}
		if r.Header.Get("Origin") == "https://refused.example" {
			http.Error(w, `{"code":4,"message":"Forbidden"}`, 403)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer close(done)
		defer ws.Close()
		fn(ws, r)
	}))
	t.Cleanup(func() {
		ts.Close()
	})
	return ts.URL
}

func read(t *testing.T, ws *websocket.Conn) string {
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		return "ERR " + err.Error()
	}
	return string(b)
}

func send(ws *websocket.Conn, s string) { _ = ws.WriteMessage(websocket.TextMessage, []byte(s)) }

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSession(t *testing.T) {
	t.Parallel()
	got := make(chan []string, 1)
	url := script(t, func(ws *websocket.Conn, r *http.Request) {
		var seen []string
		seen = append(seen, r.Header.Get("Cookie"))
		send(ws, `0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		seen = append(seen, read(t, ws)) // CONNECT with auth
		send(ws, "2")                    // a ping before CONNECT is answered
		seen = append(seen, read(t, ws))
		send(ws, `40{"sid":"sock1"}`)
		send(ws, `42["hello",{"a":1},"x"]`)
		// The ping goes before the event the test waits for: the reader
		// answers it first, so the pong is written before the test's
		// emits, in a fixed order.
		send(ws, "2")
		send(ws, `42["other"]`)
		seen = append(seen, read(t, ws)) // pong
		seen = append(seen, read(t, ws)) // client event
		seen = append(seen, read(t, ws)) // client event with ack
		send(ws, `437["acked"]`)
		send(ws, "41")
		got <- seen
	})
	c, err := Dial(ctx5(t), url, Options{Header: http.Header{"Cookie": {"token=abc"}}, Auth: map[string]string{"token": "t"}})
	require.NoError(t, err)
	assert.Equal(t, "eio1", c.SID())
	assert.Equal(t, "sock1", c.ID())

	ev, err := c.Expect(ctx5(t), "other")
	require.NoError(t, err)
	assert.Empty(t, ev.Args)
	assert.True(t, c.Has("hello"), "skipped events stay buffered")
	ev, err = c.Next(ctx5(t))
	require.NoError(t, err)
	assert.Equal(t, "hello", ev.Name)
	var a struct{ A int }
	require.NoError(t, ev.Decode(0, &a))
	assert.Equal(t, 1, a.A)
	assert.JSONEq(t, `"x"`, string(ev.Arg(1)))
	assert.Nil(t, ev.Arg(2))
	assert.Error(t, ev.Decode(5, &a))

	require.NoError(t, c.Emit("ev", 1, "two"))
	c.mu.Lock()
	c.nextAck = 7
	c.mu.Unlock()
	ack, err := c.EmitWithAck(ctx5(t), "q")
	require.NoError(t, err)
	require.Len(t, ack, 1)
	assert.JSONEq(t, `"acked"`, string(ack[0]))

	reason, err := c.WaitDisconnect(ctx5(t))
	require.NoError(t, err)
	assert.Equal(t, "io server disconnect", reason)
	_, err = c.Next(ctx5(t))
	assert.ErrorIs(t, err, ErrClosed)

	seen := <-got
	assert.Equal(t, []string{"token=abc", `40{"token":"t"}`, "3", "3", `42["ev",1,"two"]`, `427["q"]`}, seen)
}

func TestConnectError(t *testing.T) {
	t.Parallel()
	url := script(t, func(ws *websocket.Conn, r *http.Request) {
		send(ws, `0{"sid":"eio1","upgrades":[]}`)
		read(t, ws)
		send(ws, `44{"message":"nope","data":{"why":1}}`)
		read(t, ws)
	})
	_, err := Dial(ctx5(t), url, Options{})
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "nope", ce.Message)
	assert.JSONEq(t, `{"why":1}`, string(ce.Data))
}

func TestHandshakeError(t *testing.T) {
	t.Parallel()
	url := script(t, func(*websocket.Conn, *http.Request) {})
	_, err := Dial(ctx5(t), url, Options{Header: http.Header{"Origin": {"https://refused.example"}}})
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)
	assert.Contains(t, he.Body, "Forbidden")
}

func TestNamespaceAndClose(t *testing.T) {
	t.Parallel()
	got := make(chan []string, 1)
	url := script(t, func(ws *websocket.Conn, r *http.Request) {
		send(ws, `0{"sid":"e"}`)
		c := read(t, ws)
		send(ws, `40/chat,{"sid":"s"}`)
		send(ws, `42["root-event"]`) // another namespace: ignored
		send(ws, `42/chat,["chat-event",2]`)
		e := read(t, ws)
		d := read(t, ws)
		got <- []string{c, e, d}
	})
	c, err := Dial(ctx5(t), url, Options{Namespace: "/chat"})
	require.NoError(t, err)
	ev, err := c.Next(ctx5(t))
	require.NoError(t, err)
	assert.Equal(t, "chat-event", ev.Name)
	require.NoError(t, c.Emit("up"))
	require.NoError(t, c.Close())
	assert.Equal(t, "io client disconnect", c.DisconnectReason())
	assert.Equal(t, []string{"40/chat,", `42/chat,["up"]`, "41/chat,"}, <-got)
	require.NoError(t, c.Close(), "Close is idempotent")
}

func TestBinaryEventsAndServerAcks(t *testing.T) {
	t.Parallel()
	acked := make(chan string, 2)
	url := script(t, func(ws *websocket.Conn, _ *http.Request) {
		send(ws, `0{"sid":"e1"}`)
		assert.Equal(t, "40", read(t, ws))
		send(ws, `40{"sid":"s1"}`)
		// A binary event with two attachments, one nested, asking for ack 7.
		send(ws, `452-7["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},3]`)
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2})
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte{3})
		acked <- read(t, ws)
		send(ws, `42["plain",{"_placeholder":true,"num":0}]`) // no attachments: stays a map
		send(ws, `429["ask"]`)
		acked <- read(t, ws)
		<-time.After(time.Second)
	})
	c, err := Dial(ctx5(t), url, Options{AckWith: func(e Event) []any { return []any{"got " + e.Name, len(e.Attachments)} }})
	require.NoError(t, err)
	defer c.Close()

	ev, err := c.Expect(ctx5(t), "bin")
	require.NoError(t, err)
	vals, err := ev.Values()
	require.NoError(t, err)
	assert.Equal(t, []any{[]byte{1, 2}, map[string]any{"x": []byte{3}}, float64(3)}, vals)
	assert.Equal(t, `437["got bin",2]`, <-acked)

	ev, err = c.Expect(ctx5(t), "plain")
	require.NoError(t, err)
	vals, err = ev.Values()
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"_placeholder": true, "num": float64(0)}}, vals, "a placeholder without attachment is left alone")
	assert.Equal(t, `439["got ask",0]`, <-acked)
}
