package conformance

import (
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
)

// lsServer is a full LuckyStack server (sessions, rooms, modules) serving on
// a free loopback port; the scripts reach it at URL.
type lsServer struct {
	*luckystack.Server
	URL string
}

// newLSServer builds and serves a LuckyStack server for one test and shuts
// it down when the test ends. Unless opts says otherwise it listens on any
// free port and reads no environment; the Node client sends no Origin
// header unless a script sets one, and such handshakes pass the origin gate.
func newLSServer(t *testing.T, opts luckystack.Options) *lsServer {
	t.Helper()
	if opts.Port == 0 && opts.Args == nil {
		opts.Args = []string{"0"}
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	srv, err := luckystack.NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return &lsServer{Server: srv, URL: servetest.Serve(t, srv, 10*time.Second)}
}
