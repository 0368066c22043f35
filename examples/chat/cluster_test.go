package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// startChat runs one example server on the stores of redisURL.
func startChat(t *testing.T, redisURL string) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	stores, closeStores, err := redisFromURL(redisURL, log)
	require.NoError(t, err)
	srv, err := newServer([]string{"0"}, log, fstest.MapFS{"index.html": {Data: []byte("<p>chat</p>")}}, stores)
	require.NoError(t, err)
	t.Cleanup(closeStores) // after the shutdown below
	return servetest.Serve(t, srv, waitFor)
}

// TestChatAcrossInstances: two example servers sharing one Redis, as
// `REDIS_URL=... make run` twice would: a session made on one works on the
// other, and a chat line sent on one reaches the room's members on both,
// each exactly once.
func TestChatAcrossInstances(t *testing.T) {
	url := "redis://" + redistest.Start(t)
	a, b := startChat(t, url), startChat(t, url)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)

	login := func(base, name string) string {
		req, err := http.NewRequest(http.MethodPost, base+"/api/system/login/v1", strings.NewReader(`{"name":"`+name+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", base)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m struct{ Token string }
		require.NoError(t, json.Unmarshal(body, &m), "%s", body)
		require.NotEmpty(t, m.Token, "%s", body)
		return m.Token
	}
	dial := func(base, tok string) *sioclient.Client {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		c, err := sioclient.Dial(ctx, base, sioclient.Options{Header: http.Header{"Origin": {base}, "Cookie": {"token=" + tok}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	expect := func(c *sioclient.Client, name string) sioclient.Event {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		ev, err := c.Expect(ctx, name)
		require.NoError(t, err, name)
		return ev
	}

	ada := dial(a, login(b, "Ada")) // logged in on b, connected to a
	bob := dial(b, login(a, "Bob"))
	for i, c := range []*sioclient.Client{ada, bob} {
		require.NoError(t, c.Emit("joinRoom", map[string]any{"group": "lobby", "responseIndex": i}))
		assert.JSONEq(t, `{"rooms":["lobby"]}`, string(expect(c, "joinRoom-"+strconv.Itoa(i)).Arg(0)))
	}
	require.NoError(t, ada.Emit("sync", map[string]any{"name": "sync/chat/message/v1", "cb": "chat/message/v1",
		"data": map[string]any{"text": "across"}, "receiver": "lobby", "responseIndex": 7}))
	var ack map[string]any
	require.NoError(t, expect(ada, "sync-7").Decode(0, &ack))
	assert.Equal(t, "success", ack["status"])
	for c, mine := range map[*sioclient.Client]bool{ada: true, bob: false} {
		var f struct {
			ServerOutput ChatMessage     `json:"serverOutput"`
			ClientOutput map[string]bool `json:"clientOutput"`
		}
		require.NoError(t, expect(c, "sync").Decode(0, &f))
		assert.Equal(t, "across", f.ServerOutput.Text)
		assert.Equal(t, "Ada", f.ServerOutput.From)
		assert.Equal(t, mine, f.ClientOutput["mine"])
	}
	// One more round trip each: no second copy of the line arrived.
	for i, c := range []*sioclient.Client{ada, bob} {
		require.NoError(t, c.Emit("getJoinedRooms", map[string]any{"responseIndex": 20 + i}))
		expect(c, "getJoinedRooms-"+strconv.Itoa(20+i))
		assert.False(t, c.Has("sync"), "exactly once")
	}
}
