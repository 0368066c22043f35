package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/redisadapter"
	"github.com/luckystack/luckystack-go/router"
)

// routerSourceIP is the address the router dials backends from: distinct
// from the clients' 127.0.0.1, so a backend that reports 127.0.0.1 as the
// client has believed the router's X-Forwarded-For.
const routerSourceIP = "127.0.0.2"

// routerWhoami is what a backend tells a client about its connection.
type routerWhoami struct {
	Backend   string `json:"backend"`
	IP        string `json:"ip"`
	Peer      string `json:"peer"`
	XFF       string `json:"xff"`
	XFHost    string `json:"xfHost"`
	XFProto   string `json:"xfProto"`
	RealIP    string `json:"realIP"`
	Transport string `json:"transport,omitempty"`
	SocketID  string `json:"socketId,omitempty"`
}

// routerBackend starts a LuckyStack backend named name on the shared Redis
// at redisAddr. It trusts only the router's source address.
func routerBackend(t *testing.T, name, redisAddr string) *lsServer {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rc.Close() })
	ra, err := redisadapter.New(rc, redisadapter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ra.Close(ctx); err != nil {
			t.Errorf("adapter close: %v", err)
		}
	})
	srv := newLSServer(t, luckystack.Options{
		Adapter: ra.For,
		Config: luckystack.Config{HTTP: luckystack.HTTPConfig{
			TrustedProxies: []string{routerSourceIP + "/32"},
			CORS:           luckystack.CORSConfig{AllowLocalhost: true},
		}},
	})
	srv.HandleSocketEvent("rtWhoami", func(_ context.Context, c *luckystack.Client, _ json.RawMessage) {
		s := c.Socket()
		_ = c.Emit("rtWhoami", routerWhoami{Backend: name, IP: c.IP(), Peer: routerHostOf(s.RemoteAddr()),
			XFF: s.Header("X-Forwarded-For"), XFHost: s.Header("X-Forwarded-Host"), XFProto: s.Header("X-Forwarded-Proto"),
			RealIP: s.Header("X-Real-IP"), Transport: s.Transport(), SocketID: s.ID()})
	})
	srv.HandleSocketEvent("rtJoin", func(_ context.Context, c *luckystack.Client, payload json.RawMessage) {
		var room string
		if json.Unmarshal(payload, &room) == nil {
			c.Socket().Join(room)
			_ = c.Emit("rtJoined", room)
		}
	})
	srv.HandleSocketEvent("rtSay", func(_ context.Context, c *luckystack.Client, payload json.RawMessage) {
		var msg struct{ Room, Text string }
		if json.Unmarshal(payload, &msg) == nil {
			_ = srv.IO().To(msg.Room).Emit("rtSaid", map[string]string{"text": msg.Text, "via": name})
		}
	})
	srv.HandleRoute("/whoami", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		luckystack.WriteJSON(w, http.StatusOK, routerWhoami{Backend: name, IP: srv.ClientIP(r), Peer: routerHostOf(r.RemoteAddr),
			XFF: r.Header.Get("X-Forwarded-For"), XFHost: r.Header.Get("X-Forwarded-Host"),
			XFProto: r.Header.Get("X-Forwarded-Proto"), RealIP: r.Header.Get("X-Real-IP")})
	}))
	return srv
}

func routerHostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// TestRouterSocketIO drives the official client through the router to two
// LuckyStack backends sharing a real Redis: websocket-only, polling with
// its upgrade, polling-only, cross-backend room broadcasts and the
// forwarded client address (see scripts/router_socketio.mjs).
func TestRouterSocketIO(t *testing.T) { routerSocketIO(t, false) }

// TestRouterSocketIOOwnLoop is TestRouterSocketIO with the router served
// as cmd/luckystack-router serves it: its own HTTP/1.1 loop for plain
// requests (the polling transport) in front of net/http's server (the
// upgrades).
func TestRouterSocketIOOwnLoop(t *testing.T) { routerSocketIO(t, true) }

func routerSocketIO(t *testing.T, ownLoop bool) {
	t.Parallel()
	node.Require(t)
	redisAddr := redistest.Start(t)
	backends := map[string]*lsServer{
		"a": routerBackend(t, "a", redisAddr),
		"b": routerBackend(t, "b", redisAddr),
	}
	rt, err := router.New(router.Config{
		Services: map[string][]string{"system": {backends["a"].URL, backends["b"].URL}},
		Dialer:   &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(routerSourceIP)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(rt)
	if ownLoop {
		front.Listener = rt.Listener(front.Listener)
	}
	front.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
		front.Close()
	})
	runNode(t, "router_socketio.mjs", map[string]string{"SERVER_URL": front.URL}, func(cmd string, arg json.RawMessage) (any, error) {
		switch cmd {
		case "broadcast": // a server-side emit from one backend to a room
			var a struct{ Backend, Room, Text string }
			if err := json.Unmarshal(arg, &a); err != nil {
				return nil, err
			}
			b := backends[a.Backend]
			if b == nil {
				return nil, fmt.Errorf("no backend %q", a.Backend)
			}
			return nil, b.IO().To(a.Room).Emit("rtSaid", map[string]string{"text": a.Text, "via": a.Backend})
		}
		return nil, fmt.Errorf("unknown command %q", cmd)
	})
}
