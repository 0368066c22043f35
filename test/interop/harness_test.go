package interop

import (
	"errors"
	"testing"

	"github.com/luckystack/luckystack-go/internal/testutil/noderun"
)

// node runs this suite's scripts; they need the Node server, its Redis
// adapter and the client, each pinned by package-lock.json.
var node = &noderun.Runner{Dir: ".", Pinned: map[string]string{
	"socket.io":                "4.8.",
	"socket.io-client":         "4.8.",
	"@socket.io/redis-adapter": "8.3.0",
	"redis":                    "5.",
}}

// controlFunc answers a script's control() call (see noderun).
type controlFunc = noderun.ControlFunc

// requireNode fails t when node or a pinned package is missing.
func requireNode(t *testing.T) { t.Helper(); node.Require(t) }

// runNode runs scripts/<script> and fails t with its output when it fails.
func runNode(t *testing.T, script string, env map[string]string, ctl controlFunc) {
	t.Helper()
	node.Run(t, script, env, ctl)
}

// errUnknownCmd answers a control command the test does not know.
var errUnknownCmd = errors.New("unknown control command")
