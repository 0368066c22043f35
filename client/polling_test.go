package client_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
)

func TestPollingOnlyRequestsRoomsStreamsAndRestart(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	tok := env.login("u1")
	c := env.dial(fastReconnect(client.Options{Token: tok, Transport: client.PollingOnly}))

	res, err := c.APIRequest(ctxT(t), "test/echo", "v1", echoIn{Text: "over polling"})
	require.NoError(t, err)
	var out echoOut
	require.NoError(t, res.Decode(&out))
	assert.Equal(t, echoOut{Text: "over polling", User: "u1"}, out)

	var chunks int
	_, err = c.APIRequest(ctxT(t), "test/stream", "v1", map[string]int{"N": 50},
		client.WithStream(func(json.RawMessage) { chunks++ }))
	require.NoError(t, err)
	assert.Equal(t, 50, chunks)

	_, err = c.JoinRoom(ctxT(t), "lobby")
	require.NoError(t, err)
	res2, err := c.SyncRequest(ctxT(t), "test/echo", "v1", "lobby", echoIn{Text: "s"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"s"}`, string(res2.Result))

	env.stop()
	_, err = env.sessions.Update(context.Background(), tok, func(s *luckystack.Session) error { s.RoomCodes = nil; return nil })
	require.NoError(t, err)
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusReconnecting))
	env.start()
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	rooms, err := c.GetJoinedRooms(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"lobby"}, rooms, "rejoined over polling")
}

// TestFallsBackToPollingWhenUpgradeIsRefused puts a proxy that refuses
// websocket requests in front of the server, as some corporate proxies do.
func TestFallsBackToPollingWhenUpgradeIsRefused(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	target, err := url.Parse(env.url())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // cancelled long polls are expected
	upstream := http.DefaultTransport.(*http.Transport).Clone()
	rp.Transport = upstream
	// Runs after proxy.Close (cleanups run last-in first-out), once every
	// proxied request is over, so no upstream connection outlives the test.
	t.Cleanup(upstream.CloseIdleConnections)
	var polls, upgrades atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "websocket" {
			upgrades.Add(1)
			http.Error(w, "no upgrades here", http.StatusBadRequest)
			return
		}
		polls.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	c, err := client.Dial(ctxT(t), proxy.URL, client.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	_, err = c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	require.NoError(t, err)
	assert.Positive(t, upgrades.Load(), "websocket tried first")
	assert.Positive(t, polls.Load(), "then polling")

	only, err := client.Dial(ctxT(t), proxy.URL, client.Options{Transport: client.WebSocketOnly, MaxReconnectAttempts: 1})
	assert.Nil(t, only)
	var he *client.HandshakeError
	require.ErrorAs(t, err, &he, "no fallback when websocket is required")
	assert.Equal(t, http.StatusBadRequest, he.StatusCode)
}

func TestPollingWatchdogAndServerDisconnect(t *testing.T) {
	env := newLSWith(t, luckystack.Config{
		Session: luckystack.SessionConfig{BasedToken: true},
		Socket:  luckystack.SocketConfig{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second},
	}, testRoutes(t, nil, nil))
	c := env.dial(client.Options{Transport: client.PollingOnly, Token: env.login("u9")})
	id := c.ID()
	// The server's pings arrive through the long polls and keep it alive.
	assert.Never(t, func() bool { return c.ID() != id }, 300*time.Millisecond, 10*time.Millisecond)
	logout := make(chan bool, 1)
	c.OnLogout(func(ok bool) { logout <- ok })
	_, err := c.APIRequest(ctxT(t), "system/logout", "v1", nil)
	require.NoError(t, err)
	assert.True(t, <-logout)
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusDisconnected))
	_, err = c.APIRequest(ctxT(t), "test/echo", "v1", nil, client.WithoutQueue())
	assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
}
