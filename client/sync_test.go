package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
)

// syncPair returns two logged-in clients in room "r1" of env.
func syncPair(t *testing.T, env *lsEnv, o client.Options) (sender, peer *client.Client) {
	t.Helper()
	so, po := o, o
	so.Token, po.Token = env.login("sender"), env.login("peer")
	sender, peer = env.dial(so), env.dial(po)
	for _, c := range []*client.Client{sender, peer} {
		_, err := c.JoinRoom(ctxT(t), "r1")
		require.NoError(t, err)
	}
	return sender, peer
}

func nextSync(t *testing.T, ch <-chan client.SyncEvent) client.SyncEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no sync frame")
	}
	return client.SyncEvent{}
}

func TestSyncRequestAckAndFanOut(t *testing.T) {
	env := newLS(t, nil)
	sender, peer := syncPair(t, env, client.Options{})
	frames := make(chan client.SyncEvent, 8)
	peer.OnSync("test/echo/v1", func(ev client.SyncEvent) { frames <- ev })
	self := make(chan client.SyncEvent, 8)
	sender.OnSync("sync/test/echo/v1", func(ev client.SyncEvent) { self <- ev })

	res, err := sender.SyncRequest(ctxT(t), "test/echo", "v1", "r1", echoIn{Text: "hello"})
	require.NoError(t, err)
	assert.Equal(t, "sync sync/test/echo/v1 success", res.Message)
	assert.JSONEq(t, `{"text":"hello"}`, string(res.Result))

	for _, ch := range []chan client.SyncEvent{frames, self} {
		ev := nextSync(t, ch)
		assert.Equal(t, client.SyncSuccess, ev.Kind)
		assert.Equal(t, "sync/test/echo/v1", ev.Route)
		assert.JSONEq(t, `{"text":"hello"}`, string(ev.ServerOutput))
		assert.JSONEq(t, `{}`, string(ev.ClientOutput))
	}

	// ignoreSelf keeps the sender out of the fan-out.
	_, err = sender.SyncRequest(ctxT(t), "test/echo", "v1", "r1", echoIn{Text: "again"}, client.WithIgnoreSelf())
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"again"}`, string(nextSync(t, frames).ServerOutput))
	select {
	case ev := <-self:
		t.Fatalf("sender got its own ignoreSelf frame: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSyncRequestStreams(t *testing.T) {
	env := newLS(t, nil)
	sender, peer := syncPair(t, env, client.Options{})
	frames := make(chan client.SyncEvent, 16)
	peer.OnSync("test/echo/v1", func(ev client.SyncEvent) { frames <- ev })
	var chunks []string
	_, err := sender.SyncRequest(ctxT(t), "test/echo", "v1", "r1", map[string]int{"stream": 3},
		client.WithStream(func(c json.RawMessage) { chunks = append(chunks, string(c)) }))
	require.NoError(t, err)
	assert.Equal(t, []string{`{"chunk":0}`, `{"chunk":1}`, `{"chunk":2}`}, chunks,
		"progress frames after the cancel id reach the originator's stream callback")
	for i := range 3 {
		ev := nextSync(t, frames)
		assert.Equal(t, client.SyncStream, ev.Kind)
		assert.JSONEq(t, `{"chunk":`+itoa(int64(i))+`}`, string(ev.Chunk), "frame fields are stripped")
	}
	assert.Equal(t, client.SyncSuccess, nextSync(t, frames).Kind)
}

func TestSyncRequestErrorEnvelopes(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{Token: env.login("u1")})
	_, err := c.SyncRequest(ctxT(t), "test/missing", "v1", "all", nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, events.CodeSyncNotFound, e.Code)
	assert.Equal(t, 400, e.HTTPStatus)

	_, err = c.SyncRequest(ctxT(t), "test/echo", "v1", "not-my-room", nil)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, events.CodeSyncNotRoomMember, e.Code)
	assert.Equal(t, 403, e.HTTPStatus)

	for _, tc := range []struct{ name, version, receiver, code string }{
		{"x", "v1", "r", events.CodeSyncInvalidName},
		{"test/echo", "one", "r", events.CodeSyncInvalidVersion},
		{"test/echo", "v1", "  ", events.CodeSyncMissingReceiver},
	} {
		_, err := c.SyncRequest(ctxT(t), tc.name, tc.version, tc.receiver, nil)
		assert.Equal(t, tc.code, client.Code(err), tc)
	}
}

func TestSyncRequestCancelSendsCancelID(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{Token: env.login("u1")})
	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() { _, err := c.SyncRequest(ctx, "test/slow", "v1", "all", nil); errc <- err }()
	// Once the stand-in has the request, its cancel id is on the wire; a
	// round trip after that guarantees the client has read it.
	require.Eventually(t, func() bool { return len(env.sync.texts()) == 1 }, waitFor, time.Millisecond)
	_, err := c.APIRequest(ctxT(t), "system/unknown", "v1", nil)
	require.Error(t, err)
	cancel()
	assert.Equal(t, events.CodeRequestAborted, client.Code(<-errc))
	select {
	case id := <-env.sync.cancels:
		assert.Regexp(t, `^cancel-`, id, "syncCancel carries the server's cancel id, not the cb")
	case <-time.After(waitFor):
		t.Fatal("no syncCancel")
	}
}

func TestSyncRequestTimeout(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{Token: env.login("u1"), SyncTimeout: 100 * time.Millisecond})
	_, err := c.SyncRequest(ctxT(t), "test/slow", "v1", "all", nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, events.CodeSyncRequestTimeout, e.Code)
	assert.Equal(t, 504, e.HTTPStatus)
	select {
	case <-env.sync.cancels:
	case <-time.After(waitFor):
		t.Fatal("no syncCancel after the timeout")
	}
}

func TestSyncRequestAnsweredDisconnectedWhenConnectionDrops(t *testing.T) {
	env := newLS(t, nil)
	c := env.dial(client.Options{Token: env.login("u1")})
	errc := make(chan error, 1)
	go func() { _, err := c.SyncRequest(context.Background(), "test/slow", "v1", "all", nil); errc <- err }()
	require.Eventually(t, func() bool { return len(env.sync.texts()) == 1 }, waitFor, time.Millisecond)
	env.stop()
	select {
	case err := <-errc:
		assert.Equal(t, events.CodeAPIDisconnected, client.Code(err), "not the 30 s timeout (weak spot 30)")
	case <-time.After(waitFor):
		t.Fatal("sync request still waiting after the disconnect")
	}
}

func TestSyncFanOutFrameRouting(t *testing.T) {
	env := newLS(t, nil)
	env.server().HandleSocketEvent("test-frames", func(_ context.Context, cl *luckystack.Client, _ json.RawMessage) {
		// fullName wins over a forged cb naming another route.
		_ = cl.Emit("sync", events.SyncSuccessFrame{CB: "test/other/v1", FullName: "sync/test/echo/v1", Message: "m1"})
		// Without fullName the cb routes it.
		_ = cl.Emit("sync", map[string]any{"cb": "test/echo/v1", "status": "success", "message": "m2"})
		// Ignored error frames never reach callbacks; others do.
		env1 := events.NewError(events.CodeSyncIgnore)
		_ = cl.Emit("sync", events.SyncErrorFrame{CB: "test/echo/v1", FullName: "sync/test/echo/v1", ErrorEnvelope: env1})
		env2 := events.NewError(events.CodeSyncClientRejected)
		_ = cl.Emit("sync", events.SyncErrorFrame{CB: "test/echo/v1", FullName: "sync/test/echo/v1", ErrorEnvelope: env2})
		// A malformed-request envelope has no route and is dropped.
		_ = cl.Emit("sync", events.NewError(events.CodeSyncInvalidRequest))
	})
	c := env.dial(client.Options{})
	echo := make(chan client.SyncEvent, 8)
	other := make(chan client.SyncEvent, 8)
	c.OnSync("test/echo/v1", func(ev client.SyncEvent) { echo <- ev })
	c.OnSync("test/other/v1", func(ev client.SyncEvent) { other <- ev })
	require.NoError(t, c.Emit("test-frames"))
	assert.Equal(t, "m1", nextSync(t, echo).Message)
	assert.Equal(t, "m2", nextSync(t, echo).Message)
	ev := nextSync(t, echo)
	assert.Equal(t, client.SyncError, ev.Kind)
	assert.Equal(t, events.CodeSyncClientRejected, ev.Err.Code)
	select {
	case ev := <-other:
		t.Fatalf("forged cb reached another route: %+v", ev)
	case ev := <-echo:
		t.Fatalf("unexpected frame: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}
