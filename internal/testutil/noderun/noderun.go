// Package noderun runs the Node scripts of the conformance, interop and
// router suites with a line-based control channel back to the Go test.
//
// A script writes "@@ctl {json}" on stdout to ask the Go side to act or
// report; the reply is one JSON line on its stdin. Any other output is kept
// and shown when the script fails (or with -v).
package noderun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// ControlFunc answers a script's control() call. The result is sent back as
// JSON; an error makes control() throw in the script.
type ControlFunc func(cmd string, arg json.RawMessage) (any, error)

// Runner runs scripts from one Node test folder whose node_modules must
// hold the pinned packages.
type Runner struct {
	// Dir is the folder holding package.json, node_modules and scripts/,
	// relative to the test's working directory ("." for the suite's own).
	Dir string
	// Pinned maps each package the scripts import to the version prefix
	// package.json pins ("4.8." or "8.3.0").
	Pinned map[string]string
	// Timeout bounds one script. Zero means 90s.
	Timeout time.Duration

	once sync.Once
	node string
	err  error
}

// Require returns the node binary, failing (never skipping) the test when
// node or a pinned package is missing: CI installs both. Call it before
// costly set-up so a missing install fails fast.
func (r *Runner) Require(t testing.TB) string {
	t.Helper()
	r.once.Do(func() {
		p, err := exec.LookPath("node")
		if err != nil {
			r.err = fmt.Errorf("node is not in PATH: this suite needs Node 20+ (apt-get install nodejs npm)")
			return
		}
		names := make([]string, 0, len(r.Pinned))
		for n := range r.Pinned {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, pkg := range names {
			prefix := r.Pinned[pkg]
			raw, err := os.ReadFile(filepath.Join(r.Dir, "node_modules", pkg, "package.json"))
			if err != nil {
				r.err = fmt.Errorf("%s/node_modules is missing %s: run `npm ci` there (`make test` does it)", r.Dir, pkg)
				return
			}
			var meta struct{ Version string }
			if err := json.Unmarshal(raw, &meta); err != nil || !strings.HasPrefix(meta.Version, prefix) {
				r.err = fmt.Errorf("%s/node_modules has %s %q, want %s*: run `npm ci` there", r.Dir, pkg, meta.Version, prefix)
				return
			}
		}
		r.node = p
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.node
}

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

// Run runs <Dir>/scripts/<script> with env added to the environment and
// fails t with the script's output when it exits non-zero.
func (r *Runner) Run(t testing.TB, script string, env map[string]string, ctl ControlFunc) {
	t.Helper()
	node := r.Require(t)
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(r.Dir, "scripts", script))
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
			err = fmt.Errorf("%w (killed after %v)", err, timeout)
		}
		t.Fatalf("node %s/scripts/%s failed after %v: %v\n----- script output -----\n%s", r.Dir, script, elapsed, err, out.String())
	}
	t.Logf("node scripts/%s passed in %v", script, elapsed)
	if testing.Verbose() {
		t.Logf("----- script output -----\n%s", out.String())
	}
}

func handleControl(ctl ControlFunc, req string) string {
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
