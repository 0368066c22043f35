package servetest

import (
	"io"
	"net/http"
	"testing"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil"
)

// The leak check fails the package if a stopped server left a goroutine.
func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

func newServer(t *testing.T) *luckystack.Server {
	t.Helper()
	srv, err := luckystack.NewServer(luckystack.Options{Args: []string{"0"}, IP: "127.0.0.1",
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestServeAnswersUntilStopped(t *testing.T) {
	srv := newServer(t)
	ln, err := srv.Bind()
	if err != nil {
		t.Fatal(err)
	}
	stop := Start(t, srv, ln)
	base := "http://" + srv.Addr()
	c := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatalf("GET while served: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 || body[0] != '0' {
		t.Fatalf("polling handshake: %d %q", resp.StatusCode, body)
	}
	c.CloseIdleConnections()
	stop(5 * time.Second)
	stop(5 * time.Second) // a second stop does nothing
	if _, err := c.Get(base + "/"); err == nil {
		t.Fatal("the server still answers after stop")
	}
}

func TestServeReturnsItsURL(t *testing.T) {
	srv := newServer(t)
	base := Serve(t, srv, 5*time.Second)
	if base != "http://"+srv.Addr() {
		t.Fatalf("Serve returned %q, server at %q", base, srv.Addr())
	}
}
