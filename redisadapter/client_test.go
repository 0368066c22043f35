package redisadapter

// The adapter's tests drive real sockets through internal/testutil/sioclient;
// this file only adapts it to their shape: arguments decoded to Go values
// (binary ones as []byte) and failures reported on the test.

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// event is one received event with decoded arguments.
type event struct {
	Name string
	Args []any
}

// testClient is one socket on the "/" namespace.
type testClient struct {
	t  testing.TB
	c  *sioclient.Client
	id string
}

// dial connects to a server's base URL and waits for the namespace CONNECT.
func dial(t testing.TB, ctx context.Context, baseURL string) *testClient {
	t.Helper()
	c, err := sioclient.Dial(ctx, baseURL, sioclient.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", baseURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &testClient{t: t, c: c, id: c.ID()}
}

// onAck makes the client answer every event that asks for an ack with
// fn(name)'s arguments.
func (c *testClient) onAck(fn func(name string) []any) {
	c.c.OnAck(func(e sioclient.Event) []any { return fn(e.Name) })
}

func decoded(t testing.TB, e sioclient.Event) event {
	t.Helper()
	vals, err := e.Values()
	if err != nil {
		t.Fatal(err)
	}
	return event{Name: e.Name, Args: vals}
}

// emitWithAck sends an event and waits for the server's ack.
func (c *testClient) emitWithAck(ctx context.Context, name string, args ...any) []json.RawMessage {
	c.t.Helper()
	r, err := c.c.EmitWithAck(ctx, name, args...)
	if err != nil {
		c.t.Fatalf("no ack for %q: %v", name, err)
	}
	return r
}

// join asks the server (see the "join" handler of newCluster) to put the
// socket in room.
func (c *testClient) join(ctx context.Context, room string) {
	c.t.Helper()
	c.emitWithAck(ctx, "join", room)
}

// expect removes and returns the oldest event called name, waiting for it.
func (c *testClient) expect(ctx context.Context, name string) event {
	c.t.Helper()
	e, err := c.c.Expect(ctx, name)
	if err != nil {
		c.t.Fatalf("client %s: waiting for %q: %v (buffered: %v)", c.id, name, err, c.c.Buffered())
	}
	return decoded(c.t, e)
}

// count reports how many events called name are buffered.
func (c *testClient) count(name string) int {
	n := 0
	for _, e := range c.c.Buffered() {
		if e.Name == name {
			n++
		}
	}
	return n
}

// waitClosed waits until the server ended the connection or the namespace.
func (c *testClient) waitClosed(ctx context.Context) error {
	_, err := c.c.WaitDisconnect(ctx)
	return err
}

// buffered returns the events received and not yet taken, decoded.
func (c *testClient) buffered() []event {
	raw := c.c.Buffered()
	out := make([]event, 0, len(raw))
	for _, e := range raw {
		out = append(out, decoded(c.t, e))
	}
	return out
}
