package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/presence"
)

// TestRealPresenceAwayBackLeft runs the browser's visibility cycle with the
// presence module: a peer that says it goes away (intentionalDisconnect) is
// announced userAfk and disconnected by the server; Resume brings it back
// inside the grace window (userBack); closing it for good ends in userLeft.
func TestRealPresenceAwayBackLeft(t *testing.T) {
	env := newLSWith(t, luckystack.Config{
		Session:                   luckystack.SessionConfig{BasedToken: true},
		SocketActivityBroadcaster: true,
	}, nil)
	env.stop()
	env.modules = func() []luckystack.Module {
		return []luckystack.Module{presence.New(presence.Options{
			DisconnectTimers: presence.DisconnectTimers{Default: 100 * time.Millisecond},
		})}
	}
	env.start()
	cs := roomOf(t, env, client.Options{}, "ada")
	ada := cs[0]
	bob, err := client.Dial(ctxT(t), env.url(), client.Options{Token: env.login("bob")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = bob.Close() })
	_, err = bob.JoinRoom(ctxT(t), "r1")
	require.NoError(t, err)

	got := make(chan string, 8)
	ada.OnUserAFK(func(ev events.UserAFK) { got <- "afk:" + ev.UserID })
	ada.OnUserBack(func(ev events.UserBack) { got <- "back:" + ev.UserID })
	ada.OnUserLeft(func(ev events.UserLeft) {
		if ev.UserID != nil {
			got <- "left:" + *ev.UserID
		}
	})
	next := func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(waitFor):
			t.Fatal("no presence event")
		}
		return ""
	}

	require.NoError(t, bob.Emit(string(events.NameIntentionalDisconnect)))
	assert.Equal(t, "afk:bob", next())
	require.NoError(t, bob.WaitStatus(ctxT(t), client.StatusDisconnected), "the server disconnects a tab that went away")

	_ = bob.Resume(ctxT(t)) // the tab is visible again
	require.NoError(t, bob.WaitStatus(ctxT(t), client.StatusConnected))
	assert.Equal(t, "back:bob", next())
	rooms, err := bob.GetJoinedRooms(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"r1"}, rooms)

	require.NoError(t, bob.Close())
	assert.Equal(t, "left:bob", next())
}
