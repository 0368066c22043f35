package sync

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// TestSyncHTTP: POST /sync/... runs the route, fans out to the room's
// sockets with the resolved key, checks membership from the session and
// answers after delivery.
func TestSyncHTTP(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/message/v1", echoRoute())
		mustRegister(t, m, "chat/said/v1", Route[Msg, map[string]any]{Server: func(_ context.Context, req *Request, in Msg) (map[string]any, error) {
			return map[string]any{"message": "said " + in.Text, "transport": req.Transport}, nil
		}})
	})
	a, tok := e.member("a", "r")
	b, _ := e.member("b", "r")
	status, r := e.Post("/sync/chat/message/v1", tok, map[string]any{"data": Msg{Text: "web"}, "receiver": "r", "cb": "spoof/x/v1"})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, reply{"status": "success", "message": "sync/chat/message/v1 sync success", "result": map[string]any{"text": "web"}}, r)
	fa, fb := expect(t, a, "sync"), expect(t, b, "sync")
	assert.Equal(t, fa, fb)
	assert.Equal(t, "chat/message/v1", fa["cb"])
	assert.Equal(t, "sync/chat/message/v1", fa["fullName"])

	// ignoreSelf skips every socket of the caller's session.
	wait := e.trackFanout()
	status, _ = e.Post("/sync/chat/message/v1", tok, map[string]any{"data": Msg{Text: "quiet"}, "receiver": "r", "ignoreSelf": true})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, 1, wait().RecipientCount)
	assert.Equal(t, "quiet", expect(t, b, "sync").Obj("serverOutput")["text"])
	e.mark(a, b)
	assert.Zero(t, count(a, "sync"))

	// The success message prefers the server output's own.
	status, r = e.Post("/sync/chat/said/v1", tok, map[string]any{"receiver": "r"})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "said ", r["message"])
	assert.Equal(t, "http", r.Obj("result")["transport"])
}

// TestSyncHTTPErrors: the HTTP-only refusals.
func TestSyncHTTPErrors(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	_, tok := e.member("a", "r")
	resp, body := e.do(http.MethodGet, "/sync/chat/message/v1", tok, "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Contains(t, string(body), events.CodeSyncMethodNotAllowed)
	assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	for _, tc := range []struct {
		path, body, code string
		status           int
	}{
		{"/sync/", `{}`, events.CodeSyncInvalidName, 400},
		{"/sync/chat/message/v1", `{"data":`, events.CodeSyncInvalidRequestFormat, 500},
		{"/sync/chat/message/v1", `[1]`, events.CodeSyncInvalidRequest, 400},
		{"/sync/chat/message/v1", `{"data":[1],"receiver":"r"}`, events.CodeSyncInvalidRequest, 400},
		{"/sync/chat/message/v1", `{"data":{}}`, events.CodeSyncMissingReceiver, 400},
	} {
		resp, body := e.do(http.MethodPost, tc.path, tok, tc.body, nil)
		assert.Equal(t, tc.status, resp.StatusCode, tc.body)
		assert.Contains(t, string(body), `"errorCode":"`+tc.code+`"`, tc.body)
	}
	// Absent data is {}; membership comes from the session.
	resp, _ = e.do(http.MethodPost, "/sync/chat/message/v1", tok, `{"receiver":"r"}`, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body = e.do(http.MethodPost, "/sync/chat/message/v1", "", `{"receiver":"r"}`, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, string(body), events.CodeSyncNotRoomMember)
}

// TestSyncHTTPSSE: with Accept: text/event-stream, stream chunks arrive as
// "stream" events and the answer as the "final" event.
func TestSyncHTTPSSE(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/stream/v1", Route[Msg, Msg]{Server: func(_ context.Context, req *Request, in Msg) (Msg, error) {
			for i := range 2 {
				assert.NoError(t, req.Stream(map[string]int{"i": i}))
			}
			return in, nil
		}})
	})
	_, tok := e.member("a", "r")
	resp, body := e.do(http.MethodPost, "/sync/chat/stream/v1", tok, `{"data":{"text":"z"},"receiver":"r"}`, http.Header{"Accept": {"text/event-stream"}})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var got []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			got = append(got, line)
		}
	}
	require.Equal(t, []string{
		": connected",
		"event: stream", `data: {"i":0}`,
		"event: stream", `data: {"i":1}`,
		"event: final", `data: {"status":"success","message":"sync/chat/stream/v1 sync success","result":{"text":"z"}}`,
	}, got)
}

// TestSyncParity: the socket and HTTP transports give the same code and
// status for the same failure.
func TestSyncParity(t *testing.T) {
	e := newEnv(t, Options{RateLimit: api.RateLimitOptions{DefaultIPLimit: -1}}, func(m *Module) {
		mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{Server: echoServer, RateLimit: api.NoRateLimit})
		mustRegister(t, m, "chat/login/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Login: true}, RateLimit: api.NoRateLimit})
		mustRegister(t, m, "chat/admin/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Additional: []api.Predicate{api.Equals("admin", true)}}, RateLimit: api.NoRateLimit})
		mustRegister(t, m, "chat/once/v1", Route[Msg, Msg]{Server: echoServer, RateLimit: 2})
		mustRegister(t, m, "chat/gated/v1", Route[Msg, Msg]{Server: echoServer, RateLimit: api.NoRateLimit})
	})
	luckystack.RegisterHook(e.srv, PreSyncExecute, func(_ context.Context, ev *Event) error {
		if ev.RouteName == "sync/chat/gated/v1" {
			return luckystack.StopWith("chat.closed", 423)
		}
		return nil
	})
	a, tok := e.member("a", "r")
	anon := e.dial("")
	cases := []struct {
		name, route, receiver string
		data                  any
		anonymous             bool
		code                  string
		status                int
	}{
		{"bad name", "chat/v1", "r", Msg{}, false, events.CodeRoutingInvalidServiceRouteName, 400},
		{"not found", "chat/none/v1", "r", Msg{}, false, events.CodeSyncNotFound, 400},
		{"login required", "chat/login/v1", "r", Msg{}, true, events.CodeAuthRequired, 401},
		{"failed predicate", "chat/admin/v1", "r", Msg{}, false, events.CodeAuthForbidden, 403},
		{"invalid input", "chat/message/v1", "r", map[string]any{"text": true}, false, events.CodeSyncInvalidInputType, 400},
		{"hook stop", "chat/gated/v1", "r", Msg{}, false, "chat.closed", 423},
		{"receiver all", "chat/message/v1", "all", Msg{}, false, events.CodeSyncReceiverNotAllowed, 403},
		{"not member", "chat/message/v1", "x", Msg{}, false, events.CodeSyncNotRoomMember, 403},
		{"rate limit", "chat/once/v1", "r", Msg{}, false, events.CodeSyncRateLimitExceeded, 429},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, token := a, tok
			if tc.anonymous {
				c, token = anon, ""
			}
			// The rate-limited route allows two: one per transport is
			// spent here, the second call of each is refused.
			if tc.code == events.CodeSyncRateLimitExceeded {
				assert.Equal(t, "success", send(t, c, syncMsg("sync/"+tc.route, tc.data, tc.receiver, 500+i))["status"])
				status, _ := e.Post("/sync/"+tc.route, token, map[string]any{"data": tc.data, "receiver": tc.receiver})
				assert.Equal(t, 200, status)
			}
			sock := send(t, c, syncMsg("sync/"+tc.route, tc.data, tc.receiver, i+1))
			status, hr := e.Post("/sync/"+tc.route, token, map[string]any{"data": tc.data, "receiver": tc.receiver})
			assert.Equal(t, tc.code, sock.Code(), "socket")
			assert.Equal(t, tc.code, hr.Code(), "http")
			assert.Equal(t, tc.status, sock.Status(), "socket status")
			assert.Equal(t, tc.status, hr.Status(), "http envelope status")
			assert.Equal(t, tc.status, status, "http status")
			assert.Equal(t, sock, hr, "same envelope "+strconv.Itoa(i))
		})
	}
}
