package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
)

// startSampler runs the instance's sampler on an owned goroutine.
func (in *instance) startSampler() { fakeCluster{in}.goOwned(in.tr.runSampler) }

func TestIdleAFKThenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		in.startSampler()
		b := twoUsers(t, n, in)
		a := in.connect("a1", "ta")
		sleep(4 * time.Minute)
		in.tr.activity(context.Background(), a) // the activity event
		in.tr.activity(context.Background(), b)
		sleep(5*time.Minute - time.Second)
		assert.Empty(t, n.sentNames(), "active within the timeout")

		// Idle for more than 5 minutes: noticed at the next 15s sample (9:15).
		sleep(16 * time.Second)
		sent := n.sentEvents()
		require.Len(t, sent, 2, "alice and bob are both idle: %v", n.sentNames())
		afk := map[string]string{}
		for _, s := range sent {
			assert.Equal(t, "userAfk", s.event)
			var p struct {
				UserID  string `json:"userId"`
				EndTime int64  `json:"endTime"`
			}
			require.NoError(t, json.Unmarshal([]byte(s.payload), &p))
			assert.Equal(t, time.Now().UnixMilli(), p.EndTime, "an idle AFK ends now")
			afk[p.UserID] = fmt.Sprint(s.to)
		}
		assert.Equal(t, map[string]string{"alice": "[b1]", "bob": "[a1]"}, afk, "peers only")

		sleep(time.Hour)
		assert.Len(t, n.sentEvents(), 2, "announced once")

		in.tr.activity(context.Background(), a)
		synctest.Wait()
		assert.Equal(t, `userBack {"userId":"alice"} [b1]`, n.sentNames()[2], "activity after AFK sends userBack (weak spot 13)")
		in.tr.activity(context.Background(), a)
		assert.Len(t, n.sentEvents(), 3, "back once")
	})
}

func TestOtherActiveTabPreventsAFK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{AFKTimeout: time.Minute, ActivitySampleInterval: 10 * time.Second}, true)
		in.startSampler()
		n.login("ta", "alice", "r")
		in.connect("a1", "ta")
		a2 := in.connect("a2", "ta")
		for range 6 {
			sleep(50 * time.Second)
			in.tr.activity(context.Background(), a2)
		}
		assert.Empty(t, n.sentNames(), "a1 idles, a2 does not")
		p, err := in.tr.roomPresence(context.Background(), "r")
		require.NoError(t, err)
		require.Len(t, p, 2)
		assert.Equal(t, StateAFK, p[0].AFK, "a1 on its own is idle")
		assert.Equal(t, StateActive, p[1].AFK)
	})
}

func TestIntentionalReconnectReconnectSendsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{AFKTimeout: time.Minute, ActivitySampleInterval: time.Second}, true)
		in.startSampler()
		twoUsers(t, n, in)
		in.connect("a1", "ta")
		sleep(61 * time.Second)
		require.Equal(t, 2, countPrefix(n.sentNames(), "userAfk"))
		// A new tab of an AFK session is activity too.
		in.connect("a2", "ta")
		synctest.Wait()
		assert.Equal(t, 1, countPrefix(n.sentNames(), `userBack {"userId":"alice"}`))
	})
}

func TestPresenceUpdateHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		in := n.newInstance(t, "A", Options{}, true)
		twoUsers(t, n, in)
		n.login("tc", "carol", "r")
		in.connect("c1", "tc")
		var posts []string
		luckystack.RegisterHook(in.srv, PrePresenceUpdate, func(_ context.Context, e *UpdateEvent) error {
			if e.Kind == KindAFK {
				return luckystack.StopWith("quiet", 0)
			}
			return nil
		})
		luckystack.RegisterHook(in.srv, PostPresenceUpdate, func(_ context.Context, e *UpdateEvent) error {
			posts = append(posts, fmt.Sprintf("%s %s %s %v %d", e.Kind, e.Token, e.UserID, e.RoomCodes, e.RecipientCount))
			return nil
		})
		a := in.connect("a1", "ta")
		require.True(t, in.tr.intentionalDisconnect(context.Background(), a), "suppressed or not, the socket goes")
		in.disconnect(a, "server namespace disconnect")
		in.connect("a2", "ta")
		synctest.Wait()
		assert.Equal(t, []string{"back ta alice [r] 2"}, posts, "the AFK was suppressed; back reached bob and carol")
		assert.Equal(t, []string{`userBack {"userId":"alice"} [b1 c1]`}, n.sentNames())
	})
}

func TestAFKDisabled(t *testing.T) {
	for _, o := range []Options{{AFKTimeout: -1}, {ActivitySampleInterval: -1}} {
		synctest.Test(t, func(t *testing.T) {
			n := newNet(t)
			in := n.newInstance(t, "A", o, true)
			assert.False(t, in.tr.opts.afkEnabled())
			twoUsers(t, n, in)
			in.connect("a1", "ta")
			in.tr.sample(context.Background())
			assert.Empty(t, n.sentNames())
			p, err := in.tr.roomPresence(context.Background(), "r")
			require.NoError(t, err)
			assert.Equal(t, StateActive, p[0].AFK)
		})
	}
}

func TestRoomPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t)
		a := n.newInstance(t, "A", Options{}, true)
		b := n.newInstance(t, "B", Options{}, true)
		n.login("ta", "alice", "r")
		n.login("tb", "bob", "r")
		a.connect("a1", "ta")
		start := time.Now()
		sleep(6 * time.Minute)
		b.connect("b1", "tb")
		p, err := a.tr.roomPresence(context.Background(), "r")
		require.NoError(t, err)
		assert.Equal(t, []Member{
			{SocketID: "a1", UserID: "alice", LastActivity: start, AFK: StateAFK},
			{SocketID: "b1", UserID: "bob", AFK: StateUnknown},
		}, p)
		js, err := json.Marshal(p)
		require.NoError(t, err)
		assert.JSONEq(t, fmt.Sprintf(`[{"socketId":"a1","userId":"alice","lastActivity":%d,"afk":true},
			{"socketId":"b1","userId":"bob","lastActivity":null,"afk":"unknown"}]`, start.UnixMilli()), string(js))
	})
}
