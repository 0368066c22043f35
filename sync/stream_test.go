package sync

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
)

// TestSyncCancel: syncCancel with the cancel id, or with the cb when the
// client never got the id, cancels the handler's context; a request
// cancelled before its ack gets no ack and delivers nothing.
func TestSyncCancel(t *testing.T) {
	for _, by := range []string{"cancelId", "cb"} {
		t.Run(by, func(t *testing.T) {
			causes := make(chan error, 1)
			e := newEnv(t, noLimits(), func(m *Module) {
				mustRegister(t, m, "chat/slow/v1", Route[Msg, Msg]{Server: func(ctx context.Context, req *Request, in Msg) (Msg, error) {
					// Tell the client the handler runs: a cancel that came
					// earlier stops the request before its handler.
					assert.NoError(t, req.Stream(map[string]bool{"running": true}))
					<-ctx.Done()
					causes <- context.Cause(ctx)
					return in, nil
				}})
				mustRegister(t, m, "chat/message/v1", echoRoute())
			})
			a, _ := e.member("a", "r")
			b, _ := e.member("b", "r")
			require.NoError(t, a.Emit("sync", syncMsg("sync/chat/slow/v1", Msg{}, "r", 1)))
			var frame map[string]string
			require.NoError(t, expectEvent(t, a, "sync-progress-1").Decode(0, &frame))
			assert.Equal(t, map[string]any{"running": true}, map[string]any(expect(t, a, "sync-progress-1")))
			key := frame["__cancelId"]
			if by == "cb" {
				key = "chat/slow/v1"
			}
			require.NoError(t, a.Emit("syncCancel", map[string]string{"cb": key}))
			assert.ErrorIs(t, recv(t, causes), ErrCanceled)
			// A later request is answered; the cancelled one never is.
			assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "after"}, "r", 2))["status"])
			assert.Equal(t, "after", expect(t, b, "sync").Obj("serverOutput")["text"])
			e.mark(a, b)
			assert.Zero(t, count(a, "sync-1"))
			assert.Zero(t, count(b, "sync"))
		})
	}
}

// TestSyncDisconnectCancels: the sender's disconnect cancels the handler.
func TestSyncDisconnectCancels(t *testing.T) {
	causes := make(chan error, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/slow/v1", Route[Msg, Msg]{Server: func(ctx context.Context, req *Request, in Msg) (Msg, error) {
			assert.NoError(t, req.Stream(map[string]bool{"running": true}))
			<-ctx.Done()
			causes <- ctx.Err()
			return in, nil
		}})
	})
	a, _ := e.member("a", "r")
	require.NoError(t, a.Emit("sync", syncMsg("sync/chat/slow/v1", Msg{}, "r", 1)))
	expectEvent(t, a, "sync-progress-1") // {__cancelId}
	expectEvent(t, a, "sync-progress-1") // {running}
	require.NoError(t, a.Close())
	assert.ErrorIs(t, recv(t, causes), context.Canceled)
}

// TestSyncStreams: stream reaches the sender's progress channel,
// broadcastStream the room ("all": everyone), streamTo the sessions of the
// tokens, a client handler's stream its recipient; every frame carries the
// resolved key, and nothing streams once the handler returned.
func TestSyncStreams(t *testing.T) {
	late := make(chan *Request, 1)
	var bToken atomic.Pointer[string]
	e := newEnv(t, Options{AllowReceiverAll: true, RateLimit: api.RateLimitOptions{Disabled: true}}, func(m *Module) {
		mustRegister(t, m, "chat/stream/v1", Route[Msg, Msg]{
			Server: func(_ context.Context, req *Request, in Msg) (Msg, error) {
				assert.NoError(t, req.Stream(map[string]int{"step": 1}))
				assert.NoError(t, req.BroadcastStream(map[string]any{"chunk": "room", "cb": "spoofed"}))
				assert.NoError(t, req.StreamTo([]string{"", *bToken.Load()}, map[string]string{"chunk": "direct"}))
				assert.Error(t, req.BroadcastStream([]int{1}), "frames need an object")
				late <- req
				return in, nil
			},
			Client: func(_ context.Context, rc *Recipient, _ Msg, _ Msg) (any, error) {
				if rc.UserID == "b" {
					assert.NoError(t, rc.Stream(map[string]string{"chunk": "mine"}))
				}
				return nil, nil
			},
		})
	})
	chunks := make(chan StreamEvent, 16)
	luckystack.RegisterHook(e.srv, PostSyncStream, func(_ context.Context, ev *StreamEvent) error {
		chunks <- *ev
		return nil
	})
	a, _ := e.member("a", "r")
	b, tok := e.member("b", "r")
	bToken.Store(&tok)
	outsider, _ := e.member("c", "elsewhere")
	wait := e.trackFanout()

	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/stream/v1", Msg{Text: "s"}, "r", 1))["status"])
	wait()
	expectEvent(t, a, "sync-progress-1") // {__cancelId}
	assert.Equal(t, map[string]any{"step": float64(1)}, map[string]any(expect(t, a, "sync-progress-1")))
	for _, cl := range []struct {
		name  string
		chunk string
	}{{"a", "room"}, {"b", "room"}, {"b", "direct"}, {"b", "mine"}} {
		c := a
		if cl.name == "b" {
			c = b
		}
		f := expect(t, c, "sync")
		assert.Equal(t, "stream", f["status"], cl)
		assert.Equal(t, cl.chunk, f["chunk"], cl)
		assert.Equal(t, "chat/stream/v1", f["cb"], cl)
		assert.Equal(t, "sync/chat/stream/v1", f["fullName"], cl)
	}
	assert.Equal(t, "success", expect(t, a, "sync")["status"])
	assert.Equal(t, "success", expect(t, b, "sync")["status"])
	req := recv(t, late)
	assert.ErrorIs(t, req.Stream(map[string]int{}), ErrStreamClosed)
	assert.ErrorIs(t, req.BroadcastStream(map[string]int{}), ErrStreamClosed)
	e.mark(a, b, outsider)
	assert.Zero(t, count(outsider, "sync"))
	var recipients []string
	for range 4 {
		recipients = append(recipients, recv(t, chunks).Recipient)
	}
	assert.ElementsMatch(t, []string{"originator", "room:r", "tokens", "socket:" + b.ID()}, recipients)

	// "all" reaches every socket, room or not (the original sent it to a
	// room literally named "all").
	allRoute := "chat/everyone/v1"
	require.NoError(t, Register(e.mod, allRoute, Route[Msg, Msg]{Server: func(_ context.Context, req *Request, in Msg) (Msg, error) {
		return in, req.BroadcastStream(map[string]string{"chunk": "all"})
	}}))
	assert.Equal(t, "success", send(t, a, syncMsg("sync/"+allRoute, Msg{}, "all", 2))["status"])
	f := expect(t, outsider, "sync")
	assert.Equal(t, "stream", f["status"])
	assert.Equal(t, "all", f["chunk"])
	assert.Equal(t, "success", expect(t, outsider, "sync")["status"])
}

// TestSyncStreamOutsideHandler: a client handler's stream after it
// returned is refused.
func TestSyncStreamOutsideHandler(t *testing.T) {
	kept := make(chan *Recipient, 4)
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{Server: echoServer, Client: func(_ context.Context, rc *Recipient, _ Msg, _ Msg) (any, error) {
			kept <- rc
			return nil, nil
		}})
	})
	a, _ := e.member("a", "r")
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", Msg{}, "r", 1))["status"])
	expect(t, a, "sync")
	assert.True(t, errors.Is(recv(t, kept).Stream(map[string]int{}), ErrStreamClosed))
}
