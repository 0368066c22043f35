package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// fakeConn is a socket of a session as the tracker sees it.
type fakeConn struct{ id, token, userID string }

func (c *fakeConn) ID() string     { return c.id }
func (c *fakeConn) Token() string  { return c.token }
func (c *fakeConn) UserID() string { return c.userID }

// sent is one presence event a fake instance broadcast.
type sent struct {
	from    string
	event   string
	payload string
	to      []string // recipient socket ids
}

// fakeNet is a cluster of fake instances: the sessions, the live sockets
// of every instance and their rooms, and what was sent.
type fakeNet struct {
	t        *testing.T
	sessions *luckystack.MemorySessionStore
	store    Store

	mu      sync.Mutex // Protects following.
	socks   map[string]*fakeConn
	rooms   map[string][]string // socket id -> rooms
	out     []sent
	deleted []string
	liveErr error
}

func newNet(t *testing.T) *fakeNet {
	return &fakeNet{t: t, sessions: luckystack.NewMemorySessionStore(24 * time.Hour), store: NewMemoryStore(),
		socks: map[string]*fakeConn{}, rooms: map[string][]string{}}
}

// login creates a session of user in rooms.
func (n *fakeNet) login(token, user string, rooms ...string) {
	require.NoError(n.t, n.sessions.Set(context.Background(), token, &luckystack.Session{ID: user, RoomCodes: rooms}))
}

func (n *fakeNet) sentEvents() []sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.out)
}

// sentNames lists "event payload →recipients" of everything sent.
func (n *fakeNet) sentNames() []string {
	var out []string
	for _, s := range n.sentEvents() {
		out = append(out, fmt.Sprintf("%s %s %v", s.event, s.payload, s.to))
	}
	return out
}

// instance is one fake server: a real luckystack.Server for hooks (never
// listening), a tracker and a record of the hooks it fired.
type instance struct {
	name string
	net  *fakeNet
	srv  *luckystack.Server
	tr   *tracker
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu  sync.Mutex // Protects following.
	log []string
}

// newInstance builds an instance inside the calling synctest bubble; its
// owned goroutines stop when the test ends.
func (n *fakeNet) newInstance(t *testing.T, name string, opts Options, broadcaster bool) *instance {
	srv, err := luckystack.NewServer(luckystack.Options{Args: []string{"0"}, Getenv: func(string) string { return "" }, Sessions: n.sessions})
	require.NoError(t, err)
	in := &instance{name: name, net: n, srv: srv}
	in.ctx, in.stop = context.WithCancel(context.Background())
	if opts.Store == nil {
		opts.Store = n.store
	}
	in.tr = newTracker(srv, fakeCluster{in}, opts.withDefaults(), broadcaster)
	luckystack.RegisterHook(srv, luckystack.OnSocketDisconnect, func(_ context.Context, e *luckystack.SocketDisconnectEvent) error {
		in.record("onSocketDisconnect %s %s", e.SocketID, e.Reason)
		return nil
	})
	luckystack.RegisterHook(srv, PostSocketReconnect, func(_ context.Context, e *ReconnectEvent) error {
		in.record("postSocketReconnect %s %s %v", e.Token, e.UserID, e.RoomCodes)
		return nil
	})
	luckystack.RegisterHook(srv, PostDisconnectGraceExpired, func(_ context.Context, e *GraceExpiredEvent) error {
		in.record("postDisconnectGraceExpired %s %s %v %s deleted=%v", e.Token, e.UserID, e.RoomCodes, e.Reason, e.SessionDeleted)
		return nil
	})
	t.Cleanup(func() {
		in.stop()
		in.wg.Wait()
		in.tr.close()
	})
	return in
}

func (in *instance) record(format string, args ...any) {
	in.mu.Lock()
	in.log = append(in.log, fmt.Sprintf(format, args...))
	in.mu.Unlock()
}

// take returns and clears the hook record.
func (in *instance) take() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.log
	in.log = nil
	return out
}

// connect adds a socket of token to this instance, joined to its session's
// rooms as the root does, then tells the tracker.
func (in *instance) connect(id, token string) *fakeConn {
	n := in.net
	c := &fakeConn{id: id, token: token}
	sess, _ := n.sessions.Get(context.Background(), token)
	var rooms []string
	if sess != nil {
		c.userID = sess.ID
		rooms = append([]string{luckystack.SessionRoom(token)}, sess.RoomCodes...)
	}
	n.mu.Lock()
	n.socks[id] = c
	n.rooms[id] = rooms
	n.mu.Unlock()
	in.tr.connected(context.Background(), c)
	return c
}

// disconnect removes the socket from the cluster, then tells the tracker.
func (in *instance) disconnect(c *fakeConn, reason string) {
	n := in.net
	n.mu.Lock()
	delete(n.socks, c.id)
	delete(n.rooms, c.id)
	n.mu.Unlock()
	in.tr.disconnected(c, reason)
}

type fakeCluster struct{ in *instance }

func (f fakeCluster) session(ctx context.Context, token string) (*luckystack.Session, error) {
	return f.in.net.sessions.Get(ctx, token)
}

func (f fakeCluster) deleteSession(ctx context.Context, token string) error {
	n := f.in.net
	n.mu.Lock()
	n.deleted = append(n.deleted, token)
	n.mu.Unlock()
	return n.sessions.Delete(ctx, token)
}

func (f fakeCluster) liveSockets(_ context.Context, token string) (int, error) {
	n := f.in.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.liveErr != nil {
		return 0, n.liveErr
	}
	count := 0
	for id := range n.socks {
		if slices.Contains(n.rooms[id], luckystack.SessionRoom(token)) {
			count++
		}
	}
	return count, nil
}

func (f fakeCluster) emitToPeers(_ context.Context, rooms []string, token string, event events.Name, payload any, _ bool) (int, error) {
	n := f.in.net
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var to []string
	for id, rs := range n.rooms {
		if slices.Contains(rs, luckystack.SessionRoom(token)) {
			continue
		}
		for _, r := range rooms {
			if slices.Contains(rs, r) {
				to = append(to, id)
				break
			}
		}
	}
	slices.Sort(to)
	n.out = append(n.out, sent{from: f.in.name, event: string(event), payload: string(b), to: to})
	return len(to), nil
}

func (f fakeCluster) roomSockets(_ context.Context, room string) ([]roomSocket, error) {
	n := f.in.net
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []roomSocket
	for id, rs := range n.rooms {
		if slices.Contains(rs, room) {
			out = append(out, roomSocket{id: id, token: n.socks[id].token, userID: n.socks[id].userID})
		}
	}
	slices.SortFunc(out, func(a, b roomSocket) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	return out, nil
}

func (f fakeCluster) goOwned(fn func(ctx context.Context)) bool {
	in := f.in
	if in.ctx.Err() != nil {
		return false
	}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		fn(in.ctx)
	}()
	return true
}

var errLive = errors.New("fetch sockets timed out")
