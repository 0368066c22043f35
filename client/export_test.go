package client

import (
	"context"
	"net/http"
)

// Transport exposes the transport interface to the fake network of the
// synctest tests.
type Transport = transport

// SetDial replaces the websocket dialer of o.
func SetDial(o *Options, fn func(ctx context.Context, url string, header http.Header) (Transport, error)) {
	o.dial = fn
}

// Delay exposes the backoff computation.
func Delay(o Options, rnd func() float64, attempt int) int64 {
	o = o.withDefaults()
	b := backoff{min: o.ReconnectDelay, max: o.ReconnectDelayMax, randomization: o.Randomization, rand: rnd}
	return int64(b.delay(attempt))
}
