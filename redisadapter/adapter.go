package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go/socketio"
)

// Options configures an [Adapter]. The zero value matches the defaults of
// Node's createAdapter.
type Options struct {
	// Key is the channel prefix, Node's opts.key. Zero means "socket.io".
	Key string
	// RequestsTimeout bounds cluster requests (fetch sockets, all rooms,
	// server-side emit with acks, server count) whose context has no
	// deadline, and the wait for acks of a broadcast without a timeout flag.
	// A context deadline always wins. Zero means 5s, Node's requestsTimeout.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends this server's responses to the
	// requester's own channel "<key>-response#<nsp>#<uid>#" instead of the
	// shared one, so servers stop receiving each other's responses. Every
	// Node peer of the cluster must run a version that subscribes to it
	// (@socket.io/redis-adapter 7.1+). Requests this server makes are
	// answered on either channel, as it listens on both.
	PublishOnSpecificResponseChannel bool
	// MaxPendingPublishes caps the messages waiting to be published. When
	// Redis is slow or down, publishes beyond it fail with [ErrQueueFull]
	// (local delivery still happens). Zero means 65536.
	MaxPendingPublishes int
	// Logger receives diagnostics: lost and restored subscriptions, failed
	// publishes, messages that do not decode. Nil means silent.
	Logger *slog.Logger
	// OnError is called for every error the adapter cannot return to a
	// caller: publishes Redis refused (the error says how many messages
	// were lost), a lost subscription connection, a message that does not
	// decode. It runs on the adapter's own goroutines and must not block.
	// Nil means none.
	OnError func(err error)
}

// withDefaults fills the zero fields of a copy.
func (o Options) withDefaults() Options {
	if o.Key == "" {
		o.Key = defaultKey
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.MaxPendingPublishes <= 0 {
		o.MaxPendingPublishes = 65536
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats are counters of one [Adapter] since [New], for metrics and tests.
type Stats struct {
	// Published counts messages Redis accepted.
	Published uint64
	// PublishFailed counts messages lost because Redis failed their
	// PUBLISH (down, timeout, error reply).
	PublishFailed uint64
	// QueueFull counts messages refused with [ErrQueueFull].
	QueueFull uint64
	// Received counts messages received on the subscribed channels,
	// this server's own included.
	Received uint64
	// DroppedUnknownRoom counts room-channel broadcasts dropped, before
	// their payload was decoded, because no local socket is in that room.
	DroppedUnknownRoom uint64
	// Malformed counts received messages dropped because they did not
	// decode.
	Malformed uint64
	// Reconnects counts how often the subscription connection came back
	// after it was lost.
	Reconnects uint64
}

// stats holds the live counters behind [Stats].
type stats struct {
	published, publishFailed, queueFull, received atomic.Uint64
	droppedUnknownRoom, malformed, reconnects     atomic.Uint64
}

// Adapter connects the namespaces of one [socketio.Server] to Redis. It owns
// one subscription connection (taken from the client, PSUBSCRIBE and
// SUBSCRIBE for every namespace) and one publishing goroutine that pipelines
// PUBLISH commands; it never closes the client, which stays the caller's.
//
// Give each server its own Adapter: servers count each other through the
// subscribers of the request channel (PUBSUB NUMSUB), so two servers on one
// subscription connection would count as one.
type Adapter struct {
	client redis.UniversalClient
	opts   Options
	log    *slog.Logger
	stats  stats

	pub *publisher
	sub *subscriber

	// ctx is cancelled when Close gives up waiting, to abort Redis calls in
	// flight.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// routes maps a subscribed channel or pattern to its namespace, read
	// without a lock by the subscriber for every message.
	routes atomic.Pointer[map[string]route]

	mu     sync.Mutex // Protects following and writes to routes.
	closed bool
	nsps   map[string]*NamespaceAdapter
}

// routeKind says what a subscribed name carries.
type routeKind uint8

const (
	routeBroadcast routeKind = iota + 1
	routeRequest
	routeResponse
)

// route ties a subscribed channel or pattern to a namespace adapter.
type route struct {
	kind routeKind
	nsa  *NamespaceAdapter
}

// New returns an adapter publishing and subscribing through client, which may
// be a single-node, failover or cluster client (for the latter, server counts
// are summed over the masters, as Node does). New does not contact Redis: the
// server works locally from the start and joins the cluster once Redis
// answers (see [Adapter.Ready]).
//
// Plug it into a server with [Adapter.For]. Close it after the server shut
// down; closing does not close client.
func New(client redis.UniversalClient, opts Options) (*Adapter, error) {
	if client == nil {
		return nil, errors.New("redisadapter: nil Redis client")
	}
	a := &Adapter{client: client, opts: opts.withDefaults(), nsps: make(map[string]*NamespaceAdapter)}
	a.log = a.opts.Logger
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.routes.Store(&map[string]route{})
	a.pub = newPublisher(a)
	a.sub = newSubscriber(a)
	// Every field is set before the goroutines start: they read them
	// without locks.
	a.wg.Add(3)
	go func() { defer a.wg.Done(); a.pub.run() }()
	go func() { defer a.wg.Done(); a.sub.read() }()
	go func() { defer a.wg.Done(); a.sub.keep() }()
	return a, nil
}

// For returns the adapter of nsp; pass the method value as
// [socketio.Options].Adapter:
//
//	srv := socketio.NewServer(socketio.Options{Adapter: ra.For})
//
// It subscribes the namespace's channels in the background. It panics when a
// namespace of that name already has a live adapter here, which means the
// Adapter is shared by two servers (see [Adapter]).
func (a *Adapter) For(nsp *socketio.Namespace) socketio.Adapter {
	nsa := newNamespaceAdapter(a, nsp)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		// The server keeps working on its own; publishes fail with ErrClosed.
		nsa.closed = true
		return nsa
	}
	if _, dup := a.nsps[nsp.Name()]; dup {
		panic(fmt.Sprintf("redisadapter: namespace %q already has an adapter: use one Adapter per server", nsp.Name()))
	}
	a.nsps[nsp.Name()] = nsa
	routes := a.copyRoutesLocked()
	routes[nsa.ch.pattern()] = route{routeBroadcast, nsa}
	routes[nsa.ch.request] = route{routeRequest, nsa}
	routes[nsa.ch.response] = route{routeResponse, nsa}
	routes[nsa.ch.ownResponse] = route{routeResponse, nsa}
	a.routes.Store(&routes)
	a.sub.add([]string{nsa.ch.request, nsa.ch.response, nsa.ch.ownResponse}, []string{nsa.ch.pattern()})
	return nsa
}

// remove forgets nsa's routes and subscriptions.
func (a *Adapter) remove(nsa *NamespaceAdapter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nsps[nsa.nsp.Name()] != nsa {
		return
	}
	delete(a.nsps, nsa.nsp.Name())
	routes := a.copyRoutesLocked()
	for _, name := range []string{nsa.ch.pattern(), nsa.ch.request, nsa.ch.response, nsa.ch.ownResponse} {
		delete(routes, name)
	}
	a.routes.Store(&routes)
	if !a.closed {
		a.sub.remove([]string{nsa.ch.request, nsa.ch.response, nsa.ch.ownResponse}, []string{nsa.ch.pattern()})
	}
}

func (a *Adapter) copyRoutesLocked() map[string]route {
	old := *a.routes.Load()
	next := make(map[string]route, len(old)+4)
	for k, v := range old {
		next[k] = v
	}
	return next
}

// Ready waits until every namespace's channels are subscribed on a live Redis
// connection, or ctx ends. Servers miss what peers publish before that, so
// tests (and programs that must not lose early messages) wait for it.
func (a *Adapter) Ready(ctx context.Context) error { return a.sub.ready(ctx) }

// Stats returns the adapter's counters.
func (a *Adapter) Stats() Stats {
	s := &a.stats
	return Stats{
		Published:          s.published.Load(),
		PublishFailed:      s.publishFailed.Load(),
		QueueFull:          s.queueFull.Load(),
		Received:           s.received.Load(),
		DroppedUnknownRoom: s.droppedUnknownRoom.Load(),
		Malformed:          s.malformed.Load(),
		Reconnects:         s.reconnects.Load(),
	}
}

// Close stops the adapter: namespaces still open are closed (their pending
// requests fail with [ErrClosed]), publishes already queued are flushed
// while ctx allows, the subscription connection is closed and every
// goroutine the adapter started has returned when Close does (unless ctx
// ends first, in which case Redis calls in flight are aborted and ctx's
// error returned). The Redis client is left open. Close is idempotent.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	already := a.closed
	a.closed = true
	nsps := make([]*NamespaceAdapter, 0, len(a.nsps))
	for _, n := range a.nsps {
		nsps = append(nsps, n)
	}
	a.mu.Unlock()
	if !already {
		for _, n := range nsps {
			_ = n.Close(ctx)
		}
		a.pub.close()
		a.sub.close()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		a.cancel()
		return nil
	case <-ctx.Done():
		a.cancel()
		<-done // aborted calls return promptly
		return ctx.Err()
	}
}

// report surfaces an error nobody else will see: OnError and the logger.
func (a *Adapter) report(msg string, err error, attrs ...any) {
	a.log.Warn(msg, append(attrs, "err", err)...)
	if a.opts.OnError != nil {
		a.opts.OnError(fmt.Errorf("%s: %w", msg, err))
	}
}

// requestContext applies RequestsTimeout when ctx has no deadline.
func (a *Adapter) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.opts.RequestsTimeout)
}

// backoff returns the pause after the n-th consecutive failure (n ≥ 1):
// 50ms doubling up to 500ms, so delivery resumes within about half a second
// of Redis coming back, for two failed dials a second while it is away.
func backoff(n int) time.Duration {
	const ceiling = 500 * time.Millisecond
	d := 50 * time.Millisecond
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}
