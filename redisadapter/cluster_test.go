package redisadapter

// Integration tests: Go servers sharing a real redis-server, driven through
// real websocket clients.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/socketio"
)

func TestClusterBroadcasts(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 2, Options{})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	ca := dial(t, ctx, a.ts.URL)    // in room r
	cb := dial(t, ctx, b.ts.URL)    // in room r
	other := dial(t, ctx, b.ts.URL) // in no room
	ca.join(ctx, "r")
	cb.join(ctx, "r")

	t.Run("room", func(t *testing.T) {
		require.NoError(t, a.srv.To("r").Emit("room", "from-a"))
		require.NoError(t, b.srv.To("r").Emit("room", "from-b"))
		for _, c := range []*testClient{ca, cb} {
			got := []any{c.expect(ctx, "room").Args[0], c.expect(ctx, "room").Args[0]}
			assert.ElementsMatch(t, []any{"from-a", "from-b"}, got)
		}
	})
	t.Run("all", func(t *testing.T) {
		require.NoError(t, a.srv.Emit("all", 1))
		for _, c := range []*testClient{ca, cb, other} {
			assert.Equal(t, []any{float64(1)}, c.expect(ctx, "all").Args)
		}
	})
	t.Run("except", func(t *testing.T) {
		require.NoError(t, a.srv.Except("r").Emit("except", 2))
		other.expect(ctx, "except")
		// Everyone saw "all" before, so a marker after "except" proves the
		// room sockets were skipped rather than slow.
		require.NoError(t, a.srv.Emit("marker"))
		for _, c := range []*testClient{ca, cb} {
			c.expect(ctx, "marker")
			assert.Zero(t, c.count("except"))
		}
		assert.Zero(t, other.count("room"), "room broadcast reached a socket outside the room")
	})
	t.Run("binary", func(t *testing.T) {
		require.NoError(t, a.srv.To("r").Emit("bin", []byte{1, 2, 3}, map[string]any{"x": []byte{4}}))
		e := cb.expect(ctx, "bin")
		assert.Equal(t, []any{[]byte{1, 2, 3}, map[string]any{"x": []byte{4}}}, e.Args)
	})
	t.Run("remote socket emit", func(t *testing.T) {
		socks, err := a.srv.In(cb.id).FetchSockets(ctx)
		require.NoError(t, err)
		require.Len(t, socks, 1)
		require.NoError(t, socks[0].Emit("direct", "hi"))
		assert.Equal(t, []any{"hi"}, cb.expect(ctx, "direct").Args)
	})
}

func TestClusterFetchRoomsAndCount(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 2, Options{})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	ca := dial(t, ctx, a.ts.URL)
	cb := dial(t, ctx, b.ts.URL)
	cb2 := dial(t, ctx, b.ts.URL)
	ca.join(ctx, "r")
	cb.join(ctx, "r")

	n, err := a.srv.Sockets().Adapter().ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	socks, err := a.srv.Sockets().FetchSockets(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ca.id, cb.id, cb2.id}, ids(socks))
	socks, err = b.srv.In("r").FetchSockets(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ca.id, cb.id}, ids(socks))
	for _, s := range socks {
		if s.ID == ca.id {
			assert.ElementsMatch(t, []string{ca.id, "r"}, s.Rooms)
			assert.Equal(t, "Go-http-client/1.1", s.Handshake.Headers.Get("User-Agent"), "headers survive the Node shape")
			assert.Equal(t, "websocket", s.Handshake.Query.Get("transport"))
		}
	}
	socks, err = a.srv.Except("r").FetchSockets(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{cb2.id}, ids(socks))

	rooms, err := a.srv.Sockets().Adapter().AllRooms(ctx)
	require.NoError(t, err)
	assert.Subset(t, rooms, []string{"r", ca.id, cb.id, cb2.id})
}

func ids(socks []*socketio.RemoteSocket) []string {
	out := make([]string, len(socks))
	for i, s := range socks {
		out[i] = s.ID
	}
	return out
}

func TestClusterServerSideEmit(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 3, Options{RequestsTimeout: time.Second})
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := testContext(t)

	require.NoError(t, a.srv.Sockets().ServerSideEmit(ctx, "hello", "world", 1))
	for _, n := range []*node{b, c} {
		eventually(t, "server-side event", func() bool { return len(n.received()) == 1 })
		vals, err := n.received()[0].Values()
		require.NoError(t, err)
		assert.Equal(t, []any{"world", float64(1)}, vals)
	}
	assert.Empty(t, a.received(), "the sender does not get its own event")

	replies, err := a.srv.Sockets().ServerSideEmitWithAck(ctx, "ping", "x")
	require.NoError(t, err)
	require.Len(t, replies, 2)
	for _, r := range replies {
		var v string
		require.NoError(t, r.Decode(0, &v))
		assert.Equal(t, "pong", v, "the first ack argument travels")
	}

	// c has no handler for "shy": it never answers, like a Node server.
	b.srv.Sockets().OnServerSideEmit("shy", func(_ socketio.Args, ack func(...any)) { ack("here") })
	start := time.Now()
	replies, err = a.srv.Sockets().ServerSideEmitWithAck(context.Background(), "shy")
	require.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "serverSideEmit: timeout reached: 1 of 2 servers answered")
	assert.Len(t, replies, 1, "the answers so far come with the error")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestClusterRemoteJoinLeaveDisconnect(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 2, Options{})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	cb := dial(t, ctx, b.ts.URL)
	cb2 := dial(t, ctx, b.ts.URL)

	require.NoError(t, a.srv.In(cb.id).SocketsJoin(ctx, "joined"))
	eventually(t, "remote join", func() bool { return hasRoom(b, cb.id, "joined") })
	require.NoError(t, a.srv.To("joined").Emit("welcome"))
	cb.expect(ctx, "welcome")

	require.NoError(t, a.srv.In("joined").SocketsLeave(ctx, "joined"))
	eventually(t, "remote leave", func() bool { return !hasRoom(b, cb.id, "joined") })

	require.NoError(t, a.srv.In(cb2.id).DisconnectSockets(ctx, false))
	require.NoError(t, cb2.waitClosed(ctx))
	_, still := b.srv.Sockets().Socket(cb.id)
	assert.True(t, still, "only the targeted socket is disconnected")
}

func hasRoom(n *node, id, room string) bool {
	s, ok := n.srv.Sockets().Socket(id)
	return ok && slices.Contains(s.Rooms(), room)
}

func TestClusterBroadcastWithAcks(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 2, Options{})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	clients := []*testClient{dial(t, ctx, a.ts.URL), dial(t, ctx, b.ts.URL), dial(t, ctx, b.ts.URL)}
	for _, c := range clients {
		c.onAck(func(string) []any { return []any{"ack-" + c.id, []byte{7}} })
	}

	replies, err := a.srv.To().EmitWithAck(ctx, "ask", 1)
	require.NoError(t, err)
	var got []string
	for _, r := range replies {
		var v string
		require.NoError(t, r.Decode(0, &v))
		got = append(got, v)
	}
	want := make([]string, len(clients))
	for i, c := range clients {
		want[i] = "ack-" + c.id
	}
	assert.ElementsMatch(t, want, got, "every client acked, from both servers")

	// Room-targeted, with a server that has no recipient (count 0).
	clients[1].join(ctx, "only-b")
	replies, err = a.srv.To("only-b").EmitWithAck(ctx, "ask")
	require.NoError(t, err)
	assert.Len(t, replies, 1)
}

func TestClusterPublishOrder(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, startRedis(t), 2, Options{})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	c := dial(t, ctx, b.ts.URL)
	c.join(ctx, "r")
	const count = 2000
	for i := range count {
		op := a.srv.To("r") // room channel
		if i%3 == 0 {
			op = a.srv.To() // namespace channel
		}
		require.NoError(t, op.Emit("seq", i))
	}
	for i := range count {
		e := c.expect(ctx, "seq")
		require.Equal(t, float64(i), e.Args[0], "out of order")
	}
}
