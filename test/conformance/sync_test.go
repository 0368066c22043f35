package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
	lssync "github.com/luckystack/luckystack-go/sync"
)

// syncControl answers the sync scripts' control commands: logins, waiting
// for fan-outs and cancellations the server observed, and a marker event
// that proves every frame sent before it was read.
type syncControl struct {
	srv       *lsServer
	fanouts   atomic.Int64
	cancelled chan string
	marks     atomic.Int64
}

// syncMsg is the input and output of the conformance sync routes.
type syncMsg struct {
	Text string   `json:"text,omitempty"`
	To   []string `json:"to,omitempty"`
	Mode string   `json:"mode,omitempty"`
}

// newSyncServer is a LuckyStack server with the api and sync modules and
// the routes the sync_*.mjs scripts call, in token mode.
func newSyncServer(t *testing.T) (*lsServer, *syncControl) {
	t.Helper()
	noIPLimit := api.RateLimitOptions{DefaultIPLimit: -1}
	apiMod := api.New(api.Options{RateLimit: noIPLimit})
	syncMod := lssync.New(lssync.Options{RateLimit: noIPLimit})
	srv := newLSServer(t, luckystack.Options{
		Modules: []luckystack.Module{apiMod, syncMod},
		Config:  luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}},
	})
	ctl := &syncControl{srv: srv, cancelled: make(chan string, 16)}
	luckystack.RegisterHook(srv.Server, lssync.PostSyncFanout, func(context.Context, *lssync.Event) error {
		ctl.fanouts.Add(1)
		return nil
	})
	gate := func(name string) error {
		if name == "sync/chat/gated/v1" || name == "api/chat/gated/v1" {
			return luckystack.StopWith("chat.closed", 423)
		}
		return nil
	}
	luckystack.RegisterHook(srv.Server, lssync.PreSyncExecute, func(_ context.Context, ev *lssync.Event) error { return gate(ev.RouteName) })
	luckystack.RegisterHook(srv.Server, api.PreAPIExecute, func(_ context.Context, ev *api.ExecuteEvent) error { return gate(ev.RouteName) })
	luckystack.RegisterHook(srv.Server, api.PreSocketMessage, func(_ context.Context, ev *api.SocketMessageEvent) error {
		if ev.RouteName == "api/chat/door/v1" || ev.RouteName == "sync/chat/door/v1" {
			return luckystack.StopWith("chat.door", 0)
		}
		return nil
	})
	waitCancel := func(ctx context.Context) {
		<-ctx.Done()
		ctl.cancelled <- context.Cause(ctx).Error()
	}
	fail := func(mode string) (map[string]any, error) {
		switch mode {
		case "apierr":
			return nil, api.NewError("chat.tooLong", 422, events.ErrorParam{Key: "max", Value: 10})
		case "plain":
			return nil, errors.New("boom")
		case "panic":
			panic("kaboom")
		case "status":
			return map[string]any{"status": "weird"}, nil
		case "null":
			return nil, nil
		}
		return map[string]any{"ok": true}, nil
	}
	echo := func(_ context.Context, _ *lssync.Request, in syncMsg) (syncMsg, error) { return in, nil }
	apiEcho := func(_ context.Context, _ *api.Request, in map[string]any) (map[string]any, error) { return in, nil }
	check := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	login := api.Auth{Login: true}
	admin := api.Auth{Additional: []api.Predicate{api.Equals("admin", true)}}
	unknownKey := api.Auth{Additional: []api.Predicate{api.Equals("nope", true)}}

	check(lssync.Register(syncMod, "chat/say/v1", lssync.Route[syncMsg, syncMsg]{Server: echo}))
	check(lssync.Register(syncMod, "chat/tagged/v1", lssync.Route[syncMsg, syncMsg]{Server: echo,
		Client: func(_ context.Context, rc *lssync.Recipient, _ syncMsg, _ syncMsg) (any, error) {
			return map[string]string{"for": rc.UserID, "message": "hi " + rc.UserID}, nil
		}}))
	check(lssync.Register(syncMod, "chat/clientfail/v1", lssync.Route[syncMsg, syncMsg]{Server: echo,
		Client: func(_ context.Context, rc *lssync.Recipient, _ syncMsg, _ syncMsg) (any, error) {
			switch rc.UserID {
			case "u2":
				return nil, api.NewError("", 0)
			case "u3":
				return nil, errors.New("broken")
			}
			return []int{1}, nil
		}}))
	check(lssync.Register(syncMod, "chat/stream/v1", lssync.Route[syncMsg, syncMsg]{Server: func(_ context.Context, req *lssync.Request, in syncMsg) (syncMsg, error) {
		for i := 1; i <= 2; i++ {
			if err := req.Stream(map[string]int{"step": i}); err != nil {
				return in, err
			}
		}
		if err := req.BroadcastStream(map[string]string{"chunk": "room"}); err != nil {
			return in, err
		}
		return in, req.StreamTo(in.To, map[string]string{"chunk": "direct"})
	}}))
	check(lssync.Register(syncMod, "chat/slow/v1", lssync.Route[syncMsg, syncMsg]{Server: func(ctx context.Context, req *lssync.Request, in syncMsg) (syncMsg, error) {
		// Tell the client the handler runs, so its cancel finds it running.
		if err := req.Stream(map[string]bool{"running": true}); err != nil {
			return in, err
		}
		waitCancel(ctx)
		return in, nil
	}}))
	check(lssync.Register(syncMod, "chat/login/v1", lssync.Route[syncMsg, syncMsg]{Server: echo, Auth: login}))
	check(lssync.Register(syncMod, "chat/admin/v1", lssync.Route[syncMsg, syncMsg]{Server: echo, Auth: admin}))
	check(lssync.Register(syncMod, "chat/bad/v1", lssync.Route[syncMsg, syncMsg]{Server: echo, Auth: unknownKey}))
	check(lssync.Register(syncMod, "chat/limited/v1", lssync.Route[syncMsg, syncMsg]{Server: echo, RateLimit: 1}))
	check(lssync.Register(syncMod, "chat/gated/v1", lssync.Route[syncMsg, syncMsg]{Server: echo}))
	check(lssync.Register(syncMod, "chat/fail/v1", lssync.Route[syncMsg, map[string]any]{Server: func(_ context.Context, _ *lssync.Request, in syncMsg) (map[string]any, error) {
		return fail(in.Mode)
	}}))

	check(api.Register(apiMod, "system/echo/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho}))
	check(api.Register(apiMod, "chat/stream/v1", api.Route[map[string]any, map[string]any]{Handler: func(_ context.Context, req *api.Request, _ map[string]any) (map[string]any, error) {
		for i := range 3 {
			if err := req.Stream(map[string]int{"i": i}); err != nil {
				return nil, err
			}
		}
		return map[string]any{"done": true}, nil
	}}))
	check(api.Register(apiMod, "chat/slow/v1", api.Route[map[string]any, map[string]any]{Handler: func(ctx context.Context, req *api.Request, in map[string]any) (map[string]any, error) {
		if err := req.Stream(map[string]bool{"running": true}); err != nil {
			return nil, err
		}
		waitCancel(ctx)
		return in, nil
	}}))
	check(api.Register(apiMod, "chat/sleepy/v1", api.Route[map[string]any, map[string]any]{Timeout: 50 * time.Millisecond, Handler: func(ctx context.Context, _ *api.Request, in map[string]any) (map[string]any, error) {
		<-ctx.Done()
		return in, nil
	}}))
	check(api.Register(apiMod, "chat/login/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho, Auth: login}))
	check(api.Register(apiMod, "chat/admin/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho, Auth: admin}))
	check(api.Register(apiMod, "chat/bad/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho, Auth: unknownKey}))
	check(api.Register(apiMod, "chat/limited/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho, RateLimit: 1}))
	check(api.Register(apiMod, "chat/gated/v1", api.Route[map[string]any, map[string]any]{Handler: apiEcho}))
	check(api.Register(apiMod, "chat/typed/v1", api.Route[syncMsg, syncMsg]{Handler: func(_ context.Context, _ *api.Request, in syncMsg) (syncMsg, error) { return in, nil }}))
	check(api.Register(apiMod, "chat/fail/v1", api.Route[syncMsg, map[string]any]{Handler: func(_ context.Context, _ *api.Request, in syncMsg) (map[string]any, error) {
		return fail(in.Mode)
	}}))
	return srv, ctl
}

func (c *syncControl) control(cmd string, raw json.RawMessage) (any, error) {
	var arg struct {
		ID    string `json:"id"`
		Admin bool   `json:"admin"`
		N     int64  `json:"n"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &arg); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	switch cmd {
	case "session":
		return c.srv.CreateSession(context.Background(), &luckystack.Session{ID: arg.ID, Name: arg.ID, Admin: arg.Admin})
	case "fanouts": // wait until n fan-outs finished in total
		deadline := time.Now().Add(5 * time.Second)
		for c.fanouts.Load() < arg.N {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("only %d of %d fan-outs finished", c.fanouts.Load(), arg.N)
			}
			time.Sleep(5 * time.Millisecond) // polling a counter the server bumps
		}
		return c.fanouts.Load(), nil
	case "mark": // every socket gets "marker" with a fresh number
		n := c.marks.Add(1)
		return n, c.srv.IO().Emit("marker", n)
	case "cancelled": // the cause of the next handler cancellation
		select {
		case cause := <-c.cancelled:
			return cause, nil
		case <-time.After(5 * time.Second):
			return nil, errors.New("no handler was cancelled")
		}
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// TestSyncConformanceRooms: sync with the official client between two and
// three clients of a room, with and without a client handler, ignoreSelf,
// a non-member refused, streams, and cancellation by syncCancel and by
// disconnect.
func TestSyncConformanceRooms(t *testing.T) {
	t.Parallel()
	srv, ctl := newSyncServer(t)
	runNode(t, "sync_rooms.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}

// TestSyncConformanceAPI: API streaming and cancellation with the official
// client.
func TestSyncConformanceAPI(t *testing.T) {
	t.Parallel()
	srv, ctl := newSyncServer(t)
	runNode(t, "sync_api.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}

// TestSyncConformanceErrors: every error envelope of the catalogue a client
// can provoke, on apiRequest and sync, compared as exact JSON text.
func TestSyncConformanceErrors(t *testing.T) {
	t.Parallel()
	srv, ctl := newSyncServer(t)
	runNode(t, "sync_errors.mjs", map[string]string{"SERVER_URL": srv.URL}, ctl.control)
}
