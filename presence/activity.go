package presence

import (
	"context"
	"encoding/json"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// announce sends userAfk, userBack or userLeft to the peers in the
// session's rooms (never to the session's own sockets), through the
// pre/post hooks. sess nil means read it; end is userAfk's endTime.
func (t *tracker) announce(ctx context.Context, token string, kind Kind, sess *luckystack.Session, end time.Time) {
	if sess == nil {
		var err error
		if sess, err = t.cl.session(ctx, token); err != nil {
			t.log.Warn("presence: session read failed", "err", err)
			return
		}
	}
	if sess == nil || sess.ID == "" || len(sess.RoomCodes) == 0 {
		return // nobody to tell, or nothing to say who it was
	}
	ev := &UpdateEvent{Token: token, UserID: sess.ID, Kind: kind, RoomCodes: sess.RoomCodes}
	if stop := luckystack.DispatchHook(ctx, t.srv, PrePresenceUpdate, ev); stop != nil {
		return
	}
	var name events.Name
	var payload any
	switch kind {
	case KindAFK:
		name, payload = events.NameUserAFK, events.NewUserAFK(sess.ID, end)
	case KindBack:
		name, payload = events.NameUserBack, events.UserBack{UserID: sess.ID}
	default:
		id := sess.ID
		name, payload = events.NameUserLeft, events.UserLeft{UserID: &id}
	}
	// Counting costs a cluster round trip, so only when someone listens.
	count := luckystack.HookCount(t.srv, PostPresenceUpdate) > 0
	n, err := t.cl.emitToPeers(ctx, sess.RoomCodes, token, name, payload, count)
	if err != nil {
		t.log.Warn("presence: sending a presence update failed", "kind", kind, "err", err)
		return
	}
	post := *ev
	post.RecipientCount = n
	luckystack.DispatchHook(ctx, t.srv, PostPresenceUpdate, &post)
}

// touchEvery throttles Store.Touch per session: a quarter of the AFK
// timeout, so another instance sees activity at most that late.
func (t *tracker) touchEvery() time.Duration { return t.opts.AFKTimeout / 4 }

// activity refreshes a socket's activity (the activity and
// intentionalReconnect events); a session announced AFK comes back.
func (t *tracker) activity(ctx context.Context, c conn) {
	now := time.Now()
	token := c.Token()
	t.mu.Lock()
	st, ts := t.socketLocked(token, c.ID())
	if st == nil {
		t.mu.Unlock()
		return
	}
	st.last = now.UnixNano()
	back := ts.afk
	ts.afk = false
	touch := t.opts.afkEnabled() && now.UnixNano()-ts.touched >= int64(t.touchEvery())
	if touch {
		ts.touched = now.UnixNano()
	}
	t.mu.Unlock()
	if touch {
		ttl := 2 * max(t.opts.AFKTimeout, time.Minute)
		if err := t.store.Touch(ctx, token, now, ttl); err != nil {
			t.log.Warn("presence: recording activity failed", "err", err)
		}
	}
	if back {
		t.announce(ctx, token, KindBack, nil, time.Time{})
	}
}

// intentionalDisconnect handles a tab switch: the first one of a
// connection tells peers the user is away until the tab-switch window
// ends, and reports true so the caller disconnects the socket.
func (t *tracker) intentionalDisconnect(ctx context.Context, c conn) bool {
	t.mu.Lock()
	st, _ := t.socketLocked(c.Token(), c.ID())
	if st == nil || st.tabSwitch {
		t.mu.Unlock()
		return false
	}
	st.tabSwitch = true
	t.mu.Unlock()
	t.announce(ctx, c.Token(), KindAFK, nil, time.Now().Add(t.opts.DisconnectTimers.TabSwitch))
	return true
}

// runSampler looks for idle sessions every ActivitySampleInterval until
// ctx ends.
func (t *tracker) runSampler(ctx context.Context) {
	tick := time.NewTicker(t.opts.ActivitySampleInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.sample(ctx)
		}
	}
}

type idleToken struct {
	token string
	last  int64
}

// latestLocked is the latest activity of a session's local sockets.
func latestLocked(ts *tokenState) int64 {
	var latest int64
	for _, s := range ts.socks {
		latest = max(latest, s.last)
	}
	return latest
}

// sample announces userAfk for every session whose sockets have all been
// idle for AFKTimeout, here and (through the store) on other instances.
// One pass touches each local socket once, under one short lock.
func (t *tracker) sample(ctx context.Context) {
	if !t.opts.afkEnabled() {
		return
	}
	now := time.Now()
	cutoff := now.Add(-t.opts.AFKTimeout).UnixNano()
	var idle []idleToken
	t.mu.Lock()
	for token, ts := range t.tokens {
		if ts.afk || len(ts.socks) == 0 {
			continue
		}
		if latest := latestLocked(ts); latest < cutoff {
			idle = append(idle, idleToken{token, latest})
		}
	}
	t.mu.Unlock()
	for _, it := range idle {
		if ctx.Err() != nil {
			return
		}
		last, err := t.store.LastActive(ctx, it.token)
		if err != nil {
			t.log.Warn("presence: reading activity failed", "err", err)
			continue
		}
		// A record newer than our own sockets' activity came from another
		// instance; it may lag the truth by up to touchEvery.
		if lr := last.UnixNano(); lr > it.last && lr >= cutoff-int64(t.touchEvery()) {
			continue
		}
		t.mu.Lock()
		ts := t.tokens[it.token]
		stillIdle := ts != nil && !ts.afk && len(ts.socks) > 0 && latestLocked(ts) < cutoff
		if stillIdle {
			ts.afk = true
		}
		t.mu.Unlock()
		if stillIdle {
			t.announce(ctx, it.token, KindAFK, nil, now)
		}
	}
}

// State is what is known of a socket's activity.
type State int

const (
	// StateUnknown is a socket on another instance: its activity lives
	// there.
	StateUnknown State = iota
	// StateActive is a socket active within the AFK timeout.
	StateActive
	// StateAFK is an idle socket.
	StateAFK
)

// Member is one socket of a room, as [Module.GetRoomPresence] reports it.
type Member struct {
	SocketID string
	UserID   string
	// LastActivity is the socket's latest activity; zero when unknown.
	LastActivity time.Time
	AFK          State
}

// MarshalJSON writes the original's shape: lastActivity in Unix
// milliseconds (null when unknown) and afk as true, false or "unknown".
func (m Member) MarshalJSON() ([]byte, error) {
	out := struct {
		SocketID     string `json:"socketId"`
		UserID       string `json:"userId"`
		LastActivity *int64 `json:"lastActivity"`
		AFK          any    `json:"afk"`
	}{SocketID: m.SocketID, UserID: m.UserID, AFK: "unknown"}
	if !m.LastActivity.IsZero() {
		ms := m.LastActivity.UnixMilli()
		out.LastActivity = &ms
	}
	switch m.AFK {
	case StateActive:
		out.AFK = false
	case StateAFK:
		out.AFK = true
	}
	return json.Marshal(out)
}

// roomPresence describes the sockets of a room across the cluster, with
// the activity of those on this instance.
func (t *tracker) roomPresence(ctx context.Context, room string) ([]Member, error) {
	socks, err := t.cl.roomSockets(ctx, room)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-t.opts.AFKTimeout).UnixNano()
	out := make([]Member, 0, len(socks))
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range socks {
		m := Member{SocketID: s.id, UserID: s.userID}
		if st, ts := t.socketLocked(s.token, s.id); st != nil {
			m.LastActivity = time.Unix(0, st.last)
			m.AFK = StateActive
			if t.opts.afkEnabled() && (st.last < cutoff || (ts != nil && ts.afk)) {
				m.AFK = StateAFK
			}
		}
		out = append(out, m)
	}
	return out, nil
}
