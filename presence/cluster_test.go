package presence

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// These tests run two instances over one shared Store and one fake
// adapter view of the cluster (weak spot 10 of the spec).

func TestReconnectOnAnotherInstanceCancelsExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		a := n.newInstance(t, "A", Options{}, true)
		b := n.newInstance(t, "B", Options{}, true)
		twoUsers(t, n, a)
		a.disconnect(a.connect("a1", "ta"), "transport close")
		sleep(60*time.Second - time.Millisecond)
		b.connect("a2", "ta")
		synctest.Wait()
		assert.Equal(t, []string{"postSocketReconnect ta alice [r]"}, b.take(), "warm on the other instance")
		assert.Equal(t, []string{`userBack {"userId":"alice"} [b1]`}, n.sentNames())

		sleep(time.Millisecond)
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, a.take(), "A's window ends quietly")
		sleep(time.Hour)
		assert.Len(t, n.sentNames(), 1, "no userLeft")
		assert.True(t, sessionExists(t, n, "ta"), "no delete")
		assert.Empty(t, a.take())
		assert.Empty(t, b.take())
	})
}

func TestTabOnAnotherInstanceKeepsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		a := n.newInstance(t, "A", Options{}, true)
		b := n.newInstance(t, "B", Options{}, true)
		twoUsers(t, n, a)
		a1 := a.connect("a1", "ta")
		b.connect("a2", "ta")
		a.disconnect(a1, "transport close")
		sleep(time.Minute)
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, a.take())
		assert.Empty(t, n.sentNames())
		assert.True(t, sessionExists(t, n, "ta"))
	})
}

func TestTabsClosingOnTwoInstancesLeaveOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		a := n.newInstance(t, "A", Options{}, true)
		b := n.newInstance(t, "B", Options{}, true)
		twoUsers(t, n, a)
		a1, b1 := a.connect("a1", "ta"), b.connect("a2", "ta")
		a.disconnect(a1, "transport close")
		sleep(30 * time.Second)
		b.disconnect(b1, "transport close")
		sleep(30 * time.Second)
		assert.Equal(t, []string{"postDisconnectGraceExpired ta alice [r] transport close deleted=true", "onSocketDisconnect a1 transport close"}, a.take(), "A owns the window")
		assert.Empty(t, b.take(), "B holds its socket until its own window ends")
		sleep(30 * time.Second)
		assert.Equal(t, []string{"onSocketDisconnect a2 transport close"}, b.take())
		assert.Equal(t, []string{`userLeft {"userId":"alice"} [b1]`}, n.sentNames(), "one userLeft")
	})
}

func TestReconnectThenCloseOnAnotherInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		a := n.newInstance(t, "A", Options{}, true)
		b := n.newInstance(t, "B", Options{}, true)
		twoUsers(t, n, a)
		a.disconnect(a.connect("a1", "ta"), "transport close")
		sleep(10 * time.Second)
		a2 := b.connect("a2", "ta")
		sleep(10 * time.Second)
		b.disconnect(a2, "client namespace disconnect") // B owns a new 2s window
		sleep(2 * time.Second)
		assert.Equal(t, []string{
			"postSocketReconnect ta alice [r]",
			"postDisconnectGraceExpired ta alice [r] client namespace disconnect deleted=true",
			"onSocketDisconnect a2 client namespace disconnect",
		}, b.take())
		sleep(time.Minute)
		assert.Equal(t, []string{"onSocketDisconnect a1 transport close"}, a.take(), "A's stale timer announces nothing")
		assert.Equal(t, 1, countPrefix(n.sentNames(), "userLeft"))
	})
}

func TestActivityOnAnotherInstancePreventsAFK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		opts := Options{AFKTimeout: time.Minute, ActivitySampleInterval: 5 * time.Second}
		a := n.newInstance(t, "A", opts, true)
		b := n.newInstance(t, "B", opts, true)
		a.startSampler()
		n.login("ta", "alice", "r")
		a.connect("a1", "ta")
		a2 := b.connect("a2", "ta")
		for range 10 {
			sleep(20 * time.Second)
			b.tr.activity(context.Background(), a2)
		}
		assert.Empty(t, n.sentNames(), "the session is active on B")
		// B stops too: A announces AFK once the store's record is old enough.
		sleep(2 * time.Minute)
		assert.Equal(t, 1, countPrefix(n.sentNames(), `userAfk {"userId":"alice"`))
	})
}
