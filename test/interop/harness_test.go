package interop

// Runs Node scripts with a control channel to the Go test, as
// test/conformance does (kept separate so each suite pins its own packages).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// pinned lists the packages scripts need and the version prefix
// package.json pins.
var pinned = map[string]string{
	"socket.io":                "4.8.",
	"socket.io-client":         "4.8.",
	"@socket.io/redis-adapter": "8.3.0",
	"redis":                    "5.",
}

// scriptTimeout bounds one Node script; the script's own run() deadline is
// shorter.
const scriptTimeout = 90 * time.Second

// requireNode returns the node binary, failing (not skipping) when node or
// the pinned packages are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not in PATH: the interop suite needs Node 20+ (apt-get install nodejs npm)")
	}
	for pkg, prefix := range pinned {
		raw, err := os.ReadFile(filepath.Join("node_modules", pkg, "package.json"))
		if err != nil {
			t.Fatalf("test/interop/node_modules is missing %s: run `npm ci` in test/interop (`make test` does it)", pkg)
		}
		var meta struct{ Version string }
		if err := json.Unmarshal(raw, &meta); err != nil || !strings.HasPrefix(meta.Version, prefix) {
			t.Fatalf("test/interop/node_modules has %s %q, want %s*: run `npm ci` in test/interop", pkg, meta.Version, prefix)
		}
	}
	return p
}

// controlFunc answers a script's control() call; an error makes control()
// throw in the script.
type controlFunc func(cmd string, arg json.RawMessage) (any, error)

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

// runNode runs scripts/<script> with env added and fails t with the
// script's output when it exits non-zero. "@@ctl {json}" lines go to ctl,
// whose reply is written to the script's stdin.
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

var errUnknownCmd = errors.New("unknown control command")
