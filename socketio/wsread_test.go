package socketio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

// clientFrame builds a frame as a client sends it: masked unless unmasked.
func clientFrame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	maskBit := byte(0x80)
	if unmasked {
		maskBit = 0
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, maskBit|byte(n))
	case n <= 0xFFFF:
		out = append(out, maskBit|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, maskBit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if unmasked {
		return append(out, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

// hideSyscall hides a conn's SyscallConn, as a TLS conn would, so the
// reader takes its portable path.
type hideSyscall struct{ net.Conn }

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) { return testutil.TCPPair(t) }

// readerPaths runs fn over the RawConn path and the portable one.
func readerPaths(t *testing.T, limit int64, fn func(t *testing.T, rd *wsReader, peer net.Conn)) {
	for _, tc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"rawconn", func(c net.Conn) net.Conn { return c }},
		{"portable", func(c net.Conn) net.Conn { return hideSyscall{c} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, cli := tcpPair(t)
			rd := newWSReader(tc.wrap(srv), &bufPool{size: 256}, limit)
			fn(t, rd, cli)
		})
	}
}

func TestWSReaderMessages(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789"), 7000) // 70,000 bytes: 64-bit length
	mid := bytes.Repeat([]byte("m"), 300)           // 16-bit length, above the buffer
	readerPaths(t, 1<<20, func(t *testing.T, rd *wsReader, peer net.Conn) {
		var stream []byte
		stream = append(stream, clientFrame(true, opText, []byte("4hello"), false)...)
		// A fragmented message with a ping between its fragments.
		stream = append(stream, clientFrame(false, opText, []byte("4hel"), false)...)
		stream = append(stream, clientFrame(true, opPing, []byte("p!"), false)...)
		stream = append(stream, clientFrame(false, opContinuation, []byte("lo "), false)...)
		stream = append(stream, clientFrame(true, opContinuation, []byte("world"), false)...)
		stream = append(stream, clientFrame(true, opBinary, mid, false)...)
		stream = append(stream, clientFrame(false, opBinary, big[:40000], false)...)
		stream = append(stream, clientFrame(true, opContinuation, big[40000:], false)...)
		stream = append(stream, clientFrame(true, opText, nil, false)...)
		go func() {
			// Dribbled in small writes so frames straddle reads.
			for len(stream) > 0 {
				n := min(len(stream), 777)
				if _, err := peer.Write(stream[:n]); err != nil {
					return
				}
				stream = stream[n:]
			}
		}()
		var pongs []string
		pong := func(p []byte) { pongs = append(pongs, string(p)) }
		want := []struct {
			op   byte
			data []byte
		}{
			{opText, []byte("4hello")},
			{opText, []byte("4hello world")},
			{opBinary, mid},
			{opBinary, big},
			{opText, []byte{}},
		}
		for i, w := range want {
			op, data, err := rd.next(pong)
			require.NoError(t, err, "message %d", i)
			assert.Equal(t, w.op, op, "message %d", i)
			assert.Equal(t, w.data, data, "message %d", i)
		}
		assert.Equal(t, []string{"p!"}, pongs)
		require.True(t, rd.idle())
		// Waiting with nothing to read, as an idle connection's reader does.
		require.NoError(t, rd.nc.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		assert.ErrorIs(t, rd.fill(), os.ErrDeadlineExceeded)
		if rd.raw != nil {
			assert.Nil(t, rd.bufp, "a waiting reader holds no buffer")
		}
	})
}

func TestWSReaderRefusesBadFrames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		frames [][]byte
		err    error
	}{
		{"unmasked", [][]byte{clientFrame(true, opText, []byte("4x"), true)}, errWSProtocol},
		{"reserved bit", [][]byte{append([]byte{0xC1}, clientFrame(true, opText, []byte("4x"), false)[1:]...)}, errWSProtocol},
		{"unknown opcode", [][]byte{clientFrame(true, 0x3, []byte("4x"), false)}, errWSProtocol},
		{"continuation first", [][]byte{clientFrame(true, opContinuation, []byte("4x"), false)}, errWSProtocol},
		{"new message inside a fragmented one", [][]byte{
			clientFrame(false, opText, []byte("4x"), false), clientFrame(true, opText, []byte("4y"), false)}, errWSProtocol},
		{"fragmented ping", [][]byte{clientFrame(false, opPing, nil, false)}, errWSProtocol},
		{"long ping", [][]byte{clientFrame(true, opPing, make([]byte, 126), false)}, errWSProtocol},
		{"over the limit", [][]byte{clientFrame(true, opText, make([]byte, 101), false)}, errWSTooBig},
		{"fragments over the limit", [][]byte{
			clientFrame(false, opText, make([]byte, 60), false), clientFrame(true, opContinuation, make([]byte, 60), false)}, errWSTooBig},
		{"close", [][]byte{clientFrame(true, opClose, []byte{0x03, 0xE8}, false)}, errWSClosed},
		{"cut mid-frame", [][]byte{clientFrame(true, opText, []byte("4hello"), false)[:5]}, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			readerPaths(t, 100, func(t *testing.T, rd *wsReader, peer net.Conn) {
				for _, f := range tc.frames {
					_, err := peer.Write(f)
					require.NoError(t, err)
				}
				if tc.err == io.EOF {
					require.NoError(t, peer.Close())
				}
				var err error
				for err == nil {
					_, _, err = rd.next(func([]byte) {})
				}
				assert.ErrorIs(t, err, tc.err)
			})
		})
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	key := [4]byte{1, 2, 3, 4}
	for n := range 20 {
		p := bytes.Repeat([]byte{0xAA}, n)
		mask(p, key)
		for i, c := range p {
			require.Equal(t, 0xAA^key[i%4], c, "len %d byte %d", n, i)
		}
	}
}

// A frame that breaks the protocol closes only its connection, with the
// close code Node's ws sends.
func TestWebSocketProtocolErrorCloses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked frame", clientFrame(true, opText, []byte(`42["x"]`), true), websocket.CloseProtocolError},
		{"oversize message", clientFrame(true, opText, []byte(`42["`+strings.Repeat("a", 200)+`"]`), false), websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{MaxHTTPBufferSize: 100})
			r := watchDisconnects(e.srv.Sockets())
			w, _ := e.sioClient()
			other, _ := e.sioClient()
			_, err := w.c.NetConn().Write(tc.frame)
			require.NoError(t, err)
			require.NoError(t, w.c.SetReadDeadline(time.Now().Add(waitFor)))
			var ce *websocket.CloseError
			for {
				if _, _, err = w.c.ReadMessage(); err != nil {
					break
				}
			}
			require.True(t, errors.As(err, &ce), "want a close frame, got %v", err)
			assert.Equal(t, tc.code, ce.Code)
			_, reason := r.next(t)
			assert.Equal(t, "transport error", reason)

			require.NoError(t, e.srv.Emit("still", 1))
			assert.Equal(t, `42["still",1]`, other.readText())
		})
	}
}

// A client's ping is answered with its payload, through the write queue.
func TestWebSocketClientPingAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.Sockets().On("work", func(ev *Event) { _ = ev.Ack("done") })
	w, _ := e.sioClient()
	pong := make(chan string, 1)
	w.c.SetPongHandler(func(s string) error { pong <- s; return nil })
	require.NoError(t, w.c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(waitFor)))
	// The event is read after the ping, so its ack is queued after the
	// pong; reading the ack runs the pong handler first.
	w.send(`421["work"]`)
	assert.Equal(t, `431["done"]`, w.readText())
	assert.Equal(t, "hi", recv(t, pong))
}
