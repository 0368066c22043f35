package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/luckystack/luckystack-go/internal/testutil/noderun"
	"github.com/luckystack/luckystack-go/socketio"
)

// node runs this suite's scripts against the pinned official client.
var node = &noderun.Runner{Dir: ".", Pinned: map[string]string{"socket.io-client": "4.8."}}

// controlFunc answers a script's control() call (see noderun).
type controlFunc = noderun.ControlFunc

// runNode runs scripts/<script> and fails t with its output when it fails.
func runNode(t *testing.T, script string, env map[string]string, ctl controlFunc) {
	t.Helper()
	node.Run(t, script, env, ctl)
}

// testServer is a socketio server on its own HTTP server at 127.0.0.1.
type testServer struct {
	*socketio.Server
	URL  string
	Addr string
	hs   *http.Server
}

// startServer serves srv on addr ("127.0.0.1:0" for any port) and stops it
// when the test ends.
func startServer(t *testing.T, addr string, srv *socketio.Server) *testServer {
	t.Helper()
	var ln net.Listener
	var err error
	// A just-closed listener's port can take a moment to be free again.
	for deadline := time.Now().Add(3 * time.Second); ; {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	ts := &testServer{Server: srv, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), hs: hs}
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the socketio server down (which ends long polls and
// websockets), then the HTTP server. It is idempotent.
func (ts *testServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ts.Server.Shutdown(ctx)
	_ = ts.hs.Close()
}

// newServer is startServer on any port with a fresh server.
func newServer(t *testing.T, opts socketio.Options, setup func(*socketio.Server)) *testServer {
	t.Helper()
	srv := socketio.NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	return startServer(t, "127.0.0.1:0", srv)
}

// reasons records the disconnect reason of every socket by id.
type reasons struct {
	mu sync.Mutex
	m  map[string]string
}

func newReasons() *reasons { return &reasons{m: make(map[string]string)} }

// track records the reasons of nsp's sockets.
func (r *reasons) track(nsp *socketio.Namespace) {
	nsp.OnDisconnect(func(s *socketio.Socket, reason string) {
		r.mu.Lock()
		r.m[s.ID()] = reason
		r.mu.Unlock()
	})
}

func (r *reasons) snapshot() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.m))
	for k, v := range r.m {
		out[k] = v
	}
	return out
}

// wait returns the reason of each id in ids, waiting up to d for all of them;
// ids with no reason by then are missing from the result.
func (r *reasons) wait(ids []string, d time.Duration) map[string]string {
	deadline := time.Now().Add(d)
	for {
		snap := r.snapshot()
		out := make(map[string]string, len(ids))
		for _, id := range ids {
			if v, ok := snap[id]; ok {
				out[id] = v
			}
		}
		if len(out) == len(ids) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// control answers a script's control("reasons", [ids...]) with the reasons
// of those sockets, waiting up to 5s for all of them, and
// control("reasons-now", [ids...]) with the reasons known at once (an empty
// object when they are all still connected).
func (r *reasons) control(cmd string, arg json.RawMessage) (any, error) {
	var ids []string
	if err := json.Unmarshal(arg, &ids); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	switch cmd {
	case "reasons":
		return r.wait(ids, 5*time.Second), nil
	case "reasons-now":
		return r.wait(ids, 0), nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// ack answers e's ack, reporting a failure to the test log.
func ack(t *testing.T, e *socketio.Event, args ...any) {
	if err := e.Ack(args...); err != nil {
		t.Errorf("ack %q: %v", e.Name, err)
	}
}

// echo acks every argument back, binary included.
func echo(t *testing.T) socketio.EventHandler {
	return func(e *socketio.Event) {
		vals, err := e.Args.Values()
		if err != nil {
			t.Errorf("%s: decode args: %v", e.Name, err)
			return
		}
		if e.WantsAck() {
			ack(t, e, vals...)
		}
	}
}

func decode[T any](t *testing.T, e *socketio.Event, i int) T {
	var v T
	if err := e.Args.Decode(i, &v); err != nil {
		t.Errorf("%s: decode arg %d: %v", e.Name, i, err)
	}
	return v
}
