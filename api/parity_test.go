package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
)

// TestTransportParity checks that the socket and HTTP transports answer the
// same failure with the same error code and status, since both run the
// same gates. Every case runs on a fresh server per transport so that
// buckets and hooks never leak between them.
func TestTransportParity(t *testing.T) {
	t.Parallel()
	type setup struct {
		opts  Options
		route func(m *Module)
		hooks func(srv *luckystack.Server)
		login bool
	}
	onlyEcho := func(name string, r Route[Echo, Echo]) func(m *Module) {
		return func(m *Module) {
			if err := Register(m, name, r); err != nil {
				panic(err)
			}
		}
	}
	withAuth := func(a Auth) Route[Echo, Echo] {
		r := echoRoute()
		r.Auth = a
		return r
	}
	limited := echoRoute()
	limited.RateLimit = 1
	tests := []struct {
		name   string
		setup  setup
		socket string // apiRequest name
		path   string // HTTP path
		data   any
		calls  int // requests before the one compared (rate limits)
		code   string
		status int
	}{
		{
			name: "success", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", echoRoute())},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "", status: 200,
		},
		{
			name: "unknown route", setup: setup{opts: noLimits()},
			socket: "api/svc/nope/v1", path: "/api/svc/nope/v1", data: map[string]any{}, code: "api.notFound", status: 404,
		},
		{
			name: "bad name", setup: setup{opts: noLimits()},
			socket: "api/svc/v1", path: "/api/svc/v1", data: map[string]any{}, code: "routing.invalidServiceRouteName", status: 400,
		},
		{
			name: "bad version", setup: setup{opts: noLimits()},
			socket: "api/svc/echo/version1", path: "/api/svc/echo/version1", data: map[string]any{}, code: "routing.invalidServiceRouteName", status: 400,
		},
		{
			name: "login required", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", withAuth(Auth{Login: true}))},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "auth.required", status: 401,
		},
		{
			name:   "failed predicate",
			setup:  setup{opts: noLimits(), login: true, route: onlyEcho("svc/echo/v1", withAuth(Auth{Login: true, Additional: []Predicate{Equals("admin", true)}}))},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "auth.forbidden", status: 403,
		},
		{
			name:   "predicate on unknown key",
			setup:  setup{opts: noLimits(), login: true, route: onlyEcho("svc/echo/v1", withAuth(Auth{Additional: []Predicate{Equals("plan", "pro")}}))},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "auth.invalidCondition", status: 500,
		},
		{
			name: "invalid input type", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", echoRoute())},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": "one"}, code: "api.invalidInputType", status: 400,
		},
		{
			name: "unknown input field", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", echoRoute())},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1, "extra": true}, code: "api.invalidInputType", status: 400,
		},
		{
			name: "hook stop", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", echoRoute()), hooks: func(srv *luckystack.Server) {
				luckystack.RegisterHook(srv, PreAPIExecute, func(context.Context, *ExecuteEvent) error { return luckystack.StopWith("custom.blocked", 0) })
			}},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "custom.blocked", status: 403,
		},
		{
			name: "hook stop with status", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", echoRoute()), hooks: func(srv *luckystack.Server) {
				luckystack.RegisterHook(srv, PreAPIRespond, func(context.Context, *RespondEvent) error { return luckystack.StopWith("custom.teapot", 418) })
			}},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "custom.teapot", status: 418,
		},
		{
			name: "route rate limit", setup: setup{route: onlyEcho("svc/echo/v1", limited)},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, calls: 1, code: "api.rateLimitExceeded", status: 429,
		},
		{
			name: "global IP rate limit", setup: setup{opts: Options{RateLimit: RateLimitOptions{DefaultIPLimit: 2}}, route: onlyEcho("svc/echo/v1", echoRoute())},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, calls: 2, code: "api.rateLimitExceeded", status: 429,
		},
		{
			name: "handler error", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", Route[Echo, Echo]{Handler: func(context.Context, *Request, Echo) (Echo, error) {
				return Echo{}, NewError("svc.gone", http.StatusGone)
			}})},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "svc.gone", status: 410,
		},
		{
			name: "handler failure", setup: setup{opts: noLimits(), route: onlyEcho("svc/echo/v1", Route[Echo, Echo]{Handler: func(context.Context, *Request, Echo) (Echo, error) {
				panic(errBoom)
			}})},
			socket: "api/svc/echo/v1", path: "/api/svc/echo/v1", data: map[string]any{"n": 1}, code: "api.internalServerError", status: 500,
		},
	}
	for _, tc := range tests {
		start := func(t *testing.T) (*testEnv, string) {
			e := newEnv(t, tc.setup.opts, tc.setup.route)
			if tc.setup.hooks != nil {
				tc.setup.hooks(e.srv)
			}
			tok := ""
			if tc.setup.login {
				tok = e.login(&luckystack.Session{ID: "u1", Email: "u@x.y"})
			}
			return e, tok
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sockCode, httpCode string
			var sockStatus, httpStatus int
			t.Run("socket", func(t *testing.T) {
				e, tok := start(t)
				c := e.dial(tok)
				for i := range tc.calls {
					request(t, c, 100+i, tc.socket, tc.data)
				}
				r := request(t, c, 1, tc.socket, tc.data)
				sockCode, sockStatus = r.Code(), r.Status()
				if tc.code != "" {
					assert.Equal(t, r["errorCode"], r["message"], "message is the code without a translator")
				}
			})
			t.Run("http", func(t *testing.T) {
				e, tok := start(t)
				for range tc.calls {
					e.Post(tc.path, tok, tc.data)
				}
				status, r := e.Post(tc.path, tok, tc.data)
				httpCode, httpStatus = r.Code(), r.Status()
				assert.Equal(t, status, r.Status(), "HTTP status is the envelope's")
			})
			require.False(t, t.Failed())
			assert.Equal(t, tc.code, sockCode, "socket code")
			assert.Equal(t, tc.status, sockStatus, "socket status")
			assert.Equal(t, sockCode, httpCode, "same code on both transports")
			assert.Equal(t, sockStatus, httpStatus, "same status on both transports")
		})
	}
}
