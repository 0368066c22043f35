package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamespaceConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	type seen struct {
		nsp  string
		auth string
	}
	got := make(chan seen, 4)
	e.srv.Sockets().OnConnection(func(s *Socket) { got <- seen{s.Namespace().Name(), string(s.Auth())} })
	e.srv.Of("/admin").OnConnection(func(s *Socket) { got <- seen{s.Namespace().Name(), string(s.Auth())} })

	w := e.dialWS()
	id := w.connect("/", "")
	assert.Equal(t, seen{"/", "{}"}, recv(t, got))
	adminID := w.connect("/admin", `{"token":"abc"}`)
	assert.Equal(t, seen{"/admin", `{"token":"abc"}`}, recv(t, got))
	assert.NotEqual(t, id, adminID)
	s, ok := e.srv.Sockets().Socket(id)
	require.True(t, ok)
	a, ok := e.srv.Of("/admin").Socket(adminID)
	require.True(t, ok)
	assert.Equal(t, s.ConnID(), a.ConnID(), "both namespaces share the Engine.IO session")
	assert.Equal(t, w.open.SID, s.ConnID())

	// Events are routed by namespace.
	e.srv.Of("/admin").On("who", func(ev *Event) { _ = ev.Ack(ev.Socket.Namespace().Name()) })
	e.srv.Sockets().On("who", func(ev *Event) { _ = ev.Ack(ev.Socket.Namespace().Name()) })
	w.send(`42/admin,7["who"]`)
	assert.Equal(t, `43/admin,7["/admin"]`, w.readText())
	w.send(`428["who"]`)
	assert.Equal(t, `438["/"]`, w.readText())

	// Leaving one namespace keeps the other.
	w.send("41/admin,")
	require.Eventually(t, func() bool { return e.srv.Of("/admin").SocketCount() == 0 }, waitFor, time.Millisecond)
	w.send(`429["who"]`)
	assert.Equal(t, `439["/"]`, w.readText())
}

func TestUnknownNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	w := e.dialWS()
	w.send("40/nope,")
	assert.Equal(t, `44/nope,{"message":"Invalid namespace"}`, w.readText())
	w.send(`40/nope,{"a":1}`)
	assert.Equal(t, `44/nope,{"message":"Invalid namespace"}`, w.readText())
	// The connection survives and can join a namespace that exists.
	w.connect("/", "")
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	t.Run("no namespace", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{ConnectTimeout: 50 * time.Millisecond})
		w := e.dialWS()
		w.waitClosed()
		assert.Eventually(t, func() bool { return e.srv.ConnCount() == 0 }, waitFor, time.Millisecond)
	})
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{ConnectTimeout: 50 * time.Millisecond})
		e.pollHandshake()
		assert.Eventually(t, func() bool { return e.srv.ConnCount() == 0 }, waitFor, time.Millisecond)
	})
	t.Run("rejected by middleware", func(t *testing.T) {
		t.Parallel()
		// As Node: only a namespace actually joined stops the timer.
		e := newEnv(t, Options{ConnectTimeout: 100 * time.Millisecond})
		e.srv.Sockets().Use(func(*Socket) error { return errors.New("no") })
		w := e.dialWS()
		w.send("40")
		assert.Equal(t, `44{"message":"no"}`, w.readText())
		w.waitClosed()
	})
	t.Run("connected in time", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{ConnectTimeout: 50 * time.Millisecond, PingInterval: 20 * time.Millisecond})
		w, _ := e.sioClient()
		// Answer pings for several connect timeouts: the conn stays.
		w.autoPong = false
		for range 10 {
			require.Equal(t, "2", readRaw(t, w))
			w.send("3")
		}
		assert.Equal(t, 1, e.srv.ConnCount())
	})
}

// readRaw returns the next text message, pings included.
func readRaw(t *testing.T, w *wsClient) string {
	t.Helper()
	_, data, err := w.read()
	require.NoError(t, err)
	return string(data)
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	order := make(chan string, 8)
	nsp := e.srv.Of("/secure")
	nsp.Use(func(s *Socket) error {
		order <- "mw1"
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Auth(), &auth)
		switch auth.Token {
		case "":
			return &ConnectError{Message: "unauthorized", Data: map[string]any{"code": 401}}
		case "plain":
			return errors.New("plain error")
		}
		s.SetData(auth.Token)
		return nil
	})
	nsp.Use(func(s *Socket) error { order <- "mw2"; return nil })
	nsp.OnConnection(func(s *Socket) { order <- "connection:" + s.Data().(string) })

	w := e.dialWS()
	w.send("40/secure,")
	assert.Equal(t, `44/secure,{"message":"unauthorized","data":{"code":401}}`, w.readText())
	assert.Equal(t, "mw1", recv(t, order))
	w.send(`40/secure,{"token":"plain"}`)
	assert.Equal(t, `44/secure,{"message":"plain error"}`, w.readText())
	assert.Equal(t, "mw1", recv(t, order))
	assert.Zero(t, nsp.SocketCount())

	w.connect("/secure", `{"token":"ok"}`)
	assert.Equal(t, "mw1", recv(t, order))
	assert.Equal(t, "mw2", recv(t, order))
	assert.Equal(t, "connection:ok", recv(t, order))
	assert.Equal(t, 1, nsp.SocketCount())
}

func TestEventsAndAcks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	type call struct {
		name     string
		args     []any
		wantsAck bool
	}
	calls := make(chan call, 8)
	handler := func(ev *Event) {
		vals, err := ev.Args.Values()
		require.NoError(t, err)
		calls <- call{ev.Name, vals, ev.WantsAck()}
		if ev.WantsAck() {
			require.NoError(t, ev.Ack("ok", vals))
			require.ErrorIs(t, ev.Ack("twice"), ErrNoAck)
		} else {
			require.ErrorIs(t, ev.Ack("unasked"), ErrNoAck)
		}
	}
	e.srv.Sockets().On("plain", handler)
	e.srv.Sockets().On("42", handler)
	w, id := e.sioClient()

	w.send(`42["plain",1,"two",{"three":[3]},null]`)
	assert.Equal(t, call{"plain", []any{1.0, "two", map[string]any{"three": []any{3.0}}, nil}, false}, recv(t, calls))
	w.send(`4212["plain","x"]`)
	assert.Equal(t, call{"plain", []any{"x"}, true}, recv(t, calls))
	assert.Equal(t, `4312["ok",["x"]]`, w.readText())
	w.send(`42[42,"numeric name"]`)
	assert.Equal(t, call{"42", []any{"numeric name"}, false}, recv(t, calls))
	// Unknown events are ignored.
	w.send(`42["nobody listens"]`)

	// Server to client with an ack.
	s, ok := e.srv.Sockets().Socket(id)
	require.True(t, ok)
	type result struct {
		args Args
		err  error
	}
	res := make(chan result, 1)
	go func() {
		a, err := s.EmitWithAck(context.Background(), "question", 41)
		res <- result{a, err}
	}()
	q := w.readText()
	ackID, ok := strings.CutPrefix(q, "42")
	require.True(t, ok, q)
	ackID, ok = strings.CutSuffix(ackID, `["question",41]`)
	require.True(t, ok, q)
	// An ack never issued is ignored, as Node does.
	w.send(`43999999["stray"]`)
	w.send("43" + ackID + `["answer",42]`)
	r := recv(t, res)
	require.NoError(t, r.err)
	var answer string
	var n int
	require.NoError(t, r.args.Decode(0, &answer))
	require.NoError(t, r.args.Decode(1, &n))
	assert.Equal(t, "answer", answer)
	assert.Equal(t, 42, n)
	// A second ack with the same id is ignored.
	w.send("43" + ackID + `["again"]`)

	// The per-emit context bounds the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "unanswered")
	require.ErrorIs(t, err, ErrAckTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, strings.HasPrefix(w.readText(), "42"))

	// Acks pending when the socket goes fail with ErrDisconnected.
	go func() {
		_, err := s.EmitWithAck(context.Background(), "never")
		res <- result{err: err}
	}()
	assert.Contains(t, w.readText(), `["never"]`)
	w.send("41")
	require.ErrorIs(t, recv(t, res).err, ErrDisconnected)
	_, err = s.EmitWithAck(context.Background(), "after")
	require.ErrorIs(t, err, ErrDisconnected)
}

func TestEventsOfOneSocketRunInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	var running atomic.Int32
	var mu sync.Mutex
	var got []int
	done := make(chan struct{})
	const n = 200
	e.srv.Sockets().On("n", func(ev *Event) {
		require.Equal(t, int32(1), running.Add(1), "handlers of one socket overlapped")
		defer running.Add(-1)
		var i int
		require.NoError(t, ev.Args.Decode(0, &i))
		mu.Lock()
		got = append(got, i)
		full := len(got) == n
		mu.Unlock()
		if full {
			close(done)
		}
	})
	w, _ := e.sioClient()
	for i := range n {
		w.send(fmt.Sprintf(`42["n",%d]`, i))
	}
	recv(t, done)
	mu.Lock()
	defer mu.Unlock()
	assert.True(t, slices.IsSorted(got))
}

func TestBinary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	type upload struct {
		Name  string
		Files [][]byte
		Meta  map[string]any
	}
	got := make(chan upload, 1)
	e.srv.Sockets().On("upload", func(ev *Event) {
		var u upload
		require.NoError(t, ev.Args.Decode(0, &u))
		v, err := ev.Args.Value(0)
		require.NoError(t, err)
		assert.Equal(t, []byte{1, 2}, v.(map[string]any)["files"].([]any)[0])
		got <- u
		// A binary ack.
		require.NoError(t, ev.Ack(map[string]any{"echo": u.Files[1]}))
	})
	w, id := e.sioClient()

	// Client to server, nested, with an ack.
	w.send(`452-5["upload",{"name":"a","files":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}],"meta":{"x":1}}]`)
	w.sendBinary([]byte{1, 2})
	w.sendBinary([]byte{3, 4, 5})
	u := recv(t, got)
	assert.Equal(t, "a", u.Name)
	assert.Equal(t, [][]byte{{1, 2}, {3, 4, 5}}, u.Files)
	assert.Equal(t, `461-5[{"echo":{"_placeholder":true,"num":0}}]`, w.readText())
	assert.Equal(t, []byte{3, 4, 5}, w.readBinary())

	// Server to client, nested in maps and slices.
	s, _ := e.srv.Sockets().Socket(id)
	require.NoError(t, s.Emit("down", map[string]any{"list": []any{[]byte{9}, "text", map[string]any{"deep": []byte{8, 7}}}}, []byte{6}))
	text := w.readText()
	assert.True(t, strings.HasPrefix(text, `453-["down",`), text)
	var payload []any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(text, "453-")), &payload))
	list := payload[1].(map[string]any)["list"].([]any)
	nums := []float64{
		list[0].(map[string]any)["num"].(float64),
		list[2].(map[string]any)["deep"].(map[string]any)["num"].(float64),
		payload[2].(map[string]any)["num"].(float64),
	}
	bins := [][]byte{w.readBinary(), w.readBinary(), w.readBinary()}
	assert.Equal(t, []byte{9}, bins[int(nums[0])])
	assert.Equal(t, []byte{8, 7}, bins[int(nums[1])])
	assert.Equal(t, []byte{6}, bins[int(nums[2])])

	// Server to client with a binary ack from the client.
	res := make(chan Args, 1)
	go func() {
		a, err := s.EmitWithAck(context.Background(), "give", []byte{1})
		assert.NoError(t, err)
		res <- a
	}()
	q := w.readText()
	assert.Equal(t, []byte{1}, w.readBinary())
	ackID := strings.TrimSuffix(strings.TrimPrefix(q, "451-"), `["give",{"_placeholder":true,"num":0}]`)
	w.send(`461-` + ackID + `[{"_placeholder":true,"num":0},"tail"]`)
	w.sendBinary([]byte("back"))
	a := recv(t, res)
	var b []byte
	require.NoError(t, a.Decode(0, &b))
	assert.Equal(t, []byte("back"), b)
	assert.Len(t, a.Attachments(), 1)
}

func TestRoomsAndBroadcast(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ready := make(chan *Socket, 3)
	e.srv.Sockets().OnConnection(func(s *Socket) { ready <- s })
	a, aid := e.sioClient()
	b, bid := e.sioClient()
	c, cid := e.sioClient()
	socks := map[string]*Socket{}
	for range 3 {
		s := recv(t, ready)
		socks[s.ID()] = s
	}
	sa, sb, sc := socks[aid], socks[bid], socks[cid]
	sa.Join("red", "blue")
	sb.Join("red")
	sc.Join("blue")
	rooms := sa.Rooms()
	slices.Sort(rooms)
	want := []string{aid, "blue", "red"}
	slices.Sort(want)
	assert.Equal(t, want, rooms)

	// expect checks which clients got a packet (the others get a marker
	// sent afterwards to everyone, so absence is checked without waiting).
	expect := func(t *testing.T, emit func() error, gets ...*wsClient) {
		t.Helper()
		require.NoError(t, emit())
		require.NoError(t, e.srv.Emit("marker"))
		for _, w := range []*wsClient{a, b, c} {
			msg := w.readText()
			if slices.Contains(gets, w) {
				assert.Equal(t, `42["m"]`, msg)
				msg = w.readText()
			}
			assert.Equal(t, `42["marker"]`, msg)
		}
	}
	expect(t, func() error { return e.srv.To("red").Emit("m") }, a, b)
	expect(t, func() error { return e.srv.In("red", "blue").Emit("m") }, a, b, c)
	expect(t, func() error { return e.srv.To("red").Except("blue").Emit("m") }, b)
	expect(t, func() error { return e.srv.Except("red").Emit("m") }, c)
	expect(t, func() error { return e.srv.To(cid).Emit("m") }, c)
	expect(t, func() error { return sa.Broadcast().Emit("m") }, b, c)
	expect(t, func() error { return sa.To("red").Emit("m") }, b)
	expect(t, func() error { return sa.To("blue").Emit("m") }, c)
	expect(t, func() error { return e.srv.Sockets().Local().To("blue").Emit("m") }, a, c)
	sa.Leave("red")
	expect(t, func() error { return e.srv.To("red").Emit("m") }, b)
	expect(t, func() error { return e.srv.To("nobody").Emit("m") })

	// Broadcast with acks collects one reply per recipient.
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		for _, w := range []*wsClient{a, c} {
			q := w.readText()
			id := strings.TrimSuffix(strings.TrimPrefix(q, "42"), `["vote"]`)
			w.send("43" + id + `["yes"]`)
		}
	}()
	replies, err := e.srv.To("blue").EmitWithAck(context.Background(), "vote")
	require.NoError(t, err)
	// The server may have the reply before WriteMessage returned: wait for
	// the writer before c writes again (gorilla allows one writer).
	recv(t, answered)
	require.Len(t, replies, 2)
	for _, r := range replies {
		var v string
		require.NoError(t, r.Decode(0, &v))
		assert.Equal(t, "yes", v)
	}

	// A socket leaves its rooms when it disconnects.
	c.send("41")
	adapter := e.srv.Sockets().Adapter().(*MemoryAdapter)
	require.Eventually(t, func() bool {
		return len(adapter.Select(BroadcastOptions{Rooms: []string{"blue"}})) == 1 && len(adapter.SocketRooms(cid)) == 0
	}, waitFor, time.Millisecond)
}

func TestDisconnectReasons(t *testing.T) {
	t.Parallel()
	// setup gives each case its own server, so reasons cannot mix.
	setup := func(t *testing.T) (*testEnv, *reasons, chan *Socket) {
		t.Parallel()
		e := newEnv(t, Options{})
		ready := make(chan *Socket, 1)
		e.srv.Sockets().OnConnection(func(s *Socket) { ready <- s })
		return e, watchDisconnects(e.srv.Sockets()), ready
	}

	t.Run("server namespace disconnect", func(t *testing.T) {
		e, r, ready := setup(t)
		w, id := e.sioClient()
		s := recv(t, ready)
		perSocket := make(chan string, 1)
		s.OnDisconnect(func(reason string) { perSocket <- reason })
		s.Disconnect(false)
		assert.Equal(t, "41", w.readText())
		gotID, reason := r.next(t)
		assert.Equal(t, id, gotID)
		assert.Equal(t, "server namespace disconnect", reason)
		assert.Equal(t, "server namespace disconnect", recv(t, perSocket))
		assert.False(t, s.Connected())
		assert.Error(t, s.Context().Err())
		// The Engine.IO connection itself stays open.
		w.connect("/", "")
		recv(t, ready)
	})
	t.Run("client namespace disconnect", func(t *testing.T) {
		e, r, ready := setup(t)
		w, _ := e.sioClient()
		recv(t, ready)
		w.send("41")
		_, reason := r.next(t)
		assert.Equal(t, "client namespace disconnect", reason)
	})
	t.Run("transport close", func(t *testing.T) {
		e, r, ready := setup(t)
		w, _ := e.sioClient()
		recv(t, ready)
		require.NoError(t, w.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")))
		_, reason := r.next(t)
		assert.Equal(t, "transport close", reason)
	})
	t.Run("transport close tcp", func(t *testing.T) {
		e, r, ready := setup(t)
		w, _ := e.sioClient()
		recv(t, ready)
		require.NoError(t, w.c.NetConn().Close())
		_, reason := r.next(t)
		assert.Equal(t, "transport close", reason)
	})
	t.Run("forced server close", func(t *testing.T) {
		e, r, ready := setup(t)
		w, _ := e.sioClient()
		s := recv(t, ready)
		go s.Disconnect(true)
		msgs := w.waitClosed()
		assert.Equal(t, []string{"41"}, msgs)
		_, reason := r.next(t)
		assert.Equal(t, "server namespace disconnect", reason, "as Node: sockets leave first, then the connection closes")
	})
	t.Run("forced close", func(t *testing.T) {
		e, r, ready := setup(t)
		w, _ := e.sioClient()
		recv(t, ready)
		w.send("42{}")
		w.waitClosed()
		_, reason := r.next(t)
		assert.Equal(t, "forced close", reason)
	})
	t.Run("disconnect from a remote socket", func(t *testing.T) {
		e, r, ready := setup(t)
		w, id := e.sioClient()
		recv(t, ready)
		socks, err := e.srv.Sockets().FetchSockets(context.Background())
		require.NoError(t, err)
		var target *RemoteSocket
		for _, rs := range socks {
			if rs.ID == id {
				target = rs
			}
		}
		require.NotNil(t, target)
		require.NoError(t, target.Disconnect(context.Background(), false))
		assert.Equal(t, "41", w.readText())
		_, reason := r.next(t)
		assert.Equal(t, "server namespace disconnect", reason)
	})
}

// TestInvalidSocketIOPackets: each malformed Socket.IO packet closes that
// client's connection only, with the reason Node gives.
func TestInvalidSocketIOPackets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := watchDisconnects(e.srv.Sockets())
	bystander, _ := e.sioClient()
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	tests := []struct {
		name   string
		text   []string
		binary [][]byte
		reason string
	}{
		{"unknown packet type", []string{"49"}, nil, "forced close"},
		{"letter packet type", []string{"4x"}, nil, "forced close"},
		{"empty message", []string{"4"}, nil, "forced close"},
		{"invalid JSON", []string{`42["a",`}, nil, "forced close"},
		{"trailing garbage", []string{`42["a"]x`}, nil, "forced close"},
		{"event not an array", []string{`42{"a":1}`}, nil, "forced close"},
		{"event without a name", []string{`42[]`}, nil, "forced close"},
		{"event name an object", []string{`42[{}]`}, nil, "forced close"},
		{"reserved event name", []string{`42["disconnect"]`}, nil, "forced close"},
		{"ack not an array", []string{`431"x"`}, nil, "forced close"},
		{"connect payload not an object", []string{`40[]`}, nil, "forced close"},
		{"disconnect with payload", []string{`41{}`}, nil, "forced close"},
		{"connect twice", []string{"40"}, nil, "forced server close"},
		{"connect_error from a client", []string{`44{"message":"x"}`}, nil, "forced server close"},
		{"event for a namespace not joined", []string{`42/other,["a"]`}, nil, "forced server close"},
		{"placeholder out of range", []string{`451-["a",{"_placeholder":true,"num":1}]`}, [][]byte{{1}}, "forced close"},
		{"placeholder negative", []string{`451-["a",{"_placeholder":true,"num":-1}]`}, [][]byte{{1}}, "forced close"},
		{"placeholder not a number", []string{`451-["a",{"_placeholder":true,"num":"0"}]`}, [][]byte{{1}}, "forced close"},
		{"placeholder fraction", []string{`451-["a",{"_placeholder":true,"num":0.5}]`}, [][]byte{{1}}, "forced close"},
		{"zero attachments", []string{`450-["a"]`}, nil, "forced close"},
		{"too many attachments", []string{`4599999-["a"]`}, nil, "forced close"},
		{"attachment count not a number", []string{`45x-["a"]`}, nil, "forced close"},
		{"text while binary pending", []string{`452-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `42["b"]`}, [][]byte{{1}}, "forced close"},
		{"binary without header", nil, [][]byte{{1}}, "forced close"},
		{"ack id overflow", []string{`42123456789012345678901234567890["a"]`}, nil, "forced close"},
		{"nesting too deep", []string{`42["a",` + deep + `]`}, nil, "forced close"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := e.with(t).sioClient()
			// Binary frames follow the first text frame (the header).
			if len(tc.text) > 0 {
				w.send(tc.text[0])
			}
			for _, b := range tc.binary {
				w.sendBinary(b)
			}
			for _, txt := range tc.text[min(1, len(tc.text)):] {
				w.send(txt)
			}
			w.waitClosed()
			_, reason := r.next(t)
			assert.Equal(t, tc.reason, reason)
			require.NoError(t, e.srv.Emit("still", "fine"))
			assert.Equal(t, `42["still","fine"]`, bystander.readText())
		})
	}
	t.Run("numeric event name", func(t *testing.T) {
		got := make(chan string, 1)
		e.srv.Sockets().On("-1.5", func(ev *Event) { got <- ev.Name })
		w, _ := e.with(t).sioClient()
		w.send(`42[-1.5]`)
		assert.Equal(t, "-1.5", recv(t, got))
	})
}

func TestHandshakeData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	got := make(chan Handshake, 1)
	e.srv.Of("/hs").OnConnection(func(s *Socket) { got <- s.Handshake() })
	before := time.Now()
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	c, _, err := d.Dial(e.wsURL("EIO=4&transport=websocket&room=lobby"), http.Header{"X-Custom": {"yes"}, "Origin": {"http://page.example"}})
	require.NoError(t, err)
	defer c.Close()
	w := &wsClient{t: t, c: c, autoPong: true}
	parseOpen(t, w.readText())
	w.connect("/hs", `{"user":"ann"}`)
	hs := recv(t, got)
	assert.Equal(t, "yes", hs.Headers.Get("X-Custom"))
	assert.Equal(t, "lobby", hs.Query.Get("room"))
	assert.Equal(t, "4", hs.Query.Get("EIO"))
	assert.Equal(t, "127.0.0.1", hs.Address)
	assert.True(t, hs.XDomain)
	assert.False(t, hs.Secure)
	assert.Equal(t, "/socket.io/?EIO=4&transport=websocket&room=lobby", hs.URL)
	assert.JSONEq(t, `{"user":"ann"}`, string(hs.Auth))
	assert.GreaterOrEqual(t, hs.Issued, before.UnixMilli())
	assert.LessOrEqual(t, hs.Issued, time.Now().UnixMilli())
	assert.NotEmpty(t, hs.Time)
}

func TestVolatile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	// Nobody polls: a volatile packet is dropped, a normal one waits.
	require.NoError(t, e.srv.Sockets().Local().Volatile().Emit("lost"))
	require.NoError(t, e.srv.Emit("kept"))
	assert.Equal(t, []string{`42["kept"]`}, p.get())
	// A waiting poll takes volatile packets.
	pending := p.getAsync()
	c := e.srv.conn(p.sid)
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.polling }, waitFor, time.Millisecond)
	require.NoError(t, e.srv.Sockets().Local().Volatile().Emit("seen"))
	assert.Equal(t, []string{`42["seen"]`}, recv(t, pending))
}

func TestSocketHandlers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.Sockets().On("who", func(ev *Event) { _ = ev.Ack("namespace") })
	e.srv.Sockets().OnConnection(func(s *Socket) {
		if s.Header("X-Own") != "" {
			s.On("who", func(ev *Event) { _ = ev.Ack("socket") })
		}
	})
	plain, _ := e.sioClient()
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	c, _, err := d.Dial(e.wsURL("EIO=4&transport=websocket"), http.Header{"X-Own": {"1"}})
	require.NoError(t, err)
	defer c.Close()
	own := &wsClient{t: t, c: c, autoPong: true}
	parseOpen(t, own.readText())
	own.connect("/", "")
	own.send(`421["who"]`)
	assert.Equal(t, `431["socket"]`, own.readText())
	plain.send(`421["who"]`)
	assert.Equal(t, `431["namespace"]`, plain.readText())
}

func TestOperators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	nsp := e.srv.Sockets()
	ready := make(chan *Socket, 2)
	nsp.OnConnection(func(s *Socket) { ready <- s })
	a, aid := e.sioClient()
	_, bid := e.sioClient()
	recv(t, ready)
	recv(t, ready)

	require.NoError(t, nsp.In(aid).SocketsJoin(ctx, "vip"))
	socks, err := nsp.In("vip").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, socks, 1)
	assert.Equal(t, aid, socks[0].ID)
	assert.ElementsMatch(t, []string{aid, "vip"}, socks[0].Rooms)
	assert.Equal(t, "127.0.0.1", socks[0].Handshake.Address)

	require.NoError(t, socks[0].Emit("direct", 1))
	assert.Equal(t, `42["direct",1]`, a.readText())
	require.NoError(t, socks[0].Leave(ctx, "vip"))
	socks, err = nsp.In("vip").FetchSockets(ctx)
	require.NoError(t, err)
	assert.Empty(t, socks)

	all, err := nsp.FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 2)
	rooms, err := nsp.Adapter().AllRooms(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{aid, bid}, rooms)
	n, err := nsp.Adapter().ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	// Alone in the cluster: server-side emits reach nobody, and wait for none.
	require.NoError(t, nsp.ServerSideEmit(ctx, "hello"))
	replies, err := nsp.ServerSideEmitWithAck(ctx, "hello")
	require.NoError(t, err)
	assert.Empty(t, replies)

	require.NoError(t, nsp.Except(bid).DisconnectSockets(ctx, true))
	assert.Equal(t, []string{"41"}, a.waitClosed())
	assert.Eventually(t, func() bool { return nsp.SocketCount() == 1 }, waitFor, time.Millisecond)
}

func TestHandleServerSideEmit(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{})
	defer srv.Close()
	nsp := srv.Sockets()
	got := make(chan []any, 1)
	nsp.OnServerSideEmit("sync", func(a Args, ack func(...any)) {
		v, err := a.Values()
		require.NoError(t, err)
		got <- v
		if ack != nil {
			ack("done", []byte{7})
			ack("ignored: only the first reply counts")
		}
	})
	var reply json.RawMessage
	var replyAtt [][]byte
	ok := nsp.HandleServerSideEmit(json.RawMessage(`["sync",1,{"_placeholder":true,"num":0}]`), [][]byte{{9}},
		func(d json.RawMessage, att [][]byte) { reply, replyAtt = d, att })
	require.True(t, ok)
	assert.Equal(t, []any{1.0, []byte{9}}, recv(t, got))
	assert.JSONEq(t, `["done",{"_placeholder":true,"num":0}]`, string(reply))
	assert.Equal(t, [][]byte{{7}}, replyAtt)

	assert.False(t, nsp.HandleServerSideEmit(json.RawMessage(`["nobody"]`), nil, nil))
	assert.False(t, nsp.HandleServerSideEmit(json.RawMessage(`[1]`), nil, nil))
	assert.False(t, nsp.HandleServerSideEmit(json.RawMessage(`[,]`), nil, nil), "peer garbage is refused, not a panic")
	assert.False(t, nsp.HandleServerSideEmit(json.RawMessage(`{}`), nil, nil))
}

func TestProbeAborted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	for _, first := range []string{"4hello", "3probe"} {
		c, _, err := e.dialRaw("EIO=4&transport=websocket&sid=" + p.sid)
		require.NoError(t, err)
		w := &wsClient{t: t, c: c}
		w.send(first)
		w.waitClosed()
		_ = c.Close()
	}
	// The session goes on over polling and can still be upgraded.
	require.NoError(t, e.srv.Emit("still", 1))
	assert.Equal(t, []string{`42["still",1]`}, p.get())
	w := p.probe()
	w.send("5")
	require.NoError(t, e.srv.Emit("now", "ws"))
	assert.Equal(t, `42["now","ws"]`, w.readText())
}

// TestRepeatedConnect: a CONNECT repeated while the first still runs its
// middlewares is ignored; once the namespace is joined, a CONNECT for it is
// a protocol violation that closes the connection, as in Node.
func TestRepeatedConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	release := make(chan struct{})
	e.srv.Sockets().Use(func(*Socket) error { <-release; return nil })
	e.srv.Sockets().On("ev", func(ev *Event) { _ = ev.Ack("done") })
	w := e.dialWS()
	w.send("40")
	w.send("40")
	w.send(`421["ev"]`)
	// The event, read after both CONNECTs, waits behind the middleware.
	cl := e.srv.conn(w.open.SID).client
	require.Eventually(t, func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if len(cl.sockets) != 1 {
			return false
		}
		s := cl.sockets[0]
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.inbox) > 0 && s.inbox[len(s.inbox)-1].event != nil
	}, waitFor, time.Millisecond)
	close(release)
	assert.True(t, strings.HasPrefix(w.readText(), `40{"sid":"`))
	assert.Equal(t, `431["done"]`, w.readText())
	assert.Equal(t, 1, e.srv.Sockets().SocketCount())

	w.send("40")
	w.waitClosed()
}

// TestConnectWaitsForConnectionHandlers: the client gets CONNECT only when
// the connection handlers are done, so a room a handler joins already
// holds the socket when the client learns it is connected, and what the
// handler emits follows CONNECT. Over both transports.
func TestConnectWaitsForConnectionHandlers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	release := make(chan struct{})
	e.srv.Of("/").OnConnection(func(s *Socket) {
		<-release
		s.Join("welcomed")
		assert.NoError(t, s.Emit("welcome"))
	})
	inRoom := func() int {
		socks, err := e.srv.Of("/").In("welcomed").FetchSockets(context.Background())
		require.NoError(t, err)
		return len(socks)
	}

	t.Run("websocket", func(t *testing.T) {
		w := e.with(t).dialWS()
		w.send("40")
		msgs := make(chan string, 4)
		go func() {
			defer close(msgs)
			for {
				_, data, err := w.c.ReadMessage()
				if err != nil {
					return
				}
				msgs <- string(data)
			}
		}()
		select {
		case m := <-msgs:
			t.Fatalf("got %q before the handler returned", m)
		case <-time.After(200 * time.Millisecond):
		}
		before := inRoom()
		release <- struct{}{}
		assert.True(t, strings.HasPrefix(recv(t, msgs), `40{"sid":"`))
		assert.Equal(t, before+1, inRoom(), "the handler's join happened before CONNECT reached the client")
		assert.Equal(t, `42["welcome"]`, recv(t, msgs))
	})

	t.Run("polling", func(t *testing.T) {
		p := e.with(t).pollHandshake()
		require.Equal(t, http.StatusOK, p.post("40"))
		got := p.getAsync()
		select {
		case pkts := <-got:
			t.Fatalf("got %q before the handler returned", pkts)
		case <-time.After(200 * time.Millisecond):
		}
		before := inRoom()
		release <- struct{}{}
		pkts := recv(t, got)
		require.NotEmpty(t, pkts)
		assert.True(t, strings.HasPrefix(pkts[0], `40{"sid":"`), "%q", pkts)
		assert.Equal(t, before+1, inRoom())
		rest := pkts[1:]
		if len(rest) == 0 {
			rest = p.get()
		}
		assert.Equal(t, `42["welcome"]`, rest[0])
	})
}

// TestConnectionHandlerMayWaitForAnAck: waiting for an ack inside a
// connection handler sends what was held, so the client can answer.
func TestConnectionHandlerMayWaitForAnAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	answers := make(chan string, 1)
	e.srv.Of("/").OnConnection(func(s *Socket) {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		a, err := s.EmitWithAck(ctx, "hello")
		if err != nil {
			answers <- err.Error()
			return
		}
		answers <- string(a.Raw(0))
	})
	w := e.dialWS()
	w.send("40")
	assert.True(t, strings.HasPrefix(w.readText(), `40{"sid":"`))
	ev := w.readText()
	require.True(t, strings.HasPrefix(ev, "42"), "%q", ev)
	id := strings.TrimSuffix(strings.TrimPrefix(ev, "42"), `["hello"]`)
	w.send("43" + id + `["there"]`)
	assert.Equal(t, `"there"`, recv(t, answers))
}

// TestRetryRightAfterConnectError: a CONNECT sent the moment the refusal
// arrives is answered, never taken for a duplicate of the refused one.
func TestRetryRightAfterConnectError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	nsp := e.srv.Of("/gate")
	nsp.Use(func(s *Socket) error {
		if string(s.Auth()) != `{"ok":true}` {
			return errors.New("refused")
		}
		return nil
	})
	w := e.dialWS()
	for range 200 {
		w.send("40/gate,")
		require.Equal(t, `44/gate,{"message":"refused"}`, w.readText())
	}
	w.connect("/gate", `{"ok":true}`)
}

// TestEventDetach: after Detach the socket's later events run while the
// detached handler still does, in their order; without it they wait.
func TestEventDetach(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	release := make(chan struct{})
	got := make(chan string, 16)
	nsp := e.srv.Of("/")
	nsp.OnConnection(func(s *Socket) {
		s.On("slow", func(ev *Event) {
			var detach bool
			require.NoError(t, ev.Args.Decode(0, &detach))
			if detach {
				ev.Detach()
				ev.Detach() // a second call changes nothing
			}
			got <- "slow started"
			<-release
			got <- "slow done"
		})
		s.On("fast", func(ev *Event) {
			var n int
			require.NoError(t, ev.Args.Decode(0, &n))
			got <- fmt.Sprint("fast ", n)
		})
	})
	w, _ := e.sioClient()

	w.send(`42["slow",true]`)
	assert.Equal(t, "slow started", recv(t, got))
	for i := range 3 {
		w.send(fmt.Sprintf(`42["fast",%d]`, i))
	}
	for i := range 3 {
		assert.Equal(t, fmt.Sprint("fast ", i), recv(t, got), "handled while the detached handler runs")
	}
	release <- struct{}{}
	assert.Equal(t, "slow done", recv(t, got))

	w.send(`42["slow",false]`)
	assert.Equal(t, "slow started", recv(t, got))
	w.send(`42["fast",9]`)
	select {
	case m := <-got:
		t.Fatalf("%q ran before the attached handler returned", m)
	case <-time.After(100 * time.Millisecond):
	}
	release <- struct{}{}
	assert.Equal(t, "slow done", recv(t, got))
	assert.Equal(t, "fast 9", recv(t, got))
}

// TestEmitWireText pins the text of emits and acks, whose encoding takes a
// shortcut for one json.RawMessage argument with a plain name: the result
// must be what the general encoder writes.
func TestEmitWireText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	socks := make(chan *Socket, 2)
	e.srv.Sockets().OnConnection(func(s *Socket) { socks <- s })
	e.srv.Of("/admin").OnConnection(func(s *Socket) { socks <- s })
	e.srv.Of("/admin").On("raw", func(ev *Event) { _ = ev.Ack(json.RawMessage(`{"r":true}`)) })
	w := e.dialWS()
	w.connect("/", "")
	root := recv(t, socks)
	w.connect("/admin", "")
	admin := recv(t, socks)

	tests := []struct {
		s    *Socket
		name string
		args []any
		want string
	}{
		{root, "apiResponse-7", []any{json.RawMessage(`{"status":"success","a":1}`)}, `42["apiResponse-7",{"status":"success","a":1}]`},
		{admin, "apiResponse-7", []any{json.RawMessage(`[1,2]`)}, `42/admin,["apiResponse-7",[1,2]]`},
		{root, `say "hi"`, []any{json.RawMessage(`1`)}, `42["say \"hi\"",1]`},
		{root, "tab\tname", []any{json.RawMessage(`1`)}, `42["tab\tname",1]`},
		{root, "café", []any{json.RawMessage(`"x"`)}, `42["café","x"]`},
		{root, "<&>", []any{json.RawMessage(`null`)}, `42["<&>",null]`},
		{root, "empty", []any{json.RawMessage(nil)}, `42["empty",null]`},
		{root, "two", []any{json.RawMessage(`1`), "x"}, `42["two",1,"x"]`},
		{root, "none", nil, `42["none"]`},
	}
	for _, tc := range tests {
		require.NoError(t, tc.s.Emit(tc.name, tc.args...))
		assert.Equal(t, tc.want, w.readText(), tc.name)
		if len(tc.args) != 1 {
			continue
		}
		// EmitRaw writes what Emit writes for one JSON argument, and keeps
		// neither slice: both are overwritten right after.
		name := []byte(tc.name)
		raw := append([]byte(nil), tc.args[0].(json.RawMessage)...)
		require.NoError(t, tc.s.EmitRaw(name, raw))
		clear(name)
		clear(raw)
		assert.Equal(t, tc.want, w.readText(), "EmitRaw "+tc.name)
	}
	w.send(`42/admin,5["raw"]`)
	assert.Equal(t, `43/admin,5[{"r":true}]`, w.readText())
}

// TestArgsRawIsKept: a handler may keep Args.Raw past its return (the api
// module does), so the server must never reuse that memory, whichever
// transport brought the event.
func TestArgsRawIsKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	kept := make(chan json.RawMessage, 64)
	e.srv.Sockets().On("keep", func(ev *Event) { kept <- ev.Args.Raw(0) })
	w := e.dialWS()
	w.connect("/", "")
	var got []json.RawMessage
	var want []string
	arg := func(i int, pad string) string {
		a := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat(pad, i*7))
		want = append(want, a)
		return a
	}
	for i := range 20 {
		w.send(`42["keep",` + arg(i, "x") + `]`)
		got = append(got, recv(t, kept))
	}
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	for i := 20; i < 30; i++ {
		require.Equal(t, 200, p.post(`42["keep",`+arg(i, "y")+`]`))
		got = append(got, recv(t, kept))
	}
	for i, raw := range got {
		assert.Equal(t, want[i], string(raw), "kept argument %d changed", i)
	}
}
