package sync

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// TestSyncAckAndFanout: the sender gets {__cancelId} first on
// sync-progress-<i>, then one ack; every room member (the sender included)
// gets the success frame with the resolved key in cb and fullName, once.
func TestSyncAckAndFanout(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, _ := e.member("a", "room1")
	b, _ := e.member("b", "room1")
	c, _ := e.member("c", "room1")
	outsider, _ := e.member("d", "other")
	wait := e.trackFanout()

	msg := syncMsg("sync/chat/message/v1", Msg{Text: "hi"}, "room1", 7)
	msg["cb"] = "evil/route/v1" // a client-chosen cb never reaches recipients
	require.NoError(t, a.Emit("sync", msg))
	var cancelFrame map[string]string
	require.NoError(t, expectEvent(t, a, "sync-progress-7").Decode(0, &cancelFrame))
	assert.Len(t, cancelFrame["__cancelId"], 36)
	ack := expect(t, a, "sync-7")
	assert.Equal(t, "success", ack["status"])
	assert.Equal(t, "sync sync/chat/message/v1 success", ack["message"])
	assert.Equal(t, map[string]any{"text": "hi"}, ack["result"])

	assert.Equal(t, 3, wait().RecipientCount)
	for i, cl := range []*sioclient.Client{a, b, c} {
		f := expect(t, cl, "sync")
		assert.Equal(t, "chat/message/v1", f["cb"], "client %d", i)
		assert.Equal(t, "sync/chat/message/v1", f["fullName"])
		assert.Equal(t, "success", f["status"])
		assert.Equal(t, map[string]any{"text": "hi"}, f["serverOutput"])
		assert.Equal(t, map[string]any{}, f["clientOutput"])
		assert.Equal(t, "sync/chat/message/v1 sync success", f["message"])
	}
	e.mark(a, b, c, outsider)
	assert.Zero(t, count(outsider, "sync"))
	assert.Zero(t, count(a, "sync-7"), "exactly one ack")
	for _, cl := range []*sioclient.Client{a, b, c} {
		assert.Zero(t, count(cl, "sync"), "exactly one frame each")
	}
}

// TestSyncPipelineOrder: every hook of the pipeline runs, in the spec's
// order, with the payload of its stage.
func TestSyncPipelineOrder(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, _ := e.member("a", "r")
	b, _ := e.member("b", "r")
	rec := &recorder{}
	record(e.srv, rec, api.PreSocketMessage)
	for _, h := range []luckystack.Hook[Event]{PreSyncAuthorize, PostSyncAuthorize, PreSyncValidate, PostSyncValidate, PreSyncExecute, PostSyncExecute, PreSyncFanout} {
		record(e.srv, rec, h)
	}
	var last Event
	luckystack.RegisterHook(e.srv, PreSyncRecipient, func(_ context.Context, ev *RecipientEvent) error {
		rec.Add("preSyncRecipient:" + ev.RecipientUserID)
		return nil
	})
	luckystack.RegisterHook(e.srv, PostSyncRecipient, func(_ context.Context, ev *RecipientEvent) error {
		rec.Add("postSyncRecipient:" + ev.RecipientUserID)
		if !json.Valid(ev.Frame) {
			rec.Add("bad frame")
		}
		return nil
	})
	done := make(chan struct{})
	luckystack.RegisterHook(e.srv, PostSyncFanout, func(_ context.Context, ev *Event) error {
		rec.Add("postSyncFanout")
		last = *ev
		close(done)
		return nil
	})
	ack := send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "x"}, "r", 1))
	require.Equal(t, "success", ack["status"])
	recv(t, done)
	got := rec.List()
	require.Len(t, got, 13)
	assert.Equal(t, []string{"preSocketMessage", "preSyncAuthorize", "postSyncAuthorize", "preSyncValidate", "postSyncValidate", "preSyncExecute", "postSyncExecute", "preSyncFanout"}, got[:8])
	perRecipient := got[8:12]
	assert.ElementsMatch(t, []string{"preSyncRecipient:a", "preSyncRecipient:b", "postSyncRecipient:a", "postSyncRecipient:b"}, perRecipient)
	for _, id := range []string{"a", "b"} {
		assert.Less(t, slices.Index(perRecipient, "preSyncRecipient:"+id), slices.Index(perRecipient, "postSyncRecipient:"+id))
	}
	assert.Equal(t, "postSyncFanout", got[12])
	assert.Equal(t, 2, last.RecipientCount)
	assert.Equal(t, "sync/chat/message/v1", last.RouteName)
	assert.Equal(t, "r", last.Receiver)
	assert.True(t, last.Validation.OK)
	assert.Equal(t, Msg{Text: "x"}, last.Result)
	assert.JSONEq(t, `{"text":"x"}`, string(last.ServerOutput))
	assert.Equal(t, api.TransportSocket, last.Transport)
	expect(t, b, "sync")
}

// TestSyncErrorCodes: every error a sender can provoke arrives once on
// sync-<i>, with its code and status, and nothing is delivered.
func TestSyncErrorCodes(t *testing.T) {
	type failIn struct {
		Mode string `json:"mode"`
	}
	e := newEnv(t, Options{RateLimit: api.RateLimitOptions{DefaultIPLimit: -1}}, func(m *Module) {
		mustRegister(t, m, "chat/message/v1", echoRoute())
		mustRegister(t, m, "chat/login/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Login: true}})
		mustRegister(t, m, "chat/admin/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Additional: []api.Predicate{api.Equals("admin", true)}}})
		mustRegister(t, m, "chat/bad/v1", Route[Msg, Msg]{Server: echoServer, Auth: api.Auth{Additional: []api.Predicate{api.Equals("nope", true)}}})
		mustRegister(t, m, "chat/limited/v1", Route[Msg, Msg]{Server: echoServer, RateLimit: 1})
		mustRegister(t, m, "chat/fail/v1", Route[failIn, map[string]any]{Server: func(_ context.Context, _ *Request, in failIn) (map[string]any, error) {
			switch in.Mode {
			case "apierr":
				return nil, api.NewError("chat.tooLong", 422, events.ErrorParam{Key: "max", Value: 10})
			case "plain":
				return nil, errors.New("boom")
			case "panic":
				panic("kaboom")
			case "status":
				return map[string]any{"status": "weird"}, nil
			case "errenv":
				return map[string]any{"status": "error", "errorCode": "chat.refused", "httpStatus": 409}, nil
			case "null":
				return nil, nil
			}
			return map[string]any{"ok": true}, nil
		}})
	})
	a, tok := e.member("a", "r")
	anon := e.dial("")
	wait := e.trackFanout()

	cases := []struct {
		name   string
		client *sioclient.Client
		msg    map[string]any
		code   string
		status int
		params []any
	}{
		{"data not object", a, map[string]any{"name": "sync/chat/message/v1", "data": []int{1}, "cb": "x", "receiver": "r"}, events.CodeSyncInvalidRequest, 400, nil},
		{"name missing", a, map[string]any{"data": map[string]any{}, "cb": "x", "receiver": "r"}, events.CodeSyncInvalidRequest, 400, nil},
		{"bad name", a, map[string]any{"name": "sync/chat", "data": map[string]any{}, "cb": "x", "receiver": "r"}, events.CodeRoutingInvalidServiceRouteName, 400, []any{map[string]any{"key": "name", "value": "sync/chat"}}},
		{"no cb", a, map[string]any{"name": "sync/chat/message/v1", "data": map[string]any{}, "cb": " ", "receiver": "r"}, events.CodeSyncInvalidCallback, 400, nil},
		{"no receiver", a, map[string]any{"name": "sync/chat/message/v1", "data": map[string]any{}, "cb": "x", "receiver": "  "}, events.CodeSyncMissingReceiver, 400, nil},
		{"not found", a, syncMsg("sync/chat/nothing/v1", map[string]any{}, "r", 0), events.CodeSyncNotFound, 400, []any{map[string]any{"key": "name", "value": "sync/chat/nothing/v1"}}},
		{"login required", anon, syncMsg("sync/chat/login/v1", Msg{}, "r", 0), events.CodeAuthRequired, 401, nil},
		{"predicate anonymous", anon, syncMsg("sync/chat/admin/v1", Msg{}, "r", 0), events.CodeAuthRequired, 401, nil},
		{"predicate failed", a, syncMsg("sync/chat/admin/v1", Msg{}, "r", 0), events.CodeAuthForbidden, 403, []any{map[string]any{"key": "key", "value": "admin"}}},
		{"predicate invalid", a, syncMsg("sync/chat/bad/v1", Msg{}, "r", 0), events.CodeAuthInvalidCondition, 500, []any{map[string]any{"key": "key", "value": "nope"}}},
		{"receiver all", a, syncMsg("sync/chat/message/v1", Msg{}, "all", 0), events.CodeSyncReceiverNotAllowed, 403, nil},
		{"internal room", a, syncMsg("sync/chat/message/v1", Msg{}, luckystack.SessionRoom(tok), 0), events.CodeSyncReceiverNotAllowed, 403, nil},
		{"not member", a, syncMsg("sync/chat/message/v1", Msg{}, "elsewhere", 0), events.CodeSyncNotRoomMember, 403, nil},
		{"anonymous not member", anon, syncMsg("sync/chat/message/v1", Msg{}, "r", 0), events.CodeSyncNotRoomMember, 403, nil},
		{"invalid input", a, syncMsg("sync/chat/message/v1", map[string]any{"text": 1}, "r", 0), events.CodeSyncInvalidInputType, 400, nil},
		{"unknown field", a, syncMsg("sync/chat/message/v1", map[string]any{"x": 1}, "r", 0), events.CodeSyncInvalidInputType, 400, nil},
		{"handler api error", a, syncMsg("sync/chat/fail/v1", failIn{"apierr"}, "r", 0), "chat.tooLong", 422, []any{map[string]any{"key": "max", "value": float64(10)}}},
		{"handler error", a, syncMsg("sync/chat/fail/v1", failIn{"plain"}, "r", 0), events.CodeSyncServerExecutionFailed, 400, nil},
		{"handler panic", a, syncMsg("sync/chat/fail/v1", failIn{"panic"}, "r", 0), events.CodeSyncServerExecutionFailed, 400, nil},
		{"bad status", a, syncMsg("sync/chat/fail/v1", failIn{"status"}, "r", 0), events.CodeSyncInvalidServerResponse, 400, nil},
		{"error envelope", a, syncMsg("sync/chat/fail/v1", failIn{"errenv"}, "r", 0), "chat.refused", 409, nil},
		{"null output", a, syncMsg("sync/chat/fail/v1", failIn{"null"}, "r", 0), events.CodeSyncInvalidServerResponse, 400, nil},
		{"rate limit", a, syncMsg("sync/chat/limited/v1", Msg{}, "r", 0), events.CodeSyncRateLimitExceeded, 429, []any{map[string]any{"key": "seconds", "value": float64(60)}}},
	}
	// The limited route allows one request per window; spend it first.
	require.Equal(t, "success", send(t, a, syncMsg("sync/chat/limited/v1", Msg{}, "r", 999))["status"])
	wait()
	expect(t, a, "sync")
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx := i + 1
			tc.msg["responseIndex"] = idx
			r := send(t, tc.client, tc.msg)
			assert.Equal(t, "error", r["status"])
			assert.Equal(t, tc.code, r.Code())
			assert.Equal(t, tc.status, r.Status())
			assert.Equal(t, tc.code, r["message"])
			if tc.params == nil {
				assert.NotContains(t, r, "errorParams")
			} else {
				assert.Equal(t, tc.params, r["errorParams"])
			}
		})
	}
	e.mark(a, anon)
	assert.Zero(t, count(a, "sync"), "no failure fans out")
	for i := range cases {
		assert.Zero(t, count(a, "sync-"+strconv.Itoa(i+1)), "one answer per request")
		assert.Zero(t, count(anon, "sync-"+strconv.Itoa(i+1)))
	}
}

// TestSyncNotObjectAndNoIndex: a message that is not an object is answered
// on the "sync" event itself; a request without an index runs
// fire-and-forget (fan-out, no ack, no progress).
func TestSyncNotObjectAndNoIndex(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, _ := e.member("a", "r")
	require.NoError(t, a.Emit("sync", "hello"))
	r := expect(t, a, "sync")
	assert.Equal(t, events.CodeSyncInvalidRequest, r.Code())
	assert.Nil(t, r["cb"])

	msg := syncMsg("sync/chat/message/v1", Msg{Text: "ff"}, "r", 0)
	delete(msg, "responseIndex")
	require.NoError(t, a.Emit("sync", msg))
	f := expect(t, a, "sync")
	assert.Equal(t, "success", f["status"])
	assert.Equal(t, map[string]any{"text": "ff"}, f["serverOutput"])
	for _, ev := range a.Buffered() {
		assert.NotContains(t, ev.Name, "sync-", "no ack without an index")
	}
}

// TestSyncNoReceivers: a sender allowed to target a room it is not in gets
// sync.noReceiversFound when nobody is in it, and success otherwise.
func TestSyncNoReceivers(t *testing.T) {
	e := newEnv(t, Options{AllowNonMembers: true, RateLimit: api.RateLimitOptions{Disabled: true}}, func(m *Module) {
		mustRegister(t, m, "chat/message/v1", echoRoute())
	})
	a, _ := e.member("a", "mine")
	r := send(t, a, syncMsg("sync/chat/message/v1", Msg{}, "empty", 1))
	assert.Equal(t, events.CodeSyncNoReceiversFound, r.Code())
	b, _ := e.member("b", "theirs")
	r = send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "hey"}, "theirs", 2))
	assert.Equal(t, "success", r["status"])
	assert.Equal(t, "hey", expect(t, b, "sync").Obj("serverOutput")["text"])
}

// TestSyncHookStops: each stoppable hook refuses with its code and status
// (403 when none), before anything is delivered.
func TestSyncHookStops(t *testing.T) {
	hooks := []luckystack.Hook[Event]{PreSyncAuthorize, PreSyncValidate, PreSyncExecute, PreSyncFanout}
	for _, h := range hooks {
		t.Run(h.Name(), func(t *testing.T) {
			var ran atomic.Bool
			e := newEnv(t, noLimits(), func(m *Module) {
				mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{Server: func(_ context.Context, _ *Request, in Msg) (Msg, error) {
					ran.Store(true)
					return in, nil
				}})
			})
			a, _ := e.member("a", "r")
			unreg := luckystack.RegisterHook(e.srv, h, func(context.Context, *Event) error { return luckystack.StopWith("chat.blocked", 0) })
			r := send(t, a, syncMsg("sync/chat/message/v1", Msg{}, "r", 1))
			assert.Equal(t, "chat.blocked", r.Code())
			assert.Equal(t, 403, r.Status())
			assert.Equal(t, h == PreSyncFanout, ran.Load(), "the handler runs only before the fan-out stop")
			unreg()
			luckystack.RegisterHook(e.srv, h, func(context.Context, *Event) error { return luckystack.StopWith("chat.teapot", 418) })
			r = send(t, a, syncMsg("sync/chat/message/v1", Msg{}, "r", 2))
			assert.Equal(t, 418, r.Status())
			e.mark(a)
			assert.Zero(t, count(a, "sync"))
		})
	}
	t.Run("preSocketMessage", func(t *testing.T) {
		e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
		a, _ := e.member("a", "r")
		seen := make(chan api.SocketMessageEvent, 1)
		luckystack.RegisterHook(e.srv, api.PreSocketMessage, func(_ context.Context, ev *api.SocketMessageEvent) error {
			seen <- *ev
			return luckystack.StopWith("chat.gate", 0)
		})
		r := send(t, a, syncMsg("sync/chat/message/v1", Msg{}, "r", 1))
		assert.Equal(t, "chat.gate", r.Code())
		assert.Equal(t, 403, r.Status())
		assert.Equal(t, "chat.gate", r["message"])
		got := recv(t, seen)
		assert.Equal(t, "sync", got.Channel)
		assert.Equal(t, "sync/chat/message/v1", got.RouteName)
		assert.True(t, got.Authenticated)
		assert.False(t, a.Has("sync-progress-1"), "the gate runs before the cancel id")
	})
}

// TestSyncRecipientHook: a stop skips a recipient (not counted); a stop
// with OverrideOutput delivers the override as serverOutput.
func TestSyncRecipientHook(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, _ := e.member("a", "r")
	b, _ := e.member("b", "r")
	c, _ := e.member("c", "r")
	wait := e.trackFanout()
	luckystack.RegisterHook(e.srv, PreSyncRecipient, func(_ context.Context, ev *RecipientEvent) error {
		switch ev.RecipientUserID {
		case "b":
			return &luckystack.Stop{ErrorCode: "skip"}
		case "c":
			assert.JSONEq(t, `{"text":"secret"}`, string(ev.ServerOutput))
			return &luckystack.Stop{OverrideOutput: map[string]string{"text": "[redacted]"}}
		}
		return nil
	})
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "secret"}, "r", 1))["status"])
	assert.Equal(t, 2, wait().RecipientCount)
	assert.Equal(t, "secret", expect(t, a, "sync").Obj("serverOutput")["text"])
	assert.Equal(t, "[redacted]", expect(t, c, "sync").Obj("serverOutput")["text"])
	e.mark(a, b, c)
	assert.Zero(t, count(b, "sync"))
}

// TestSyncClientHandler: the client handler runs once per recipient with
// that recipient's identity; its output, message and errors become that
// recipient's frame.
func TestSyncClientHandler(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/message/v1", Route[Msg, Msg]{
			Server: echoServer,
			Client: func(_ context.Context, rc *Recipient, in Msg, out Msg) (any, error) {
				switch rc.UserID {
				case "b":
					return map[string]any{"for": rc.UserID, "token": rc.Token, "message": "hello b", "echo": out.Text}, nil
				case "c":
					return nil, api.NewError("", 0)
				case "d":
					return nil, api.NewError("chat.muted", 403)
				case "e":
					return nil, errors.New("broken")
				case "f":
					panic("client panic")
				case "g":
					return []int{1}, nil
				}
				return nil, nil
			},
		})
	})
	clients := map[string]*sioclient.Client{}
	tokens := map[string]string{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		clients[id], tokens[id] = e.member(id, "r")
	}
	wait := e.trackFanout()
	assert.Equal(t, "success", send(t, clients["a"], syncMsg("sync/chat/message/v1", Msg{Text: "t"}, "r", 1))["status"])
	assert.Equal(t, 7, wait().RecipientCount)

	fa := expect(t, clients["a"], "sync")
	assert.Equal(t, map[string]any{}, fa["clientOutput"])
	assert.Equal(t, "sync/chat/message/v1 sync success", fa["message"])
	fb := expect(t, clients["b"], "sync")
	assert.Equal(t, "success", fb["status"])
	assert.Equal(t, map[string]any{"for": "b", "token": tokens["b"], "message": "hello b", "echo": "t"}, fb["clientOutput"])
	assert.Equal(t, "hello b", fb["message"])
	assert.Equal(t, "chat/message/v1", fb["cb"])
	for id, code := range map[string]string{
		"c": events.CodeSyncClientRejected, "d": "chat.muted", "e": events.CodeSyncClientExecutionFailed,
		"f": events.CodeSyncClientExecutionFailed, "g": events.CodeSyncInvalidClientResponse,
	} {
		f := expect(t, clients[id], "sync")
		assert.Equal(t, "error", f["status"], id)
		assert.Equal(t, code, f.Code(), id)
		assert.Equal(t, "chat/message/v1", f["cb"], id)
		assert.Equal(t, "sync/chat/message/v1", f["fullName"], id)
	}
}

// TestSyncBroadcastMatchesPerRecipient: the one-broadcast path and the
// per-recipient path put the same bytes on the wire.
func TestSyncBroadcastMatchesPerRecipient(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, _ := e.member("a", "r")
	b, _ := e.member("b", "r")
	msg := Msg{Text: "same \u00e9 <bytes>", N: 3}
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", msg, "r", 1))["status"])
	broadcast := expectEvent(t, b, "sync").Arg(0)
	expectEvent(t, a, "sync")

	var perRecipient atomic.Int32
	luckystack.RegisterHook(e.srv, PreSyncRecipient, func(context.Context, *RecipientEvent) error {
		perRecipient.Add(1)
		return nil
	})
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", msg, "r", 2))["status"])
	each := expectEvent(t, b, "sync").Arg(0)
	expectEvent(t, a, "sync")
	assert.EqualValues(t, 2, perRecipient.Load(), "the second request went recipient by recipient")
	assert.Equal(t, string(broadcast), string(each))
}

// TestSyncIgnoreSelf: ignoreSelf skips the sender and every other socket of
// its session, on both delivery paths; others still get the frame.
func TestSyncIgnoreSelf(t *testing.T) {
	for _, perRecipient := range []bool{false, true} {
		t.Run("perRecipient="+strconv.FormatBool(perRecipient), func(t *testing.T) {
			e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
			a, tok := e.member("a", "r")
			a2 := e.dial(tok) // a second tab of the same session
			join(t, a2, "r")
			b, _ := e.member("b", "r")
			if perRecipient {
				luckystack.RegisterHook(e.srv, PreSyncRecipient, func(context.Context, *RecipientEvent) error { return nil })
			}
			wait := e.trackFanout()
			msg := syncMsg("sync/chat/message/v1", Msg{Text: "x"}, "r", 1)
			msg["ignoreSelf"] = true
			assert.Equal(t, "success", send(t, a, msg)["status"])
			assert.Equal(t, 1, wait().RecipientCount)
			expect(t, b, "sync")
			e.mark(a, a2, b)
			assert.Zero(t, count(a, "sync"))
			assert.Zero(t, count(a2, "sync"))
		})
	}
}

// TestSyncOwnTokenReceiver: the sender's own token addresses its session's
// sockets (the identity room), and no other session's token does.
func TestSyncOwnTokenReceiver(t *testing.T) {
	e := newEnv(t, noLimits(), func(m *Module) { mustRegister(t, m, "chat/message/v1", echoRoute()) })
	a, tok := e.member("a", "r")
	a2 := e.dial(tok)
	join(t, a2, "r")
	_, otherTok := e.member("b", "r")
	assert.Equal(t, "success", send(t, a, syncMsg("sync/chat/message/v1", Msg{Text: "me"}, tok, 1))["status"])
	assert.Equal(t, "me", expect(t, a2, "sync").Obj("serverOutput")["text"])
	expect(t, a, "sync")
	r := send(t, a, syncMsg("sync/chat/message/v1", Msg{}, otherTok, 2))
	assert.Equal(t, events.CodeSyncNotRoomMember, r.Code())
}

// TestSyncTooManyInFlight: requests beyond MaxInFlight are refused at once.
func TestSyncTooManyInFlight(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, Options{MaxInFlight: 1, RateLimit: api.RateLimitOptions{Disabled: true}}, func(m *Module) {
		mustRegister(t, m, "chat/slow/v1", Route[Msg, Msg]{Server: func(ctx context.Context, _ *Request, in Msg) (Msg, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return in, nil
		}})
	})
	a, _ := e.member("a", "r")
	require.NoError(t, a.Emit("sync", syncMsg("sync/chat/slow/v1", Msg{}, "r", 1)))
	expectEvent(t, a, "sync-progress-1")
	r := send(t, a, syncMsg("sync/chat/slow/v1", Msg{}, "r", 2))
	assert.Equal(t, CodeTooManyInFlight, r.Code())
	assert.Equal(t, 429, r.Status())
	close(release)
	assert.Equal(t, "success", expect(t, a, "sync-1")["status"])
}

func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatal("timed out waiting on channel")
	}
	var zero T
	return zero
}
