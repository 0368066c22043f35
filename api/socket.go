package api

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// successLogout is the reply of the system/logout shortcut.
var successLogout = json.RawMessage(`{"status":"success","httpStatus":200,"result":true}`)

// socketRequest is one apiRequest from the client's event loop through the
// pipeline: the parsed payload, the in-flight registration, the call, its
// Request and its stream are one allocation.
type socketRequest struct {
	m   *Module
	cl  *luckystack.Client
	idx int
	apiPayload
	flight
	c   call
	req Request
	out output
}

// onAPIRequest runs on the client's event loop, where events of one client
// are handled one at a time. It reserves an in-flight slot, then detaches
// from the event loop and serves the request on the same goroutine, so a
// slow handler never delays the client's next event (an apiCancel above
// all) and a quick one costs no goroutine switch.
func (m *Module) onAPIRequest(_ context.Context, cl *luckystack.Client, payload json.RawMessage) {
	if m.server() == nil || m.closed.Load() {
		return
	}
	if cl.Context().Err() != nil {
		// Sent just before the client left: nobody would read the reply.
		return
	}
	r := &socketRequest{m: m, cl: cl}
	if !parseAPIPayload(&r.apiPayload, payload) {
		return
	}
	if !r.ri.Valid {
		// Nothing can be answered without an index; the first hook still
		// sees the message, as in the original, and it is dropped.
		r.resolveName(r.m)
		m.preSocketMessage(cl.Context(), cl, cl.IP(), r.name)
		return
	}
	r.idx = r.ri.Value
	if !m.acquire(cl, r.idx, &r.flight) {
		m.refuseInFlight(r)
		return
	}
	cl.Detach()
	r.run()
}

// refuseInFlight answers a request over the client's MaxInFlight.
func (m *Module) refuseInFlight(r *socketRequest) {
	c := r.call()
	r.resolveName(r.m)
	if r.nameOK {
		if key, _, _, _, err := ParseRouteName("api", r.name); err == nil {
			c.req.RouteName = key
		}
	}
	m.respond(r.cl.Context(), c, m.errEnv(c.req, events.ErrorEnvelope{ErrorCode: CodeTooManyInFlight, HTTPStatus: http.StatusTooManyRequests}, http.StatusTooManyRequests))
}

// run serves the request. Shutdown needs no watch of its own here: it
// closes every socket, which ends the request's context, and waits for
// the socket's goroutines.
func (r *socketRequest) run() {
	r.resolveName(r.m)
	ctx := r.flight.start(r.cl.Context())
	defer func() {
		r.flight.end()
		r.m.release(r.cl, r.idx, &r.flight)
	}()
	r.serve(ctx)
}

// call prepares the request's call, whose replies go to apiResponse-<idx>
// and whose stream chunks go to apiStream-<idx>.
func (r *socketRequest) call() *call {
	cl := r.cl
	r.req = Request{
		RouteName: unknownRoute, Transport: TransportSocket, Token: cl.Token(),
		IP: cl.IP(), Locale: cl.Locale(), Data: r.data, Client: cl, out: &r.out,
	}
	r.out.canStream = true
	r.out.sink = r
	r.c = call{m: r.m, req: &r.req, sink: r}
	return &r.c
}

// sendChunk sends a stream chunk as apiStream-<i>.
func (r *socketRequest) sendChunk(b json.RawMessage) error {
	var name [32]byte
	return r.cl.EmitRaw(events.PrefixAPIStream.Append(name[:0], r.idx), b)
}

// deliver sends the final reply as apiResponse-<i>, once.
func (r *socketRequest) deliver(env *Envelope) {
	if r.out.close() {
		var name [32]byte
		_ = r.cl.EmitRaw(events.PrefixAPIResponse.Append(name[:0], r.idx), env.bytes())
	}
}

func (m *Module) preSocketMessage(ctx context.Context, cl *luckystack.Client, ip, name string) *luckystack.Stop {
	srv := m.server()
	if !hooked(srv, PreSocketMessage) {
		return nil
	}
	return luckystack.DispatchHook(ctx, srv, PreSocketMessage, &SocketMessageEvent{
		Channel: "api", SocketID: cl.ID(), IP: ip, Authenticated: cl.Token() != "", RouteName: name, Client: cl,
	})
}

// serve is the socket pipeline (luckystack-wire.md §3.3) from the first
// hook to the reply. It runs on a goroutine owned by the server; ctx ends
// on apiCancel, disconnect or Shutdown.
func (r *socketRequest) serve(ctx context.Context) {
	m, cl, idx, name := r.m, r.cl, r.idx, r.name
	c := r.call()
	c.flight = &r.flight
	req := c.req
	defer func() {
		if rec := recover(); rec != nil {
			m.server().Logger().Error("api: socket pipeline panicked", "route", req.RouteName, "panic", rec, "stack", string(debug.Stack()))
			if req.out.close() {
				_ = cl.Emit(events.APIResponse(idx), bareError(events.CodeAPIServerExecutionFailed, http.StatusInternalServerError))
			}
		}
		// Nothing may reach apiStream-<i> once this pipeline is over, even
		// when it ended without a reply (cancelled).
		req.out.close()
		if c.wait != nil {
			c.wait()
		}
	}()
	if stop := m.preSocketMessage(ctx, cl, req.IP, name); stop != nil {
		status := stop.HTTPStatus
		if status < 100 || status > 599 {
			status = events.DefaultStopStatus
		}
		if req.out.close() {
			_ = cl.Emit(events.APIResponse(idx), bareError(stop.ErrorCode, status))
		}
		return
	}
	sess, err := cl.Session(ctx)
	if err != nil {
		m.server().Logger().Warn("api: session read failed", "err", err)
	}
	req.Session = sess
	if !r.nameOK || name == "" || !r.dataObj {
		m.respond(ctx, c, m.fail(req, events.CodeAPIInvalidRequest))
		return
	}
	// A name that is already a registered key (what the browser client
	// sends) needs no parsing.
	e := m.lookup(name)
	if e == nil || e.key != name {
		key, service, route, version, err := ParseRouteName("api", name)
		if err != nil {
			m.respond(ctx, c, m.fail(req, events.CodeRoutingInvalidServiceRouteName, events.ErrorParam{Key: "name", Value: name}))
			return
		}
		req.RouteName, req.Service, req.Route, req.Version = key, service, route, version
		e = m.lookup(key)
	} else {
		req.RouteName, req.Service, req.Route, req.Version = e.key, e.service, e.route, e.version
	}
	if req.Service == "system" && req.Route == "logout" {
		m.logout(ctx, c)
		return
	}
	if e == nil {
		m.respond(ctx, c, m.fail(req, events.CodeAPINotFound, events.ErrorParam{Key: "name", Value: name}))
		return
	}
	c.e = e
	if env := m.run(ctx, c); env != nil {
		m.respond(ctx, c, env)
	}
}

// logout is the system/logout shortcut of the socket transport (any
// version; a registered route of that name only serves HTTP). The reply is
// sent before the session's sockets are told "logout" and disconnected,
// because this socket is one of them and would never see it otherwise.
func (m *Module) logout(ctx context.Context, c *call) {
	srv, req, cl := m.server(), c.req, c.req.Client
	if env := m.checkIPLimit(ctx, req); env != nil {
		m.respond(ctx, c, env)
		return
	}
	// Our own socket's disconnect cancels ctx halfway; finish regardless.
	ctx = context.WithoutCancel(ctx)
	logoutEvent := string(events.NameLogout)
	if req.Token == "" {
		m.respond(ctx, c, newEnvelope(successLogout, events.StatusSuccess, http.StatusOK))
		_ = cl.Emit(logoutEvent, string(events.LogoutSuccess))
		return
	}
	ev := &LogoutEvent{UserID: req.UserID(), Token: req.Token}
	if stop := luckystack.DispatchHook(ctx, srv, PreLogout, ev); stop != nil {
		_ = cl.Emit(logoutEvent, string(events.LogoutError))
		m.respond(ctx, c, m.stopEnv(req, stop))
		return
	}
	if err := srv.Sessions().Delete(ctx, req.Token); err != nil {
		srv.Logger().Warn("api: logout: delete session", "err", err)
		_ = cl.Emit(logoutEvent, string(events.LogoutError))
		m.respond(ctx, c, m.fail(req, events.CodeAPIInternalServerError))
		return
	}
	inRoom := cl.InRoom(luckystack.SessionRoom(req.Token))
	m.respond(ctx, c, newEnvelope(successLogout, events.StatusSuccess, http.StatusOK))
	// Every socket of the session, on every instance, hears "logout" and is
	// disconnected; the session itself is already deleted above.
	if err := srv.LogoutSockets(ctx, req.Token); err != nil {
		srv.Logger().Warn("api: logout: notify session sockets", "err", err)
	}
	if !inRoom {
		// The session resolved after this socket connected, so it is not in
		// the session's room and LogoutSockets did not reach it.
		_ = cl.Emit(logoutEvent, string(events.LogoutSuccess))
	}
	luckystack.DispatchHook(ctx, srv, PostLogout, ev)
}
