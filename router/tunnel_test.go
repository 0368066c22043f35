package router

import (
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTunnelIdleTimer checks the idle rule on fake time: traffic in either
// direction keeps a tunnel open past the timeout, two minutes of silence
// close both legs.
func TestTunnelIdleTimer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		routerClient, client := net.Pipe()
		routerBackend, backend := net.Pipe()
		tun := newTunnel(routerClient, routerBackend, 2*time.Minute, 0)
		done := make(chan struct{})
		go func() {
			tun.run(nil)
			close(done)
		}()
		go func() { _, _ = io.Copy(backend, backend) }() // the backend echoes
		start := time.Now()

		buf := make([]byte, 1)
		for range 6 { // 9 minutes of a message every 90s
			time.Sleep(90 * time.Second)
			_, err := client.Write([]byte("x"))
			require.NoError(t, err)
			_, err = io.ReadFull(client, buf)
			require.NoError(t, err)
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("an active tunnel was closed")
		default:
		}

		lastByte := time.Now()
		<-done
		assert.Equal(t, 2*time.Minute, time.Since(lastByte), "closed exactly one idle period after the last byte")
		assert.Equal(t, 11*time.Minute, time.Since(start))
		_, err := client.Read(buf)
		assert.ErrorIs(t, err, io.EOF, "the client leg is closed")
		_, err = backend.Write([]byte("y"))
		assert.ErrorIs(t, err, io.ErrClosedPipe, "the backend leg is closed")
	})
}

// TestTunnelIdleTimerOnlyOneDirection: a backend pushing to a client that
// never sends keeps the tunnel open (the client side's read deadline sees
// the other direction's traffic).
func TestTunnelIdleTimerOnlyOneDirection(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		routerClient, client := net.Pipe()
		routerBackend, backend := net.Pipe()
		tun := newTunnel(routerClient, routerBackend, time.Minute, 0)
		done := make(chan struct{})
		go func() {
			tun.run(nil)
			close(done)
		}()
		buf := make([]byte, 4)
		for range 10 {
			time.Sleep(50 * time.Second)
			_, err := backend.Write([]byte("push"))
			require.NoError(t, err)
			_, err = io.ReadFull(client, buf)
			require.NoError(t, err)
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("one-way traffic did not keep the tunnel open")
		default:
		}
		tun.close()
		<-done
	})
}
