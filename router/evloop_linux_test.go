package router

import (
	"context"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Close again after the loops ended writes nothing: the eventfd's number
// may belong to another file by then.
func TestCloseAfterLoopsEndedTouchesNoReusedDescriptor(t *testing.T) {
	url, _, _ := wsBackend(t, "", "")
	rt, ts := newTestRouter(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: 1})
	c, br := upgraded(t, addrOf{ts.Listener.Addr().String()}, "/")
	_, err := io.WriteString(c, "hi")
	require.NoError(t, err)
	require.Equal(t, "hi", readN(t, br, 2), "the tunnel runs, so its loop started")
	rt.mu.Lock()
	loops := slices.Clone(rt.loops)
	rt.mu.Unlock()
	require.Len(t, loops, 1)
	evfd := loops[0].evfd
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))

	// A pipe whose write end is duplicated until a copy takes the
	// eventfd's old number: new descriptors take the lowest free one. The
	// test does not run in parallel, so no other test takes it first.
	var p [2]int
	require.NoError(t, syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC))
	fds := []int{p[0], p[1]}
	if p[0] == evfd { // the read end took it: move the write end's copies past it
		var q [2]int
		require.NoError(t, syscall.Pipe2(q[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC))
		fds = append(fds, q[0], q[1])
		p = q
		require.NoError(t, syscall.Close(fds[0]))
		fds = fds[1:]
	}
	defer func() {
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
	}()
	for fds[len(fds)-1] != evfd {
		require.Less(t, len(fds), 4096, "descriptor %d was not handed out again", evfd)
		fd, err := syscall.Dup(p[1])
		require.NoError(t, err)
		fds = append(fds, fd)
	}
	reader := p[0]
	rt.Close()
	var b [8]byte
	n, err := syscall.Read(reader, b[:])
	assert.ErrorIs(t, err, syscall.EAGAIN, "nothing was written to the pipe (read %d bytes)", n)
}

// A socket that lingers on close stays a goroutine pair: the loop closes
// sockets itself, and a close waiting for unsent bytes would stall every
// tunnel on it.
func TestLingeringSocketStaysOffTheLoop(t *testing.T) {
	t.Parallel()
	url, _, _ := wsBackend(t, "", "")
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			// Accepted sockets inherit the listener's linger setting.
			serr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 5})
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rt, _ := serveRouterOn(t, Config{Services: map[string][]string{"system": {url}}, TunnelLoops: 1},
		func(_ *Router, loopback net.Listener) net.Listener {
			_ = loopback.Close()
			return ln
		})
	c, br := upgraded(t, addrOf{ln.Addr().String()}, "/")
	_, err = io.WriteString(c, "hi")
	require.NoError(t, err)
	assert.Equal(t, "hi", readN(t, br, 2))
	assert.Equal(t, 1, tunnelCount(rt))
	assert.Equal(t, 0, tunnelsOnLoop(rt))
}
