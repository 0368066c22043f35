package router

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

// tcpPair returns both ends of a loopback TCP connection, wrapped as the
// router wraps the connections it accepts and dials.
func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	server, client := testutil.TCPPair(t)
	return wrapConn(client), wrapConn(server)
}

func TestWrapConnWrapsOnlyTCP(t *testing.T) {
	a, b := tcpPair(t)
	_, ok := a.(*sockConn)
	require.Equal(t, rawIO, ok)
	_, ok = b.(*sockConn)
	require.Equal(t, rawIO, ok)
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	require.Same(t, p, wrapConn(p))
}

func TestSockConnCarriesLargeWritesBothWays(t *testing.T) {
	a, b := tcpPair(t)
	// Larger than both socket buffers, so writes wait for room.
	msg := make([]byte, 8<<20)
	for i := range msg {
		msg[i] = byte(rand.IntN(256))
	}
	errc := make(chan error, 2)
	go func() { _, err := a.Write(msg); errc <- err }()
	go func() { _, err := b.Write(msg); errc <- err }()
	for _, c := range []net.Conn{a, b} {
		got := make([]byte, len(msg))
		_, err := io.ReadFull(c, got)
		require.NoError(t, err)
		require.True(t, bytes.Equal(msg, got))
	}
	require.NoError(t, <-errc)
	require.NoError(t, <-errc)
}

func TestSockConnReportsEndOfStream(t *testing.T) {
	a, b := tcpPair(t)
	_, err := a.Write([]byte("last"))
	require.NoError(t, err)
	require.NoError(t, a.(interface{ CloseWrite() error }).CloseWrite())
	got, err := io.ReadAll(b)
	require.NoError(t, err)
	require.Equal(t, "last", string(got))
	n, err := b.Read(make([]byte, 8))
	require.Equal(t, 0, n)
	require.Same(t, io.EOF, err) // bufio and net/http compare with ==
}

func TestSockConnDeadlineAndClose(t *testing.T) {
	a, _ := tcpPair(t)
	require.NoError(t, a.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err := a.Read(make([]byte, 8))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout())
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	require.Equal(t, "read", op.Op)

	require.NoError(t, a.SetReadDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() { _, err := a.Read(make([]byte, 8)); done <- err }()
	time.Sleep(20 * time.Millisecond) // let the read wait
	require.NoError(t, a.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting Read")
	}
	_, err = a.Write([]byte("x"))
	require.ErrorIs(t, err, net.ErrClosed)
}

func TestSockConnWriteToResetPeerFails(t *testing.T) {
	a, b := tcpPair(t)
	if tc, ok := b.(*sockConn); ok {
		require.NoError(t, tc.SetLinger(0))
	} else {
		require.NoError(t, b.(*net.TCPConn).SetLinger(0))
	}
	require.NoError(t, b.Close()) // sends a reset
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = a.Write([]byte("after the reset"))
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err)
	require.False(t, errors.Is(err, net.ErrClosed)) // the peer's doing, not ours
}
