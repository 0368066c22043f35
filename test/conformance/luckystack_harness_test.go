package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
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
	ln, err := srv.Bind()
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, luckystack.ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-ctx.Done():
			t.Error("Serve did not return after Shutdown")
		}
	})
	return &lsServer{Server: srv, URL: "http://" + srv.Addr()}
}
