package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// clientVersionPrefix is the socket.io-client line package.json pins.
const clientVersionPrefix = "4.8."

// scriptTimeout bounds one Node script; each script also has its own,
// shorter, deadline (lib.mjs run()).
const scriptTimeout = 90 * time.Second

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error
)

// requireNode returns the node binary, failing the test (not skipping it)
// when node or the pinned client is not installed.
func requireNode(t *testing.T) string {
	t.Helper()
	nodeOnce.Do(func() {
		p, err := exec.LookPath("node")
		if err != nil {
			nodeErr = errors.New("node is not in PATH: the conformance suite needs Node 20+ " +
				"(CI has it; install it, e.g. apt-get install nodejs npm)")
			return
		}
		raw, err := os.ReadFile(filepath.Join("node_modules", "socket.io-client", "package.json"))
		if err != nil {
			nodeErr = errors.New("test/conformance/node_modules is missing socket.io-client: " +
				"run `npm ci` in test/conformance (`make test` does it)")
			return
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(raw, &pkg); err != nil || !strings.HasPrefix(pkg.Version, clientVersionPrefix) {
			nodeErr = fmt.Errorf("test/conformance/node_modules has socket.io-client %q, want %sx: run `npm ci` in test/conformance",
				pkg.Version, clientVersionPrefix)
			return
		}
		nodePath = p
	})
	if nodeErr != nil {
		t.Fatal(nodeErr)
	}
	return nodePath
}

// controlFunc answers a script's control() call. The result is sent back as
// JSON; an error makes control() throw in the script.
type controlFunc func(cmd string, arg json.RawMessage) (any, error)

// lockedBuffer collects the interleaved stdout and stderr of a script.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runNode runs scripts/<script> with env added to the environment and fails
// t with the script's output when it exits non-zero. Lines the script writes
// as "@@ctl {json}" go to ctl, whose reply is written to the script's stdin.
func runNode(t *testing.T, script string, env map[string]string, ctl controlFunc) {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("scripts", script))
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.WaitDelay = 5 * time.Second
	out := &lockedBuffer{}
	cmd.Stderr = out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		req, ok := strings.CutPrefix(line, "@@ctl ")
		if !ok {
			fmt.Fprintln(out, line)
			continue
		}
		reply := handleControl(ctl, req)
		fmt.Fprintf(out, "%s\n  -> %s\n", line, reply)
		if _, err := fmt.Fprintln(stdin, reply); err != nil {
			fmt.Fprintf(out, "(writing the control reply: %v)\n", err)
		}
	}
	err = cmd.Wait()
	elapsed := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (killed after %v)", err, scriptTimeout)
		}
		t.Fatalf("node scripts/%s failed after %v: %v\n----- script output -----\n%s", script, elapsed, err, out.String())
	}
	t.Logf("node scripts/%s passed in %v", script, elapsed)
	if testing.Verbose() {
		t.Logf("----- script output -----\n%s", out.String())
	}
}

func handleControl(ctl controlFunc, req string) string {
	var msg struct {
		Cmd string          `json:"cmd"`
		Arg json.RawMessage `json:"arg"`
	}
	var reply struct {
		Result any    `json:"result"`
		Error  string `json:"error,omitempty"`
	}
	if err := json.Unmarshal([]byte(req), &msg); err != nil {
		reply.Error = "bad control request: " + err.Error()
	} else if ctl == nil {
		reply.Error = "this test takes no control commands"
	} else if res, err := ctl(msg.Cmd, msg.Arg); err != nil {
		reply.Error = err.Error()
	} else {
		reply.Result = res
	}
	b, err := json.Marshal(reply)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "reply does not marshal: " + err.Error()})
	}
	return string(b)
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
