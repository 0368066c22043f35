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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

const waitFor = 5 * time.Second

// TestChatExample: the example's routes do what its page relies on: echo,
// guest login over HTTP (with the cookie) and over the socket, the API
// that needs a login, and a chat line fanned out with the client handler.
func TestChatExample(t *testing.T) {
	srv, err := newServer([]string{"0"}, slog.New(slog.DiscardHandler), fstest.MapFS{"index.html": {Data: []byte("<p>chat</p>")}}, redisStores{})
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	base := servetest.Serve(t, srv, waitFor)
	post := func(path, body string) (*http.Response, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", base)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		return resp, m
	}

	resp, echo := post("/api/system/echo/v1", `{"hello":"world"}`)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, map[string]any{"hello": "world", "status": "success", "httpStatus": float64(200)}, echo)

	resp, login := post("/api/system/login/v1", `{"name":" Ada "}`)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "success", login["status"])
	assert.Equal(t, "Ada", login["name"])
	token, _ := login["token"].(string)
	require.NotEmpty(t, token)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "token" {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "login over HTTP sets the session cookie")
	assert.Equal(t, token, cookie.Value)
	resp, bad := post("/api/system/login/v1", `{"name":"  "}`)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "api.invalidInputType", bad["errorCode"])

	dial := func(tok string) *sioclient.Client {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h := http.Header{"Origin": {base}}
		if tok != "" {
			h.Set("Cookie", "token="+tok)
		}
		c, err := sioclient.Dial(ctx, base, sioclient.Options{Header: h})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ask := func(c *sioclient.Client, event string, payload map[string]any, reply string) map[string]any {
		require.NoError(t, c.Emit(event, payload))
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		ev, err := c.Expect(ctx, reply)
		require.NoError(t, err, reply)
		var m map[string]any
		require.NoError(t, ev.Decode(0, &m))
		return m
	}

	anon := dial("")
	r := ask(anon, "apiRequest", map[string]any{"name": "api/chat/whoami/v1", "data": map[string]any{}, "responseIndex": 1}, "apiResponse-1")
	assert.Equal(t, "auth.required", r["errorCode"])
	r = ask(anon, "apiRequest", map[string]any{"name": "api/system/login/v1", "data": map[string]any{"name": "Bob"}, "responseIndex": 2}, "apiResponse-2")
	assert.Equal(t, "success", r["status"])
	bobToken, _ := r["token"].(string)
	require.NotEmpty(t, bobToken)

	ada, bob := dial(token), dial(bobToken)
	for i, c := range []*sioclient.Client{ada, bob} {
		r = ask(c, "joinRoom", map[string]any{"group": "lobby", "responseIndex": 10 + i}, "joinRoom-"+strconv.Itoa(10+i))
		assert.Equal(t, []any{"lobby"}, r["rooms"])
	}
	r = ask(ada, "apiRequest", map[string]any{"name": "api/chat/whoami/v1", "data": map[string]any{}, "responseIndex": 3}, "apiResponse-3")
	assert.Equal(t, "Ada", r["name"])
	assert.Equal(t, []any{"lobby"}, r["rooms"])

	r = ask(ada, "sync", map[string]any{"name": "sync/chat/message/v1", "cb": "chat/message/v1", "data": map[string]any{"text": "hello"}, "receiver": "lobby", "responseIndex": 4}, "sync-4")
	assert.Equal(t, "success", r["status"])
	for c, mine := range map[*sioclient.Client]bool{ada: true, bob: false} {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		ev, err := c.Expect(ctx, "sync")
		cancel()
		require.NoError(t, err)
		var f struct {
			FullName     string          `json:"fullName"`
			ServerOutput ChatMessage     `json:"serverOutput"`
			ClientOutput map[string]bool `json:"clientOutput"`
		}
		require.NoError(t, ev.Decode(0, &f))
		assert.Equal(t, "sync/chat/message/v1", f.FullName)
		assert.Equal(t, "hello", f.ServerOutput.Text)
		assert.Equal(t, "Ada", f.ServerOutput.From)
		assert.Equal(t, "lobby", f.ServerOutput.Room)
		assert.Equal(t, mine, f.ClientOutput["mine"])
	}
	r = ask(anon, "sync", map[string]any{"name": "sync/chat/message/v1", "cb": "chat/message/v1", "data": map[string]any{"text": "x"}, "receiver": "lobby", "responseIndex": 5}, "sync-5")
	assert.Equal(t, "auth.required", r["errorCode"])
}
