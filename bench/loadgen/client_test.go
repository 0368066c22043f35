package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParsers(t *testing.T) {
	seq, ts, ok := parseB([]byte(`["b",12,1700000000123456,"xx"]`))
	if !ok || seq != 12 || ts != 1700000000123456 {
		t.Fatalf("parseB = %d %d %v", seq, ts, ok)
	}
	if _, _, ok := parseB([]byte(`["c",1,2]`)); ok {
		t.Fatal("parseB accepted another event")
	}
	id, payload, ok := parseAck([]byte(`42[7,"x"]`))
	if !ok || id != 42 || string(payload) != `[7,"x"]` {
		t.Fatalf("parseAck = %d %q %v", id, payload, ok)
	}
	if v, ok := firstInt([]byte(`[-5,1]`)); !ok || v != -5 {
		t.Fatalf("firstInt = %d %v", v, ok)
	}
	if got := string(stripNamespace([]byte(`/chat,3["a"]`))); got != `3["a"]` {
		t.Fatalf("stripNamespace = %q", got)
	}
}

func TestBackoff(t *testing.T) {
	for a := 0; a < 10; a++ {
		d := backoff(a, time.Second, 5*time.Second, 0.5)
		lo := time.Duration(float64(time.Second) * float64(int(1)<<a) * 0.5)
		if d < min(lo, 5*time.Second) || d > 5*time.Second {
			t.Fatalf("attempt %d: %v out of range", a, d)
		}
	}
	if backoff(3, 0, 5*time.Second, 0.5) != 0 {
		t.Fatal("zero minimum must mean no delay")
	}
}

// fakeServer is a tiny Socket.IO server implementing the bench contract
// (ping, join, bcast) so the scenarios can be tested without Node.
type fakeServer struct {
	mu    sync.Mutex
	rooms map[string][]*fakeConn
}

type fakeConn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *fakeConn) send(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &fakeConn{ws: ws}
	c.send(`0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case string(msg) == "40":
			c.send(`40{"sid":"x"}`)
			c.send("2") // heartbeat right away: the client must answer it
		case bytes.HasPrefix(msg, []byte("42")):
			id, payload, _ := parseAck(msg[2:])
			var args []json.RawMessage
			if err := json.Unmarshal(payload, &args); err != nil || len(args) == 0 {
				continue
			}
			var ev string
			_ = json.Unmarshal(args[0], &ev)
			ack := "43" + strconv.FormatUint(id, 10)
			switch ev {
			case "ping":
				b, _ := json.Marshal(args[1:])
				c.send(ack + string(b))
			case "join":
				var room string
				_ = json.Unmarshal(args[1], &room)
				f.mu.Lock()
				f.rooms[room] = append(f.rooms[room], c)
				f.mu.Unlock()
				c.send(ack + `["` + room + `"]`)
			case "bcast":
				var o struct {
					Room       string
					N          int
					IntervalMs float64
				}
				_ = json.Unmarshal(args[1], &o)
				go func() {
					for i := 0; i < o.N; i++ {
						f.mu.Lock()
						members := append([]*fakeConn(nil), f.rooms[o.Room]...)
						f.mu.Unlock()
						m := `42["b",` + strconv.Itoa(i) + `,` + strconv.FormatInt(nowMicros(), 10) + `,""]`
						for _, mc := range members {
							mc.send(m)
						}
						time.Sleep(time.Duration(o.IntervalMs * float64(time.Millisecond)))
					}
					c.send(ack + `[{"sent":` + strconv.Itoa(o.N) + `}]`)
				}()
			}
		}
	}
}

func runScenario(t *testing.T, cmd func(*flag.FlagSet) scenarioFunc, url string, args ...string) result {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var c common
	c.register(fs)
	run := cmd(fs)
	if err := fs.Parse(append([]string{"-url", url}, args...)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := newResult("test", &c)
	if err := run(ctx, &c, r); err != nil {
		t.Fatalf("scenario failed: %v (%v)", err, r)
	}
	return r
}

func TestScenariosAgainstFakeServer(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{rooms: map[string][]*fakeConn{}})
	defer srv.Close()

	r := runScenario(t, connectCmd, srv.URL, "-n", "20", "-c", "5")
	if r["connected"] != 20 {
		t.Fatalf("connect: %v", r)
	}
	r = runScenario(t, rpcCmd, srv.URL, "-clients", "3", "-duration", "300ms", "-warmup", "100ms", "-size", "10")
	if r["acks_in_window"].(int64) == 0 || r["unanswered"].(int64) != 0 {
		t.Fatalf("rpc: %v", r)
	}
	samples := filepath.Join(t.TempDir(), "samples")
	r = runScenario(t, rpcCmd, srv.URL, "-clients", "2", "-duration", "300ms", "-warmup", "100ms", "-rate", "200", "-samples", samples)
	if r["acks_in_window"].(int64) < 40 {
		t.Fatalf("open-loop rpc: %v", r)
	}
	b, err := os.ReadFile(samples)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if int64(len(lines)) != r["acks_in_window"].(int64) {
		t.Fatalf("-samples: %d latencies for %v acks in the window", len(lines), r["acks_in_window"])
	}
	for _, l := range lines {
		if us, err := strconv.ParseInt(l, 10, 64); err != nil || us < 0 || us > 5_000_000 {
			t.Fatalf("-samples: latency %q is not microseconds of a loopback round trip", l)
		}
	}
	r = runScenario(t, fanoutCmd, srv.URL, "-members", "5", "-rates", "50", "-step", "200ms", "-room", "t1")
	steps := r["steps"].([]step)
	if len(steps) != 1 || steps[0].Received != steps[0].Expected || steps[0].Expected != 50 {
		t.Fatalf("fanout: %+v", steps)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:3000", "http://127.9.9.9", "http://localhost:1", "http://[::1]:80"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:3000", "http://example.com", "http://192.168.1.1"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
