package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	lssync "github.com/luckystack/luckystack-go/sync"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// lsEnv is a real LuckyStack server (root package + api module + a sync
// stand-in) on a fixed loopback port, which can be stopped and started again
// on the same port with the same session store: a server restart as the
// client sees it.
type lsEnv struct {
	t        *testing.T
	cfg      luckystack.Config
	apiOpts  api.Options
	setup    func(srv *luckystack.Server, mod *api.Module)
	sessions *luckystack.MemorySessionStore
	port     int
	sync     *syncStandIn
	// realSync, when set, installs the sync module instead of the stand-in
	// and registers routes on it.
	realSync func(mod *lssync.Module)
	// modules, when set, adds modules to each server started.
	modules func() []luckystack.Module

	mu      sync.Mutex
	srv     *luckystack.Server
	stopSrv func(timeout time.Duration)
}

func newLS(t *testing.T, setup func(srv *luckystack.Server, mod *api.Module)) *lsEnv {
	t.Helper()
	return newLSWith(t, luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}}, setup)
}

func newLSWith(t *testing.T, cfg luckystack.Config, setup func(srv *luckystack.Server, mod *api.Module)) *lsEnv {
	t.Helper()
	return newLSFull(t, cfg, setup, nil)
}

// newLSSync is a token-mode server with the real sync module.
func newLSSync(t *testing.T, routes func(mod *lssync.Module)) *lsEnv {
	t.Helper()
	return newLSFull(t, luckystack.Config{Session: luckystack.SessionConfig{BasedToken: true}}, nil, routes)
}

func newLSFull(t *testing.T, cfg luckystack.Config, setup func(srv *luckystack.Server, mod *api.Module), routes func(mod *lssync.Module)) *lsEnv {
	t.Helper()
	e := &lsEnv{
		t: t, cfg: cfg, setup: setup, realSync: routes,
		apiOpts:  api.Options{RateLimit: api.RateLimitOptions{Disabled: true}},
		sessions: luckystack.NewMemorySessionStore(time.Hour),
		sync:     newSyncStandIn(),
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *lsEnv) url() string { return "http://127.0.0.1:" + strconv.Itoa(e.port) }

func (e *lsEnv) server() *luckystack.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

// start builds a fresh server on the env's port (a free one the first time).
func (e *lsEnv) start() {
	e.t.Helper()
	mod := api.New(e.apiOpts)
	modules := []luckystack.Module{mod}
	var syncMod *lssync.Module
	if e.realSync != nil {
		syncMod = lssync.New(lssync.Options{RateLimit: api.RateLimitOptions{Disabled: true}})
		e.realSync(syncMod)
		modules = append(modules, syncMod)
	}
	if e.modules != nil {
		modules = append(modules, e.modules()...)
	}
	srv, err := luckystack.NewServer(luckystack.Options{
		Args:     []string{strconv.Itoa(e.port)},
		IP:       "127.0.0.1",
		Modules:  modules,
		Sessions: e.sessions,
		Getenv:   func(string) string { return "" },
		Config:   e.cfg,
	})
	require.NoError(e.t, err)
	if syncMod == nil {
		e.sync.install(srv)
	}
	if e.setup != nil {
		e.setup(srv, mod)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old listener's port may take a moment to free
		ln, err = srv.Bind()
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(e.t, err)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	e.port, _ = strconv.Atoi(p)
	stop := servetest.Start(e.t, srv, ln)
	e.mu.Lock()
	e.srv, e.stopSrv = srv, stop
	e.mu.Unlock()
}

// stop shuts the server down; a stopped env may be started again.
func (e *lsEnv) stop() {
	e.mu.Lock()
	stop := e.stopSrv
	e.srv, e.stopSrv = nil, nil
	e.mu.Unlock()
	if stop != nil {
		stop(waitFor)
	}
}

// login creates a session and returns its token.
func (e *lsEnv) login(id string) string {
	e.t.Helper()
	tok, err := e.server().CreateSession(context.Background(), &luckystack.Session{ID: id, Name: "name-" + id})
	require.NoError(e.t, err)
	return tok
}

// dial connects a client and closes it at the end of the test.
func (e *lsEnv) dial(opts client.Options) *client.Client {
	e.t.Helper()
	c, err := client.Dial(ctxT(e.t), e.url(), opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { require.NoError(e.t, c.Close()) })
	return c
}

// syncStandIn answers the "sync" event per luckystack-wire.md §4.3–4.6 for
// a few test routes. It predates the sync module (realsync_test.go runs
// against that) and stays because it lets tests see exactly what reached
// the server (received, cancels):
//
//   - sync/test/echo/v1: serverOutput = clientInput; streams n chunks first
//     when data.stream = n;
//   - sync/test/slow/v1: waits for syncCancel (or 10 s) and then acks.
//
// Other routes get sync.notFound; a receiver the sender is not in gets
// sync.notRoomMember.
type syncStandIn struct {
	mu        sync.Mutex
	received  []string // data.text of every request, in arrival order
	cancelled map[string]chan struct{}
	cancels   chan string // every syncCancel cb received
}

func newSyncStandIn() *syncStandIn {
	return &syncStandIn{cancelled: map[string]chan struct{}{}, cancels: make(chan string, 16)}
}

func (s *syncStandIn) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

func (s *syncStandIn) install(srv *luckystack.Server) {
	var seq int
	srv.HandleSocketEvent("syncCancel", func(_ context.Context, _ *luckystack.Client, payload json.RawMessage) {
		var m events.SyncCancel
		_ = json.Unmarshal(payload, &m)
		s.mu.Lock()
		if ch, ok := s.cancelled[m.Callback]; ok {
			close(ch)
			delete(s.cancelled, m.Callback)
		}
		s.mu.Unlock()
		select {
		case s.cancels <- m.Callback:
		default:
		}
	})
	srv.HandleSocketEvent("sync", func(_ context.Context, cl *luckystack.Client, payload json.RawMessage) {
		if !events.IsObject(payload) {
			_ = cl.Emit("sync", events.NewError(events.CodeSyncInvalidRequest))
			return
		}
		var req events.SyncRequest
		if json.Unmarshal(payload, &req) != nil || !req.ResponseIndex.Valid {
			return
		}
		i := req.ResponseIndex.Value
		var text struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(req.Data, &text)
		s.mu.Lock()
		s.received = append(s.received, text.Text)
		s.mu.Unlock()
		key, _, _, _, err := api.ParseRouteName("sync", req.Name)
		if err != nil {
			_ = cl.Emit(events.Sync(i), events.NewError(events.CodeRoutingInvalidServiceRouteName).Normalize(400))
			return
		}
		seq++
		cancelID := fmt.Sprintf("cancel-%s-%d", cl.ID(), seq)
		done := make(chan struct{})
		s.mu.Lock()
		s.cancelled[cancelID] = done
		s.mu.Unlock()
		_ = cl.Emit(events.SyncProgress(i), events.CancelIDFrame{CancelID: cancelID})
		fail := func(code string, status int) {
			env := events.NewError(code)
			env.HTTPStatus = status
			_ = cl.Emit(events.Sync(i), env)
		}
		if key != "sync/test/echo/v1" && key != "sync/test/slow/v1" {
			fail(events.CodeSyncNotFound, 400)
			return
		}
		if req.Receiver != "all" && !cl.InRoom(req.Receiver) {
			fail(events.CodeSyncNotRoomMember, 403)
			return
		}
		cb := key[len("sync/"):]
		finish := func() {
			_ = cl.Emit(events.Sync(i), events.NewSyncAck(key, req.Data))
			frame := events.SyncSuccessFrame{CB: cb, FullName: key, ServerOutput: req.Data}
			op := srv.IO().To(req.Receiver)
			if req.IgnoreSelf {
				op = op.Except(cl.ID())
			}
			_ = op.Emit("sync", frame)
		}
		if key == "sync/test/slow/v1" {
			srv.Go(func(ctx context.Context) {
				select {
				case <-done:
					return // cancelled: no reply, as the spec says
				case <-ctx.Done():
					return
				case <-time.After(10 * time.Second):
				}
				finish()
			})
			return
		}
		var in struct {
			Stream int `json:"stream"`
		}
		_ = json.Unmarshal(req.Data, &in)
		for n := range in.Stream {
			_ = cl.Emit(events.SyncProgress(i), map[string]int{"chunk": n})
			stream, _ := events.SyncStreamFrame(cb, key, json.RawMessage(fmt.Sprintf(`{"chunk":%d}`, n)))
			_ = srv.IO().To(req.Receiver).Emit("sync", stream)
		}
		finish()
	})
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
