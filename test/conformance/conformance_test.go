package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// basicHandlers installs the handlers scripts/transports.mjs talks to.
func basicHandlers(t *testing.T) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		nsp := srv.Sockets()
		nsp.OnConnection(func(s *socketio.Socket) {
			if err := s.Emit("welcome", map[string]string{"id": s.ID(), "transport": s.Transport()}); err != nil {
				t.Errorf("welcome: %v", err)
			}
		})
		nsp.On("echo", echo(t))
		nsp.On("transport", func(e *socketio.Event) { ack(t, e, e.Socket.Transport()) })
		nsp.On("seq", func(e *socketio.Event) {
			_ = e.Socket.Emit("seq", decode[int](t, e, 0))
		})
		nsp.On("ticks", func(e *socketio.Event) {
			n := decode[int](t, e, 0)
			for i := range n {
				_ = e.Socket.Emit("tick", i)
			}
			ack(t, e)
		})
	}
}

// TestTransports: polling-only and websocket-only clients, and servers with
// one transport disabled.
func TestTransports(t *testing.T) {
	t.Parallel()
	both := newServer(t, socketio.Options{}, basicHandlers(t))
	noWS := newServer(t, socketio.Options{DisableWebSocket: true}, basicHandlers(t))
	noPoll := newServer(t, socketio.Options{DisablePolling: true}, basicHandlers(t))
	runNode(t, "transports.mjs", map[string]string{
		"SERVER_URL":  both.URL,
		"NO_WS_URL":   noWS.URL,
		"NO_POLL_URL": noPoll.URL,
	}, nil)
}

// TestUpgrade: polling→websocket upgrade with events streaming both ways
// across it.
func TestUpgrade(t *testing.T) {
	t.Parallel()
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		srv.Sockets().On("echo", echo(t))
		srv.Sockets().OnConnection(func(s *socketio.Socket) {
			atConnect := s.Transport()
			stop := make(chan struct{})
			done := make(chan int, 1) // nobody reads it when the socket goes before "stop"
			go func() {
				n := 0
				defer func() { done <- n }()
				tick := time.NewTicker(2 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-s.Context().Done():
						return
					case <-tick.C:
					}
					for range 3 {
						var bin any
						if n%7 == 0 {
							bin = []byte{byte(n), 5, 6}
						}
						if s.Emit("tick", n, bin) != nil {
							return
						}
						n++
					}
				}
			}()
			var mu sync.Mutex
			ups := 0
			var errs []string
			s.On("up", func(e *socketio.Event) {
				i := decode[int](t, e, 0)
				mu.Lock()
				defer mu.Unlock()
				if i != ups {
					errs = append(errs, fmt.Sprintf("up %d, want %d", i, ups))
				}
				if i%5 == 0 {
					if b := decode[[]byte](t, e, 1); len(b) != 3 || b[0] != byte(i) {
						errs = append(errs, fmt.Sprintf("up %d: bad attachment %v", i, b))
					}
				}
				ups = i + 1
			})
			s.On("stop", func(e *socketio.Event) {
				close(stop)
				ticks := <-done
				mu.Lock()
				defer mu.Unlock()
				ack(t, e, map[string]any{
					"ticks": ticks, "ups": ups, "errors": append([]string{}, errs...),
					"transportAtConnect": atConnect, "transportNow": e.Socket.Transport(),
				})
			})
		})
	})
	runNode(t, "upgrade.mjs", map[string]string{"SERVER_URL": ts.URL}, nil)
}

// TestAcks: acknowledgements both ways, with client and server timeouts.
func TestAcks(t *testing.T) {
	t.Parallel()
	var byeResults sync.Map // socket id -> chan map[string]any
	byeResult := func(id string) chan map[string]any {
		ch, _ := byeResults.LoadOrStore(id, make(chan map[string]any, 1))
		return ch.(chan map[string]any)
	}
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		nsp := srv.Sockets()
		nsp.On("echo", echo(t))
		nsp.On("multi", func(e *socketio.Event) { ack(t, e, 1, "two", map[string]int{"three": 3}, nil) })
		nsp.On("empty", func(e *socketio.Event) { ack(t, e) })
		nsp.On("never", func(e *socketio.Event) {
			if !e.WantsAck() {
				t.Errorf("never: WantsAck is false")
			}
		})
		nsp.On("slow", func(e *socketio.Event) {
			ms := decode[int](t, e, 0)
			time.AfterFunc(time.Duration(ms)*time.Millisecond, func() { _ = e.Ack(fmt.Sprintf("slow %d", ms)) })
		})
		// The handler blocks on the client's ack: acks must not wait
		// behind the socket's handler queue.
		nsp.On("ask", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res, err := e.Socket.EmitWithAck(ctx, "question", 21)
			if err != nil {
				t.Errorf("ask: %v", err)
				return
			}
			var answer int
			if err := res.Decode(0, &answer); err != nil {
				t.Errorf("ask: ack %s: %v", res.Raw(0), err)
			}
			ack(t, e, map[string]any{"answer": answer, "extra": res.Raw(1)})
		})
		nsp.On("ask-binary", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res, err := e.Socket.EmitWithAck(ctx, "give-binary")
			if err != nil {
				t.Errorf("ask-binary: %v", err)
				return
			}
			var v struct {
				Data []byte   `json:"data"`
				List [][]byte `json:"list"`
			}
			if err := res.Decode(0, &v); err != nil || len(v.List) != 1 {
				t.Errorf("ask-binary: decode %s: %v", res.Raw(0), err)
				return
			}
			sum := 0
			for _, b := range v.Data {
				sum += int(b)
			}
			ack(t, e, map[string]int{"len": len(v.Data), "sum": sum, "emptyLen": len(v.List[0])})
		})
		askFail := func(event string) socketio.EventHandler {
			return func(e *socketio.Event) {
				ms := decode[int](t, e, 0)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
				defer cancel()
				start := time.Now()
				_, err := e.Socket.EmitWithAck(ctx, event)
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				ack(t, e, map[string]any{
					"timeout":   errors.Is(err, socketio.ErrAckTimeout),
					"deadline":  errors.Is(err, context.DeadlineExceeded),
					"error":     msg,
					"elapsedMs": time.Since(start).Milliseconds(),
				})
			}
		}
		nsp.On("ask-timeout", askFail("ignored"))
		nsp.On("ask-late", askFail("late"))
		nsp.On("ask-bye", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := e.Socket.EmitWithAck(ctx, "bye")
			byeResult(e.Socket.ID()) <- map[string]any{"id": e.Socket.ID(), "disconnected": errors.Is(err, socketio.ErrDisconnected), "error": fmt.Sprint(err)}
		})
	})
	ctl := func(cmd string, arg json.RawMessage) (any, error) {
		var id string
		if cmd != "ask-bye-result" || json.Unmarshal(arg, &id) != nil {
			return nil, fmt.Errorf("unknown command %q %s", cmd, arg)
		}
		select {
		case r := <-byeResult(id):
			return r, nil
		case <-time.After(5 * time.Second):
			return nil, errors.New("EmitWithAck did not return within 5s of the disconnect")
		}
	}
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			runNode(t, "acks.mjs", map[string]string{"SERVER_URL": ts.URL, "TRANSPORT": transport}, ctl)
		})
	}
}

// TestBinary: nested binary values both ways, over both transports.
func TestBinary(t *testing.T) {
	t.Parallel()
	lenSum := func(b []byte) [2]int {
		s := 0
		for _, x := range b {
			s += int(x)
		}
		return [2]int{len(b), s}
	}
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		nsp := srv.Sockets()
		nsp.On("bin-echo", echo(t))
		nsp.On("bin-check", func(e *socketio.Event) {
			v := decode[struct {
				Name  string `json:"name"`
				Img   []byte `json:"img"`
				Parts []json.RawMessage
				Big   []byte `json:"big"`
			}](t, e, 0)
			// The same argument once more, into generic values.
			gen, err := e.Args.Value(0)
			if err != nil {
				t.Errorf("bin-check: %v", err)
				return
			}
			m := gen.(map[string]any)
			parts := m["parts"].([]any)
			deep := parts[1].(map[string]any)["deep"].([]any)[0].([]byte)
			c := m["nested"].(map[string]any)["a"].(map[string]any)["b"].(map[string]any)["c"].([]byte)
			var p0 []byte
			if err := json.Unmarshal(v.Parts[0], &p0); err != nil {
				t.Errorf("bin-check: parts[0] %s: %v", v.Parts[0], err)
			}
			ack(t, e, map[string]any{
				"name": v.Name, "img": lenSum(v.Img), "parts0": lenSum(p0),
				"deep": lenSum(deep), "c": lenSum(c), "big": lenSum(v.Big),
			})
		})
		nsp.On("send-push", func(e *socketio.Event) {
			s := e.Socket
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				payload := map[string]any{
					"img":         []byte{0, 1, 2, 255},
					"list":        []any{[]byte("a"), map[string][]byte{"deep": {9}}},
					"empty":       []byte{},
					"nilBytes":    []byte(nil),
					"n":           5,
					"structBytes": struct{ B []byte }{[]byte{1}},
				}
				res, err := s.EmitWithAck(ctx, "bin-push", payload, []byte{7, 7, 7})
				if err != nil {
					t.Errorf("bin-push: %v", err)
					return
				}
				v, err := res.Value(0)
				if err != nil {
					t.Errorf("bin-push ack: %v", err)
					return
				}
				got, _ := v.(map[string]any)["got"].([]byte)
				ls := lenSum(got)
				_ = s.Emit("push-acked", map[string]int{"len": ls[0], "sum": ls[1]})
			}()
		})
	})
	runNode(t, "binary.mjs", map[string]string{"SERVER_URL": ts.URL}, nil)
}

// TestRooms: To / Except / Broadcast, on sockets and on the server.
func TestRooms(t *testing.T) {
	t.Parallel()
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		nsp := srv.Sockets()
		rooms := func(s *socketio.Socket) []string {
			r := s.Rooms()
			sort.Strings(r)
			return r
		}
		nsp.On("join", func(e *socketio.Event) {
			e.Socket.Join(decode[[]string](t, e, 0)...)
			ack(t, e, rooms(e.Socket))
		})
		nsp.On("leave", func(e *socketio.Event) {
			e.Socket.Leave(decode[string](t, e, 0))
			ack(t, e, rooms(e.Socket))
		})
		nsp.On("op", func(e *socketio.Event) {
			req := decode[struct {
				Step int    `json:"step"`
				Kind string `json:"kind"`
				Tag  string `json:"tag"`
				ID   string `json:"id"`
			}](t, e, 0)
			s := e.Socket
			var err error
			var result any
			switch req.Kind {
			case "socket.to(r1)":
				err = s.To("r1").Emit("msg", req.Tag)
			case "socket.to(r1,r2)":
				err = s.To("r1", "r2").Emit("msg", req.Tag)
			case "socket.broadcast":
				err = s.Broadcast().Emit("msg", req.Tag)
			case "socket.broadcast.except(r2)":
				err = s.Broadcast().Except("r2").Emit("msg", req.Tag)
			case "socket.to(r1,r2).except(r1)":
				err = s.To("r1").To("r2").Except("r1").Emit("msg", req.Tag)
			case "socket.to(own id)":
				err = s.To(req.ID).Emit("msg", req.Tag)
			case "server.emit":
				err = srv.Emit("msg", req.Tag)
			case "server.to(r1)":
				err = srv.To("r1").Emit("msg", req.Tag)
			case "server.to(r2)":
				err = srv.In("r2").Emit("msg", req.Tag)
			case "server.to(r1,r2).except(r2)":
				err = srv.To("r1", "r2").Except("r2").Emit("msg", req.Tag)
			case "server.except(r1)":
				err = srv.Except("r1").Emit("msg", req.Tag)
			case "server.except(r1,r2)":
				err = nsp.Except("r1").Except("r2").Emit("msg", req.Tag)
			case "server.to(nobody)":
				err = srv.To("nobody").Emit("msg", req.Tag)
			case "server.to(id)":
				err = nsp.To(req.ID).Emit("msg", req.Tag)
			case "server.except(id)":
				err = nsp.Except(req.ID).Emit("msg", req.Tag)
			case "server.to(r2).emitWithAck":
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				var replies []socketio.Args
				replies, err = srv.To("r2").EmitWithAck(ctx, "msg-ack", req.Tag)
				names := []string{}
				for _, r := range replies {
					var n string
					if err := r.Decode(0, &n); err != nil {
						t.Errorf("ack reply %s: %v", r.Raw(0), err)
					}
					names = append(names, n)
				}
				result = names
			default:
				t.Errorf("unknown op %q", req.Kind)
			}
			if err != nil {
				t.Errorf("op %s: %v", req.Kind, err)
			}
			if err := srv.Emit("sync", req.Step); err != nil {
				t.Errorf("sync: %v", err)
			}
			ack(t, e, result)
		})
	})
	runNode(t, "rooms.mjs", map[string]string{"SERVER_URL": ts.URL}, nil)
}

// TestMiddleware: namespace middlewares rejecting with a message and data.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		srv.Sockets().On("ping", func(e *socketio.Event) { ack(t, e, "pong") })
		private := srv.Of("/private")
		private.Use(func(s *socketio.Socket) error {
			var auth struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(s.Auth(), &auth)
			switch auth.Token {
			case "":
				return errors.New("no token")
			case "secret":
				s.SetData(map[string]string{"user": "alice", "token": auth.Token})
				return nil
			}
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 4001, "reason": "bad token", "retry": false}}
		})
		private.Use(func(s *socketio.Socket) error {
			if s.Handshake().Query.Get("room") == "forbidden" {
				return &socketio.ConnectError{Message: "room forbidden", Data: []any{"x", 1}}
			}
			return nil
		})
		private.OnConnection(func(s *socketio.Socket) {
			if err := s.Emit("hello", s.Data()); err != nil {
				t.Errorf("hello: %v", err)
			}
		})
		private.On("whoami", func(e *socketio.Event) {
			ack(t, e, e.Socket.Data().(map[string]string)["user"])
		})
		srv.Of("/closed").Use(func(*socketio.Socket) error { return errors.New("closed for maintenance") })
		srv.Of("/closed").OnConnection(func(s *socketio.Socket) { t.Errorf("a socket got past /closed's middleware") })
	})
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			runNode(t, "middleware.mjs", map[string]string{"SERVER_URL": ts.URL, "TRANSPORT": transport}, nil)
		})
	}
}

// TestDisconnect: server-side disconnects (the client must not reconnect) and
// the reasons the server reports for client-side ones.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	rs := newReasons()
	var recMu sync.Mutex
	records := map[string][]int{}
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		for _, nsp := range []*socketio.Namespace{srv.Sockets(), srv.Of("/chat")} {
			rs.track(nsp)
			nsp.On("ping", func(e *socketio.Event) { ack(t, e, "pong") })
			nsp.On("conn-id", func(e *socketio.Event) { ack(t, e, e.Socket.ConnID()) })
			nsp.On("kick", func(e *socketio.Event) { e.Socket.Disconnect(false) })
			nsp.On("kick-all", func(e *socketio.Event) { e.Socket.Disconnect(true) })
			nsp.On("record", func(e *socketio.Event) {
				time.Sleep(time.Millisecond) // a handler doing some work
				recMu.Lock()
				records[e.Socket.ID()] = append(records[e.Socket.ID()], decode[int](t, e, 0))
				recMu.Unlock()
			})
		}
	})
	ctl := func(cmd string, arg json.RawMessage) (any, error) {
		if cmd == "records" {
			var id string
			if err := json.Unmarshal(arg, &id); err != nil {
				return nil, err
			}
			recMu.Lock()
			defer recMu.Unlock()
			return append([]int{}, records[id]...), nil
		}
		return rs.control(cmd, arg)
	}
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			runNode(t, "disconnect.mjs", map[string]string{"SERVER_URL": ts.URL, "TRANSPORT": transport}, ctl)
		})
	}
}

// TestPingTimeout: heartbeat with a short interval; clients that stop
// answering or hearing are dropped, healthy ones stay.
func TestPingTimeout(t *testing.T) {
	t.Parallel()
	rs := newReasons()
	// PingTimeout is generous so that healthy clients survive a loaded CI
	// machine; the interval is short so that a test sees many pings.
	ts := newServer(t, socketio.Options{PingInterval: 150 * time.Millisecond, PingTimeout: 1000 * time.Millisecond}, func(srv *socketio.Server) {
		rs.track(srv.Sockets())
		srv.Sockets().On("ping", func(e *socketio.Event) { ack(t, e, "pong") })
	})
	runNode(t, "ping.mjs", map[string]string{"SERVER_URL": ts.URL}, rs.control)
}

// TestOversize: a message above MaxHTTPBufferSize closes that connection
// only.
func TestOversize(t *testing.T) {
	t.Parallel()
	rs := newReasons()
	ts := newServer(t, socketio.Options{MaxHTTPBufferSize: 10_000}, func(srv *socketio.Server) {
		rs.track(srv.Sockets())
		srv.Sockets().On("big", func(e *socketio.Event) {
			v, err := e.Args.Value(0)
			if err != nil {
				t.Errorf("big: %v", err)
				return
			}
			switch x := v.(type) {
			case string:
				ack(t, e, len(x))
			case []byte:
				ack(t, e, len(x))
			default:
				t.Errorf("big: got %T", v)
			}
		})
	})
	runNode(t, "oversize.mjs", map[string]string{"SERVER_URL": ts.URL}, rs.control)
}

// TestRestart: clients reconnect by themselves after the server is shut down
// and a new one starts on the same port.
func TestRestart(t *testing.T) {
	t.Parallel()
	newGen := func(gen int, rs *reasons) *socketio.Server {
		srv := socketio.NewServer(socketio.Options{})
		rs.track(srv.Sockets())
		srv.Sockets().On("gen", func(e *socketio.Event) { ack(t, e, gen) })
		return srv
	}
	rs1 := newReasons()
	first := startServer(t, "127.0.0.1:0", newGen(1, rs1))
	ctl := func(cmd string, _ json.RawMessage) (any, error) {
		if cmd != "restart" {
			return nil, fmt.Errorf("unknown command %q", cmd)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := first.Server.Shutdown(ctx); err != nil {
			return nil, fmt.Errorf("shutdown: %w", err)
		}
		if err := first.hs.Shutdown(ctx); err != nil {
			return nil, fmt.Errorf("http shutdown: %w", err)
		}
		startServer(t, first.Addr, newGen(2, newReasons()))
		// Shutdown has waited for the disconnect handlers.
		return map[string]any{"reasons": rs1.snapshot()}, nil
	}
	runNode(t, "restart.mjs", map[string]string{"SERVER_URL": first.URL}, ctl)
}

// TestNamespaces: several namespaces multiplexed on one connection.
func TestNamespaces(t *testing.T) {
	t.Parallel()
	rs := newReasons()
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		for _, name := range []string{"/", "/chat", "/admin"} {
			nsp := srv.Of(name)
			rs.track(nsp)
			nsp.On("whoami", func(e *socketio.Event) {
				ack(t, e, map[string]any{
					"nsp": e.Socket.Namespace().Name(), "id": e.Socket.ID(), "conn": e.Socket.ConnID(),
					"transport": e.Socket.Transport(), "auth": e.Socket.Auth(),
				})
			})
			nsp.On("shout", func(e *socketio.Event) {
				if err := nsp.Emit("shout", decode[string](t, e, 0)); err != nil {
					t.Errorf("shout: %v", err)
				}
				ack(t, e)
			})
		}
	})
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			runNode(t, "namespaces.mjs", map[string]string{"SERVER_URL": ts.URL, "TRANSPORT": transport}, rs.control)
		})
	}
}

// TestOrigins: AllowRequest checking Origin, and CORS options.
func TestOrigins(t *testing.T) {
	t.Parallel()
	allowed := func(origin string) bool { return origin == "http://allowed.example" }
	ts := newServer(t, socketio.Options{
		AllowRequest: func(r *http.Request) error {
			if o := r.Header.Get("Origin"); o != "" && !allowed(o) {
				return errors.New("origin not allowed")
			}
			return nil
		},
		CORS: &socketio.CORSOptions{AllowOrigin: allowed, Credentials: true},
	}, func(srv *socketio.Server) {
		srv.Sockets().On("whoami", func(e *socketio.Event) {
			ack(t, e, map[string]any{
				"origin": e.Socket.Header("Origin"), "xdomain": e.Socket.Handshake().XDomain,
				"transport": e.Socket.Transport(),
			})
		})
	})
	runNode(t, "origins.mjs", map[string]string{"SERVER_URL": ts.URL}, nil)
}

// TestManyClients: 1,000 concurrent websocket clients exchange events.
func TestManyClients(t *testing.T) {
	// Not parallel: it loads the machine, which the timing-sensitive tests
	// do not need; it runs alone before them.
	const clients = 1000
	var mu sync.Mutex
	seen := map[string]bool{}
	ts := newServer(t, socketio.Options{}, func(srv *socketio.Server) {
		srv.Sockets().On("hello", func(e *socketio.Event) {
			i := decode[int](t, e, 0)
			id := decode[string](t, e, 1)
			if id != e.Socket.ID() {
				t.Errorf("hello %d: id %q from socket %q", i, id, e.Socket.ID())
			}
			ack(t, e, map[string]any{"i": i, "double": 2 * i, "id": e.Socket.ID()})
			mu.Lock()
			seen[id] = true
			all := len(seen) == clients
			mu.Unlock()
			if all {
				if err := srv.Emit("all-in", clients, []byte{1, 2, 3}); err != nil {
					t.Errorf("broadcast: %v", err)
				}
			}
		})
	})
	runNode(t, "many.mjs", map[string]string{"SERVER_URL": ts.URL, "CLIENTS": fmt.Sprint(clients)}, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != clients {
		t.Errorf("the server saw %d clients, want %d", len(seen), clients)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.ConnCount() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ts.ConnCount(); n > 0 {
		t.Errorf("%d connections still open 10s after the clients left", n)
	}
}
