package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// conn is what the tracker needs of a client; *luckystack.Client has it.
type conn interface {
	ID() string
	Token() string
	UserID() string
}

// cluster is the tracker's view of the server and its peers. The module
// implements it over luckystack.Server and the Socket.IO adapter; the unit
// tests fake several instances with it.
type cluster interface {
	// session reads a session (nil, nil when absent).
	session(ctx context.Context, token string) (*luckystack.Session, error)
	// deleteSession removes a session and logs its sockets out.
	deleteSession(ctx context.Context, token string) error
	// liveSockets counts the sockets of token's session on every instance.
	liveSockets(ctx context.Context, token string) (int, error)
	// emitToPeers sends event to the sockets in rooms, except those of
	// token's session, on every instance; with count it also reports how
	// many sockets that was.
	emitToPeers(ctx context.Context, rooms []string, token string, event events.Name, payload any, count bool) (int, error)
	// roomSockets lists the sockets in room on every instance.
	roomSockets(ctx context.Context, room string) ([]roomSocket, error)
	// goOwned runs fn on a goroutine the server owns; false once it stops.
	goOwned(fn func(ctx context.Context)) bool
}

type roomSocket struct{ id, token, userID string }

// tracker holds the presence state of one instance.
type tracker struct {
	srv         *luckystack.Server // hooks
	cl          cluster
	store       Store
	opts        Options
	broadcaster bool
	log         *slog.Logger

	// Sockets are found through their token: one map entry per session
	// rather than one per socket keeps the per-connection cost down.
	mu     sync.Mutex // Protects following.
	tokens map[string]*tokenState
	closed bool
}

// socketState is what presence keeps per live socket of a session (only
// when the activity broadcaster is on): small, because there is one per
// connection.
type socketState struct {
	c         conn
	last      int64 // unix nanos of the latest activity
	tabSwitch bool  // intentionalDisconnect seen on this connection
}

// tokenState is per session token with local sockets or a pending window.
type tokenState struct {
	socks   []*socketState
	pending *pending
	afk     bool  // userAfk sent for idleness; the next activity sends userBack
	touched int64 // unix nanos of the last Store.Touch
}

// pending is this instance's part of a grace window: its timer and the
// sockets whose onSocketDisconnect waits for the window to close.
type pending struct {
	leaseID   string // the window's ID when this instance owns it, else ""
	reason    string
	tabSwitch bool
	timer     *time.Timer
	deferred  []deferred
}

type deferred struct {
	c      conn
	reason string
}

func newTracker(srv *luckystack.Server, cl cluster, opts Options, broadcaster bool) *tracker {
	log := slog.New(slog.DiscardHandler)
	if srv != nil {
		log = srv.Logger()
	}
	return &tracker{srv: srv, cl: cl, store: opts.Store, opts: opts, broadcaster: broadcaster, log: log,
		tokens: map[string]*tokenState{}}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// socketLocked finds a live socket of token by id.
func (t *tracker) socketLocked(token, id string) (*socketState, *tokenState) {
	ts := t.tokens[token]
	if ts == nil {
		return nil, nil
	}
	for _, s := range ts.socks {
		if s.c.ID() == id {
			return s, ts
		}
	}
	return nil, ts
}

func (t *tracker) tokenLocked(token string) *tokenState {
	ts := t.tokens[token]
	if ts == nil {
		ts = &tokenState{}
		t.tokens[token] = ts
	}
	return ts
}

// dropTokenLocked forgets a token that has nothing left here.
func (t *tracker) dropTokenLocked(token string, ts *tokenState) {
	if len(ts.socks) == 0 && ts.pending == nil {
		delete(t.tokens, token)
	}
}

// connected handles a new socket, after onSocketConnect: a warm reconnect
// when the session had a pending window anywhere in the cluster.
func (t *tracker) connected(ctx context.Context, c conn) {
	token := c.Token()
	if token == "" || !t.broadcaster {
		// Without the broadcaster no window is ever opened.
		return
	}
	_, warm, err := t.store.Take(ctx, token)
	if err != nil {
		t.log.Warn("presence: reading the grace window failed", "err", err)
	}
	now := time.Now().UnixNano()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	st := &socketState{c: c, last: now}
	ts := t.tokenLocked(token)
	ts.socks = append(ts.socks, st)
	var flush []deferred
	if p := ts.pending; p != nil {
		// The session is back: whichever instance owned the window, the
		// sockets held here are now simply gone.
		p.timer.Stop()
		ts.pending = nil
		flush = p.deferred
	}
	wasAFK := ts.afk
	ts.afk = false
	t.mu.Unlock()
	t.fireDisconnects(flush)
	if !warm {
		if wasAFK {
			t.announce(ctx, token, KindBack, nil, time.Time{})
		}
		return
	}
	sess, err := t.cl.session(ctx, token)
	if err != nil {
		t.log.Warn("presence: session read failed on reconnect", "err", err)
	}
	ev := &ReconnectEvent{Token: token}
	if sess != nil {
		ev.UserID, ev.RoomCodes = sess.ID, sess.RoomCodes
	}
	luckystack.DispatchHook(ctx, t.srv, PostSocketReconnect, ev)
	t.announce(ctx, token, KindBack, sess, time.Time{})
}

// disconnected handles a socket that went away. Its onSocketDisconnect is
// fired now when no window opens, else when the window closes.
func (t *tracker) disconnected(c conn, reason string) {
	token := c.Token()
	t.mu.Lock()
	var st *socketState
	if ts := t.tokens[token]; ts != nil {
		for i, s := range ts.socks {
			if s.c.ID() == c.ID() {
				st = s
				ts.socks = append(ts.socks[:i], ts.socks[i+1:]...)
				break
			}
		}
		if len(ts.socks) == 0 {
			ts.socks = nil
		}
		t.dropTokenLocked(token, ts)
	}
	tabSwitch := st != nil && st.tabSwitch
	closed := t.closed
	t.mu.Unlock()
	window, opens := t.opts.window(reason, tabSwitch)
	if token == "" || !t.broadcaster || !opens || closed {
		t.fireDisconnects([]deferred{{c, reason}})
		return
	}
	g := Grace{ID: newID(), Reason: reason, TabSwitch: tabSwitch, Deadline: time.Now().Add(window)}
	// The store call happens outside the lock: a Redis round trip must not
	// stall every other socket's presence work.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	owned, err := t.store.Arm(ctx, token, g)
	cancel()
	if err != nil {
		t.log.Warn("presence: recording the grace window failed; it will not expire the session", "err", err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.fireDisconnects([]deferred{{c, reason}})
		return
	}
	defer t.mu.Unlock()
	ts := t.tokenLocked(token)
	p := ts.pending
	if p == nil {
		p = &pending{}
		ts.pending = p
		p.timer = time.AfterFunc(window, func() { t.expire(token, p) })
	} else if owned && p.leaseID == "" {
		// This instance only held sockets for a window another instance
		// owned, which a reconnect has since taken: the new one is ours.
		p.timer.Reset(window)
	}
	if owned {
		p.leaseID, p.reason, p.tabSwitch = g.ID, reason, tabSwitch
	}
	p.deferred = append(p.deferred, deferred{c, reason})
}

// expire runs when p's timer fires.
func (t *tracker) expire(token string, p *pending) {
	run := func(ctx context.Context) {
		t.mu.Lock()
		ts := t.tokens[token]
		if ts == nil || ts.pending != p {
			t.mu.Unlock()
			return // a reconnect or Close got there first
		}
		ts.pending = nil
		t.dropTokenLocked(token, ts)
		t.mu.Unlock()
		if p.leaseID != "" {
			t.expireOwned(ctx, token, p)
		}
		t.fireDisconnects(p.deferred)
	}
	// Close fires the deferred events itself when the server is stopping.
	t.cl.goOwned(run)
}

// expireOwned ends a window this instance owns: unless a reconnect took it
// or a socket of the session lives on some instance, peers get userLeft and
// the session may be deleted.
func (t *tracker) expireOwned(ctx context.Context, token string, p *pending) {
	ok, err := t.store.Finish(ctx, token, p.leaseID)
	if err != nil {
		t.log.Warn("presence: finishing the grace window failed; keeping the session", "err", err)
		return
	}
	if !ok {
		return // the session came back on some instance
	}
	n, err := t.cl.liveSockets(ctx, token)
	if err != nil {
		// Not knowing whether another tab lives, keep the session: a late
		// userLeft is better than logging out a present user.
		t.log.Warn("presence: counting the session's sockets failed; keeping the session", "err", err)
		return
	}
	if n > 0 {
		return // another tab is still open somewhere
	}
	sess, err := t.cl.session(ctx, token)
	if err != nil {
		t.log.Warn("presence: session read failed at expiry", "err", err)
	}
	ev := &GraceExpiredEvent{Token: token, Reason: p.reason}
	if sess != nil {
		ev.UserID, ev.RoomCodes = sess.ID, sess.RoomCodes
		t.announce(ctx, token, KindLeft, sess, time.Time{})
		if t.opts.deletes(p.tabSwitch) {
			if err := t.cl.deleteSession(ctx, token); err != nil {
				t.log.Warn("presence: session delete failed at expiry", "err", err)
			} else {
				ev.SessionDeleted = true
			}
		}
	}
	luckystack.DispatchHook(ctx, t.srv, PostDisconnectGraceExpired, ev)
}

// fireDisconnects dispatches the onSocketDisconnect the root left to
// presence, in the order the sockets went.
func (t *tracker) fireDisconnects(ds []deferred) {
	for _, d := range ds {
		ev := &luckystack.SocketDisconnectEvent{SocketID: d.c.ID(), Token: d.c.Token(), Reason: d.reason}
		if lc, ok := d.c.(*luckystack.Client); ok {
			ev.Client = lc
		}
		luckystack.DispatchHook(context.Background(), t.srv, luckystack.OnSocketDisconnect, ev)
	}
}

// close stops every timer and fires the deferred onSocketDisconnect events;
// pending windows stay in the store, so a client that reconnects to another
// instance in time is still a warm reconnect.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	var flush []deferred
	for token, ts := range t.tokens {
		if p := ts.pending; p != nil {
			p.timer.Stop()
			flush = append(flush, p.deferred...)
			ts.pending = nil
		}
		t.dropTokenLocked(token, ts)
	}
	t.mu.Unlock()
	t.fireDisconnects(flush)
}
