package socketio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func eioError(code int, message string) string {
	b, _ := json.Marshal(map[string]any{"code": code, "message": message})
	return string(b)
}

func TestHandshakeErrorsPolling(t *testing.T) {
	t.Parallel()
	forbidden := errors.New("go away")
	e := newEnv(t, Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return forbidden
		}
		return nil
	}})
	tests := []struct {
		name   string
		method string
		query  string
		status int
		code   int
		msg    string
	}{
		{"unsupported EIO 3", "GET", "EIO=3&transport=polling", 400, 5, "Unsupported protocol version"},
		{"missing EIO", "GET", "transport=polling", 400, 5, "Unsupported protocol version"},
		{"EIO 5", "GET", "EIO=5&transport=polling", 400, 5, "Unsupported protocol version"},
		{"unknown transport", "GET", "EIO=4&transport=flash", 400, 0, "Transport unknown"},
		{"missing transport", "GET", "EIO=4", 400, 0, "Transport unknown"},
		{"webtransport", "GET", "EIO=4&transport=webtransport", 400, 0, "Transport unknown"},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, 3, "Bad request"},
		{"unknown sid GET", "GET", "EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown"},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown"},
		{"forbidden", "GET", "EIO=4&transport=polling&deny=1", 403, 4, "go away"},
		// Node runs allowRequest before it looks at the protocol version.
		{"forbidden before version", "GET", "EIO=3&transport=polling&deny=1", 403, 4, "go away"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := e.with(t).do(tc.method, tc.query, "", nil)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			assert.JSONEq(t, eioError(tc.code, tc.msg), body)
		})
	}
	assert.Zero(t, e.srv.ConnCount())
}

func TestHandshakeErrorsWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return errors.New("no websocket for you")
		}
		return nil
	}})
	tests := []struct {
		name   string
		query  string
		status int
		code   int
		msg    string
	}{
		{"unsupported EIO", "EIO=3&transport=websocket", 400, 5, "Unsupported protocol version"},
		{"unknown transport", "EIO=4&transport=carrier-pigeon", 400, 0, "Transport unknown"},
		{"upgrade on polling", "EIO=4&transport=polling", 400, 3, "Bad request"},
		{"unknown sid", "EIO=4&transport=websocket&sid=abc", 400, 1, "Session ID unknown"},
		{"forbidden", "EIO=4&transport=websocket&deny=1", 403, 4, "no websocket for you"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := e.dialRaw(tc.query)
			if c != nil {
				_ = c.Close()
			}
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
			body, _ := io.ReadAll(resp.Body)
			assert.JSONEq(t, eioError(tc.code, tc.msg), string(body))
		})
	}
}

func TestDisabledTransports(t *testing.T) {
	t.Parallel()
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{DisablePolling: true})
		status, body, _ := e.do("GET", "EIO=4&transport=polling", "", nil)
		assert.Equal(t, 400, status)
		assert.JSONEq(t, eioError(0, "Transport unknown"), body)
		w := e.dialWS()
		assert.Empty(t, w.open.Upgrades)
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{DisableWebSocket: true})
		_, resp, err := e.dialRaw("EIO=4&transport=websocket")
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		assert.Equal(t, 400, resp.StatusCode)
		p := e.pollHandshake()
		assert.Empty(t, p.open.Upgrades, "no upgrade to a disabled transport")
	})
}

func TestPollingHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	status, body, h := e.do("GET", "EIO=4&transport=polling&t=abc", "", nil)
	require.Equal(t, 200, status)
	assert.Equal(t, "text/plain; charset=UTF-8", h.Get("Content-Type"))
	o := parseOpen(t, body)
	assert.Regexp(t, `^[A-Za-z0-9_-]{20}$`, o.SID)
	assert.Equal(t, []string{"websocket"}, o.Upgrades)
	assert.Equal(t, int64(25000), o.PingInterval)
	assert.Equal(t, int64(20000), o.PingTimeout)
	assert.Equal(t, int64(1000000), o.MaxPayload)
	// The raw JSON has exactly Node's keys.
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body[1:]), &raw))
	assert.Len(t, raw, 5)
	assert.Equal(t, 1, e.srv.ConnCount())

	e2 := newEnv(t, Options{DisableUpgrades: true, PingInterval: time.Second, PingTimeout: 2 * time.Second, MaxHTTPBufferSize: 1234})
	o2 := e2.pollHandshake().open
	assert.Equal(t, []string{}, o2.Upgrades)
	assert.Equal(t, int64(1000), o2.PingInterval)
	assert.Equal(t, int64(2000), o2.PingTimeout)
	assert.Equal(t, int64(1234), o2.MaxPayload)
}

func TestIDsAreUniqueAndURLSafe(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		id := newID()
		require.Regexp(t, `^[A-Za-z0-9_-]{20}$`, id)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestPollingRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	got := make(chan string, 1)
	e.srv.Sockets().On("hello", func(ev *Event) {
		var s string
		require.NoError(t, ev.Args.Decode(0, &s))
		got <- s
		require.NoError(t, ev.Socket.Emit("a", 1))
		require.NoError(t, ev.Socket.Emit("b", 2))
	})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	pkts := p.get()
	require.Len(t, pkts, 1)
	assert.Regexp(t, `^40\{"sid":"[A-Za-z0-9_-]{20}"\}$`, pkts[0])

	// Two packets in one POST body, then both replies in one GET.
	require.Equal(t, 200, p.post(`42["hello","world"]`, "6"))
	assert.Equal(t, "world", recv(t, got))
	pkts = p.get()
	if len(pkts) == 1 { // the second emit may come with the next poll
		pkts = append(pkts, p.get()...)
	}
	assert.Equal(t, []string{`42["a",1]`, `42["b",2]`}, pkts)

	status, body, h := e.do("POST", p.query(), "40/none,", nil)
	assert.Equal(t, 200, status)
	assert.Equal(t, "ok", body)
	assert.Equal(t, "text/html", h.Get("Content-Type"))
	assert.Equal(t, []string{`44/none,{"message":"Invalid namespace"}`}, p.get())
}

func TestPollingBinary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	got := make(chan []byte, 1)
	e.srv.Sockets().On("up", func(ev *Event) {
		var b []byte
		require.NoError(t, ev.Args.Decode(0, &b))
		got <- b
		require.NoError(t, ev.Socket.Emit("down", []byte{0xff, 0, 1}))
	})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	require.Equal(t, 200, p.post(`451-["up",{"_placeholder":true,"num":0}]`, "b"+base64.StdEncoding.EncodeToString([]byte("hi\x00"))))
	assert.Equal(t, []byte("hi\x00"), recv(t, got))
	assert.Equal(t, []string{`451-["down",{"_placeholder":true,"num":0}]`, "b/wAB"}, p.get())
}

// TestPollingSecondGETClosesSession: two pending GETs are a client bug that
// ends the session, as in engine.io; the first GET gets the close packet.
func TestPollingSecondGETClosesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := watchDisconnects(e.srv.Sockets())
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	first := p.getAsync()
	c := e.srv.conn(p.sid)
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.polling }, waitFor, time.Millisecond)
	status, body, _ := e.do("GET", p.query(), "", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, eioError(3, "Bad request"), body)
	assert.Equal(t, []string{"1"}, recv(t, first))
	_, reason := r.next(t)
	assert.Equal(t, "transport error", reason)
	status, body, _ = e.do("GET", p.query(), "", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, eioError(1, "Session ID unknown"), body)
}

// TestPollingAbortedGET: a long poll cut by the client ends the session with
// engine.io's "poll connection closed prematurely" reason.
func TestPollingAbortedGET(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := watchDisconnects(e.srv.Sockets())
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url(p.query()), nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := e.http.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	c := e.srv.conn(p.sid)
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.polling }, waitFor, time.Millisecond)
	cancel()
	require.Error(t, recv(t, done))
	_, reason := r.next(t)
	assert.Equal(t, "transport error", reason)
	assert.Eventually(t, func() bool { return e.srv.ConnCount() == 0 }, waitFor, time.Millisecond)
}

func TestPollingOversizePOST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxHTTPBufferSize: 100})
	r := watchDisconnects(e.srv.Sockets())
	big := `42["x","` + strings.Repeat("a", 200) + `"]`

	t.Run("content-length", func(t *testing.T) {
		e := e.with(t)
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
		assert.Equal(t, http.StatusRequestEntityTooLarge, p.post(big))
		_, reason := r.next(t)
		assert.Equal(t, "transport error", reason)
		status, _, _ := e.do("GET", p.query(), "", nil)
		assert.Equal(t, 400, status)
	})
	t.Run("chunked", func(t *testing.T) {
		e := e.with(t)
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
		// A body of unknown length is cut at the limit.
		req, err := http.NewRequest("POST", e.url(p.query()), io.MultiReader(strings.NewReader(big)))
		require.NoError(t, err)
		req.ContentLength = -1
		resp, err := e.http.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		_, reason := r.next(t)
		assert.Equal(t, "transport error", reason)
	})
	t.Run("at the limit", func(t *testing.T) {
		e := e.with(t)
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
		fits := `42["x","` + strings.Repeat("a", 100-10) + `"]`
		require.Len(t, fits, 100)
		assert.Equal(t, 200, p.post(fits))
	})
}

func TestPollingBinaryContentTypeRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := e.pollHandshake()
	status, _, _ := e.do("POST", p.query(), "4hello", http.Header{"Content-Type": {"application/octet-stream"}})
	assert.Equal(t, 400, status)
	assert.Eventually(t, func() bool { return e.srv.ConnCount() == 0 }, waitFor, time.Millisecond)
}

func TestWebSocketOversizeMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxHTTPBufferSize: 100})
	r := watchDisconnects(e.srv.Sockets())
	w, _ := e.sioClient()
	other, _ := e.sioClient()
	w.send(`42["x","` + strings.Repeat("a", 200) + `"]`)
	w.waitClosed()
	_, reason := r.next(t)
	assert.Equal(t, "transport error", reason)

	other.send(`42["still","here"]`)
	require.NoError(t, e.srv.Emit("ping?", 1))
	assert.Equal(t, `42["ping?",1]`, other.readText())
}

func TestWebSocketDirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	got := make(chan string, 1)
	e.srv.Sockets().OnConnection(func(s *Socket) { got <- s.Transport() })
	w := e.dialWS()
	assert.Empty(t, w.open.Upgrades)
	assert.Len(t, w.open.SID, 20)
	w.connect("/", "")
	assert.Equal(t, "websocket", recv(t, got))
	// The sid of a websocket session cannot be polled.
	status, body, _ := e.do("GET", "EIO=4&transport=polling&sid="+w.open.SID, "", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, eioError(3, "Bad request"), body)
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	opts := Options{PingInterval: 30 * time.Millisecond, PingTimeout: 150 * time.Millisecond}
	// Subtests where the client answers get a generous timeout: on a loaded
	// machine (-race, other packages in parallel) a polling round trip can
	// take longer than 150 ms, and that must not read as a missed pong.
	answered := Options{PingInterval: 30 * time.Millisecond, PingTimeout: 2 * time.Second}

	t.Run("websocket answered", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, answered)
		w, _ := e.sioClient()
		w.autoPong = false
		for range 5 {
			require.Equal(t, "2", w.readText())
			w.send("3")
		}
		require.NoError(t, e.srv.Emit("alive", true))
		for {
			msg := w.readText()
			if msg == "2" {
				w.send("3")
				continue
			}
			assert.Equal(t, `42["alive",true]`, msg)
			break
		}
	})
	t.Run("websocket ping timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		r := watchDisconnects(e.srv.Sockets())
		w, _ := e.sioClient()
		w.autoPong = false
		msgs := w.waitClosed()
		assert.Contains(t, msgs, "2")
		_, reason := r.next(t)
		assert.Equal(t, "ping timeout", reason)
	})
	t.Run("polling answered", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, answered)
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
		for range 3 {
			assert.Equal(t, []string{"2"}, p.get())
			require.Equal(t, 200, p.post("3"))
		}
		assert.Equal(t, 1, e.srv.ConnCount())
	})
	t.Run("polling ping timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		r := watchDisconnects(e.srv.Sockets())
		p := e.pollHandshake()
		require.Equal(t, 200, p.post("40"))
		p.get()
		_, reason := r.next(t)
		assert.Equal(t, "ping timeout", reason)
		assert.Zero(t, e.srv.ConnCount())
	})
}

// upgrade runs the client side of a polling→websocket upgrade up to the
// probe answer and returns the probe connection.
func (p *pollClient) probe() *wsClient {
	p.env.t.Helper()
	c, _, err := p.env.dialRaw("EIO=4&transport=websocket&sid=" + p.sid)
	require.NoError(p.env.t, err)
	p.env.t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: p.env.t, c: c}
	w.send("2probe")
	require.Equal(p.env.t, "3probe", w.readText())
	return w
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.Sockets().On("which", func(ev *Event) { _ = ev.Ack(ev.Socket.Transport()) })
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()

	pending := p.getAsync()
	c := e.srv.conn(p.sid)
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.polling }, waitFor, time.Millisecond)
	w := p.probe()
	// The waiting GET is released with a noop so the client can pause.
	assert.Equal(t, []string{"6"}, recv(t, pending))
	w.send("5")
	w.send(`421["which"]`)
	assert.Equal(t, `431["websocket"]`, w.readText())

	// The polling sid is refused once upgraded, for GET and POST alike.
	status, body, _ := e.do("GET", p.query(), "", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, eioError(3, "Bad request"), body)
	assert.Equal(t, 400, p.post(`42["x"]`))
	// A second upgrade of the same session is refused.
	_, resp, err := e.dialRaw("EIO=4&transport=websocket&sid=" + p.sid)
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	assert.Equal(t, 400, resp.StatusCode)
}

// TestUpgradeKeepsOrder emits before, during and after the upgrade and checks
// the client sees every packet once, in order, across both transports.
func TestUpgradeKeepsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	sockets := make(chan *Socket, 1)
	e.srv.Sockets().OnConnection(func(s *Socket) { sockets <- s })
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	s := recv(t, sockets)

	var got []int
	collect := func(pkt string) {
		n, ok := strings.CutPrefix(pkt, `42["n",`)
		require.True(t, ok, pkt)
		i, err := strconv.Atoi(strings.TrimSuffix(n, "]"))
		require.NoError(t, err, pkt)
		got = append(got, i)
	}
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			require.NoError(t, s.Emit("n", i))
		}
	}
	emit(0, 100)
	for len(got) < 50 { // some over polling
		for _, pkt := range p.get() {
			collect(pkt)
		}
	}
	w := p.probe()
	emit(100, 200)
	// The client's last poll before it pauses.
	for _, pkt := range p.get() {
		if pkt != "6" {
			collect(pkt)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		emit(200, 300)
	}()
	w.send("5")
	for len(got) < 300 {
		collect(w.readText())
	}
	<-done
	want := make([]int, 300)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
}

func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{UpgradeTimeout: 50 * time.Millisecond})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	w := p.probe()
	// The client never sends "5": the probe is closed, polling goes on.
	w.waitClosed()
	require.NoError(t, e.srv.Emit("still", "polling"))
	assert.Equal(t, []string{`42["still","polling"]`}, p.get())
	assert.Equal(t, 200, p.post(`42["x"]`))
}

// TestProbeBeforePingKeepsLongPolling: while a probe websocket is open but has
// not been answered yet, a GET must long-poll, not return at once (which
// would make the client spin until the upgrade times out).
func TestProbeBeforePingKeepsLongPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	c, _, err := e.dialRaw("EIO=4&transport=websocket&sid=" + p.sid)
	require.NoError(t, err)
	defer c.Close()
	conn := e.srv.conn(p.sid)
	require.Eventually(t, func() bool { conn.mu.Lock(); defer conn.mu.Unlock(); return conn.probing != nil }, waitFor, time.Millisecond)
	pending := p.getAsync()
	require.Eventually(t, func() bool {
		select {
		case v := <-pending:
			require.Failf(t, "the GET returned at once", "%q", v)
		default:
		}
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return conn.polling
	}, waitFor, time.Millisecond)
	require.NoError(t, e.srv.Emit("news", 1))
	assert.Equal(t, []string{`42["news",1]`}, recv(t, pending))
}

// TestPollDuringUpgrade: once the probe is answered, a GET is released with a
// noop after engine.io's check interval: soon enough for the client to pause
// polling, not at once (a client that never pauses must not spin).
func TestPollDuringUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := e.pollHandshake()
	require.Equal(t, 200, p.post("40"))
	p.get()
	w := p.probe()
	for range 3 {
		start := time.Now()
		assert.Equal(t, []string{"6"}, p.get())
		assert.GreaterOrEqual(t, time.Since(start), upgradeNoopDelay)
	}
	// Queued packets still go out at once.
	require.NoError(t, e.srv.Emit("late", 1))
	assert.Equal(t, []string{`42["late",1]`}, p.get())
	w.send("5")
	require.NoError(t, e.srv.Emit("now", 2))
	assert.Equal(t, `42["now",2]`, w.readText())
}

func TestUpgradeDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{DisableUpgrades: true})
	p := e.pollHandshake()
	_, resp, err := e.dialRaw("EIO=4&transport=websocket&sid=" + p.sid)
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	assert.Equal(t, 400, resp.StatusCode)
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{CORS: &CORSOptions{
		AllowOrigin: func(o string) bool { return o == "https://app.example" },
		Credentials: true,
	}})
	status, _, h := e.do("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://app.example"}})
	assert.Equal(t, 200, status)
	assert.Equal(t, "https://app.example", h.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, h.Values("Vary"), "Origin")

	status, _, h = e.do("OPTIONS", "EIO=4&transport=polling", "", http.Header{
		"Origin":                         {"https://app.example"},
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"content-type"},
	})
	assert.Equal(t, 204, status)
	assert.Contains(t, h.Get("Access-Control-Allow-Methods"), "POST")
	assert.Equal(t, "content-type", h.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))

	// Errors carry the headers too, so the page can read them.
	status, _, h = e.do("GET", "EIO=3&transport=polling", "", http.Header{"Origin": {"https://app.example"}})
	assert.Equal(t, 400, status)
	assert.Equal(t, "https://app.example", h.Get("Access-Control-Allow-Origin"))

	_, _, h = e.do("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}})
	assert.Empty(t, h.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, h.Get("Access-Control-Allow-Credentials"))
}

func TestNotFoundOutsidePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	resp, err := e.http.Get(e.ts.URL + "/other/?EIO=4&transport=polling")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
	// The path without its trailing slash is served, as Node does.
	resp, err = e.http.Get(e.ts.URL + "/socket.io?EIO=4&transport=polling")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// TestInvalidEnginePackets: a malformed Engine.IO packet ends that session
// with Node's reason and nothing else.
func TestInvalidEnginePackets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := watchDisconnects(e.srv.Sockets())
	bystander, _ := e.sioClient()
	check := func(t *testing.T, wantReason string) {
		t.Helper()
		_, reason := r.next(t)
		assert.Equal(t, wantReason, reason)
		require.NoError(t, e.srv.Emit("still", "fine"))
		assert.Equal(t, `42["still","fine"]`, bystander.readText())
	}

	wsTests := []struct {
		name   string
		frame  string
		reason string
	}{
		{"empty text frame", "", "parse error"},
		{"unknown packet type", "9", "parse error"},
		{"letter packet type", "x", "parse error"},
		{"ping from a v4 client", "2", "transport error"},
		{"close packet", "1", "transport close"},
	}
	for _, tc := range wsTests {
		t.Run("websocket "+tc.name, func(t *testing.T) {
			w, _ := e.with(t).sioClient()
			w.send(tc.frame)
			w.waitClosed()
			check(t, tc.reason)
		})
	}
	pollTests := []struct {
		name   string
		body   string
		reason string
	}{
		{"unknown packet type", "9", "parse error"},
		{"empty packet", "6\x1e\x1e6", "parse error"},
		{"trailing separator", "6\x1e", "parse error"},
		{"bad base64", "b!!!", "parse error"},
		{"close packet", "1", "transport close"},
		{"ping from a v4 client", "2", "transport error"},
	}
	for _, tc := range pollTests {
		t.Run("polling "+tc.name, func(t *testing.T) {
			p := e.with(t).pollHandshake()
			require.Equal(t, 200, p.post("40"))
			p.get()
			p.post(tc.body)
			check(t, tc.reason)
		})
	}
	t.Run("ignored packets", func(t *testing.T) {
		e.srv.Sockets().On("x", func(ev *Event) { _ = ev.Ack("y") })
		w, _ := e.with(t).sioClient()
		w.send("6")
		w.send("5")
		w.send("0")
		w.send(`421["x"]`)
		assert.Equal(t, `431["y"]`, w.readText())
	})
}
