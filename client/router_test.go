package client_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/router"
)

// TestThroughTheRouter runs the client behind LuckyStack's router (the
// front door of multi-backend deployments), over both transports: the
// router must keep a polling session on its backend and pass upgrades.
func TestThroughTheRouter(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	rt, err := router.New(router.Config{Services: map[string][]string{"system": {env.url()}}})
	require.NoError(t, err)
	front := httptest.NewServer(rt)
	t.Cleanup(func() {
		rt.Close()
		front.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx))
	})
	for _, kind := range []client.TransportKind{client.WebSocketOnly, client.PollingOnly} {
		c, err := client.Dial(ctxT(t), front.URL, client.Options{Transport: kind, Token: env.login("u1")})
		require.NoError(t, err, kind)
		for range 3 {
			res, err := c.APIRequest(ctxT(t), "test/echo", "v1", echoIn{Text: "via router"})
			require.NoError(t, err)
			var out echoOut
			require.NoError(t, res.Decode(&out))
			assert.Equal(t, "via router", out.Text)
		}
		rooms, err := c.JoinRoom(ctxT(t), "lobby")
		require.NoError(t, err)
		assert.Equal(t, []string{"lobby"}, rooms)
		require.NoError(t, c.Resume(ctxT(t)))
		require.NoError(t, c.Close())
	}
}
