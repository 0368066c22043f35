package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	stdsync "sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/socketio"
)

// fanout delivers the server output to the receiver room (§4.4): the
// socket transport refuses an empty room, PreSyncFanout may stop, the
// socket sender is acknowledged, then every recipient gets its frame, then
// PostSyncFanout. Once the sender was acknowledged delivery runs under
// c.bg, so a sender leaving does not cut a delivery in half.
func (m *Module) fanout(ctx context.Context, c *call, in, out any, serverOut json.RawMessage) {
	req, e, srv := c.req, c.e, m.server()
	perRecipient := e.client != nil || hooked(srv, PreSyncRecipient) || hooked(srv, PostSyncRecipient)
	// The socket transport refuses an empty room. When the sender is in it
	// or a local socket is, it is not empty, and the broadcast path needs no
	// cluster-wide fetch (a non-member sender, AllowNonMembers, used to fetch
	// every socket of the room on each request).
	occupied := req.room == "" || (req.Client != nil && req.Client.InRoom(req.room)) || m.hasLocal(req.room)
	fetched := perRecipient || hooked(srv, PostSyncFanout) || (c.early && !occupied)
	var recips []*socketio.RemoteSocket
	if fetched {
		var err error
		recips, err = m.fetch(ctx, req.room)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			srv.Logger().Warn("sync: fetch recipients", "route", req.RouteName, "err", err, "found", len(recips))
			if len(recips) == 0 {
				c.fail(m.failCode(req, events.CodeSyncServerExecutionFailed))
				return
			}
		}
		if c.early && len(recips) == 0 {
			c.fail(m.failCode(req, events.CodeSyncNoReceiversFound))
			return
		}
	}
	if hooked(srv, PreSyncFanout) {
		c.event().ServerOutput = serverOut
		if stop := m.dispatchPre(ctx, c, PreSyncFanout); stop != nil {
			return
		}
	}
	base, err := successFrame(e, serverOut, nil, "")
	if err != nil {
		// serverOut is valid JSON, so this cannot happen; answer anyway.
		c.fail(m.failCode(req, events.CodeSyncInvalidServerResponse))
		return
	}
	if ctx.Err() != nil {
		return
	}
	if c.early {
		c.succeed(serverOut)
	}
	bg := c.bg
	c.f.waitTurn(bg)
	count := -1
	if fetched {
		recips = slices.DeleteFunc(recips, func(rs *socketio.RemoteSocket) bool { return m.skip(c, rs) })
	}
	if perRecipient {
		var n atomic.Int64
		m.each(bg, len(recips), func(ctx context.Context, i int) {
			if m.deliverOne(ctx, c, recips[i], in, out, serverOut, base) {
				n.Add(1)
			}
		})
		count = int(n.Load())
	} else {
		if err := m.broadcast(c, base); err != nil {
			srv.Logger().Warn("sync: broadcast", "route", req.RouteName, "err", err)
		}
		if fetched {
			count = len(recips)
		}
	}
	if c.f != nil {
		c.f.passTurn()
	}
	if !c.early {
		c.succeed(serverOut)
	}
	if hooked(srv, PostSyncFanout) {
		ev := c.event()
		ev.ServerOutput, ev.RecipientCount = serverOut, count
		m.dispatchPost(bg, c, PostSyncFanout)
	}
}

// hasLocal reports whether a socket of this instance is in room, when the
// adapter can tell without the network (the memory adapter and those that
// embed it).
func (m *Module) hasLocal(room string) bool {
	a, ok := m.server().IO().Sockets().Adapter().(interface{ HasRoom(string) bool })
	return ok && a.HasRoom(room)
}

// fetch returns the room's sockets on every instance ("" = all sockets).
func (m *Module) fetch(ctx context.Context, room string) ([]*socketio.RemoteSocket, error) {
	nsp := m.server().IO().Sockets()
	if room == "" {
		return nsp.FetchSockets(ctx)
	}
	return nsp.In(room).FetchSockets(ctx)
}

// skip applies ignoreSelf: the sender's socket and every socket of its
// session. The broadcast path excludes the same two rooms, which is what
// keeps both paths' recipients identical.
func (m *Module) skip(c *call, rs *socketio.RemoteSocket) bool {
	if !c.req.IgnoreSelf {
		return false
	}
	if c.sid != "" && rs.ID == c.sid {
		return true
	}
	return c.req.Token != "" && slices.Contains(rs.Rooms, luckystack.SessionRoom(c.req.Token))
}

// broadcast sends one frame to the room with one encode.
func (m *Module) broadcast(c *call, frame json.RawMessage) error {
	nsp := m.server().IO().Sockets()
	var except []string
	if c.req.IgnoreSelf {
		if c.sid != "" {
			except = append(except, c.sid)
		}
		if c.req.Token != "" {
			except = append(except, luckystack.SessionRoom(c.req.Token))
		}
	}
	op := nsp.Except(except...)
	if c.req.room != "" {
		op = op.To(c.req.room)
	}
	return op.Emit(string(events.NameSync), frame)
}

// each runs fn for 0..n-1 on up to FanoutConcurrency goroutines (the
// caller's included), the extra ones owned by the server.
func (m *Module) each(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	var next atomic.Int64
	loop := func(ctx context.Context) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(ctx, i)
		}
	}
	var wg stdsync.WaitGroup
	for range min(m.opts.FanoutConcurrency, n) - 1 {
		wg.Add(1)
		if !m.server().Go(func(sctx context.Context) {
			defer wg.Done()
			loop(sctx)
		}) {
			wg.Done()
		}
	}
	loop(ctx)
	wg.Wait()
}

// deliverOne sends one recipient its frame: PreSyncRecipient may skip it
// or override the serverOutput, and the client handler, when the route has
// one, produces its clientOutput. It reports whether a frame was sent.
func (m *Module) deliverOne(ctx context.Context, c *call, rs *socketio.RemoteSocket, in, out any, serverOut, base json.RawMessage) bool {
	req, e, srv := c.req, c.e, m.server()
	token, uid := luckystack.ClientInfo(rs)
	so, frame := serverOut, base
	var ev *RecipientEvent
	if hooked(srv, PreSyncRecipient) || hooked(srv, PostSyncRecipient) {
		ev = &RecipientEvent{
			RouteName: req.RouteName, Receiver: req.Receiver, RecipientSocketID: rs.ID,
			RecipientUserID: uid, RecipientToken: token, ServerOutput: serverOut, Request: req,
		}
	}
	if hooked(srv, PreSyncRecipient) {
		if stop := luckystack.DispatchHook(ctx, srv, PreSyncRecipient, ev); stop != nil {
			if stop.OverrideOutput == nil {
				return false
			}
			b, err := json.Marshal(stop.OverrideOutput)
			if err != nil {
				srv.Logger().Warn("sync: encode override output", "route", req.RouteName, "err", err)
				return false
			}
			so = b
			if frame, err = successFrame(e, so, nil, ""); err != nil {
				srv.Logger().Warn("sync: override output is not JSON", "route", req.RouteName, "err", err)
				return false
			}
		}
	}
	if e.client != nil {
		frame = m.runClient(ctx, c, rs, token, uid, in, out, so)
	}
	if err := emitTo(srv, rs, frame); err != nil {
		return false
	}
	if ev != nil && hooked(srv, PostSyncRecipient) {
		ev.ServerOutput, ev.Frame = so, frame
		luckystack.DispatchHook(ctx, srv, PostSyncRecipient, ev)
	}
	return true
}

// runClient runs the client handler for one recipient and builds its
// frame.
func (m *Module) runClient(ctx context.Context, c *call, rs *socketio.RemoteSocket, token, uid string, in, out any, so json.RawMessage) json.RawMessage {
	req, e := c.req, c.e
	rc := &Recipient{SocketID: rs.ID, Token: token, UserID: uid, Request: req, sock: rs}
	res, err := func() (res any, err error) {
		defer rc.done.Store(true)
		defer func() {
			if r := recover(); r != nil {
				m.server().Logger().Error("sync: client handler panicked", "route", req.RouteName, "panic", r, "stack", string(debug.Stack()))
				res, err = nil, fmt.Errorf("%w: %v", errPanicked, r)
			}
		}()
		return e.client(ctx, rc, in, out)
	}()
	co, msg, env := m.clientResult(req, res, err)
	if env != nil {
		return encodeEnv(events.SyncErrorFrame{CB: e.cb, FullName: e.key, ErrorEnvelope: *env})
	}
	frame, ferr := successFrame(e, so, co, msg)
	if ferr != nil {
		return encodeEnv(events.SyncErrorFrame{CB: e.cb, FullName: e.key, ErrorEnvelope: m.failCode(req, events.CodeSyncInvalidClientResponse)})
	}
	return frame
}

// clientResult turns a client handler's output or error into the
// clientOutput and message of a success frame, or an error envelope.
func (m *Module) clientResult(req *Request, res any, err error) (json.RawMessage, string, *events.ErrorEnvelope) {
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			code := ae.Code
			if code == "" {
				code = events.CodeSyncClientRejected
			}
			env := m.errEnv(req, events.ErrorEnvelope{ErrorCode: code, ErrorParams: ae.Params, HTTPStatus: ae.HTTPStatus, Message: ae.Message}, http.StatusBadRequest)
			return nil, "", &env
		}
		if !errors.Is(err, errPanicked) {
			m.server().Logger().Warn("sync: client handler failed", "route", req.RouteName, "err", err)
		}
		env := m.failCode(req, events.CodeSyncClientExecutionFailed)
		return nil, "", &env
	}
	if res == nil {
		return json.RawMessage(`{}`), "", nil
	}
	b, merr := json.Marshal(res)
	if merr != nil {
		env := m.failCode(req, events.CodeSyncInvalidClientResponse)
		return nil, "", &env
	}
	ok, ee := objectStatus(b)
	if ee != nil {
		if ee.ErrorCode == "" {
			ee.ErrorCode = events.CodeSyncClientRejected
		}
		env := m.errEnv(req, *ee, http.StatusBadRequest)
		return nil, "", &env
	}
	if !ok {
		env := m.failCode(req, events.CodeSyncInvalidClientResponse)
		return nil, "", &env
	}
	var probe struct {
		Message any `json:"message"`
	}
	_ = json.Unmarshal(b, &probe)
	msg, _ := probe.Message.(string)
	return b, msg, nil
}

// successFrame encodes a fan-out success frame with the resolved key in
// both cb and fullName.
func successFrame(e *entry, serverOut, clientOut json.RawMessage, msg string) (json.RawMessage, error) {
	return json.Marshal(events.SyncSuccessFrame{CB: e.cb, FullName: e.key, ServerOutput: serverOut, ClientOutput: clientOut, Message: msg})
}
