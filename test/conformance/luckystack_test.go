package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/socketio"
)

// lsControl answers the LuckyStack scripts' control commands against srv:
// sessions are created by the Go side (the host's own login), pushes and
// room emits are triggered from it, and connects are counted.
type lsControl struct {
	srv *lsServer

	mu       sync.Mutex
	connects int
	mwOrder  []string
}

func newLSControl(t *testing.T, srv *lsServer) *lsControl {
	c := &lsControl{srv: srv}
	luckystack.RegisterHook(srv.Server, luckystack.OnSocketConnect, func(context.Context, *luckystack.SocketConnectEvent) error {
		c.mu.Lock()
		c.connects++
		c.mu.Unlock()
		return nil
	})
	return c
}

func (c *lsControl) control(cmd string, raw json.RawMessage) (any, error) {
	ctx := context.Background()
	var arg struct {
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Token string          `json:"token"`
		Room  string          `json:"room"`
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &arg); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	switch cmd {
	case "session": // a login: create a session, return its token
		return c.srv.CreateSession(ctx, &luckystack.Session{ID: arg.ID, Name: arg.Name})
	case "update":
		_, err := c.srv.UpdateSession(ctx, arg.Token, func(s *luckystack.Session) error {
			s.Name = arg.Name
			return nil
		})
		return nil, err
	case "delete":
		return nil, c.srv.DeleteSession(ctx, arg.Token)
	case "roomCodes":
		s, err := c.srv.GetSession(ctx, arg.Token)
		if err != nil || s == nil {
			return nil, errors.Join(err, errors.New("no session"))
		}
		return s.RoomCodes, nil
	case "emitRoom":
		var v any
		if err := json.Unmarshal(arg.Data, &v); err != nil {
			return nil, err
		}
		return nil, c.srv.IO().To(arg.Room).Emit(arg.Event, v)
	case "connects":
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.connects, nil
	case "mwOrder":
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]string{}, c.mwOrder...), nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// TestLuckyStackSessions: cookie and token modes with the official client,
// updateSession pushes to every tab of a session (and only those), and a
// new login of the same user replacing the old session.
func TestLuckyStackSessions(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"cookie", "token"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := newLSServer(t, luckystack.Options{Config: luckystack.Config{
				Session: luckystack.SessionConfig{BasedToken: mode == "token"},
			}})
			ctl := newLSControl(t, srv)
			runNode(t, "ls_sessions.mjs", map[string]string{"SERVER_URL": srv.URL, "MODE": mode}, ctl.control)
		})
	}
}

// TestLuckyStackRooms: joinRoom / leaveRoom / getJoinedRooms replies
// byte-for-byte (successes and every error a client can provoke), rejoin of
// the session's rooms before the first event after a reconnect, and the
// identity room of a session kept apart from content rooms.
func TestLuckyStackRooms(t *testing.T) {
	t.Parallel()
	srv := newLSServer(t, luckystack.Options{})
	luckystack.RegisterHook(srv.Server, luckystack.PreRoomJoin, func(_ context.Context, e *luckystack.RoomEvent) error {
		if e.Room == "closed" {
			return &luckystack.Stop{}
		}
		return nil
	})
	luckystack.RegisterHook(srv.Server, luckystack.PreRoomLeave, func(_ context.Context, e *luckystack.RoomEvent) error {
		if e.Room == "sticky" {
			return &luckystack.Stop{}
		}
		return nil
	})
	ctl := newLSControl(t, srv)
	runNode(t, "ls_rooms.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}

// TestLuckyStackOrigins: a refused origin never reaches the connect handler,
// over polling or websocket; an allowed one does.
func TestLuckyStackOrigins(t *testing.T) {
	t.Parallel()
	srv := newLSServer(t, luckystack.Options{Config: luckystack.Config{HTTP: luckystack.HTTPConfig{
		CORS: luckystack.CORSConfig{AllowedOrigins: []string{"http://allowed.example"}},
	}}})
	ctl := newLSControl(t, srv)
	runNode(t, "ls_origins.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}

// TestLuckyStackMiddleware: socket middlewares run in registration order,
// once per name, and a rejection reaches the client as connect_error with
// the middleware's message.
func TestLuckyStackMiddleware(t *testing.T) {
	t.Parallel()
	srv := newLSServer(t, luckystack.Options{})
	ctl := newLSControl(t, srv)
	record := func(name string) luckystack.SocketMiddleware {
		return func(_ context.Context, sock *socketio.Socket) error {
			ctl.mu.Lock()
			ctl.mwOrder = append(ctl.mwOrder, name)
			ctl.mu.Unlock()
			return nil
		}
	}
	srv.RegisterSocketMiddleware("first", record("first"))
	srv.RegisterSocketMiddleware("gate", func(_ context.Context, sock *socketio.Socket) error {
		var auth struct {
			Pass string `json:"pass"`
		}
		_ = json.Unmarshal(sock.Handshake().Auth, &auth)
		if auth.Pass != "open sesame" {
			return errors.New("nope, not today")
		}
		return nil
	})
	srv.RegisterSocketMiddleware("first", record("first-again")) // same name: kept once
	srv.RegisterSocketMiddleware("last", record("last"))
	runNode(t, "ls_middleware.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}
