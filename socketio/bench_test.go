package socketio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"
)

func BenchmarkEncodeEvent(b *testing.B) {
	srv := NewServer(Options{})
	msg := map[string]any{"user": "ann", "text": "hello, world", "n": 42}
	b.ReportAllocs()
	for b.Loop() {
		data, att, err := srv.encoders.encodeArray("chat", []any{msg})
		if err != nil {
			b.Fatal(err)
		}
		_ = encodeWire(&Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: data, Attachments: att})
	}
}

func BenchmarkEncodeBinaryEvent(b *testing.B) {
	srv := NewServer(Options{})
	msg := map[string]any{"name": "f", "file": make([]byte, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		data, att, err := srv.encoders.encodeArray("upload", []any{msg})
		if err != nil {
			b.Fatal(err)
		}
		_ = encodeWire(&Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: data, Attachments: att})
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(`2/chat,12["chat",{"user":"ann","text":"hello, world","n":42}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		p, _, err := decodePacket(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := splitArray(p.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryEvent(b *testing.B) {
	in := []byte(`51-["upload",{"name":"f","file":{"_placeholder":true,"num":0}}]`)
	b.ReportAllocs()
	for b.Loop() {
		p, n, err := decodePacket(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := checkPlaceholders(p.Data, n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPollingPayload(b *testing.B) {
	body := []byte("42[\"a\",1]\x1e3\x1e451-[\"b\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBAUGBwgJCg==")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		decodePollingPayload(body, func(byte, []byte, bool) bool { return true })
	}
}

// fakeSocket connects a socket to nsp over an Engine.IO conn that has no
// transport: what is sent to it stays in its queue, where drain takes it as
// a polling GET would. Broadcasts to such sockets cost exactly the fan-out.
func fakeSocket(srv *Server, nsp *Namespace) *conn {
	c := newConn(srv, &handshakeInfo{time: time.Now()})
	srv.register(c)
	s := newSocket(nsp, c.client, nil)
	s.connected = true
	c.client.sockets = append(c.client.sockets, s)
	nsp.add(s)
	return c
}

func drain(conns []*conn) {
	for _, c := range conns {
		c.mu.Lock()
		batch := c.takeLocked()
		c.mu.Unlock()
		c.giveBack(batch)
	}
}

// BenchmarkBroadcast broadcasts to 10 and 1,000 local sockets. The
// allocations per op stay the same: the packet is encoded once and queued by
// pointer for every recipient.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			srv := NewServer(Options{})
			defer srv.Close()
			nsp := srv.Sockets()
			conns := make([]*conn, n)
			for i := range conns {
				conns[i] = fakeSocket(srv, nsp)
			}
			msg := map[string]any{"user": "ann", "text": "hello, world"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := srv.Emit("chat", msg); err != nil {
					b.Fatal(err)
				}
				if i++; i%64 == 0 {
					drain(conns)
				}
			}
			b.StopTimer()
			drain(conns)
		})
	}
}

// discardConn is a websocket peer that reads nothing and swallows writes.
type discardConn struct {
	closed chan struct{}
	once   sync.Once
}

func (d *discardConn) Read([]byte) (int, error)         { <-d.closed; return 0, io.EOF }
func (d *discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (d *discardConn) Close() error                     { d.once.Do(func() { close(d.closed) }); return nil }
func (d *discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (d *discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (d *discardConn) SetDeadline(time.Time) error      { return nil }
func (d *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (d *discardConn) SetWriteDeadline(time.Time) error { return nil }

type hijackRecorder struct {
	*httptest.ResponseRecorder
	conn net.Conn
}

func (h hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// wsSocket opens a websocket session on srv over a discardConn and connects
// it to "/".
func wsSocket(b *testing.B, srv *Server) *conn {
	req := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=websocket", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	nc := &discardConn{closed: make(chan struct{})}
	srv.ServeHTTP(hijackRecorder{httptest.NewRecorder(), nc}, req)
	srv.mu.RLock()
	var c *conn
	for _, x := range srv.conns {
		if x.wsNet == nc {
			c = x
		}
	}
	srv.mu.RUnlock()
	if c == nil {
		b.Fatal("no websocket session")
	}
	c.client.onData([]byte("0"), false)
	return c
}

func idle(conns []*conn) bool {
	for _, c := range conns {
		c.mu.Lock()
		busy := c.writing || len(c.out) > 0
		c.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// BenchmarkBroadcastWebSocket is BenchmarkBroadcast over real websocket
// sessions whose peer swallows everything; each op waits until every
// session wrote the packet, so the writers' costs are counted too.
func BenchmarkBroadcastWebSocket(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			srv := NewServer(Options{PingInterval: time.Hour, PingTimeout: time.Hour})
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			conns := make([]*conn, n)
			for i := range conns {
				conns[i] = wsSocket(b, srv)
			}
			for srv.Sockets().SocketCount() < n || !idle(conns) {
				time.Sleep(time.Millisecond)
			}
			msg := map[string]any{"user": "ann", "text": "hello, world"}
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Emit("chat", msg); err != nil {
					b.Fatal(err)
				}
				for !idle(conns) {
					runtime.Gosched()
				}
			}
		})
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	in := []byte(`["apiRequest",{"name":"api/bench/echo/v1","data":{"ts":1764137000000123},"responseIndex":123456}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := checkJSON(in); err != nil {
			b.Fatal(err)
		}
	}
}
