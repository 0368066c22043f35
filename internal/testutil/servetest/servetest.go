package servetest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
)

// Start serves srv on ln. The returned stop shuts srv down within timeout
// and fails t unless Shutdown succeeds and Serve then returns
// ErrServerClosed in that time; later calls do nothing.
func Start(t testing.TB, srv *luckystack.Server, ln net.Listener) (stop func(timeout time.Duration)) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var once sync.Once
	return func(timeout time.Duration) {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			select {
			case err := <-served:
				if !errors.Is(err, luckystack.ErrServerClosed) {
					t.Errorf("Serve returned %v, want ErrServerClosed", err)
				}
			case <-ctx.Done():
				t.Error("Serve did not return after Shutdown")
			}
		})
	}
}

// Serve binds srv, serves it until the test ends (then shuts it down
// within timeout, as Start's stop) and returns its base URL. Cleanups
// registered before Serve run after the shutdown.
func Serve(t testing.TB, srv *luckystack.Server, timeout time.Duration) string {
	t.Helper()
	ln, err := srv.Bind()
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	stop := Start(t, srv, ln)
	t.Cleanup(func() { stop(timeout) })
	return "http://" + srv.Addr()
}
