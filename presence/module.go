package presence

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// ErrNotInstalled is returned by [Module.GetRoomPresence] before the
// module is installed on a server.
var ErrNotInstalled = errors.New("presence: module not installed")

// Module is the presence feature: disconnect grace windows, warm
// reconnects, tab switches and AFK. Create it with [New] and pass it in
// luckystack.Options.Modules; it plugs into the server's presence seam. A
// module belongs to one server.
type Module struct {
	opts     Options
	problems []string
	t        atomic.Pointer[tracker]
}

var (
	_ luckystack.Module   = (*Module)(nil)
	_ luckystack.Verifier = (*Module)(nil)
	_ luckystack.Closer   = (*Module)(nil)
	_ luckystack.Presence = (*Module)(nil)
)

// New returns a module with opts merged over the defaults. Invalid values
// are reported by Verify at bootstrap.
func New(opts Options) *Module {
	m := &Module{problems: opts.problems()}
	m.opts = opts.withDefaults()
	return m
}

// Name implements luckystack.Module.
func (m *Module) Name() string { return "presence" }

// Verify implements luckystack.Verifier.
func (m *Module) Verify(*luckystack.Server) []string { return m.problems }

// Options returns the effective options (defaults applied).
func (m *Module) Options() Options { return m.opts }

// Install implements luckystack.Module: it takes the server's presence seam
// and, when the project's SocketActivityBroadcaster is on, the
// intentionalDisconnect, activity and intentionalReconnect events and the
// activity sampler.
func (m *Module) Install(s *luckystack.Server) error {
	if m.t.Load() != nil {
		return errors.New("presence: module already installed")
	}
	on := s.Config().SocketActivityBroadcaster
	t := newTracker(s, serverCluster{s}, m.opts, on)
	m.t.Store(t)
	s.SetPresence(m)
	if !on {
		return nil
	}
	s.HandleSocketEvent(string(events.NameIntentionalDisconnect), func(ctx context.Context, c *luckystack.Client, _ json.RawMessage) {
		if t.intentionalDisconnect(ctx, c) {
			c.Socket().Disconnect(false)
		}
	})
	refresh := func(ctx context.Context, c *luckystack.Client, _ json.RawMessage) { t.activity(ctx, c) }
	s.HandleSocketEvent(string(events.NameActivity), refresh)
	s.HandleSocketEvent(string(events.NameIntentionalReconnect), refresh)
	if m.opts.afkEnabled() {
		s.Go(t.runSampler)
	}
	return nil
}

// SocketConnected implements luckystack.Presence.
func (m *Module) SocketConnected(ctx context.Context, c *luckystack.Client) {
	if t := m.t.Load(); t != nil {
		t.connected(ctx, c)
	}
}

// SocketDisconnected implements luckystack.Presence: presence fires the
// socket's onSocketDisconnect, now or when its grace window closes.
func (m *Module) SocketDisconnected(c *luckystack.Client, reason string) {
	if t := m.t.Load(); t != nil {
		t.disconnected(c, reason)
	}
}

// GetRoomPresence lists the sockets in room on every instance, with the
// activity of those on this one (StateUnknown for the others).
func (m *Module) GetRoomPresence(ctx context.Context, room string) ([]Member, error) {
	t := m.t.Load()
	if t == nil {
		return nil, ErrNotInstalled
	}
	return t.roomPresence(ctx, room)
}

// Close implements luckystack.Closer: pending timers stop and their
// deferred onSocketDisconnect events fire. The windows stay in the store,
// so a client reconnecting to another instance in time is still warm.
func (m *Module) Close(context.Context) error {
	if t := m.t.Load(); t != nil {
		t.close()
	}
	return nil
}

// serverCluster is the cluster as a luckystack.Server and its adapter see
// it: the session room of a token holds its sockets on every instance.
type serverCluster struct{ s *luckystack.Server }

func (c serverCluster) session(ctx context.Context, token string) (*luckystack.Session, error) {
	return c.s.GetSession(ctx, token)
}

func (c serverCluster) deleteSession(ctx context.Context, token string) error {
	return c.s.DeleteSession(ctx, token)
}

func (c serverCluster) liveSockets(ctx context.Context, token string) (int, error) {
	socks, err := c.s.IO().In(luckystack.SessionRoom(token)).FetchSockets(ctx)
	return len(socks), err
}

func (c serverCluster) emitToPeers(ctx context.Context, rooms []string, token string, event events.Name, payload any, count bool) (int, error) {
	op := c.s.IO().To(rooms...).Except(luckystack.SessionRoom(token))
	n := 0
	if count {
		socks, err := op.FetchSockets(ctx)
		if err != nil {
			return 0, err
		}
		n = len(socks)
	}
	return n, op.Emit(string(event), payload)
}

func (c serverCluster) roomSockets(ctx context.Context, room string) ([]roomSocket, error) {
	socks, err := c.s.IO().In(room).FetchSockets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]roomSocket, 0, len(socks))
	for _, rs := range socks {
		tok, uid := luckystack.ClientInfo(rs)
		out = append(out, roomSocket{id: rs.ID, token: tok, userID: uid})
	}
	return out, nil
}

func (c serverCluster) goOwned(fn func(ctx context.Context)) bool { return c.s.Go(fn) }
