package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	stdsync "sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/internal/registry"
)

// CodeTooManyInFlight is the error code (status 429) of a socket request
// refused because the client already has [Options.MaxInFlight] sync
// requests running. It is not part of the original catalogue, which had no
// bound.
const CodeTooManyInFlight = "sync.tooManyInFlight"

// Options configures [New]. The zero value is the original's behaviour:
// receiver "all" refused, room membership required, the original's rate
// limits in memory.
type Options struct {
	// AllowReceiverAll lets clients send to receiver "all" (every socket of
	// the cluster). Default false: sync.receiverNotAllowed (403).
	AllowReceiverAll bool
	// AllowNonMembers lets a sender target a room it is not in. Default
	// false: sync.notRoomMember (403).
	AllowNonMembers bool
	// MaxInFlight bounds the socket requests one client may have running;
	// beyond it a request is answered at once with [CodeTooManyInFlight].
	// Zero means 16; negative means no bound.
	MaxInFlight int
	// FanoutConcurrency bounds how many recipients' client handlers run at
	// once for one request. Zero means 16.
	FanoutConcurrency int
	// RateLimit configures the rate limits: per route and caller
	// (<scope>:<id>:sync:<key>, limit = the route's, else DefaultAPILimit),
	// then per IP (ip:<ip>:sync:all). Identity receives an *api.Request
	// carrying the route name, transport, session, token and IP.
	RateLimit api.RateLimitOptions
	// Limiter counts the hits. Nil means one over RateLimit.Store and
	// RateLimit.OnStoreError; pass the api module's Limiter to share it.
	Limiter *api.Limiter
	// Translate produces error messages. Nil means message = error code.
	Translate api.Translator
	// ErrorFormatter reshapes the error answers of routes without their
	// own [Route].ErrorFormatter, and of requests refused before their
	// route was known. Nil sends the envelopes as they are.
	ErrorFormatter ErrorFormatter
	// StreamParam is the query parameter that asks for server-sent events
	// over HTTP (value "true" or "1"). Zero means "stream".
	StreamParam string
}

// Module is the sync feature. Create it with [New], register routes with
// [Register], and pass it in luckystack.Options.Modules. A module belongs to
// one server.
type Module struct {
	opts     Options
	problems []string
	limiter  *api.Limiter

	routes registry.Registry[*entry]

	srv    atomic.Pointer[luckystack.Server]
	pool   atomic.Pointer[api.WorkerPool]
	closed atomic.Bool

	flightsMu stdsync.Mutex // Protects following.
	flights   map[string]*clientFlights
}

var (
	_ luckystack.Module   = (*Module)(nil)
	_ luckystack.Verifier = (*Module)(nil)
	_ luckystack.Closer   = (*Module)(nil)
)

// New returns a module with opts; zero fields take their defaults. Invalid
// values are reported by Verify at bootstrap.
func New(opts Options) *Module {
	m := &Module{flights: map[string]*clientFlights{}}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 16
	}
	if opts.FanoutConcurrency == 0 {
		opts.FanoutConcurrency = 16
	}
	if opts.FanoutConcurrency < 0 {
		m.problems = append(m.problems, fmt.Sprintf("FanoutConcurrency %d is negative", opts.FanoutConcurrency))
		opts.FanoutConcurrency = 1
	}
	rl := &opts.RateLimit
	m.problems = append(m.problems, rl.ApplyDefaults()...)
	if opts.StreamParam == "" {
		opts.StreamParam = "stream"
	}
	m.limiter = opts.Limiter
	if m.limiter == nil {
		m.limiter = api.NewLimiter(api.LimiterOptions{Store: rl.Store, OnStoreError: rl.OnStoreError})
	}
	m.opts = opts
	return m
}

// Name implements luckystack.Module.
func (m *Module) Name() string { return "sync" }

// Verify implements luckystack.Verifier: it reports invalid options.
func (m *Module) Verify(*luckystack.Server) []string { return m.problems }

// Install implements luckystack.Module: it handles sync and syncCancel on
// the socket and /sync/ over HTTP.
func (m *Module) Install(s *luckystack.Server) error {
	if !m.srv.CompareAndSwap(nil, s) && m.srv.Load() != s {
		return errors.New("sync: module already installed on another server")
	}
	if m.pool.Load() == nil {
		m.pool.Store(api.NewWorkerPool(s))
	}
	s.HandleSocketEvent(string(events.NameSync), m.onSync)
	s.HandleSocketEvent(string(events.NameSyncCancel), m.onSyncCancel)
	s.HandleSync(httpHandler{m})
	return nil
}

// Close implements luckystack.Closer: it refuses new requests. Running ones
// were cancelled when the server stopped its goroutines.
func (m *Module) Close(context.Context) error {
	m.closed.Store(true)
	return nil
}

func (m *Module) server() *luckystack.Server { return m.srv.Load() }

// clientFlights are the running socket requests of one client, by cancel
// id, so that syncCancel finds them and MaxInFlight holds.
type clientFlights struct {
	n    int
	byID map[string]*flight
	// tail is the turn of the client's latest request: the next request
	// delivers after it (per-sender order, see [flight.turn]).
	tail chan struct{}
}

// flight is one running socket request.
type flight struct {
	id     string // the cancel id sent as {__cancelId}
	cb     string // the request's cb, the client's fallback cancel key
	cancel context.CancelCauseFunc

	// prev is closed once the same client's previous request delivered or
	// ended; turn is closed when this one has (passTurn, endTurn). Handlers
	// run in parallel but fan-out frames leave in the client's send order,
	// so a chat's lines never overtake each other. A request that ends
	// without delivering (failed, cancelled, disconnected) still passes its
	// turn, after its own predecessor did, so it never blocks its successors
	// nor lets them overtake the requests before it; MaxInFlight bounds the
	// chain.
	prev     <-chan struct{}
	turn     chan struct{}
	turnOnce stdsync.Once
}

// passTurn lets the client's next request deliver.
func (f *flight) passTurn() { f.turnOnce.Do(func() { close(f.turn) }) }

// endTurn passes the turn of a request that is over, once its predecessor
// passed its own (at once when it delivered: its turn passed already).
func (f *flight) endTurn(ctx context.Context) {
	f.waitTurn(ctx)
	f.passTurn()
}

// waitTurn waits until the client's previous request delivered or ended,
// or ctx is done (Shutdown). Requests without a predecessor pass at once.
func (f *flight) waitTurn(ctx context.Context) {
	if f == nil || f.prev == nil {
		return
	}
	select {
	case <-f.prev:
	case <-ctx.Done():
	}
}

// ErrCanceled is the cause ([context.Cause]) of a handler context the
// client cancelled with syncCancel.
var ErrCanceled = errors.New("sync: request cancelled by the client")

func (m *Module) acquire(sid string, f *flight) bool {
	m.flightsMu.Lock()
	defer m.flightsMu.Unlock()
	cf := m.flights[sid]
	if cf == nil {
		cf = &clientFlights{byID: map[string]*flight{}}
		m.flights[sid] = cf
	}
	if m.opts.MaxInFlight > 0 && cf.n >= m.opts.MaxInFlight {
		return false
	}
	cf.n++
	cf.byID[f.id] = f
	f.turn = make(chan struct{})
	f.prev, cf.tail = cf.tail, f.turn
	return true
}

func (m *Module) release(sid string, f *flight) {
	m.flightsMu.Lock()
	defer m.flightsMu.Unlock()
	cf := m.flights[sid]
	if cf == nil {
		return
	}
	cf.n--
	delete(cf.byID, f.id)
	if cf.n <= 0 {
		delete(m.flights, sid)
	}
}

// cancelFlights aborts the socket's request whose cancel id is key, or,
// when none has it, every running request whose cb is key (the client
// falls back to its cb when it never received the cancel id).
func (m *Module) cancelFlights(sid, key string) int {
	m.flightsMu.Lock()
	var hit []*flight
	if cf := m.flights[sid]; cf != nil {
		if f := cf.byID[key]; f != nil {
			hit = append(hit, f)
		} else {
			for _, f := range cf.byID {
				if f.cb == key {
					hit = append(hit, f)
				}
			}
		}
	}
	m.flightsMu.Unlock()
	for _, f := range hit {
		f.cancel(ErrCanceled)
	}
	return len(hit)
}

// onSyncCancel handles syncCancel {cb}. Unknown keys are ignored; there is
// no reply.
func (m *Module) onSyncCancel(_ context.Context, c *luckystack.Client, payload json.RawMessage) {
	var msg struct {
		CB json.RawMessage `json:"cb"`
	}
	if json.Unmarshal(payload, &msg) != nil {
		return
	}
	var key string
	if json.Unmarshal(msg.CB, &key) != nil || key == "" {
		return
	}
	m.cancelFlights(c.ID(), key)
}

// newCancelID returns a random UUID (version 4), the cancel id format of
// the original.
func newCancelID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
