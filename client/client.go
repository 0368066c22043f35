package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luckystack/luckystack-go/offlinequeue"
)

// Client is a connection to a LuckyStack server (Go or Node) that keeps
// itself connected. Create it with [New] or [Dial]; all methods are safe for
// concurrent use. Close it to stop its goroutines.
type Client struct {
	opts       Options
	target     string // websocket URL
	pollTarget string // polling URL
	bo         backoff

	disp         *dispatcher
	handlers     handlerSet[func(args []json.RawMessage)]
	syncHandlers handlerSet[func(SyncEvent)]
	pending      pendingCalls
	acks         ackWaiters
	queue        *offlinequeue.Pair[*call]
	index        atomic.Int64 // last responseIndex handed out

	wake   chan struct{} // capacity 1: skip the backoff wait now
	ctx    context.Context
	cancel context.CancelFunc // called by Close
	wg     sync.WaitGroup

	mu       sync.Mutex // Protects following.
	status   Status
	statusCh chan struct{} // closed and replaced on every status change
	conn     *conn         // the live connection, nil while disconnected
	gen      uint64        // generation of the latest connection
	flushing bool          // rejoin/replay running: new requests queue behind it
	token    string
	rooms    []string // rooms to rejoin, in join order
	closed   bool
	lastErr  error
}

// New returns a client for the LuckyStack server at serverURL
// ("http://host:port"; ws, https and wss work too) and starts connecting in
// the background. It fails only for an invalid URL or options.
func New(serverURL string, opts Options) (*Client, error) {
	o := opts.withDefaults()
	target, err := wsURL(serverURL, o.Path)
	if err != nil {
		return nil, err
	}
	pollTarget, err := pollingURL(serverURL, o.Path)
	if err != nil {
		return nil, err
	}
	qopts := o.Offline
	c := &Client{
		opts:       o,
		target:     target,
		pollTarget: pollTarget,
		bo:         backoff{min: o.ReconnectDelay, max: o.ReconnectDelayMax, randomization: o.Randomization},
		wake:       make(chan struct{}, 1),
		status:     StatusConnecting,
		statusCh:   make(chan struct{}),
		token:      o.Token,
	}
	c.disp = newDispatcher(o.Logger.Warn)
	if onDrop := qopts.OnDrop; onDrop != nil {
		// Drops happen under the client's lock; the observer runs later on
		// the callback goroutine so it may call the client.
		qopts.OnDrop = func(ev offlinequeue.DropEvent) { c.disp.post(func() { onDrop(ev) }) }
	}
	q, err := offlinequeue.NewPair[*call](qopts)
	if err != nil {
		return nil, fmt.Errorf("client: offline queue: %w", err)
	}
	c.queue = q
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.disp.run() }()
	go func() { defer c.wg.Done(); c.manage() }()
	return c, nil
}

// Dial is [New] followed by a wait for the first connection. It returns the
// connection error if the server refused the client (CONNECT_ERROR) or ctx
// ended first; then the client is closed.
func Dial(ctx context.Context, serverURL string, opts Options) (*Client, error) {
	c, err := New(serverURL, opts)
	if err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		st, ch, lastErr := c.status, c.statusCh, c.lastErr
		c.mu.Unlock()
		if st == StatusConnected {
			return c, nil
		}
		if st == StatusDisconnected {
			_ = c.Close()
			if lastErr == nil {
				lastErr = ErrNotConnected
			}
			return nil, lastErr
		}
		select {
		case <-ch:
		case <-ctx.Done():
			_ = c.Close()
			if lastErr != nil {
				return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			}
			return nil, ctx.Err()
		}
	}
}

// ID returns the Socket.IO socket id of the current connection, or "".
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return ""
	}
	return c.conn.id
}

// SetToken changes the session token used by the next connection. A
// connected client keeps its connection (and the server its old token) until
// [Client.Reconnect].
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// Token returns the session token the client connects with.
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Reconnect drops the current connection, if any, and connects again at
// once, without the backoff wait. Requests in flight are answered with
// api.disconnected. It also restarts a client that stopped trying. It
// returns once the old connection is gone, so that a following
// WaitStatus(StatusConnected) waits for the new one.
func (c *Client) Reconnect() {
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn == nil {
		c.kick()
		return
	}
	c.replace(c.ctx, cn, ReasonClientDisconnect)
}

// kick wakes the manager out of a backoff wait.
func (c *Client) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Resume checks the connection after the program was suspended or the
// network changed (the browser client's visibility reconnect). A client
// that is not connected reconnects at once instead of waiting out its
// backoff. A connected client probes the server with a getJoinedRooms round
// trip, bounded by ctx and [Options.ProbeTimeout]; if the server was silent
// longer than its ping window or does not answer in time, the connection is
// dropped and replaced at once. Resume returns nil when the connection was
// alive and an error saying why otherwise; either way the client keeps
// (re)connecting on its own.
func (c *Client) Resume(ctx context.Context) error {
	c.mu.Lock()
	cn, closed := c.conn, c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if cn == nil {
		c.kick()
		return ErrNotConnected
	}
	if silent := cn.silentFor(); cn.pingWait > 0 && silent > cn.pingWait {
		c.replace(ctx, cn, ReasonPingTimeout)
		return fmt.Errorf("client: resume: server silent for %v", silent.Round(time.Millisecond))
	}
	pctx, cancel := context.WithTimeout(ctx, c.opts.ProbeTimeout)
	defer cancel()
	_, err := c.roomsCall(pctx, cn, roomOp{event: roomGet})
	var e *Error
	switch {
	case err == nil, errors.As(err, &e) && e.Raw != nil:
		return nil // any reply proves the connection alive
	case ctx.Err() != nil:
		return ctx.Err()
	}
	c.replace(ctx, cn, ReasonProbeTimeout)
	return fmt.Errorf("client: resume: probe failed: %w", err)
}

// replace kills cn, asks for an immediate reconnect, and waits until the
// manager has let go of cn, so that callers never see the dead connection
// as current after replace returns.
func (c *Client) replace(ctx context.Context, cn *conn, reason string) {
	cn.kill(reason)
	c.kick()
	select {
	case <-cn.done:
	case <-ctx.Done():
		return
	}
	for {
		c.mu.Lock()
		cur, ch := c.conn, c.statusCh
		c.mu.Unlock()
		if cur != cn {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Close disconnects, stops reconnecting, answers every pending request
// (api.disconnected) and queued request (offline.dropped, reason
// "cleared"), and waits for the client's goroutines to end. It is
// idempotent. Because it waits for the callback goroutine, a callback must
// not call Close directly; it may start it with "go c.Close()".
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel() // serve disconnects the live connection politely
	c.wg.Wait()
	c.pending.failAll()
	c.acks.failAll()
	c.queue.Clear()
	if c.opts.ownHTTP {
		c.opts.HTTPClient.CloseIdleConnections()
	}
	return nil
}

// manage is the connection loop: dial, serve, and after a loss wait out the
// backoff and dial again, until Close.
func (c *Client) manage() {
	defer func() {
		c.mu.Lock()
		if c.status != StatusDisconnected {
			c.setStatusLocked(StatusEvent{Status: StatusDisconnected, Reason: ReasonClientDisconnect})
		}
		c.mu.Unlock()
		close(c.disp.stop)
	}()
	ctx := c.ctx
	attempt := 0
	first := true
	for {
		if ctx.Err() != nil {
			return
		}
		c.queue.Prune()
		cn, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			attempt++
			c.opts.Logger.Debug("client: connect failed", "attempt", attempt, "err", err)
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
			if isTerminal(err) || c.opts.NoReconnect ||
				(c.opts.MaxReconnectAttempts > 0 && attempt >= c.opts.MaxReconnectAttempts) {
				c.setStatus(StatusEvent{Status: StatusDisconnected, Attempt: attempt, Err: err})
				if !c.idle(ctx) {
					return
				}
				attempt, first = 0, false
				c.setStatus(StatusEvent{Status: StatusReconnecting})
				continue
			}
			st := StatusReconnecting
			if first {
				st = StatusConnecting
			}
			c.setStatus(StatusEvent{Status: st, Attempt: attempt, Err: err})
			if !c.sleep(ctx, c.bo.delay(attempt-1)) {
				return
			}
			continue
		}
		attempt, first = 0, false
		reason := c.serve(ctx, cn)
		if ctx.Err() != nil {
			return
		}
		if reason == ReasonServerDisconnect || c.opts.NoReconnect {
			// Like socket.io-client: a server that disconnected us on
			// purpose (logout, kick) is not reconnected to automatically.
			// serve reported StatusDisconnected.
			if !c.idle(ctx) {
				return
			}
			c.setStatus(StatusEvent{Status: StatusReconnecting})
			continue
		}
		if reason != ReasonClientDisconnect && reason != ReasonProbeTimeout {
			// Reconnect and Resume asked for an immediate attempt.
			if !c.sleep(ctx, c.bo.delay(0)) {
				return
			}
		}
	}
}

// sleep waits d, or less if kicked; it returns false once the client closes.
// Meanwhile it expires stale queued requests, so that their callers hear
// about it while the client is offline.
func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	prune, stop := c.pruneTicker()
	defer stop()
	for {
		select {
		case <-t.C:
			return true
		case <-c.wake:
			return true
		case <-prune:
			c.queue.Prune()
		case <-ctx.Done():
			return false
		}
	}
}

// idle waits until kicked; it returns false once the client closes.
func (c *Client) idle(ctx context.Context) bool {
	prune, stop := c.pruneTicker()
	defer stop()
	for {
		select {
		case <-c.wake:
			return true
		case <-prune:
			c.queue.Prune()
		case <-ctx.Done():
			return false
		}
	}
}

// pruneTicker ticks a few times per queue max age (at most every second),
// or never when queued requests do not expire.
func (c *Client) pruneTicker() (<-chan time.Time, func()) {
	age := c.opts.Offline.MaxAge
	if age == 0 {
		age = offlinequeue.DefaultMaxAge
	}
	if age < 0 {
		return nil, func() {}
	}
	t := time.NewTicker(min(max(age/4, 10*time.Millisecond), time.Second))
	return t.C, t.Stop
}

// dial opens one connection with the current token.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	header := c.opts.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	auth := map[string]any{}
	for k, v := range c.opts.Auth {
		auth[k] = v
	}
	if token != "" {
		switch c.opts.TokenTransport {
		case TokenInCookie:
			header.Add("Cookie", c.opts.CookieName+"="+url.PathEscape(token))
		default:
			auth["token"] = token
		}
	}
	// Drain a stale kick so that it does not cut the next backoff short.
	select {
	case <-c.wake:
	default:
	}
	switch c.opts.Transport {
	case PollingOnly:
		return dialConn(ctx, &c.opts, c.dialPolling, c.pollTarget, header, auth)
	case WebSocketOnly:
		return dialConn(ctx, &c.opts, c.opts.dial, c.target, header, auth)
	}
	cn, err := dialConn(ctx, &c.opts, c.opts.dial, c.target, header, auth)
	if err == nil || !isUpgradeRefusal(err) || ctx.Err() != nil {
		return cn, err
	}
	c.opts.Logger.Debug("client: websocket refused, trying polling", "err", err)
	cn, perr := dialConn(ctx, &c.opts, c.dialPolling, c.pollTarget, header, auth)
	if perr != nil {
		return nil, fmt.Errorf("%w; polling: %w", err, perr)
	}
	return cn, nil
}

// dialPolling opens a polling transport.
func (c *Client) dialPolling(ctx context.Context, target string, header http.Header) (transport, error) {
	return dialPolling(ctx, c.opts.HTTPClient, target, header, c.opts.MaxMessageSize)
}

// serve runs one connection: start its reader, rejoin rooms, replay the
// offline queue, report connected, then wait for the end. It returns the
// disconnect reason.
func (c *Client) serve(ctx context.Context, cn *conn) string {
	c.mu.Lock()
	c.gen++
	cn.gen = c.gen
	c.conn = cn
	c.flushing = true
	c.lastErr = nil
	c.mu.Unlock()
	c.wg.Add(1)
	go func() { defer c.wg.Done(); cn.run(c) }()

	c.rejoin(ctx, cn)
	for {
		err := c.queue.Flush(ctx, func(it offlinequeue.Item[*call]) error { return c.send(it.Payload, cn) })
		if err != nil && !errors.Is(err, offlinequeue.ErrFlushInProgress) {
			c.opts.Logger.Debug("client: offline replay stopped", "err", err)
			break
		}
		c.mu.Lock()
		if c.queue.Len() == 0 || c.conn != cn {
			c.flushing = false
			connected := c.conn == cn
			if connected {
				c.setStatusLocked(StatusEvent{Status: StatusConnected})
			}
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
	}
	select {
	case <-cn.done:
	case <-ctx.Done():
		cn.disconnect() // Close: leave the namespace politely
		<-cn.done
	}
	// The status changes together with c.conn, so that nobody sees
	// "connected" without a connection.
	next := StatusReconnecting
	switch {
	case ctx.Err() != nil, cn.reason == ReasonServerDisconnect, c.opts.NoReconnect:
		next = StatusDisconnected
	}
	c.mu.Lock()
	if c.conn == cn {
		c.conn = nil
	}
	c.flushing = false
	c.setStatusLocked(StatusEvent{Status: next, Reason: cn.reason})
	c.mu.Unlock()
	c.pending.failGen(cn.gen)
	c.acks.failGen(cn.gen)
	c.opts.Logger.Debug("client: disconnected", "reason", cn.reason)
	return cn.reason
}
