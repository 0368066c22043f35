package sync

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// TestRegister: names normalise to sync/<service>/<route>/v<N> (a root
// route belongs to "system"), and bad routes are refused at registration.
func TestRegister(t *testing.T) {
	m := New(Options{})
	require.NoError(t, Register(m, "chat/message/v1", echoRoute()))
	require.NoError(t, Register(m, " /sync/chat/deep/route/v2/ ", echoRoute()))
	require.NoError(t, Register(m, "ping/v1", echoRoute()))
	assert.Equal(t, []string{"sync/chat/deep/route/v2", "sync/chat/message/v1", "sync/system/ping/v1"}, m.Routes())
	assert.ErrorIs(t, Register(m, "sync/chat/message/v1", echoRoute()), ErrDuplicateRoute)
	assert.ErrorIs(t, Register(m, "chat/message", echoRoute()), api.ErrInvalidRouteName)
	assert.Error(t, Register(m, "chat/x/v1", Route[Msg, Msg]{}), "a server handler is mandatory")
	assert.Error(t, Register(m, "chat/y/v1", Route[Msg, Msg]{Server: echoServer, Validation: 9}))
	assert.Error(t, Register(m, "chat/z/v1", Route[Msg, Msg]{Server: echoServer, RateLimit: -2}))
	assert.Error(t, Register(m, "chat/w/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Additional: []api.Predicate{{}}}}))
	assert.Error(t, Register[Msg, Msg](nil, "chat/v/v1", echoRoute()))
	assert.Equal(t, []string{"sync/chat/deep/route/v2", "sync/chat/message/v1", "sync/system/ping/v1"}, m.Routes(), "refusals add nothing")
}

// TestVerify: invalid options fail the bootstrap, all at once.
func TestVerify(t *testing.T) {
	_, err := luckystack.NewServer(luckystack.Options{
		Args: []string{"0"}, Getenv: func(string) string { return "" },
		Modules: []luckystack.Module{New(Options{FanoutConcurrency: -1, RateLimit: api.RateLimitOptions{Window: -time.Second}})},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FanoutConcurrency -1 is negative")
	assert.Contains(t, err.Error(), "RateLimit.Window -1s is negative")
}

// TestTranslate: error messages come from the translator in the sender's
// language, on both transports; the code stays.
func TestTranslate(t *testing.T) {
	tr := func(lang, code string, _ []events.ErrorParam) string { return lang + ":" + code }
	e := newEnv(t, Options{Translate: tr, RateLimit: api.RateLimitOptions{Disabled: true}}, func(m *Module) {
		mustRegister(t, m, "chat/message/v1", echoRoute())
	})
	tok, err := e.srv.CreateSession(context.Background(), &luckystack.Session{ID: "u", Language: "nl-BE"})
	require.NoError(t, err)
	c := e.dial(tok)
	r := send(t, c, syncMsg("sync/chat/message/v1", Msg{}, "nowhere", 1))
	assert.Equal(t, events.CodeSyncNotRoomMember, r.Code())
	assert.Equal(t, "nl:sync.notRoomMember", r["message"])
	_, hr := e.Post("/sync/chat/message/v1", "", map[string]any{"receiver": "nowhere"})
	assert.Equal(t, "en:sync.notRoomMember", hr["message"], "anonymous HTTP callers get the default language")
}
