package luckystack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
	"github.com/luckystack/luckystack-go/socketio"
)

// callLog records middleware calls from the socket goroutines.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) mw(name string, err error) SocketMiddleware {
	return func(context.Context, *socketio.Socket) error {
		l.mu.Lock()
		l.calls = append(l.calls, name)
		l.mu.Unlock()
		return err
	}
}

func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

func names(infos []MiddlewareInfo) []string {
	out := make([]string, len(infos))
	for i, m := range infos {
		out[i] = m.Name
		if m.Order != i {
			return nil
		}
	}
	return out
}

func TestSocketMiddlewareRegistry(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	log := &callLog{}
	srv.RegisterSocketMiddleware("a", log.mw("a", nil))
	unB := srv.RegisterSocketMiddleware("b", log.mw("b", nil))
	srv.RegisterSocketMiddleware("c", log.mw("c", nil))
	unDup := srv.RegisterSocketMiddleware("a", log.mw("a-again", nil))

	dial(t, ts, sioclient.Options{})
	assert.Equal(t, []string{"a", "b", "c"}, log.take(), "in order, a duplicate name runs once")
	assert.Equal(t, []string{"a", "b", "c"}, names(srv.SocketMiddlewares()))

	unDup() // the duplicate's unregister removes nothing
	unB()
	unB() // idempotent
	dial(t, ts, sioclient.Options{})
	assert.Equal(t, []string{"a", "c"}, log.take())

	// An old unregister never removes a later registration of the name.
	srv.RegisterSocketMiddleware("b", log.mw("b2", nil))
	unB()
	dial(t, ts, sioclient.Options{})
	assert.Equal(t, []string{"a", "c", "b2"}, log.take())

	snap := srv.SocketMiddlewares()
	snap[0].Name = "changed"
	assert.Equal(t, []string{"a", "c", "b"}, names(srv.SocketMiddlewares()), "the list is a copy")

	srv.ClearSocketMiddlewares()
	assert.Empty(t, srv.SocketMiddlewares())
	dial(t, ts, sioclient.Options{})
	assert.Empty(t, log.take())

	assert.Panics(t, func() { srv.RegisterSocketMiddleware("", log.mw("x", nil)) })
	assert.Panics(t, func() { srv.RegisterSocketMiddleware("x", nil) })
}

func TestSocketMiddlewareRejection(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	log := &callLog{}
	var connects atomic.Int32
	RegisterHook(srv, OnSocketConnect, func(context.Context, *SocketConnectEvent) error { connects.Add(1); return nil })
	srv.RegisterSocketMiddleware("ok", log.mw("ok", nil))
	srv.RegisterSocketMiddleware("deny", log.mw("deny", errors.New("not today")))
	srv.RegisterSocketMiddleware("after", log.mw("after", nil))

	_, err := dialErr(t, ts, sioclient.Options{})
	var ce *sioclient.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "not today", ce.Message)
	assert.Equal(t, []string{"ok", "deny"}, log.take(), "the first error stops the chain")
	assert.Zero(t, connects.Load(), "no connect handler ran")

	srv.ClearSocketMiddlewares()
	srv.RegisterSocketMiddleware("data", func(context.Context, *socketio.Socket) error {
		return &socketio.ConnectError{Message: "need login", Data: map[string]any{"code": "auth.required"}}
	})
	_, err = dialErr(t, ts, sioclient.Options{})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "need login", ce.Message)
	assert.JSONEq(t, `{"code":"auth.required"}`, string(ce.Data))

	srv.ClearSocketMiddlewares()
	dial(t, ts, sioclient.Options{})
	assert.Equal(t, int32(1), connects.Load())
}

func TestSocketMiddlewareSeesHandshake(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	got := make(chan string, 1)
	srv.RegisterSocketMiddleware("token", func(_ context.Context, s *socketio.Socket) error {
		got <- srv.ExtractTokenFromSocket(s)
		return nil
	})
	dial(t, ts, cookieOpts("abc"))
	assert.Equal(t, "abc", <-got)
}
