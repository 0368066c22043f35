package presence

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
)

// sleep advances the bubble's clock and lets every goroutine settle.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// twoUsers logs in alice (token ta) and bob (token tb) in room "r", with
// bob connected as the peer who hears alice's presence.
func twoUsers(t *testing.T, n *fakeNet, in *instance) *fakeConn {
	t.Helper()
	n.login("ta", "alice", "r")
	n.login("tb", "bob", "r")
	return in.connect("b1", "tb")
}

func sessionExists(t *testing.T, n *fakeNet, token string) bool {
	s, err := n.sessions.Get(context.Background(), token)
	require.NoError(t, err)
	return s != nil
}

func TestGraceWindowPerReason(t *testing.T) {
	tests := []struct {
		reason    string
		window    time.Duration
		tabSwitch bool
		deleted   bool
	}{
		{reason: "transport close", window: 60 * time.Second, deleted: true},
		{reason: "transport error", window: 60 * time.Second, deleted: true},
		{reason: "client namespace disconnect", window: 2 * time.Second, deleted: true},
		{reason: "server shutting down", window: 2 * time.Second, deleted: true},
		{reason: "server namespace disconnect", window: 20 * time.Second, tabSwitch: true, deleted: false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s tabSwitch=%v", tc.reason, tc.tabSwitch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newNet(t)
				in := n.newInstance(t, "A", Options{}, true)
				twoUsers(t, n, in)
				a := in.connect("a1", "ta")
				if tc.tabSwitch {
					require.True(t, in.tr.intentionalDisconnect(context.Background(), a))
				}
				start := time.Now()
				in.disconnect(a, tc.reason)
				synctest.Wait()
				assert.Empty(t, in.take(), "onSocketDisconnect waits for the window")

				sleep(tc.window - time.Millisecond)
				assert.Empty(t, in.take(), "nothing before the window ends")
				assert.True(t, sessionExists(t, n, "ta"))

				sleep(time.Millisecond)
				assert.Equal(t, []string{
					fmt.Sprintf("postDisconnectGraceExpired ta alice [r] %s deleted=%v", tc.reason, tc.deleted),
					"onSocketDisconnect a1 " + tc.reason,
				}, in.take(), "expiry, then onSocketDisconnect as the final event")
				var want []string
				if tc.tabSwitch {
					end := start.Add(20 * time.Second).UnixMilli()
					want = append(want, fmt.Sprintf(`userAfk {"userId":"alice","endTime":%d} [b1]`, end))
				}
				want = append(want, `userLeft {"userId":"alice"} [b1]`)
				assert.Equal(t, want, n.sentNames())
				assert.Equal(t, !tc.deleted, sessionExists(t, n, "ta"))

				sleep(2 * time.Minute)
				assert.Empty(t, in.take(), "one expiry only")
			})
		})
	}
}

func TestIgnoredReasonOpensNoWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		a := in.connect("a1", "ta")
		in.disconnect(a, "ping timeout")
		synctest.Wait()
		assert.Equal(t, []string{"onSocketDisconnect a1 ping timeout"}, in.take(), "fired at once")
		sleep(10 * time.Minute)
		assert.Empty(t, in.take())
		assert.Empty(t, n.sentNames(), "no userLeft")
		assert.True(t, sessionExists(t, n, "ta"), "no delete")

		// A reconnect after an ignored reason is cold.
		in.connect("a2", "ta")
		synctest.Wait()
		assert.Empty(t, in.take())
	})
}

func TestIgnoreAndAllowReasonsReplaceDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{IgnoreReasons: []string{}, AllowReasons: []string{"ping timeout"}, DisconnectTimers: DisconnectTimers{TransportClose: 5 * time.Second}}, true)
		twoUsers(t, n, in)
		in.disconnect(in.connect("a1", "ta"), "ping timeout")
		sleep(5*time.Second - time.Millisecond)
		assert.Empty(t, in.take())
		sleep(time.Millisecond)
		assert.Equal(t, []string{"postDisconnectGraceExpired ta alice [r] ping timeout deleted=true", "onSocketDisconnect a1 ping timeout"}, in.take())

		// "transport close" is no longer an allowed reason: the default window.
		n.login("ta", "alice", "r")
		in.disconnect(in.connect("a2", "ta"), "transport close")
		sleep(2 * time.Second)
		assert.Len(t, in.take(), 2)
	})
}

func TestWarmReconnectAtTheLastMillisecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		in.disconnect(in.connect("a1", "ta"), "transport close")
		sleep(60*time.Second - time.Millisecond)
		in.connect("a2", "ta")
		synctest.Wait()
		assert.Equal(t, []string{
			"onSocketDisconnect a1 transport close",
			"postSocketReconnect ta alice [r]",
		}, in.take(), "the old socket's disconnect closes the window, then the reconnect hook")
		assert.Equal(t, []string{`userBack {"userId":"alice"} [b1]`}, n.sentNames())

		sleep(5 * time.Minute)
		assert.Empty(t, in.take(), "the timer was cleared")
		assert.Len(t, n.sentNames(), 1, "no userLeft")
		assert.True(t, sessionExists(t, n, "ta"))
	})
}

func TestColdConnectFiresNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		in.connect("a1", "ta")
		synctest.Wait()
		assert.Empty(t, in.take())
		assert.Empty(t, n.sentNames())

		// A reconnect after the window expired is cold, too.
		n.login("tc", "carol", "r")
		in.disconnect(in.connect("c1", "tc"), "client namespace disconnect")
		sleep(2 * time.Second)
		in.take()
		n.login("tc", "carol", "r")
		in.connect("c2", "tc")
		synctest.Wait()
		assert.Empty(t, in.take())
	})
}

func TestSecondTabKeepsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		a1 := in.connect("a1", "ta")
		a2 := in.connect("a2", "ta")
		in.disconnect(a1, "transport close")
		sleep(60 * time.Second)
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, in.take(), "another tab is alive: no expiry")
		assert.Empty(t, n.sentNames())
		assert.True(t, sessionExists(t, n, "ta"))

		in.disconnect(a2, "transport close")
		sleep(60 * time.Second)
		assert.Equal(t, []string{"postDisconnectGraceExpired ta alice [r] transport close deleted=true", "onSocketDisconnect a2 transport close"}, in.take())
		assert.Equal(t, []string{`userLeft {"userId":"alice"} [b1]`}, n.sentNames())
	})
}

func TestBothTabsCloseInOneWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		a1, a2 := in.connect("a1", "ta"), in.connect("a2", "ta")
		in.disconnect(a1, "transport close")
		sleep(10 * time.Second)
		in.disconnect(a2, "client namespace disconnect")
		sleep(50 * time.Second)
		// The first disconnect's window wins, as in the original; both
		// sockets' disconnects end it.
		assert.Equal(t, []string{
			"postDisconnectGraceExpired ta alice [r] transport close deleted=true",
			"onSocketDisconnect a1 transport close",
			"onSocketDisconnect a2 client namespace disconnect",
		}, in.take())
		assert.Equal(t, []string{`userLeft {"userId":"alice"} [b1]`}, n.sentNames(), "one userLeft")
	})
}

func TestTabSwitch(t *testing.T) {
	t.Run("then close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newNet(t)
			in := n.newInstance(t, "A", Options{}, true)
			twoUsers(t, n, in)
			a := in.connect("a1", "ta")
			require.True(t, in.tr.intentionalDisconnect(context.Background(), a))
			assert.False(t, in.tr.intentionalDisconnect(context.Background(), a), "first per connection only")
			in.disconnect(a, "server namespace disconnect")
			sleep(20 * time.Second)
			assert.Equal(t, []string{"postDisconnectGraceExpired ta alice [r] server namespace disconnect deleted=false", "onSocketDisconnect a1 server namespace disconnect"}, in.take())
			assert.True(t, sessionExists(t, n, "ta"), "a tab switch keeps the session")
			assert.Len(t, n.sentNames(), 2, "one userAfk, one userLeft")
		})
	})
	t.Run("then come back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newNet(t)
			in := n.newInstance(t, "A", Options{}, true)
			twoUsers(t, n, in)
			a := in.connect("a1", "ta")
			require.True(t, in.tr.intentionalDisconnect(context.Background(), a))
			in.disconnect(a, "server namespace disconnect")
			sleep(19 * time.Second)
			in.connect("a2", "ta")
			synctest.Wait()
			assert.Equal(t, []string{"onSocketDisconnect a1 server namespace disconnect", "postSocketReconnect ta alice [r]"}, in.take())
			sent := n.sentNames()
			require.Len(t, sent, 2)
			assert.Contains(t, sent[0], "userAfk")
			assert.Equal(t, `userBack {"userId":"alice"} [b1]`, sent[1])
		})
	})
	t.Run("new connection may switch again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newNet(t)
			in := n.newInstance(t, "A", Options{}, true)
			twoUsers(t, n, in)
			a := in.connect("a1", "ta")
			require.True(t, in.tr.intentionalDisconnect(context.Background(), a))
			in.disconnect(a, "server namespace disconnect")
			a2 := in.connect("a2", "ta")
			assert.True(t, in.tr.intentionalDisconnect(context.Background(), a2))
		})
	})
}

func TestDeletePolicy(t *testing.T) {
	tests := []struct {
		policy              DeletePolicy
		afterClose, afterTS bool
	}{
		{DeleteUnlessTabSwitch, true, false},
		{DeleteAlways, true, true},
		{DeleteNever, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newNet(t)
				in := n.newInstance(t, "A", Options{DeleteOnExpiry: tc.policy}, true)
				twoUsers(t, n, in)
				in.disconnect(in.connect("a1", "ta"), "transport close")
				sleep(time.Minute)
				assert.Equal(t, !tc.afterClose, sessionExists(t, n, "ta"), "after a close")

				n.login("ta", "alice", "r")
				a := in.connect("a2", "ta")
				in.tr.intentionalDisconnect(context.Background(), a)
				in.disconnect(a, "server namespace disconnect")
				sleep(time.Minute)
				assert.Equal(t, !tc.afterTS, sessionExists(t, n, "ta"), "after a tab switch")
				assert.Equal(t, 2, countPrefix(n.sentNames(), "userLeft"), "userLeft either way")
			})
		})
	}
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func TestBroadcasterOffOpensNoWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, false)
		twoUsers(t, n, in)
		a := in.connect("a1", "ta")
		assert.False(t, in.tr.intentionalDisconnect(context.Background(), a))
		in.disconnect(a, "transport close")
		synctest.Wait()
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, in.take())
		sleep(time.Hour)
		assert.Empty(t, in.take())
		assert.Empty(t, n.sentNames())
		assert.True(t, sessionExists(t, n, "ta"))
	})
}

func TestAnonymousSocketDisconnectsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		in.disconnect(in.connect("x1", ""), "transport close")
		synctest.Wait()
		assert.Equal(t, []string{"onSocketDisconnect x1 transport close"}, in.take())
	})
}

func TestUnknownLivenessKeepsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		n.liveErr = errLive
		in.disconnect(in.connect("a1", "ta"), "transport close")
		sleep(time.Minute)
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, in.take(), "no expiry announced")
		assert.True(t, sessionExists(t, n, "ta"))
		assert.Empty(t, n.sentNames())
	})
}

func TestExpiredSessionGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		in.disconnect(in.connect("a1", "ta"), "transport close")
		require.NoError(t, n.sessions.Delete(context.Background(), "ta")) // logged out meanwhile
		sleep(time.Minute)
		assert.Equal(t, []string{"postDisconnectGraceExpired ta  [] transport close deleted=false", "onSocketDisconnect a1 transport close"}, in.take())
		assert.Empty(t, n.sentNames())
	})
}

func TestCloseFlushesDeferredDisconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		in.disconnect(in.connect("a1", "ta"), "server shutting down")
		in.tr.close()
		assert.Equal(t, []string{"onSocketDisconnect a1 server shutting down"}, in.take())
		// The window stays in the store: the client reconnecting to another
		// instance in time is warm there.
		other := n.newInstance(t, "B", Options{}, true)
		sleep(time.Second)
		other.connect("a2", "ta")
		assert.Equal(t, []string{"postSocketReconnect ta alice [r]"}, other.take())
		sleep(time.Minute)
		assert.Empty(t, in.take(), "no expiry after close")
		assert.True(t, sessionExists(t, n, "ta"))
		// A closed instance defers nothing.
		in.disconnect(&fakeConn{id: "a9", token: "ta", userID: "alice"}, "transport close")
		assert.Equal(t, []string{"onSocketDisconnect a9 transport close"}, in.take())
	})
}

func TestHookPayloadsCarryTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		var got *luckystack.SocketDisconnectEvent
		luckystack.RegisterHook(in.srv, luckystack.OnSocketDisconnect, func(_ context.Context, e *luckystack.SocketDisconnectEvent) error {
			got = e
			return nil
		})
		in.disconnect(in.connect("x1", ""), "transport close")
		require.NotNil(t, got)
		assert.Equal(t, "x1", got.SocketID)
		assert.Nil(t, got.Client, "a fake conn is no luckystack.Client")
	})
}

// TestReconnectRacingTheExpiry reconnects at the very instant the window
// ends, letting the scheduler pick the interleaving: whatever wins, the
// window closes exactly once and is never both warm and expired.
func TestReconnectRacingTheExpiry(t *testing.T) {
	outcomes := map[string]int{}
	for range 30 {
		synctest.Test(t, func(t *testing.T) {
			n := newNet(t)
			in := n.newInstance(t, "A", Options{}, true)
			twoUsers(t, n, in)
			in.disconnect(in.connect("a1", "ta"), "transport close")
			time.Sleep(60 * time.Second) // the timer fires now; no Wait
			in.connect("a2", "ta")
			synctest.Wait()
			log := in.take()
			assert.Equal(t, 1, countPrefix(log, "onSocketDisconnect a1"), "%v", log)
			warm := countPrefix(log, "postSocketReconnect") == 1
			expired := countPrefix(log, "postDisconnectGraceExpired") == 1
			assert.False(t, warm && expired, "%v", log)
			switch {
			case warm:
				outcomes["warm"]++
				assert.True(t, sessionExists(t, n, "ta"))
				assert.Zero(t, countPrefix(n.sentNames(), "userLeft"))
			case expired:
				outcomes["expired"]++
				assert.Equal(t, 1, countPrefix(n.sentNames(), "userLeft"))
			default:
				outcomes["tab alive"]++ // expiry saw a2 already connected
				assert.True(t, sessionExists(t, n, "ta"))
			}
		})
	}
	t.Log(outcomes)
}
