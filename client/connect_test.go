package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestDialReturnsConnectError(t *testing.T) {
	env := newLS(t, nil)
	env.server().RegisterSocketMiddleware("deny", func(_ context.Context, sock *socketio.Socket) error {
		var auth struct{ Pass string }
		_ = json.Unmarshal(sock.Auth(), &auth)
		if auth.Pass != "yes" {
			return errors.New("not welcome")
		}
		return nil
	})
	_, err := client.Dial(ctxT(t), env.url(), client.Options{})
	var ce *client.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "not welcome", ce.Message)

	// New reports it as a final status; Reconnect tries again.
	events := make(chan client.StatusEvent, 8)
	c, err := client.New(env.url(), client.Options{OnStatus: func(ev client.StatusEvent) { events <- ev }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusDisconnected))
	ev := <-events
	for ev.Status != client.StatusDisconnected {
		ev = <-events
	}
	assert.ErrorAs(t, ev.Err, &ce)

	ok, err := client.Dial(ctxT(t), env.url(), client.Options{Auth: map[string]any{"pass": "yes"}})
	require.NoError(t, err, "auth fields travel in the CONNECT packet")
	require.NoError(t, ok.Close())
}

func TestHandshakeRefusalIsRetried(t *testing.T) {
	env := newLSWith(t, luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}}, nil)
	hdr := http.Header{"Origin": {"http://evil.example"}}
	statuses := make(chan client.StatusEvent, 16)
	c, err := client.New(env.url(), fastReconnect(client.Options{Header: hdr, OnStatus: func(ev client.StatusEvent) { statuses <- ev }}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	var attempts []client.StatusEvent
	for len(attempts) < 3 {
		select {
		case ev := <-statuses:
			if ev.Err != nil {
				attempts = append(attempts, ev)
			}
		case <-time.After(waitFor):
			t.Fatal("no retries")
		}
	}
	var he *client.HandshakeError
	require.ErrorAs(t, attempts[0].Err, &he)
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, he.StatusCode, "origin refused")
	assert.Equal(t, []int{1, 2, 3}, []int{attempts[0].Attempt, attempts[1].Attempt, attempts[2].Attempt})
	assert.Equal(t, client.StatusConnecting, attempts[2].Status, "still trying")
}

func TestCallbackPanicIsContained(t *testing.T) {
	env := newLS(t, nil)
	env.server().HandleSocketEvent("test-twice", func(_ context.Context, cl *luckystack.Client, _ json.RawMessage) {
		_ = cl.Emit("x", 1)
		_ = cl.Emit("x", 2)
	})
	c := env.dial(client.Options{})
	got := make(chan string, 2)
	c.On("x", func(a []json.RawMessage) {
		if string(a[0]) == "1" {
			panic("bad handler")
		}
		got <- string(a[0])
	})
	require.NoError(t, c.Emit("test-twice"))
	select {
	case v := <-got:
		assert.Equal(t, "2", v, "the next callback still runs")
	case <-time.After(waitFor):
		t.Fatal("callbacks stopped after a panic")
	}
	_, err := c.APIRequest(ctxT(t), "system/nothing", "v1", nil)
	assert.Equal(t, "api.notFound", client.Code(err), "the client still works")
}

func TestOversizedServerMessageEndsTheConnection(t *testing.T) {
	env := newLS(t, nil)
	env.server().HandleSocketEvent("test-big", func(_ context.Context, cl *luckystack.Client, _ json.RawMessage) {
		_ = cl.Emit("big", strings.Repeat("x", 4096))
	})
	reasons := make(chan string, 4)
	c := env.dial(client.Options{MaxMessageSize: 1024, OnStatus: func(ev client.StatusEvent) {
		if ev.Reason != "" {
			reasons <- ev.Reason
		}
	}})
	got := make(chan struct{}, 1)
	c.On("big", func([]json.RawMessage) { got <- struct{}{} })
	require.NoError(t, c.Emit("test-big"))
	select {
	case r := <-reasons:
		assert.Equal(t, client.ReasonTransportError, r)
	case <-time.After(waitFor):
		t.Fatal("connection survived an oversized message")
	}
	assert.Empty(t, got)
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected), "and comes back")
}

// TestReconnectThenWaitNeverSeesTheOldConnection: once Reconnect returns,
// "connected" means the new connection (the chat CLI's login relies on it).
func TestReconnectThenWaitNeverSeesTheOldConnection(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{Token: env.login("u1")})
	for i := range 20 {
		c.Reconnect()
		require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
		_, err := c.GetJoinedRooms(ctxT(t))
		require.NoError(t, err, "round %d", i)
	}
}

func TestStatusEventsOfOneDisconnect(t *testing.T) {
	env := newLS(t, nil)
	var mu sync.Mutex
	var seen []string
	c, err := client.Dial(ctxT(t), env.url(), client.Options{OnStatus: func(ev client.StatusEvent) {
		mu.Lock()
		seen = append(seen, ev.Status.String()+"/"+ev.Reason)
		mu.Unlock()
	}})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"connected/", "disconnected/io client disconnect"}, seen, "one event per change")
}
