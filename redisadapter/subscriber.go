package redisadapter

// This file is the receiving side: one go-redis PubSub connection carrying
// every namespace's pattern and channels, read by one goroutine, plus a keeper
// goroutine that applies subscription changes and checks the connection's
// health, so that neither Server.Of nor a health probe ever waits on Redis.
//
// go-redis resubscribes a PubSub's channels by itself when a Receive finds
// the connection broken; the reader only paces those attempts. The keeper
// covers what go-redis cannot see: a connection that stays open but no longer
// answers (then the PubSub is replaced).

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// healthInterval is the keeper's tick: a connection silent for half of
	// it is pinged, and one whose ping stays unanswered for a whole one is
	// replaced, so a dead connection is noticed within 2.5 intervals.
	healthInterval = 3 * time.Second
	// subscribeTimeout bounds one SUBSCRIBE-family call of the keeper.
	subscribeTimeout = 5 * time.Second
)

// subOp is a subscription change waiting for the keeper.
type subOp struct {
	add     bool
	pattern bool
	names   []string
}

// subscriber owns the PubSub and its two goroutines.
type subscriber struct {
	a        *Adapter
	ctx      context.Context // cancelled by close, aborting dials in flight
	cancel   context.CancelFunc
	wake     chan struct{} // capacity 1: ops are pending
	stop     chan struct{} // closed by close
	lastRecv atomic.Int64  // unix nanoseconds of the last thing read

	mu        sync.Mutex // Protects following.
	ps        *redis.PubSub
	closed    bool
	channels  map[string]struct{} // wanted, whether confirmed or not
	patterns  map[string]struct{}
	ops       []subOp
	confirmed map[string]struct{} // confirmed by Redis on the current connection
	changed   chan struct{}       // closed and replaced when confirmed changes
	up        bool                // the reader has read from the current connection
}

func newSubscriber(a *Adapter) *subscriber {
	s := &subscriber{
		a:         a,
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		channels:  make(map[string]struct{}),
		patterns:  make(map[string]struct{}),
		confirmed: make(map[string]struct{}),
		changed:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(a.ctx)
	// Without channels Subscribe does not dial: the reader's first Receive does.
	s.ps = a.client.Subscribe(s.ctx)
	return s
}

// add subscribes channels and patterns (in the background).
func (s *subscriber) add(channels, patterns []string) { s.change(true, channels, patterns) }

// remove unsubscribes channels and patterns (in the background).
func (s *subscriber) remove(channels, patterns []string) { s.change(false, channels, patterns) }

func (s *subscriber) change(add bool, channels, patterns []string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for _, set := range []struct {
		m     map[string]struct{}
		names []string
		pat   bool
	}{{s.channels, channels, false}, {s.patterns, patterns, true}} {
		for _, n := range set.names {
			if add {
				set.m[n] = struct{}{}
			} else {
				delete(set.m, n)
				delete(s.confirmed, n)
			}
		}
		s.ops = append(s.ops, subOp{add: add, pattern: set.pat, names: set.names})
	}
	s.notifyLocked()
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// notifyLocked wakes ready() waiters.
func (s *subscriber) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// ready waits until every wanted name is confirmed on a live connection.
func (s *subscriber) ready(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		ok := true
		for _, set := range []map[string]struct{}{s.channels, s.patterns} {
			for n := range set {
				if _, c := s.confirmed[n]; !c {
					ok = false
				}
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close stops both goroutines; safe to call more than once.
func (s *subscriber) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ps := s.ps
	s.notifyLocked()
	s.mu.Unlock()
	close(s.stop)
	s.cancel()
	_ = ps.Close() // unblocks the reader's Receive
}

// read is the reader goroutine: it receives, dispatches, and paces
// reconnection attempts while Redis is unreachable.
func (s *subscriber) read() {
	failures := 0
	var lostAt time.Time
	for {
		s.mu.Lock()
		ps, closed := s.ps, s.closed
		s.mu.Unlock()
		if closed {
			return
		}
		msg, err := ps.Receive(s.ctx)
		if err != nil {
			s.mu.Lock()
			replaced, closed := s.ps != ps, s.closed
			s.up = false
			if len(s.confirmed) > 0 {
				clear(s.confirmed)
				s.notifyLocked()
			}
			s.mu.Unlock()
			if closed {
				return
			}
			if replaced {
				continue // the keeper swapped connections; read the new one
			}
			failures++
			if failures == 1 {
				lostAt = time.Now()
				s.a.report("redisadapter: subscription connection lost, retrying", err)
			} else {
				s.a.log.Debug("redisadapter: resubscribe failed", "attempt", failures, "err", err)
			}
			select {
			case <-time.After(backoff(failures)):
			case <-s.stop:
				return
			}
			continue
		}
		s.lastRecv.Store(time.Now().UnixNano())
		s.mu.Lock()
		s.up = true
		s.mu.Unlock()
		if failures > 0 {
			s.a.stats.reconnects.Add(1)
			s.a.log.Info("redisadapter: subscription connection restored", "after", time.Since(lostAt).Round(time.Millisecond))
			failures = 0
		}
		switch m := msg.(type) {
		case *redis.Message:
			s.a.dispatch(m)
		case *redis.Subscription:
			s.confirm(m)
		}
	}
}

// confirm records a SUBSCRIBE-family reply.
func (s *subscriber) confirm(m *redis.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Kind {
	case "subscribe", "psubscribe":
		_, wanted := s.channels[m.Channel]
		if _, p := s.patterns[m.Channel]; p {
			wanted = true
		}
		if wanted {
			s.confirmed[m.Channel] = struct{}{}
		}
	case "unsubscribe", "punsubscribe":
		delete(s.confirmed, m.Channel)
	}
	s.notifyLocked()
}

// keep is the keeper goroutine.
func (s *subscriber) keep() {
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	var pingSent time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
			s.apply()
		case now := <-t.C:
			pingSent = s.health(now, pingSent)
		}
	}
}

// apply sends the pending subscription changes. A failure needs no retry:
// the PubSub records its channels before writing, and restores them all on
// the next connection.
func (s *subscriber) apply() {
	s.mu.Lock()
	ops, ps := s.ops, s.ps
	s.ops = nil
	s.mu.Unlock()
	for _, op := range ops {
		if len(op.names) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, subscribeTimeout)
		var err error
		switch {
		case op.add && op.pattern:
			err = ps.PSubscribe(ctx, op.names...)
		case op.add:
			err = ps.Subscribe(ctx, op.names...)
		case op.pattern:
			err = ps.PUnsubscribe(ctx, op.names...)
		default:
			err = ps.Unsubscribe(ctx, op.names...)
		}
		cancel()
		if err != nil {
			s.a.log.Debug("redisadapter: subscription change deferred until Redis answers", "names", op.names, "err", err)
		}
	}
}

// health pings a connection silent for half an interval and replaces one
// whose ping stayed unanswered for a whole interval. now is the tick's time,
// so that consecutive ticks are exactly one interval apart; it returns when
// the outstanding ping was sent (zero for none).
func (s *subscriber) health(now, pingSent time.Time) time.Time {
	last := time.Unix(0, s.lastRecv.Load())
	if now.Sub(last) < healthInterval/2 || last.After(pingSent) {
		pingSent = time.Time{} // traffic, or the pong, arrived
	}
	if now.Sub(last) < healthInterval/2 {
		return time.Time{}
	}
	s.mu.Lock()
	up, ps := s.up, s.ps
	s.mu.Unlock()
	if !up {
		return time.Time{} // the reader is already reconnecting
	}
	if !pingSent.IsZero() {
		if now.Sub(pingSent) >= healthInterval {
			s.replace()
			return time.Time{}
		}
		return pingSent
	}
	ctx, cancel := context.WithTimeout(s.ctx, subscribeTimeout)
	defer cancel()
	if err := ps.Ping(ctx); err != nil {
		// go-redis has dropped the connection; the reader reconnects.
		return time.Time{}
	}
	return now
}

// replace swaps in a new PubSub holding every wanted subscription and closes
// the old one, which ends the reader's blocked Receive.
func (s *subscriber) replace() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.ps
	s.ps = s.a.client.Subscribe(s.ctx)
	ps := s.ps
	channels := keys(s.channels)
	patterns := keys(s.patterns)
	s.ops = nil // the full set is subscribed below
	s.up = false
	clear(s.confirmed)
	s.notifyLocked()
	s.mu.Unlock()
	s.a.report("redisadapter: subscription connection unresponsive, reconnecting", errNoPong)
	_ = old.Close()
	ctx, cancel := context.WithTimeout(s.ctx, subscribeTimeout)
	defer cancel()
	if len(channels) > 0 {
		_ = ps.Subscribe(ctx, channels...)
	}
	if len(patterns) > 0 {
		_ = ps.PSubscribe(ctx, patterns...)
	}
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dispatch routes a received message to its namespace.
func (a *Adapter) dispatch(m *redis.Message) {
	a.stats.received.Add(1)
	name := m.Channel
	if m.Pattern != "" {
		name = m.Pattern
	}
	r, ok := (*a.routes.Load())[name]
	if !ok {
		return
	}
	switch r.kind {
	case routeBroadcast:
		r.nsa.onBroadcast(m.Channel, m.Payload)
	case routeRequest:
		r.nsa.onRequest(m.Payload)
	case routeResponse:
		r.nsa.onResponse(m.Payload)
	}
}
