package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// waitFor bounds every blocking step of a test.
const waitFor = 5 * time.Second

// testEnv is one Server behind an httptest server on 127.0.0.1, torn down
// (Shutdown first, then the listener) when the test ends.
type testEnv struct {
	t    *testing.T
	srv  *Server
	ts   *httptest.Server
	http *http.Client
}

func newEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	srv := NewServer(opts)
	ts := httptest.NewServer(srv)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * waitFor}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ts.Close()
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	return &testEnv{t: t, srv: srv, ts: ts, http: client}
}

// with returns the env bound to a subtest, so that helpers fail the subtest.
func (e *testEnv) with(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

// url returns the server's Engine.IO URL with query appended.
func (e *testEnv) url(query string) string {
	return e.ts.URL + "/socket.io/?" + query
}

func (e *testEnv) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.url(query), "http")
}

// do sends a request and returns its status and body.
func (e *testEnv) do(method, query, body string, header http.Header) (int, string, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url(query), rd)
	require.NoError(e.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(b), resp.Header
}

// openInfo is the Engine.IO open packet.
type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

func parseOpen(t *testing.T, pkt string) openInfo {
	t.Helper()
	require.True(t, strings.HasPrefix(pkt, "0"), "open packet expected, got %q", pkt)
	var o openInfo
	require.NoError(t, json.Unmarshal([]byte(pkt[1:]), &o))
	return o
}

// pollClient is a raw long-polling Engine.IO client.
type pollClient struct {
	env  *testEnv
	sid  string
	open openInfo
}

func (e *testEnv) pollHandshake() *pollClient {
	e.t.Helper()
	status, body, _ := e.do(http.MethodGet, "EIO=4&transport=polling", "", nil)
	require.Equal(e.t, http.StatusOK, status, body)
	o := parseOpen(e.t, body)
	return &pollClient{env: e, sid: o.SID, open: o}
}

func (p *pollClient) query() string { return "EIO=4&transport=polling&sid=" + url.QueryEscape(p.sid) }

// get long-polls once and returns the packets of the response.
func (p *pollClient) get() []string {
	p.env.t.Helper()
	status, body, _ := p.env.do(http.MethodGet, p.query(), "", nil)
	require.Equal(p.env.t, http.StatusOK, status, body)
	return strings.Split(body, "\x1e")
}

// getAsync long-polls in the background.
func (p *pollClient) getAsync() <-chan []string {
	ch := make(chan []string, 1)
	go func() {
		resp, err := p.env.http.Get(p.env.url(p.query()))
		if err != nil {
			ch <- []string{"error: " + err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			ch <- []string{"status: " + resp.Status + " " + string(b)}
			return
		}
		ch <- strings.Split(string(b), "\x1e")
	}()
	return ch
}

// post sends packets joined by the record separator and returns the status.
func (p *pollClient) post(pkts ...string) int {
	p.env.t.Helper()
	status, _, _ := p.env.do(http.MethodPost, p.query(), strings.Join(pkts, "\x1e"), nil)
	return status
}

// getUntil polls until a packet satisfies match (answering pings) and
// returns it.
func (p *pollClient) getUntil(match func(string) bool) string {
	p.env.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, pkt := range p.get() {
			if match(pkt) {
				return pkt
			}
			if pkt == "2" {
				require.Equal(p.env.t, http.StatusOK, p.post("3"))
			}
		}
	}
	p.env.t.Fatalf("no matching packet within %s", waitFor)
	return ""
}

// wsClient is a raw websocket Engine.IO client.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	open openInfo
	// autoPong answers pings while reading.
	autoPong bool
}

func (e *testEnv) dialRaw(query string) (*websocket.Conn, *http.Response, error) {
	return (&websocket.Dialer{HandshakeTimeout: waitFor}).Dial(e.wsURL(query), nil)
}

// dialWS opens a websocket Engine.IO connection and reads its open packet.
func (e *testEnv) dialWS() *wsClient {
	e.t.Helper()
	c, _, err := e.dialRaw("EIO=4&transport=websocket")
	require.NoError(e.t, err)
	w := &wsClient{t: e.t, c: c, autoPong: true}
	e.t.Cleanup(func() { _ = c.Close() })
	w.open = parseOpen(e.t, w.readText())
	return w
}

// read returns the next message.
func (w *wsClient) read() (int, []byte, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(waitFor))
	return w.c.ReadMessage()
}

// readText returns the next text message that is not a ping.
func (w *wsClient) readText() string {
	w.t.Helper()
	for {
		mt, data, err := w.read()
		require.NoError(w.t, err)
		require.Equal(w.t, websocket.TextMessage, mt, "binary message %q", data)
		if w.autoPong && string(data) == "2" {
			w.send("3")
			continue
		}
		return string(data)
	}
}

// readBinary returns the next message, which must be binary.
func (w *wsClient) readBinary() []byte {
	w.t.Helper()
	mt, data, err := w.read()
	require.NoError(w.t, err)
	require.Equal(w.t, websocket.BinaryMessage, mt, "text message %q", data)
	return data
}

func (w *wsClient) send(text string) {
	w.t.Helper()
	require.NoError(w.t, w.c.WriteMessage(websocket.TextMessage, []byte(text)))
}

func (w *wsClient) sendBinary(b []byte) {
	w.t.Helper()
	require.NoError(w.t, w.c.WriteMessage(websocket.BinaryMessage, b))
}

// connect joins a namespace ("/" or "/name") and returns the socket id.
func (w *wsClient) connect(nsp string, auth string) string {
	w.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	w.send(prefix + auth)
	reply := w.readText()
	require.True(w.t, strings.HasPrefix(reply, prefix+`{"sid":"`), "connect reply %q", reply)
	var body struct{ SID string }
	require.NoError(w.t, json.Unmarshal([]byte(strings.TrimPrefix(reply, prefix)), &body))
	require.Len(w.t, body.SID, 20)
	return body.SID
}

// waitClosed reads until the server closes the connection and returns the
// text messages received meanwhile.
func (w *wsClient) waitClosed() []string {
	w.t.Helper()
	var got []string
	for {
		mt, data, err := w.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.t.Fatalf("connection still open after %s", waitFor)
			}
			return got
		}
		if mt == websocket.TextMessage {
			got = append(got, string(data))
		}
	}
}

// sioClient is a websocket client connected to the "/" namespace.
func (e *testEnv) sioClient() (*wsClient, string) {
	e.t.Helper()
	w := e.dialWS()
	return w, w.connect("/", "")
}

// reasons records disconnect reasons of a namespace by socket id.
type reasons struct{ ch chan [2]string }

func watchDisconnects(n *Namespace) *reasons {
	r := &reasons{ch: make(chan [2]string, 64)}
	n.OnDisconnect(func(s *Socket, reason string) { r.ch <- [2]string{s.ID(), reason} })
	return r
}

// next returns the next disconnect as (socket id, reason).
func (r *reasons) next(t *testing.T) (string, string) {
	t.Helper()
	select {
	case v := <-r.ch:
		return v[0], v[1]
	case <-time.After(waitFor):
		t.Fatal("no disconnect")
		return "", ""
	}
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}
