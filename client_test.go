package luckystack

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// presenceLog is a Presence seam recording what the server tells it.
type presenceLog struct {
	mu     sync.Mutex
	events []string
}

func (p *presenceLog) SocketConnected(_ context.Context, c *Client) {
	p.mu.Lock()
	p.events = append(p.events, "connected "+c.UserID())
	p.mu.Unlock()
}

func (p *presenceLog) SocketDisconnected(c *Client, reason string) {
	p.mu.Lock()
	p.events = append(p.events, "disconnected "+c.UserID()+" "+reason)
	p.mu.Unlock()
}

func (p *presenceLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.events
	p.events = nil
	return out
}

func TestSocketEventsAndClient(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, Options{})
	pres := &presenceLog{}
	e.srv.SetPresence(pres)
	var firedMu sync.Mutex
	fired := 0
	RegisterHook(e.srv, OnSocketDisconnect, func(context.Context, *SocketDisconnectEvent) error {
		firedMu.Lock()
		fired++
		firedMu.Unlock()
		return nil
	})

	type seen struct {
		payload string
		client  *Client
	}
	got := make(chan seen, 8)
	e.srv.HandleSocketEvent("probe", func(ctx context.Context, c *Client, payload json.RawMessage) {
		got <- seen{string(payload), c}
		require.NoError(t, ctx.Err())
	})
	c := dial(t, e.ts, sioclient.Options{Header: hdr("Cookie", "token="+e.tok, "X-Language", "nl-NL", "Accept-Language", "de")})
	assert.Equal(t, []string{"connected u1"}, pres.take())

	require.NoError(t, c.Emit("probe", map[string]int{"n": 1}, "ignored second arg"))
	require.NoError(t, c.Emit("probe"))
	require.NoError(t, c.Emit("unknown-event", 1))
	first, second := <-got, <-got
	assert.Equal(t, `{"n":1}`, first.payload, "the first argument only")
	assert.Empty(t, second.payload, "no argument, no payload")

	cl := first.client
	assert.Equal(t, c.ID(), cl.ID())
	assert.Equal(t, e.tok, cl.Token())
	assert.Equal(t, "u1", cl.UserID())
	assert.Equal(t, "nl", cl.Locale())
	assert.Equal(t, "127.0.0.1", cl.IP())
	assert.Same(t, e.srv, cl.Server())
	assert.Equal(t, c.ID(), cl.Socket().ID())
	got2, ok := ClientOf(cl.Socket())
	assert.True(t, ok)
	assert.Same(t, cl, got2)
	sess, err := cl.Session(wctx(t))
	require.NoError(t, err)
	assert.Equal(t, "u1", sess.ID)
	assert.False(t, cl.SetFlag("afk", true))
	assert.True(t, cl.SetFlag("afk", false))

	room(t, c, "joinRoom", "r", 1)
	assert.True(t, cl.InRoom("r"))
	assert.True(t, cl.InRoom(SessionRoom(e.tok)), "any room counts, identity rooms included")
	assert.False(t, cl.InRoom("other"))
	assert.Equal(t, []string{"r"}, cl.Rooms(), "Rooms lists content rooms only")

	// Other instances learn the token and user id from fetch-sockets data.
	remotes, err := e.srv.IO().To("r").FetchSockets(wctx(t))
	require.NoError(t, err)
	require.Len(t, remotes, 1)
	tok, uid := ClientInfo(remotes[0])
	assert.Equal(t, e.tok, tok)
	assert.Equal(t, "u1", uid)

	require.NoError(t, c.Emit("probe", "x"))
	third := <-got
	require.NoError(t, c.Close())
	<-third.client.Context().Done() // cancelled on disconnect
	require.Eventually(t, func() bool {
		p := pres.take()
		if len(p) == 0 {
			return false
		}
		assert.Equal(t, []string{"disconnected u1 client namespace disconnect"}, p)
		return true
	}, wctxDeadline, pollEvery)
	firedMu.Lock()
	assert.Zero(t, fired, "with presence installed, presence fires onSocketDisconnect")
	firedMu.Unlock()

	anon := dial(t, e.ts, sioclient.Options{})
	require.NoError(t, anon.Emit("probe", 1))
	a := (<-got).client
	none, err := a.Session(wctx(t))
	assert.NoError(t, err)
	assert.Nil(t, none)
	assert.Empty(t, a.UserID())
	assert.Equal(t, []string{"connected "}, pres.take())
	assert.NotNil(t, e.srv.Logger())
}
