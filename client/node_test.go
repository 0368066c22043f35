package client_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/client"
)

// nodePeer runs bench/node/server.mjs, the socket.io 4.8 peer of the
// benchmarks (events ping, join and bcast; see bench/README.md).
type nodePeer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func startNodePeer(t *testing.T, port int) *nodePeer {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	require.NoError(t, err, "node is required for the Node peer tests (Node 20+)")
	script, err := filepath.Abs("../bench/node/server.mjs")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "socket.io"))
	require.NoError(t, err, "run npm ci in bench/node")
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
	}
	p := &nodePeer{t: t, port: port}
	p.cmd = exec.Command(nodeBin, script)
	p.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "HOST=127.0.0.1", "PING_INTERVAL_MS=1000")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start())
	t.Cleanup(p.kill)
	hc := &http.Client{Timeout: time.Second}
	require.Eventually(t, func() bool {
		resp, err := hc.Get(p.url() + "/stats")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "node peer did not start: %s", &p.out)
	hc.CloseIdleConnections()
	return p
}

func (p *nodePeer) url() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// kill stops the peer the hard way (SIGKILL), like a crash.
func (p *nodePeer) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func TestNodePeerEventsAcksAndReconnect(t *testing.T) {
	peer := startNodePeer(t, 0)
	c, err := client.Dial(ctxT(t), peer.url(), fastReconnect(client.Options{}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	assert.NotEmpty(t, c.ID())

	args, err := c.EmitWithAck(ctxT(t), "ping", 42, "two", map[string]any{"three": []int{3}})
	require.NoError(t, err)
	require.Len(t, args, 3)
	assert.JSONEq(t, `42`, string(args[0]))
	assert.JSONEq(t, `"two"`, string(args[1]))
	assert.JSONEq(t, `{"three":[3]}`, string(args[2]))

	args, err = c.EmitWithAck(ctxT(t), "join", "room-1")
	require.NoError(t, err)
	assert.Equal(t, []json.RawMessage{json.RawMessage(`"room-1"`)}, args)

	got := make(chan int64, 16)
	c.On("b", func(a []json.RawMessage) {
		var seq int64
		require.NoError(t, json.Unmarshal(a[0], &seq))
		got <- seq
	})
	args, err = c.EmitWithAck(ctxT(t), "bcast", map[string]any{"room": "room-1", "n": 5, "intervalMs": 0, "size": 3})
	require.NoError(t, err)
	var ack struct{ Sent int }
	require.NoError(t, json.Unmarshal(args[0], &ack))
	assert.Equal(t, 5, ack.Sent)
	for want := range int64(5) {
		select {
		case seq := <-got:
			assert.Equal(t, want, seq, "room broadcasts arrive in order")
		case <-time.After(waitFor):
			t.Fatal("missing broadcast")
		}
	}

	// A crash and a restart on the same port: the client notices and
	// comes back by itself.
	id := c.ID()
	peer.kill()
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusReconnecting))
	_, err = c.EmitWithAck(ctxT(t), "ping", 1)
	assert.ErrorIs(t, err, client.ErrNotConnected, "plain emits are never queued")
	startNodePeer(t, peer.port)
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	assert.NotEqual(t, id, c.ID())
	args, err = c.EmitWithAck(ctxT(t), "ping", "back")
	require.NoError(t, err)
	assert.JSONEq(t, `"back"`, string(args[0]))
}

// TestNodePeerAckCancelledByContext: an ack the server never sends ends
// with the caller's context, and the connection stays usable.
func TestNodePeerAckCancelledByContext(t *testing.T) {
	peer := startNodePeer(t, 0)
	c, err := client.Dial(ctxT(t), peer.url(), client.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	ctx, cancel := contextWithTimeout(100 * time.Millisecond)
	defer cancel()
	_, err = c.EmitWithAck(ctx, "no-such-event")
	assert.ErrorIs(t, err, ctx.Err())
	args, err := c.EmitWithAck(ctxT(t), "ping", true)
	require.NoError(t, err)
	assert.JSONEq(t, `true`, string(args[0]))
}
