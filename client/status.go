package client

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Status is the connection state a [Client] reports.
type Status int

const (
	// StatusConnecting: the first connection attempt is under way.
	StatusConnecting Status = iota + 1
	// StatusConnected: connected, rooms rejoined, offline queue replayed.
	StatusConnected
	// StatusReconnecting: the connection was lost (or an attempt failed)
	// and the client is waiting for, or making, the next attempt.
	StatusReconnecting
	// StatusDisconnected: not connected and not trying: after Close, after
	// the server disconnected the socket (logout, kick), after a
	// CONNECT_ERROR, or once MaxReconnectAttempts ran out. Resume or
	// Reconnect starts again.
	StatusDisconnected
)

// String returns "connecting", "connected", "reconnecting" or
// "disconnected".
func (s Status) String() string {
	switch s {
	case StatusConnecting:
		return "connecting"
	case StatusConnected:
		return "connected"
	case StatusReconnecting:
		return "reconnecting"
	case StatusDisconnected:
		return "disconnected"
	}
	return "unknown"
}

// StatusEvent describes a status change to [Options.OnStatus].
type StatusEvent struct {
	// Status is the new status.
	Status Status
	// Reason says why a connection ended ("transport close", "ping
	// timeout", "io server disconnect", ...); empty otherwise.
	Reason string
	// Attempt counts failed connection attempts in a row while
	// reconnecting; 0 otherwise.
	Attempt int
	// Err is the last connection error, if any.
	Err error
}

// backoff computes reconnection delays as socket.io-client does: the base
// delay doubles per attempt up to the cap, and each delay moves by a random
// fraction (up to randomization) of itself, up or down, so that clients cut
// off together do not come back together.
type backoff struct {
	min, max      time.Duration
	randomization float64
	rand          func() float64
}

// delay returns the wait before attempt n (0 for the first retry).
func (b backoff) delay(n int) time.Duration {
	d := float64(b.min) * math.Pow(2, float64(min(n, 62)))
	if b.randomization > 0 {
		r := b.rand
		if r == nil {
			r = rand.Float64
		}
		dev := r() * b.randomization * d
		if r() < 0.5 {
			d -= dev
		} else {
			d += dev
		}
	}
	if d > float64(b.max) {
		d = float64(b.max)
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// WaitStatus blocks until the client's status is s or ctx ends.
func (c *Client) WaitStatus(ctx context.Context, s Status) error {
	for {
		c.mu.Lock()
		cur, ch := c.status, c.statusCh
		c.mu.Unlock()
		if cur == s {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Status returns the current status.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// setStatusLocked records a status change and queues the observer call.
// c.mu must be held.
func (c *Client) setStatusLocked(ev StatusEvent) {
	if c.status == ev.Status && ev.Attempt == 0 && ev.Err == nil && ev.Reason == "" {
		return // nothing new to tell; failed attempts are reported each time
	}
	c.status = ev.Status
	close(c.statusCh)
	c.statusCh = make(chan struct{})
	if fn := c.opts.OnStatus; fn != nil {
		c.disp.post(func() { fn(ev) })
	}
}

func (c *Client) setStatus(ev StatusEvent) {
	c.mu.Lock()
	c.setStatusLocked(ev)
	c.mu.Unlock()
}
