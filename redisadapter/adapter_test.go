package redisadapter

// Unit tests against miniredis: the exact bytes the adapter publishes (the
// golden samples of Node's adapter, with this adapter's uid), how it answers
// a Node peer's requests, and its failure rules.

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/socketio"
)

// spy records what is published on the channels matching its patterns.
type spy struct {
	t  testing.TB
	ps *redis.PubSub
	ch <-chan *redis.Message
}

func newSpy(t testing.TB, rc *redis.Client, patterns ...string) *spy {
	t.Helper()
	ps := rc.PSubscribe(testContext(t), patterns...)
	// Wait for the confirmation so nothing published next is missed.
	if _, err := ps.Receive(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	return &spy{t: t, ps: ps, ch: ps.Channel()}
}

// next returns the next message, failing after waitFor.
func (s *spy) next() *redis.Message {
	s.t.Helper()
	select {
	case m := <-s.ch:
		return m
	case <-time.After(waitFor):
		s.t.Fatal("nothing published")
		return nil
	}
}

// none asserts that nothing arrives for a short while.
func (s *spy) none(d time.Duration) {
	s.t.Helper()
	select {
	case m := <-s.ch:
		s.t.Fatalf("unexpected message on %s: %q", m.Channel, m.Payload)
	case <-time.After(d):
	}
}

// withUID replaces the golden samples' uid by ours; every golden uid is 6
// characters, so msgpack lengths stay right.
func withUID(golden []byte, from, to string) []byte {
	return bytes.ReplaceAll(golden, []byte(from), []byte(to))
}

func TestPublishesNodeBytes(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{})
	ctx := testContext(t)
	require.NoError(t, n.ra.Ready(ctx))
	s := newSpy(t, n.rc, "socket.io*")
	uid := n.nsa().UID()
	io := n.srv

	tests := []struct {
		name    string
		emit    func() error
		channel string
		want    []byte
	}{
		{"room", func() error { return io.To("room1").Emit("ev", map[string]any{"a": 1, "b": "x"}, 42) },
			"socket.io#/#room1#", goldenBroadcastRoom1},
		{"all", func() error { return io.Emit("all", "plain") }, "socket.io#/#", goldenBroadcastAll},
		{"binary", func() error { return io.To("room1").Emit("bin", []byte{1, 2, 3}) },
			"socket.io#/#room1#", goldenBroadcastBinary},
		{"except", func() error { return io.Except("room2").Emit("all", "plain") }, "socket.io#/#", goldenBroadcastExcept},
		{"join", func() error { return io.In("r1").SocketsJoin(ctx, "joined-remotely") },
			"socket.io-request#/#", []byte(strings.Replace(goldenJoin, "Wm1daO", uid, 1))},
		{"leave", func() error { return io.In("r1").SocketsLeave(ctx, "joined-remotely") },
			"socket.io-request#/#", []byte(strings.Replace(goldenLeave, "dgBOSp", uid, 1))},
		{"disconnect", func() error { return io.In("nobody").DisconnectSockets(ctx, true) },
			"socket.io-request#/#", []byte(strings.Replace(goldenDisconnect, "dgBOSp", uid, 1))},
		{"server-side emit", func() error { return io.Sockets().ServerSideEmit(ctx, "hello", "world", 1) },
			"socket.io-request#/#", []byte(strings.Replace(goldenSSE, "Wm1daO", uid, 1))},
	}
	for _, tc := range tests {
		require.NoError(t, tc.emit(), tc.name)
		msg := s.next()
		assert.Equal(t, tc.channel, msg.Channel, tc.name)
		assert.Equal(t, string(withUID(tc.want, "Wm1daO", uid)), msg.Payload, tc.name)
	}

	// Local broadcasts stay local.
	require.NoError(t, io.Sockets().Local().Emit("local", 1))
	s.none(100 * time.Millisecond)
}

func TestPublishOrderAndNoRoundTripPerBroadcast(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{})
	require.NoError(t, n.ra.Ready(testContext(t)))
	s := newSpy(t, n.rc, "socket.io#*")
	const count = 500
	start := time.Now()
	for i := range count {
		// Alternate channels: order holds across them too, since one
		// goroutine sends everything down one connection.
		op := n.srv.To("r")
		if i%2 == 1 {
			op = n.srv.To()
		}
		require.NoError(t, op.Emit("seq", i))
	}
	// 500 round trips to Redis would take far longer than queuing.
	t.Logf("%d broadcasts queued in %v", count, time.Since(start))
	for i := range count {
		msg := s.next()
		b, err := decodeBroadcast([]byte(msg.Payload))
		require.NoError(t, err)
		require.Equal(t, `["seq",`+strconv.Itoa(i)+`]`, string(b.Packet.Data), "message %d out of order", i)
	}
}

func TestReceivesNodeBroadcasts(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{})
	ctx := testContext(t)
	require.NoError(t, n.ra.Ready(ctx))
	in, out := dial(t, ctx, n.ts.URL), dial(t, ctx, n.ts.URL)
	in.join(ctx, "room1")

	// Published by a Node server (uid Wm1daO) and by a Node emitter.
	m.Publish("socket.io#/#room1#", string(goldenBroadcastRoom1))
	m.Publish("socket.io#/#room1#", string(goldenBroadcastBinary))
	m.Publish("socket.io#/#", string(withUID(goldenBroadcastAll, "Wm1daO", "emitte")))
	m.Publish("socket.io#/#", string(goldenBroadcastExcept)) // except room2: everyone here

	e := in.expect(ctx, "ev")
	assert.Equal(t, []any{map[string]any{"a": float64(1), "b": "x"}, float64(42)}, e.Args)
	e = in.expect(ctx, "bin")
	assert.Equal(t, []any{[]byte{1, 2, 3}}, e.Args, "bin arrives as binary")
	in.expect(ctx, "all")
	in.expect(ctx, "all")
	out.expect(ctx, "all")
	out.expect(ctx, "all")
	assert.Zero(t, out.count("ev")+out.count("bin"), "room broadcasts reached a socket outside the room")
}

func TestDropsUnknownRoomsBeforeDecoding(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{})
	ctx := testContext(t)
	require.NoError(t, n.ra.Ready(ctx))
	c := dial(t, ctx, n.ts.URL)
	c.join(ctx, "mine")

	// Not even msgpack: only a decoder would notice.
	m.Publish("socket.io#/#ghost#", "\xc1 garbage")
	m.Publish("socket.io#/#"+c.id+"#", "\xc1 garbage") // a socket id is a room we hold
	m.Publish("socket.io#/#", "\xc1 garbage")
	// A message we drop by uid is not decoded either.
	m.Publish("socket.io#/#mine#", string(withUID(goldenBroadcastAll, "Wm1daO", n.nsa().UID())))
	eventually(t, "4 messages received", func() bool { return n.ra.Stats().Received >= 4 })
	st := n.ra.Stats()
	assert.Equal(t, uint64(1), st.DroppedUnknownRoom)
	assert.Equal(t, uint64(2), st.Malformed, "the held room and the base channel are decoded")
	assert.Zero(t, c.count("all"), "own message delivered")
}

func TestAnswersNodeRequests(t *testing.T) {
	t.Parallel()
	for _, specific := range []bool{false, true} {
		name := "shared response channel"
		respCh := "socket.io-response#/#"
		if specific {
			name = "specific response channel"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := startMiniredis(t)
			n := newNode(t, m.Addr(), Options{PublishOnSpecificResponseChannel: specific})
			ctx := testContext(t)
			require.NoError(t, n.ra.Ready(ctx))
			c := dial(t, ctx, n.ts.URL)
			c.join(ctx, "r1")
			c.onAck(func(string) []any { return []any{"client-ack"} })
			s := newSpy(t, n.rc, "socket.io-response#*")
			ch := func(requester string) string {
				if specific {
					return respCh + requester + "#"
				}
				return respCh
			}

			m.Publish("socket.io-request#/#", goldenAllRooms)
			msg := s.next()
			assert.Equal(t, ch("dgBOSp"), msg.Channel)
			assert.Contains(t, msg.Payload, `{"requestId":"-6D5Kl","rooms":[`)
			assert.Contains(t, msg.Payload, `"r1"`)

			m.Publish("socket.io-request#/#", goldenFetch)
			msg = s.next()
			assert.Equal(t, ch("Wm1daO"), msg.Channel)
			r, err := decodeResponse([]byte(msg.Payload))
			require.NoError(t, err)
			socks, err := r.fetchedSockets()
			require.NoError(t, err)
			require.Len(t, socks, 1)
			assert.Equal(t, c.id, socks[0].ID)
			assert.ElementsMatch(t, []string{c.id, "r1"}, socks[0].Rooms)
			assert.Contains(t, string(socks[0].Handshake.Headers), `"user-agent":"Go-http-client/1.1"`, "headers in Node's shape")

			// With a handler: answered with its first ack argument.
			m.Publish("socket.io-request#/#", strings.Replace(goldenSSEWithAck, `"hello"`, `"ping"`, 1))
			msg = s.next()
			assert.Equal(t, `{"type":6,"requestId":"PComhd","data":"pong"}`, msg.Payload)
			// Without one: no answer at all, as Node.
			m.Publish("socket.io-request#/#", goldenSSEWithAck)
			s.none(100 * time.Millisecond)
			eventually(t, "server-side events", func() bool { return len(n.received()) == 2 })

			// Broadcast with acks: the client count and the client's ack. The
			// ack can be published first (the client answers while the count
			// is queued); Node's requester accepts either order.
			m.Publish("socket.io-request#/#", string(goldenBroadcastAckReq))
			c.expect(ctx, "noack")
			assert.ElementsMatch(t, []string{goldenClientCount, string(goldenAckResp)}, []string{s.next().Payload, s.next().Payload})

			// Remote join, leave and disconnect (no answers).
			m.Publish("socket.io-request#/#", goldenJoin)
			eventually(t, "remote join", func() bool { return n.nsa().HasRoom("joined-remotely") })
			m.Publish("socket.io-request#/#", goldenLeave)
			eventually(t, "remote leave", func() bool { return !n.nsa().HasRoom("joined-remotely") })
			m.Publish("socket.io-request#/#", strings.Replace(goldenDisconnect, "nobody", "r1", 1))
			require.NoError(t, c.waitClosed(ctx))
			s.none(50 * time.Millisecond)
		})
	}
}

func TestPartialResultsNameAnsweredServers(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{RequestsTimeout: 300 * time.Millisecond})
	ctx := testContext(t)
	require.NoError(t, n.ra.Ready(ctx))
	c := dial(t, ctx, n.ts.URL)
	// A silent peer: subscribed (so counted) but never answering.
	silent := n.rc.Subscribe(ctx, "socket.io-request#/#")
	_, err := silent.Receive(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })

	count, err := n.srv.Sockets().Adapter().ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, count)

	start := time.Now()
	socks, err := n.srv.Sockets().FetchSockets(context.Background()) // RequestsTimeout applies
	assert.Less(t, time.Since(start), 2*time.Second)
	require.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "fetchSockets: timeout reached: 1 of 2 servers answered")
	require.Len(t, socks, 1, "local sockets come with the error")
	assert.Equal(t, c.id, socks[0].ID)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	replies, err := n.srv.Sockets().ServerSideEmitWithAck(short, "ping")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "serverSideEmit: timeout reached: 0 of 1 servers answered")
	assert.Empty(t, replies)
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Expected)

	rooms, err := n.srv.Sockets().Adapter().AllRooms(context.Background())
	require.ErrorIs(t, err, ErrTimeout)
	assert.Contains(t, rooms, c.id)
}

func TestRedisDownKeepsLocalDeliveryAndNeverHangs(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	var reported []error
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	n := newNode(t, m.Addr(), Options{RequestsTimeout: 200 * time.Millisecond, OnError: func(err error) {
		<-mu
		reported = append(reported, err)
		mu <- struct{}{}
	}})
	ctx := testContext(t)
	require.NoError(t, n.ra.Ready(ctx))
	c := dial(t, ctx, n.ts.URL)
	m.Close()

	require.NoError(t, n.srv.Emit("still-here", 1))
	c.expect(ctx, "still-here")

	start := time.Now()
	socks, err := n.srv.Sockets().FetchSockets(context.Background()) // RequestsTimeout applies
	require.Error(t, err)
	assert.Len(t, socks, 1, "local sockets despite Redis")
	_, err = n.srv.Sockets().Adapter().ServerCount(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second, "requests outlived their deadline")
	eventually(t, "errors reported", func() bool {
		<-mu
		defer func() { mu <- struct{}{} }()
		return len(reported) > 0
	})
}

func TestCloseLeavesClientOpen(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	rc := newRedisClient(t, m.Addr())
	ra, err := New(rc, Options{})
	require.NoError(t, err)
	srv := socketio.NewServer(socketio.Options{Adapter: ra.For})
	ctx := testContext(t)
	require.NoError(t, ra.Ready(ctx))
	assert.PanicsWithValue(t, `redisadapter: namespace "/" already has an adapter: use one Adapter per server`,
		func() { ra.For(srv.Sockets()) })

	require.NoError(t, srv.Shutdown(ctx))
	require.NoError(t, ra.Close(ctx))
	require.NoError(t, ra.Close(ctx), "Close is idempotent")
	require.NoError(t, rc.Ping(ctx).Err(), "the caller's client stays open")
	assert.ErrorIs(t, srv.Emit("x"), ErrClosed)
	assert.ErrorIs(t, ra.Ready(ctx), ErrClosed)

	_, err = New(nil, Options{})
	assert.Error(t, err)
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	m := startMiniredis(t)
	n := newNode(t, m.Addr(), Options{MaxPendingPublishes: 1})
	require.NoError(t, n.ra.Ready(testContext(t)))
	var full int
	for range 2000 {
		if err := n.srv.Emit("x"); errors.Is(err, ErrQueueFull) {
			full++
		}
	}
	assert.Positive(t, full, "a queue of one should overflow")
	assert.Equal(t, uint64(full), n.ra.Stats().QueueFull)
}
