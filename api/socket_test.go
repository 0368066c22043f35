package api

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

func TestSocketSuccessEnvelope(t *testing.T) {
	t.Parallel()
	type out struct {
		Name   string `json:"name"`
		Status int    `json:"httpStatus"`
	}
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "users/createUser/v1", Route[struct{}, out]{Handler: func(_ context.Context, req *Request, _ struct{}) (out, error) {
			return out{Name: req.Route + "@" + req.UserID(), Status: 201}, nil
		}}))
	})
	tok := e.login(&luckystack.Session{ID: "u7"})
	c := e.dial(tok)
	r := request(t, c, 0, "users/createUser/v1", map[string]any{})
	assert.Equal(t, reply{"name": "createUser@u7", "status": "success", "httpStatus": 201.0}, r, "index 0 is valid; the output's fields are spread")
}

func TestSocketHookOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	done := make(chan struct{}, 4)
	e := newEnv(t, noLimits(), func(m *Module) { require.NoError(t, Register(m, "svc/echo/v1", echoRoute())) })
	for _, h := range []func(){
		func() { record(e.srv, rec, PreSocketMessage) },
		func() { record(e.srv, rec, PreAPIValidate) },
		func() { record(e.srv, rec, PostAPIValidate) },
		func() { record(e.srv, rec, PreAPIExecute) },
		func() { record(e.srv, rec, PostAPIExecute) },
		func() { record(e.srv, rec, PreAPIRespond) },
		func() { record(e.srv, rec, TransformAPIResponse) },
		func() { record(e.srv, rec, APIAuthRejected) },
		func() { record(e.srv, rec, RateLimitExceeded) },
	} {
		h()
	}
	luckystack.RegisterHook(e.srv, PostAPIRespond, func(context.Context, *RespondEvent) error {
		rec.Add(PostAPIRespond.Name())
		done <- struct{}{}
		return nil
	})
	c := e.dial("")
	r := request(t, c, 1, "api/svc/echo/v1", map[string]any{"n": 2})
	assert.Equal(t, "success", r["status"])
	recv(t, done)
	assert.Equal(t, []string{
		"preSocketMessage", "preApiValidate", "postApiValidate", "preApiExecute", "postApiExecute",
		"preApiRespond", "transformApiResponse", "postApiRespond",
	}, rec.List())

	rec.Reset()
	r = request(t, c, 2, "api/svc/nope/v1", map[string]any{})
	assert.Equal(t, "api.notFound", r.Code())
	recv(t, done)
	assert.Equal(t, []string{"preSocketMessage", "preApiRespond", "transformApiResponse", "postApiRespond"}, rec.List(),
		"gate errors take the respond chain too")
}

func TestSocketTransformAndFormatter(t *testing.T) {
	t.Parallel()
	opts := noLimits()
	opts.ErrorFormatter = func(env *Envelope, info FormatInfo) (any, error) {
		ee := env.ErrorEnvelope()
		return map[string]any{"status": "error", "errorCode": ee.ErrorCode, "httpStatus": ee.HTTPStatus, "route": info.RouteName, "global": true}, nil
	}
	opts.Translate = func(lang, code string, _ []events.ErrorParam) string { return lang + ":" + code }
	e := newEnv(t, opts, func(m *Module) {
		require.NoError(t, Register(m, "svc/echo/v1", echoRoute()))
		r := echoRoute()
		r.ErrorFormatter = func(*Envelope, FormatInfo) (any, error) { return nil, errBoom }
		require.NoError(t, Register(m, "svc/plain/v1", r))
	})
	luckystack.RegisterHook(e.srv, TransformAPIResponse, func(_ context.Context, ev *RespondEvent) error {
		return ev.Response.Set("transport", ev.Transport)
	})
	tok := e.login(&luckystack.Session{ID: "u1", Language: "NL-be"})
	c := e.dial(tok)

	r := request(t, c, 1, "api/svc/echo/v1", map[string]any{"n": 3})
	assert.Equal(t, reply{"n": 3.0, "status": "success", "httpStatus": 200.0, "transport": "socket"}, r, "formatters never see successes")

	r = request(t, c, 2, "api/svc/echo/v1", map[string]any{"n": "x"})
	assert.Equal(t, reply{"status": "error", "errorCode": "api.invalidInputType", "httpStatus": 400.0, "route": "api/svc/echo/v1", "global": true}, r)

	r = request(t, c, 3, "api/svc/plain/v1", map[string]any{"n": "x"})
	assert.Equal(t, "nl:api.invalidInputType", r["message"], "a failing route formatter keeps the envelope; the session language wins")
	assert.Equal(t, "socket", r["transport"])
}

func TestSocketMalformedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits(), func(m *Module) { require.NoError(t, Register(m, "svc/echo/v1", echoRoute())) })
	var seen atomic.Int32
	luckystack.RegisterHook(e.srv, PreSocketMessage, func(_ context.Context, ev *SocketMessageEvent) error {
		seen.Add(1)
		if ev.RouteName == "api/svc/blocked/v1" {
			return luckystack.StopWith("blocked.byHook", 0)
		}
		return nil
	})
	c := e.dial("")
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "api/svc/echo/v1", "data": map[string]any{}}))
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "api/svc/echo/v1", "data": map[string]any{}, "responseIndex": 1.5}))
	require.NoError(t, c.Emit("apiRequest", "not an object"))
	r := request(t, c, 1, "api/svc/echo/v1", []int{1})
	assert.Equal(t, "api.invalidRequest", r.Code())
	r = request(t, c, 2, "", map[string]any{})
	assert.Equal(t, "api.invalidRequest", r.Code())
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": 5, "data": map[string]any{}, "responseIndex": "3"}))
	r = expect(t, c, "apiResponse-3")
	assert.Equal(t, "api.invalidRequest", r.Code(), "a string index is accepted")

	r = request(t, c, 4, "api/svc/blocked/v1", map[string]any{})
	assert.Equal(t, reply{"status": "error", "errorCode": "blocked.byHook", "httpStatus": 403.0}, r, "the stop reply has no message")

	assert.EqualValues(t, 6, seen.Load(), "index-less messages reach the hook, non-objects do not")
	for _, ev := range c.Buffered() {
		t.Errorf("unexpected event %s", ev.Name)
	}
}

func TestSocketLogout(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	// A registered route of the shortcut's name serves HTTP only.
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "system/logout/v3", Route[map[string]any, map[string]any]{
			Handler: func(context.Context, *Request, map[string]any) (map[string]any, error) {
				return nil, errors.New("the socket shortcut must not reach this")
			},
		}))
	})
	record(e.srv, rec, PreLogout)
	record(e.srv, rec, PostLogout)
	tok := e.login(&luckystack.Session{ID: "u1"})
	c := e.dial(tok)
	// Dialled means connected with the connect handlers done, so this
	// socket is in the session's room already.
	other := e.dial(tok)

	r := request(t, c, 9, "api/system/logout/v3", map[string]any{})
	assert.Equal(t, reply{"status": "success", "httpStatus": 200.0, "result": true}, r)
	assert.Equal(t, `"success"`, string(mustExpect(t, c, "logout").Arg(0)), "the caller is told too")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := other.Expect(ctx, "logout")
	require.NoError(t, err, "every socket of the session is told")
	var v string
	require.NoError(t, ev.Decode(0, &v))
	assert.Equal(t, "success", v)
	_, err = c.WaitDisconnect(ctx)
	require.NoError(t, err)

	sess, err := e.srv.GetSession(context.Background(), tok)
	require.NoError(t, err)
	assert.Nil(t, sess, "the session is deleted")
	require.Eventually(t, func() bool { return len(rec.List()) == 2 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, []string{"preLogout", "postLogout"}, rec.List())

	anon := e.dial("")
	r = request(t, anon, 1, "api/system/logout/v1", map[string]any{})
	assert.Equal(t, "success", r["status"])
	assert.Equal(t, "\"success\"", string(mustExpect(t, anon, "logout").Arg(0)))
}

func TestSocketLogoutStoppedAndLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{RateLimit: RateLimitOptions{DefaultIPLimit: 1}}, nil)
	luckystack.RegisterHook(e.srv, PreLogout, func(context.Context, *LogoutEvent) error { return luckystack.StopWith("logout.locked", 423) })
	tok := e.login(&luckystack.Session{ID: "u1"})
	c := e.dial(tok)
	r := request(t, c, 1, "api/system/logout/v1", map[string]any{})
	assert.Equal(t, "logout.locked", r.Code())
	assert.Equal(t, 423, r.Status())
	assert.Equal(t, "\"error\"", string(mustExpect(t, c, "logout").Arg(0)))
	sess, _ := e.srv.GetSession(context.Background(), tok)
	assert.NotNil(t, sess, "a stopped logout keeps the session")

	r = request(t, c, 2, "api/system/logout/v1", map[string]any{})
	assert.Equal(t, "api.rateLimitExceeded", r.Code(), "the shortcut counts in the global IP bucket")
}

func TestSocketStreaming(t *testing.T) {
	t.Parallel()
	late := make(chan error, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/count/v1", Route[Echo, Echo]{Handler: func(_ context.Context, req *Request, in Echo) (Echo, error) {
			require.True(t, req.Streaming())
			for i := range in.N {
				if err := req.Stream(Echo{N: i}); err != nil {
					return Echo{}, err
				}
			}
			if err := req.Stream(nil); err != nil {
				return Echo{}, err
			}
			go func() {
				// After the handler returned, the stream is closed.
				req.out.mu.Lock()
				hctx := req.out.ctx
				req.out.mu.Unlock()
				<-hctx.Done()
				late <- req.Stream(Echo{N: 99})
			}()
			return Echo{N: in.N, S: "done"}, nil
		}}))
	})
	c := e.dial("")
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "svc/count/v1", "data": map[string]any{"n": 3}, "responseIndex": 4}))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var got []string
	for len(got) < 5 {
		ev, err := c.Next(ctx)
		require.NoError(t, err)
		got = append(got, ev.Name+" "+string(ev.Arg(0)))
	}
	assert.Equal(t, []string{
		`apiStream-4 {"n":0}`, `apiStream-4 {"n":1}`, `apiStream-4 {"n":2}`, `apiStream-4 {}`,
		`apiResponse-4 {"n":3,"s":"done","status":"success","httpStatus":200}`,
	}, got)
	assert.ErrorIs(t, recv(t, late), ErrStreamClosed)
}

func TestSocketCancel(t *testing.T) {
	t.Parallel()
	started := make(chan int, 4)
	causes := make(chan error, 4)
	executed := make(chan struct{}, 4)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/wait/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, _ *Request, in Echo) (Echo, error) {
			started <- in.N
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return Echo{}, ctx.Err()
		}}))
		require.NoError(t, Register(m, "svc/echo/v1", echoRoute()))
	})
	luckystack.RegisterHook(e.srv, PostAPIExecute, func(_ context.Context, ev *ExecuteEvent) error {
		if ev.RouteName == "api/svc/wait/v1" {
			executed <- struct{}{}
		}
		return nil
	})
	c := e.dial("")
	for i, idx := range []any{5, "6"} {
		n := 5 + i
		require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "svc/wait/v1", "data": map[string]any{"n": n}, "responseIndex": n}))
		assert.Equal(t, n, recv(t, started))
		// The handler is running; the event loop still takes the cancel.
		require.NoError(t, c.Emit("apiCancel", map[string]any{"responseIndex": idx}))
		assert.ErrorIs(t, recv(t, causes), ErrCanceled)
		recv(t, executed)
	}
	require.NoError(t, c.Emit("apiCancel", map[string]any{"responseIndex": 77}), "unknown indexes are ignored")
	r := request(t, c, 8, "svc/echo/v1", map[string]any{"n": 1})
	assert.Equal(t, "success", r["status"])
	assert.False(t, c.Has("apiResponse-5") || c.Has("apiResponse-6"), "a cancelled request gets no reply")
}

func TestSocketDisconnectCancels(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/wait/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, _ *Request, _ Echo) (Echo, error) {
			started <- struct{}{}
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return Echo{}, nil
		}}))
	})
	c := e.dial("")
	require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "svc/wait/v1", "data": map[string]any{}, "responseIndex": 1}))
	recv(t, started)
	require.NoError(t, c.Close())
	cause := recv(t, causes)
	require.Error(t, cause)
	assert.False(t, errors.Is(cause, ErrCanceled))
	require.Eventually(t, func() bool {
		e.mod.flightsMu.Lock()
		defer e.mod.flightsMu.Unlock()
		return len(e.mod.flights) == 0
	}, waitFor, 10*time.Millisecond, "the client's in-flight entry goes with its last request")
}

func TestSocketTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	returned := make(chan error, 2)
	opts := noLimits()
	opts.Timeout = 30 * time.Millisecond
	opts.MaxInFlight = 1
	var postExecute atomic.Int32
	e := newEnv(t, opts, func(m *Module) {
		// Ignores its context: the reply must not wait for it.
		require.NoError(t, Register(m, "svc/stubborn/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, _ *Request, _ Echo) (Echo, error) {
			<-release
			returned <- context.Cause(ctx)
			return Echo{}, nil
		}}))
		r := echoRoute()
		r.Timeout = -1
		require.NoError(t, Register(m, "svc/echo/v1", r))
	})
	luckystack.RegisterHook(e.srv, PostAPIExecute, func(context.Context, *ExecuteEvent) error { postExecute.Add(1); return nil })
	c := e.dial("")
	r := request(t, c, 1, "svc/stubborn/v1", map[string]any{})
	assert.Equal(t, "api.timeout", r.Code())
	assert.Equal(t, 504, r.Status())

	r = request(t, c, 2, "svc/echo/v1", map[string]any{"n": 1})
	assert.Equal(t, CodeTooManyInFlight, r.Code(), "the timed-out handler still holds its slot")
	assert.Equal(t, 429, r.Status())

	close(release)
	assert.ErrorIs(t, recv(t, returned), ErrTimeout)
	require.Eventually(t, func() bool {
		return request(t, c, 3, "svc/echo/v1", map[string]any{"n": 1})["status"] == "success"
	}, waitFor, 20*time.Millisecond)
	assert.EqualValues(t, 1, postExecute.Load(), "postApiExecute is skipped after a timeout")

	e2 := newEnv(t, noLimits(), func(m *Module) {
		r := Route[Echo, Echo]{Timeout: 20 * time.Millisecond, Handler: func(ctx context.Context, _ *Request, _ Echo) (Echo, error) {
			<-ctx.Done()
			return Echo{}, ctx.Err()
		}}
		require.NoError(t, Register(m, "svc/slow/v1", r))
	})
	status, hr := e2.Post("/api/svc/slow/v1", "", map[string]any{})
	assert.Equal(t, 504, status)
	assert.Equal(t, "api.timeout", hr.Code(), "the route timeout applies over HTTP too")
}

func TestSocketMaxInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	opts := noLimits()
	opts.MaxInFlight = 2
	e := newEnv(t, opts, func(m *Module) {
		require.NoError(t, Register(m, "svc/wait/v1", Route[Echo, Echo]{Handler: func(_ context.Context, _ *Request, in Echo) (Echo, error) {
			started <- struct{}{}
			<-release
			return in, nil
		}}))
	})
	c := e.dial("")
	other := e.dial("")
	for i := 1; i <= 2; i++ {
		require.NoError(t, c.Emit("apiRequest", map[string]any{"name": "svc/wait/v1", "data": map[string]any{"n": i}, "responseIndex": i}))
		recv(t, started)
	}
	r := request(t, c, 3, "svc/wait/v1", map[string]any{"n": 3})
	assert.Equal(t, CodeTooManyInFlight, r.Code())
	require.NoError(t, other.Emit("apiRequest", map[string]any{"name": "svc/wait/v1", "data": map[string]any{"n": 9}, "responseIndex": 1}))
	recv(t, started)
	close(release)
	for i := 1; i <= 2; i++ {
		assert.EqualValues(t, i, expect(t, c, "apiResponse-"+itoa(i))["n"], "requests of one client run in parallel")
	}
	assert.EqualValues(t, 9, expect(t, other, "apiResponse-1")["n"], "the bound is per client")
}
