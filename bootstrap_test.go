package luckystack

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/socketio"
)

// fakeModule records what the server did with it.
type fakeModule struct {
	name       string
	problems   []string
	installErr error
	onInstall  func(s *Server)
	installed  atomic.Int32
	closed     atomic.Int32
}

func (m *fakeModule) Name() string { return m.name }
func (m *fakeModule) Install(s *Server) error {
	m.installed.Add(1)
	if m.onInstall != nil {
		m.onInstall(s)
	}
	return m.installErr
}
func (m *fakeModule) Verify(*Server) []string { return m.problems }
func (m *fakeModule) Close(context.Context) error {
	m.closed.Add(1)
	return nil
}

func TestBootstrapStepsInOrder(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		steps []BootStep
	)
	mod := &fakeModule{name: "m"}
	installedAtStep := -1
	mod.onInstall = func(*Server) {
		mu.Lock()
		installedAtStep = len(steps)
		mu.Unlock()
	}
	srv := newServer(t, Options{Args: []string{"0"}, Modules: []Module{mod}, OnBootStep: func(s BootStep) {
		mu.Lock()
		steps = append(steps, s)
		mu.Unlock()
	}})
	ln, err := srv.Bind()
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })

	mu.Lock()
	defer mu.Unlock()
	names := []string{"argv", "config", "verify", "http", "socket.io", "adapter", "middlewares", "connect", "listen"}
	require.Len(t, steps, 9)
	for i, s := range steps {
		assert.Equal(t, i+1, s.Step, "step %d", i)
		assert.Equal(t, names[i], s.Name, "step %d", i+1)
	}
	assert.Equal(t, "127.0.0.1:0", steps[0].Detail)
	assert.Equal(t, srv.Addr(), steps[8].Detail)
	assert.Equal(t, 7, installedAtStep, "modules are installed in step 8, after middlewares")
}

func TestPortResolution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want int
	}{
		{"nothing set", Options{}, 80},
		{"default port", Options{DefaultPort: 3000}, 3000},
		{"argv beats default", Options{Args: []string{"8080"}, DefaultPort: 3000}, 8080},
		{"option beats argv", Options{Port: 9000, Args: []string{"8080"}, DefaultPort: 3000}, 9000},
		{"argv zero", Options{Args: []string{"0"}, DefaultPort: 3000}, 0},
		{"argv max", Options{Args: []string{"65535"}}, 65535},
		{"argv leading zeros", Options{Args: []string{"0080"}}, 80},
		{"empty args", Options{Args: []string{}}, 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.opts)
			assert.Equal(t, tc.want, srv.port)
		})
	}
}

func TestPortUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
	}{
		{"too large", Options{Args: []string{"65536"}}},
		{"negative", Options{Args: []string{"-1"}}},
		{"sign", Options{Args: []string{"+80"}}},
		{"letters", Options{Args: []string{"80a"}}},
		{"hex", Options{Args: []string{"0x50"}}},
		{"space", Options{Args: []string{" 80"}}},
		{"empty", Options{Args: []string{""}}},
		{"unicode digits", Options{Args: []string{"٨٠"}}},
		{"six digits", Options{Args: []string{"100000"}}},
		{"two args", Options{Args: []string{"80", "81"}}},
		{"bad argv even with Options.Port", Options{Port: 9000, Args: []string{"x"}}},
		{"option too large", Options{Port: 70000}},
		{"option negative", Options{Port: -1}},
		{"default too large", Options{DefaultPort: 65536}},
		{"default negative", Options{DefaultPort: -5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Getenv = envMap(nil)
			var steps []BootStep
			tc.opts.OnBootStep = func(s BootStep) { steps = append(steps, s) }
			srv, err := NewServer(tc.opts)
			require.ErrorIs(t, err, ErrUsage)
			assert.Nil(t, srv)
			assert.Empty(t, steps, "argv is step 1: nothing else runs")
		})
	}
}

func TestBindAddress(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, "127.0.0.1", newServer(t, Options{}).ip)
	})
	t.Run("SERVER_IP from Getenv", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, Options{Getenv: envMap(map[string]string{"SERVER_IP": "127.0.0.2"})})
		assert.Equal(t, "127.0.0.2", srv.ip)
		assert.Equal(t, "http://127.0.0.2", srv.origins.sameOrigin())
	})
	t.Run("Options.IP beats SERVER_IP", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, Options{IP: "127.0.0.3", Getenv: envMap(map[string]string{"SERVER_IP": "127.0.0.2"})})
		assert.Equal(t, "127.0.0.3", srv.ip)
	})
}

func TestVerifyListsEveryProblem(t *testing.T) {
	t.Parallel()
	good := &fakeModule{name: "good"}
	bad := &fakeModule{name: "bad", problems: []string{"needs A", "needs B"}}
	dup := &fakeModule{name: "good"}
	_, err := NewServer(Options{
		IP:      "not-an-ip",
		Modules: []Module{good, bad, nil, dup},
		Getenv:  envMap(map[string]string{"EXTERNAL_ORIGINS": "https://ok.example, ftp://bad.example"}),
		Config: Config{HTTP: HTTPConfig{
			CORS:           CORSConfig{AllowedOrigins: []string{"https://fine.example", "http://"}},
			TrustedProxies: []string{"10.0.0.0/8", "nonsense"},
		}},
	})
	var be *BootstrapError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, []string{
		`config: allowed origin "http://" is not scheme://host[:port]`,
		`config: allowed origin "ftp://bad.example" is not scheme://host[:port]`,
		`config: trusted proxy "nonsense" is not a CIDR`,
		`bind address "not-an-ip" is not an IP`,
		"bad: needs A",
		"bad: needs B",
		"module 2 is nil",
		`module "good" installed twice`,
	}, be.Problems)
	assert.Contains(t, err.Error(), "\n  1. config: allowed origin")
	assert.Contains(t, err.Error(), "\n  8. module \"good\" installed twice")
	assert.Zero(t, good.installed.Load(), "nothing is installed when verify fails")
	assert.Zero(t, bad.installed.Load())
}

func TestModuleInstallError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	stopped := make(chan struct{})
	first := &fakeModule{name: "first", onInstall: func(s *Server) {
		s.Go(func(ctx context.Context) { <-ctx.Done(); close(stopped) })
	}}
	_, err := NewServer(Options{Getenv: envMap(nil), Modules: []Module{first, &fakeModule{name: "x", installErr: boom}}})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "install module x")
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("a failed bootstrap leaves module goroutines running")
	}
}

func TestListenOnPortZero(t *testing.T) {
	t.Parallel()
	mod := &fakeModule{name: "closer"}
	srv := newServer(t, Options{Args: []string{"0"}, Modules: []Module{mod}})
	assert.Empty(t, srv.Addr(), "no address before Listen")
	errc := make(chan error, 1)
	go func() { errc <- srv.Listen() }()

	var addr string
	require.Eventually(t, func() bool { addr = srv.Addr(); return addr != "" }, 5*time.Second, 5*time.Millisecond)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	p, _ := strconv.Atoi(port)
	assert.NotZero(t, p)
	assert.Equal(t, "http://"+addr, srv.origins.sameOrigin(), "same-origin follows the bound port")

	res := do(t, &testHTTP{URL: "http://" + addr}, "GET", "/livez", nil, "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"live"}`, res.body)

	var stops atomic.Int32
	RegisterHook(srv, PreServerStop, func(_ context.Context, e *ServerStopEvent) error {
		stops.Add(1)
		assert.Equal(t, "shutdown", e.Reason)
		assert.Equal(t, int64(10000), e.TimeoutMs)
		return nil
	})
	var routineDone atomic.Bool
	require.True(t, srv.Go(func(ctx context.Context) { <-ctx.Done(); routineDone.Store(true) }))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, ErrServerClosed)
	case <-ctx.Done():
		t.Fatal("Listen did not return after Shutdown")
	}
	assert.Equal(t, int32(1), stops.Load())
	assert.True(t, routineDone.Load(), "Shutdown waits for Server.Go routines")
	assert.Equal(t, int32(1), mod.closed.Load(), "modules implementing Closer are closed")
	assert.False(t, srv.Go(func(context.Context) {}), "no new routines after Shutdown")

	require.NoError(t, srv.Shutdown(ctx), "Shutdown is idempotent")
	assert.Equal(t, int32(1), stops.Load())
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "listener closed")
	assert.ErrorIs(t, srv.Listen(), ErrServerClosed, "a closed server cannot listen again")
}

func TestShutdownClosesBoundButUnservedListener(t *testing.T) {
	t.Parallel()
	srv, err := NewServer(Options{Args: []string{"0"}, Getenv: envMap(nil)})
	require.NoError(t, err)
	ln, err := srv.Bind()
	require.NoError(t, err)
	require.NoError(t, srv.Shutdown(context.Background()))
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err)
	assert.ErrorIs(t, srv.Serve(ln), ErrServerClosed)
}

func TestShutdownDisconnectsSockets(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	var reasons []string
	var mu sync.Mutex
	RegisterHook(srv, OnSocketDisconnect, func(_ context.Context, e *SocketDisconnectEvent) error {
		mu.Lock()
		reasons = append(reasons, e.Reason)
		mu.Unlock()
		return nil
	})
	c := dial(t, ts, cookieOpts(""))
	require.NoError(t, srv.Shutdown(wctx(t)))
	_, err := c.WaitDisconnect(wctx(t))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"server shutting down"}, reasons)
}

func TestTwoServersAreIndependent(t *testing.T) {
	t.Parallel()
	a := newServer(t, Options{})
	b := newServer(t, Options{})
	RegisterHook(a, PreRoomJoin, func(context.Context, *RoomEvent) error { return nil })
	a.RegisterSocketMiddleware("only-a", func(context.Context, *socketio.Socket) error { return nil })
	assert.Equal(t, 1, HookCount(a, PreRoomJoin))
	assert.Zero(t, HookCount(b, PreRoomJoin))
	assert.Len(t, a.SocketMiddlewares(), 1)
	assert.Empty(t, b.SocketMiddlewares())
	assert.NotEqual(t, a.bootIDValue(), b.bootIDValue())
}

func TestShutdownStopsAcceptingFirstAndBoundsEachStep(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{ShutdownStepTimeout: 200 * time.Millisecond})
	addr := strings.TrimPrefix(ts.URL, "http://")
	release := make(chan struct{})
	defer close(release)
	dialDuringHook := make(chan error, 1)
	RegisterHook(srv, PreServerStop, func(context.Context, *ServerStopEvent) error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		dialDuringHook <- err
		<-release // a handler that ignores its context
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := srv.Shutdown(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shutdown step preServerStop")
	assert.Less(t, time.Since(start), 5*time.Second, "a stuck hook holds shutdown for its step's timeout only")
	assert.Error(t, <-dialDuringHook, "the listener was closed before the hooks ran")
}
