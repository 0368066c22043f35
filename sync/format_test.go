package sync

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// failingServer answers in.Text "ok" with success, anything else with
// chat.bad.
func failingServer(_ context.Context, _ *Request, in Msg) (Msg, error) {
	if in.Text == "ok" {
		return in, nil
	}
	return Msg{}, api.NewError("chat.bad", http.StatusBadRequest)
}

// TestSyncErrorFormatter: a route's formatter reshapes its error answers
// on both transports, the module's covers routes without one and unknown
// routes, success answers and fan-out frames are left alone, and a
// formatter that fails, panics or returns a non-object falls back to the
// unformatted envelope.
func TestSyncErrorFormatter(t *testing.T) {
	opts := noLimits()
	opts.ErrorFormatter = func(env events.ErrorEnvelope, info FormatInfo) (any, error) {
		return map[string]any{"status": "error", "errorCode": env.ErrorCode, "by": "global", "route": info.RouteName}, nil
	}
	own := func(env events.ErrorEnvelope, info FormatInfo) (any, error) {
		return map[string]any{"status": "error", "errorCode": "custom." + env.ErrorCode, "httpStatus": 418, "transport": string(info.Transport), "sender": info.Request.UserID()}, nil
	}
	e := newEnv(t, opts, func(m *Module) {
		mustRegister(t, m, "chat/own/v1", Route[Msg, Msg]{Server: failingServer, ErrorFormatter: own})
		mustRegister(t, m, "chat/global/v1", Route[Msg, Msg]{Server: failingServer})
		mustRegister(t, m, "chat/panic/v1", Route[Msg, Msg]{Server: failingServer, ErrorFormatter: func(events.ErrorEnvelope, FormatInfo) (any, error) {
			panic("formatter panic")
		}})
		mustRegister(t, m, "chat/scalar/v1", Route[Msg, Msg]{Server: failingServer, ErrorFormatter: func(events.ErrorEnvelope, FormatInfo) (any, error) {
			return "not an object", nil
		}})
		mustRegister(t, m, "chat/err/v1", Route[Msg, Msg]{Server: failingServer, ErrorFormatter: func(events.ErrorEnvelope, FormatInfo) (any, error) {
			return nil, assert.AnError
		}})
	})
	a, tok := e.member("a", "r")

	r := send(t, a, syncMsg("sync/chat/own/v1", Msg{Text: "no"}, "r", 1))
	assert.Equal(t, reply{"status": "error", "errorCode": "custom.chat.bad", "httpStatus": float64(418), "transport": "socket", "sender": "a"}, r)
	r = send(t, a, syncMsg("sync/chat/own/v1", Msg{Text: "ok"}, "r", 2))
	assert.Equal(t, "success", r["status"], "success answers are not formatted")
	assert.Equal(t, "success", expect(t, a, "sync")["status"], "fan-out frames are not formatted")

	r = send(t, a, syncMsg("sync/chat/global/v1", Msg{Text: "no"}, "r", 3))
	assert.Equal(t, reply{"status": "error", "errorCode": "chat.bad", "by": "global", "route": "sync/chat/global/v1"}, r)
	r = send(t, a, syncMsg("sync/chat/missing/v1", Msg{}, "r", 4))
	assert.Equal(t, reply{"status": "error", "errorCode": events.CodeSyncNotFound, "by": "global", "route": "sync/chat/missing/v1"}, r)

	for i, route := range []string{"sync/chat/panic/v1", "sync/chat/scalar/v1", "sync/chat/err/v1"} {
		r = send(t, a, syncMsg(route, Msg{Text: "no"}, "r", 10+i))
		assert.Equal(t, "chat.bad", r.Code(), route)
		assert.Equal(t, http.StatusBadRequest, r.Status(), route)
		assert.Equal(t, "chat.bad", r["message"], route)
		assert.NotContains(t, r, "by", route)
	}

	status, hr := e.Post("/sync/chat/own/v1", tok, map[string]any{"data": Msg{Text: "no"}, "receiver": "r"})
	assert.Equal(t, 418, status, "the formatted httpStatus is the HTTP status")
	assert.Equal(t, reply{"status": "error", "errorCode": "custom.chat.bad", "httpStatus": float64(418), "transport": "http", "sender": "a"}, hr)
	status, hr = e.Post("/sync/chat/global/v1", tok, map[string]any{"data": Msg{Text: "no"}, "receiver": "r"})
	assert.Equal(t, http.StatusBadRequest, status, "without httpStatus the envelope's status stays")
	assert.Equal(t, "global", hr["by"])
}
