package socketio

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBufferedBytes: events emitted to a polling client that does not poll
// add up in BufferedBytes; the next GET takes them and the figure is 0.
func TestBufferedBytes(t *testing.T) {
	e := newEnv(t, Options{})
	conns := make(chan *Socket, 1)
	e.srv.Of("/").OnConnection(func(s *Socket) { conns <- s })
	p := e.pollHandshake()
	require.Equal(t, http.StatusOK, p.post("40"))
	s := recv(t, conns)
	p.getUntil(func(pkt string) bool { return strings.HasPrefix(pkt, "40") })
	require.Zero(t, s.BufferedBytes())

	payload := strings.Repeat("x", 1000)
	require.NoError(t, s.Emit("big", payload))
	first := s.BufferedBytes()
	assert.Greater(t, first, 1000, "the encoded event is queued")
	require.NoError(t, s.Emit("big", payload))
	assert.Equal(t, 2*first, s.BufferedBytes(), "each queued event adds its size")

	pkts := p.get()
	require.Len(t, pkts, 2)
	assert.Contains(t, pkts[0], payload)
	assert.Zero(t, s.BufferedBytes(), "the GET took the queue")
}
