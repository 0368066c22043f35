package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/presence"
)

// presenceEnv is a LuckyStack server with the presence module, in token
// mode with the activity broadcaster on, and a record of its hooks that
// the scripts read through control("hooks").
type presenceEnv struct {
	*lsServer
	mu  sync.Mutex
	log []string
}

func newPresenceEnv(t *testing.T, opts presence.Options) *presenceEnv {
	t.Helper()
	pm := presence.New(opts)
	e := &presenceEnv{}
	e.lsServer = newLSServer(t, luckystack.Options{
		Config:  luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}, SocketActivityBroadcaster: true},
		Modules: []luckystack.Module{pm},
	})
	rec := func(s string) {
		e.mu.Lock()
		e.log = append(e.log, s)
		e.mu.Unlock()
	}
	srv := e.Server
	luckystack.RegisterHook(srv, luckystack.OnSocketDisconnect, func(_ context.Context, ev *luckystack.SocketDisconnectEvent) error {
		rec(fmt.Sprintf("onSocketDisconnect %s %s", ev.Token, ev.Reason))
		return nil
	})
	luckystack.RegisterHook(srv, presence.PostSocketReconnect, func(_ context.Context, ev *presence.ReconnectEvent) error {
		rec(fmt.Sprintf("postSocketReconnect %s %s", ev.Token, ev.UserID))
		return nil
	})
	luckystack.RegisterHook(srv, presence.PostDisconnectGraceExpired, func(_ context.Context, ev *presence.GraceExpiredEvent) error {
		rec(fmt.Sprintf("postDisconnectGraceExpired %s %s %s deleted=%v", ev.Token, ev.UserID, ev.Reason, ev.SessionDeleted))
		return nil
	})
	return e
}

// control answers the scripts: login {user, rooms} → token, session token
// → whether it exists, sockets → local socket count, hooks → the record.
func (e *presenceEnv) control(cmd string, arg json.RawMessage) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch cmd {
	case "login":
		var a struct {
			User  string   `json:"user"`
			Rooms []string `json:"rooms"`
		}
		if err := json.Unmarshal(arg, &a); err != nil {
			return nil, err
		}
		return e.CreateSession(ctx, &luckystack.Session{ID: a.User, RoomCodes: a.Rooms})
	case "session":
		var tok string
		if err := json.Unmarshal(arg, &tok); err != nil {
			return nil, err
		}
		s, err := e.GetSession(ctx, tok)
		return s != nil, err
	case "sockets":
		return e.IO().Sockets().SocketCount(), nil
	case "hooks":
		e.mu.Lock()
		defer e.mu.Unlock()
		return slices.Clone(e.log), nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// TestPresenceFlows: page refresh inside the window, browser closed, tab
// switch, with the official client and 800ms windows.
func TestPresenceFlows(t *testing.T) {
	t.Parallel()
	w := 800 * time.Millisecond
	e := newPresenceEnv(t, presence.Options{
		DisconnectTimers: presence.DisconnectTimers{TabSwitch: w, TransportClose: w, Default: w},
		AFKTimeout:       -1,
	})
	runNode(t, "presence_flows.mjs", map[string]string{"SERVER_URL": e.URL, "WINDOW_MS": "800"}, e.control)
}

// TestPresenceAFK: idle → userAfk, activity → userBack.
func TestPresenceAFK(t *testing.T) {
	t.Parallel()
	e := newPresenceEnv(t, presence.Options{AFKTimeout: 600 * time.Millisecond, ActivitySampleInterval: 100 * time.Millisecond})
	runNode(t, "presence_afk.mjs", map[string]string{"SERVER_URL": e.URL, "AFK_MS": "600"}, e.control)
}
