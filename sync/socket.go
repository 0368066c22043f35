package sync

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
)

// syncMessage is the sync payload with its fields left raw, so that a
// wrongly typed field is a pipeline error rather than a decode failure.
type syncMessage struct {
	Name          json.RawMessage `json:"name"`
	Data          json.RawMessage `json:"data"`
	CB            json.RawMessage `json:"cb"`
	Receiver      json.RawMessage `json:"receiver"`
	ResponseIndex json.RawMessage `json:"responseIndex"`
	IgnoreSelf    json.RawMessage `json:"ignoreSelf"`
}

// onSync runs on the client's event loop. It only registers the request
// for cancellation and hands it to a goroutine owned by the server, so a
// slow handler never delays the client's next event (a syncCancel above
// all).
func (m *Module) onSync(_ context.Context, cl *luckystack.Client, payload json.RawMessage) {
	if m.server() == nil || m.closed.Load() || cl.Context().Err() != nil {
		return
	}
	if !events.IsObject(payload) {
		// No index to answer on: the original answers on the fan-out
		// event itself, which the client's receiver ignores.
		_ = cl.Emit(string(events.NameSync), encodeEnv(m.failCode(nil, events.CodeSyncInvalidRequest)))
		return
	}
	var msg syncMessage
	if json.Unmarshal(payload, &msg) != nil {
		return
	}
	var ri events.ResponseIndex
	if len(msg.ResponseIndex) > 0 {
		_ = json.Unmarshal(msg.ResponseIndex, &ri)
	}
	var cb string
	_ = json.Unmarshal(msg.CB, &cb)
	ctx, cancel := context.WithCancelCause(cl.Context())
	f := &flight{id: newCancelID(), cb: cb, cancel: cancel}
	sid := cl.ID()
	if !m.acquire(sid, f) {
		cancel(nil)
		if ri.Valid {
			req := &Request{RouteName: unknownRoute, Session: nil, Locale: cl.Locale()}
			env := m.errEnv(req, events.ErrorEnvelope{ErrorCode: CodeTooManyInFlight}, 429)
			body, _ := m.formatErr(nil, nil, env)
			_ = cl.Emit(events.Sync(ri.Value), body)
		}
		return
	}
	started := m.pool.Load().Submit(func(sctx context.Context) {
		stop := context.AfterFunc(sctx, func() { cancel(context.Canceled) })
		defer func() {
			stop()
			cancel(nil)
			f.endTurn(sctx)
			m.release(sid, f)
		}()
		m.serveSocket(ctx, sctx, cl, ri, f, &msg)
	})
	if !started {
		// Shutting down: nothing will be delivered, order is moot.
		cancel(nil)
		f.passTurn()
		m.release(sid, f)
	}
}

// serveSocket is the socket pipeline (luckystack-wire.md §4.3). ctx ends
// on syncCancel, disconnect or Shutdown; sctx, the worker's, at Shutdown.
func (m *Module) serveSocket(ctx, sctx context.Context, cl *luckystack.Client, ri events.ResponseIndex, f *flight, msg *syncMessage) {
	req := &Request{
		RouteName: unknownRoute, Transport: api.TransportSocket, Token: cl.Token(),
		IP: cl.IP(), Locale: cl.Locale(), Client: cl, m: m,
	}
	progress := events.SyncProgress(ri.Value)
	req.out = &output{canStream: ri.Valid, send: func(b json.RawMessage) error { return cl.Emit(progress, b) }}
	c := &call{m: m, req: req, early: true, sid: cl.ID(), f: f, bg: sctx}
	c.replyErr = func(body json.RawMessage, _ int) {
		if ri.Valid {
			_ = cl.Emit(events.Sync(ri.Value), body)
		}
	}
	c.replyOK = func(out json.RawMessage) {
		if ri.Valid {
			_ = cl.Emit(events.Sync(ri.Value), events.NewSyncAck(req.RouteName, out))
		}
	}
	defer func() {
		if r := recover(); r != nil {
			m.server().Logger().Error("sync: socket pipeline panicked", "route", req.RouteName, "panic", r, "stack", string(debug.Stack()))
			c.fail(m.failCode(req, events.CodeSyncServerExecutionFailed))
		}
		req.out.close()
	}()
	var name string
	nameOK := json.Unmarshal(msg.Name, &name) == nil
	if stop := m.preSocketMessage(ctx, cl, req.IP, name); stop != nil {
		c.fail(m.stopEnv(req, stop))
		return
	}
	sess, err := cl.Session(ctx)
	if err != nil {
		m.server().Logger().Warn("sync: session read failed", "err", err)
	}
	req.Session = sess
	if !nameOK || name == "" || !events.IsObject(msg.Data) {
		c.fail(m.failCode(req, events.CodeSyncInvalidRequest))
		return
	}
	req.Data = msg.Data
	key, service, route, version, err := api.ParseRouteName("sync", name)
	if err != nil {
		c.fail(m.failCode(req, events.CodeRoutingInvalidServiceRouteName, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	req.RouteName, req.Service, req.Route, req.Version = key, service, route, version
	if strings.TrimSpace(f.cb) == "" {
		c.fail(m.failCode(req, events.CodeSyncInvalidCallback))
		return
	}
	var receiver string
	_ = json.Unmarshal(msg.Receiver, &receiver)
	if req.Receiver = strings.TrimSpace(receiver); req.Receiver == "" {
		c.fail(m.failCode(req, events.CodeSyncMissingReceiver))
		return
	}
	_ = json.Unmarshal(msg.IgnoreSelf, &req.IgnoreSelf)
	if ri.Valid {
		_ = cl.Emit(progress, events.CancelIDFrame{CancelID: f.id})
	}
	e := m.lookup(key)
	if e == nil {
		c.fail(m.failCode(req, events.CodeSyncNotFound, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	c.e, req.e = e, e
	m.run(ctx, c)
}

func (m *Module) preSocketMessage(ctx context.Context, cl *luckystack.Client, ip, name string) *luckystack.Stop {
	srv := m.server()
	if !hooked(srv, api.PreSocketMessage) {
		return nil
	}
	return luckystack.DispatchHook(ctx, srv, api.PreSocketMessage, &api.SocketMessageEvent{
		Channel: "sync", SocketID: cl.ID(), IP: ip, Authenticated: cl.Token() != "", RouteName: name, Client: cl,
	})
}
