package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
)

type echoIn struct {
	Text string `json:"text"`
}

type echoOut struct {
	Text string `json:"text"`
	User string `json:"user"`
}

// testRoutes registers the API routes most tests use.
func testRoutes(t *testing.T, started chan<- string, stopped chan<- error) func(*luckystack.Server, *api.Module) {
	return func(_ *luckystack.Server, mod *api.Module) {
		require.NoError(t, api.Register(mod, "test/echo/v1", api.Route[echoIn, echoOut]{
			Handler: func(_ context.Context, req *api.Request, in echoIn) (echoOut, error) {
				return echoOut{Text: in.Text, User: req.UserID()}, nil
			},
		}))
		require.NoError(t, api.Register(mod, "test/private/v1", api.Route[struct{}, echoOut]{
			Auth: api.Auth{Login: true},
			Handler: func(_ context.Context, req *api.Request, _ struct{}) (echoOut, error) {
				return echoOut{User: req.UserID()}, nil
			},
		}))
		require.NoError(t, api.Register(mod, "test/admin/v1", api.Route[struct{}, echoOut]{
			Auth:    api.Auth{Additional: []api.Predicate{api.Equals("admin", true)}},
			Handler: func(context.Context, *api.Request, struct{}) (echoOut, error) { return echoOut{}, nil },
		}))
		require.NoError(t, api.Register(mod, "test/fail/v1", api.Route[struct{}, echoOut]{
			Handler: func(context.Context, *api.Request, struct{}) (echoOut, error) {
				return echoOut{}, api.NewError("test.teapot", http.StatusTeapot, events.ErrorParam{Key: "why", Value: "tea"})
			},
		}))
		require.NoError(t, api.Register(mod, "test/crash/v1", api.Route[struct{}, echoOut]{
			Handler: func(context.Context, *api.Request, struct{}) (echoOut, error) {
				return echoOut{}, errors.New("boom")
			},
		}))
		require.NoError(t, api.Register(mod, "test/slowServer/v1", api.Route[struct{}, echoOut]{
			Timeout: 50 * time.Millisecond,
			Handler: func(ctx context.Context, _ *api.Request, _ struct{}) (echoOut, error) {
				<-ctx.Done()
				return echoOut{}, ctx.Err()
			},
		}))
		require.NoError(t, api.Register(mod, "test/stream/v1", api.Route[struct{ N int }, echoOut]{
			Handler: func(_ context.Context, req *api.Request, in struct{ N int }) (echoOut, error) {
				for i := range in.N {
					if err := req.Stream(map[string]int{"i": i}); err != nil {
						return echoOut{}, err
					}
				}
				return echoOut{Text: "done"}, nil
			},
		}))
		require.NoError(t, api.Register(mod, "test/block/v1", api.Route[struct{}, echoOut]{
			Timeout: -1,
			Handler: func(ctx context.Context, _ *api.Request, _ struct{}) (echoOut, error) {
				if started != nil {
					started <- "block"
				}
				<-ctx.Done()
				if stopped != nil {
					stopped <- context.Cause(ctx)
				}
				return echoOut{}, ctx.Err()
			},
		}))
	}
}

func TestAPIRequestSuccessWithTokenInAuth(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := env.dial(client.Options{Token: env.login("u1")})
	res, err := c.APIRequest(ctxT(t), "test/echo", "v1", echoIn{Text: "hi"})
	require.NoError(t, err)
	assert.Equal(t, 200, res.HTTPStatus)
	var out echoOut
	require.NoError(t, res.Decode(&out))
	assert.Equal(t, echoOut{Text: "hi", User: "u1"}, out)
}

func TestAPIRequestSuccessWithTokenInCookie(t *testing.T) {
	env := newLSWith(t, luckystack.Config{}, testRoutes(t, nil, nil)) // cookie mode
	c := env.dial(client.Options{Token: env.login("u2"), TokenTransport: client.TokenInCookie})
	res, err := c.APIRequest(ctxT(t), "test/private", "v1", nil)
	require.NoError(t, err)
	var out echoOut
	require.NoError(t, res.Decode(&out))
	assert.Equal(t, "u2", out.User)
}

func TestAPIRequestErrorEnvelopes(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	anon := env.dial(client.Options{})
	tests := []struct {
		name, route string
		data        any
		code        string
		status      int
		param       string
		paramValue  any
	}{
		{"not found", "test/missing", nil, events.CodeAPINotFound, 404, "name", "api/test/missing/v1"},
		{"login required", "test/private", nil, events.CodeAuthRequired, 401, "", nil},
		{"forbidden", "test/admin", nil, events.CodeAuthForbidden, 403, "key", "admin"},
		{"invalid input", "test/echo", map[string]any{"text": 5}, events.CodeAPIInvalidInputType, 400, "", nil},
		{"handler error", "test/fail", nil, "test.teapot", 418, "why", "tea"},
		{"handler crash", "test/crash", nil, events.CodeAPIInternalServerError, 500, "", nil},
		{"server timeout", "test/slowServer", nil, events.CodeAPITimeout, 504, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anon.APIRequest(ctxT(t), tc.route, "v1", tc.data)
			var e *client.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.status, e.HTTPStatus)
			assert.NotEmpty(t, e.Raw, "the server's envelope is kept")
			if tc.param != "" {
				assert.Equal(t, tc.paramValue, e.Param(tc.param))
			}
		})
	}
}

func TestAPIRequestClientSideValidation(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := env.dial(client.Options{})
	tests := []struct {
		name, route, version string
		data                 any
		code                 string
	}{
		{"one segment", "echo", "v1", nil, events.CodeAPIInvalidName},
		{"empty segment", "test//echo", "v1", nil, events.CodeAPIInvalidName},
		{"bad version", "test/echo", "1", nil, events.CodeAPIInvalidVersion},
		{"data not an object", "test/echo", "v1", []int{1}, events.CodeAPIInvalidDataObject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.APIRequest(ctxT(t), tc.route, tc.version, tc.data)
			assert.Equal(t, tc.code, client.Code(err))
		})
	}
	// Accepted spellings reach the route.
	for _, name := range []string{" test/echo ", `test\echo`, "/test/echo/", "api/test/echo"} {
		_, err := c.APIRequest(ctxT(t), name, "v1", nil)
		assert.NoError(t, err, name)
	}
}

func TestAPIRequestStreamsChunksInOrderBeforeTheReply(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := env.dial(client.Options{})
	var chunks []int
	res, err := c.APIRequest(ctxT(t), "test/stream", "v1", map[string]int{"N": 20}, client.WithStream(func(chunk json.RawMessage) {
		var v struct{ I int }
		require.NoError(t, json.Unmarshal(chunk, &v))
		chunks = append(chunks, v.I)
	}))
	require.NoError(t, err)
	var out echoOut
	require.NoError(t, res.Decode(&out))
	assert.Equal(t, "done", out.Text)
	want := make([]int, 20)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, chunks, "every chunk, in order, before the reply returned")
}

func TestAPIRequestCancelSendsAPICancel(t *testing.T) {
	started, stopped := make(chan string, 1), make(chan error, 1)
	env := newLS(t, testRoutes(t, started, stopped))
	c := env.dial(client.Options{})
	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() { _, err := c.APIRequest(ctx, "test/block", "v1", nil); errc <- err }()
	<-started
	cancel()
	err := <-errc
	assert.Equal(t, events.CodeRequestAborted, client.Code(err))
	assert.ErrorIs(t, err, context.Canceled)
	select {
	case cause := <-stopped:
		assert.ErrorIs(t, cause, api.ErrCanceled, "the server handler was cancelled by apiCancel")
	case <-time.After(waitFor):
		t.Fatal("server handler still running")
	}
	// The connection is still usable.
	_, err = c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	require.NoError(t, err)
}

func TestAPIRequestTimeoutSendsAPICancel(t *testing.T) {
	started, stopped := make(chan string, 1), make(chan error, 1)
	env := newLS(t, testRoutes(t, started, stopped))
	c := env.dial(client.Options{APITimeout: 100 * time.Millisecond})
	_, err := c.APIRequest(ctxT(t), "test/block", "v1", nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, events.CodeAPITimeout, e.Code)
	assert.Equal(t, 504, e.HTTPStatus)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	<-started
	select {
	case cause := <-stopped:
		assert.ErrorIs(t, cause, api.ErrCanceled)
	case <-time.After(waitFor):
		t.Fatal("server handler still running")
	}
}

func TestAPIRequestAnsweredDisconnectedWhenConnectionDrops(t *testing.T) {
	started := make(chan string, 1)
	env := newLS(t, testRoutes(t, started, nil))
	c := env.dial(client.Options{})
	errc := make(chan error, 1)
	go func() { _, err := c.APIRequest(context.Background(), "test/block", "v1", nil); errc <- err }()
	<-started
	env.stop() // the reply can never come
	select {
	case err := <-errc:
		assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
	case <-time.After(waitFor):
		t.Fatal("request still waiting after the disconnect")
	}
}

func TestAPIRequestAfterCloseFails(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c, err := client.Dial(ctxT(t), env.url(), client.Options{})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "idempotent")
	_, err = c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	assert.ErrorIs(t, err, client.ErrClosed)
	assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
	assert.Equal(t, client.StatusDisconnected, c.Status())
}

func TestLogoutEventAndNoAutoReconnect(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	tok := env.login("u3")
	statuses := make(chan client.Status, 64)
	c := env.dial(client.Options{Token: tok, ReconnectDelay: time.Millisecond, OnStatus: func(ev client.StatusEvent) { statuses <- ev.Status }})
	logout := make(chan bool, 1)
	c.OnLogout(func(ok bool) { logout <- ok })
	res, err := c.APIRequest(ctxT(t), "system/logout", "v1", nil)
	require.NoError(t, err)
	var body struct{ Result bool }
	require.NoError(t, res.Decode(&body))
	assert.True(t, body.Result)
	select {
	case ok := <-logout:
		assert.True(t, ok)
	case <-time.After(waitFor):
		t.Fatal("no logout event")
	}
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusDisconnected))
	sess, err := env.server().GetSession(context.Background(), tok)
	require.NoError(t, err)
	assert.Nil(t, sess, "the session is gone")
	// A server disconnect is final until the caller acts.
	assert.Never(t, func() bool { return c.Status() != client.StatusDisconnected }, 200*time.Millisecond, 5*time.Millisecond)
	c.SetToken("")
	c.Reconnect()
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
}

func TestAPIRequestLimitEnvelopes(t *testing.T) {
	started := make(chan string, 4)
	env := newLS(t, testRoutes(t, started, nil))
	env.stop()
	env.apiOpts = api.Options{MaxInFlight: 1, RateLimit: api.RateLimitOptions{DefaultAPILimit: 2, DefaultIPLimit: -1}}
	env.start()
	c := env.dial(client.Options{})

	// Per-route bucket: the third call in the window is refused.
	for range 2 {
		_, err := c.APIRequest(ctxT(t), "test/echo", "v1", nil)
		require.NoError(t, err)
	}
	_, err := c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, events.CodeAPIRateLimitExceeded, e.Code)
	assert.Equal(t, 429, e.HTTPStatus)
	assert.NotNil(t, e.Param("seconds"))

	// One request in flight per socket: a second is refused at once.
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	go func() {
		// The refused call above holds its slot until just after its reply
		// goes out; a request sent in that moment is refused as well.
		for {
			_, err := c.APIRequest(ctx, "test/block", "v1", nil)
			var e *client.Error
			if !errors.As(err, &e) || e.Code != api.CodeTooManyInFlight {
				return
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("the blocking request never started")
	}
	_, err = c.APIRequest(ctxT(t), "test/stream", "v1", map[string]int{"N": 0})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, api.CodeTooManyInFlight, e.Code)
	assert.Equal(t, 429, e.HTTPStatus)
}

func TestAPIRequestHookStopEnvelopeWithoutMessage(t *testing.T) {
	env := newLS(t, func(srv *luckystack.Server, mod *api.Module) {
		testRoutes(t, nil, nil)(srv, mod)
		luckystack.RegisterHook(srv, api.PreSocketMessage, func(_ context.Context, ev *api.SocketMessageEvent) error {
			if ev.RouteName == "api/test/echo/v1" {
				return luckystack.StopWith("custom.blocked", 451)
			}
			return nil
		})
	})
	c := env.dial(client.Options{})
	_, err := c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "custom.blocked", e.Code)
	assert.Equal(t, 451, e.HTTPStatus)
	assert.Equal(t, "custom.blocked", e.Message, "a message-less envelope is normalised like the browser does")
	assert.NotContains(t, string(e.Raw), `"message"`)
}
