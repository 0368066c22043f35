package api

import (
	"context"
	"time"

	"github.com/luckystack/luckystack-go/socketio"
)

// DefaultFlushThreshold is the queued-bytes threshold of
// [Request.FlushPressure] when none is given (the original's 1 MiB).
const DefaultFlushThreshold = 1 << 20

// pressurePoll is how often WaitBuffered samples the queues, the
// original's 10 ms. Sampling keeps the socket write path free of any
// notification cost; a waiting handler costs one timer.
const pressurePoll = 10 * time.Millisecond

// WaitBuffered waits until each socket has fewer than threshold bytes
// queued for writing ([socketio.Socket.BufferedBytes]) or is gone, sampling
// every 10 ms. A threshold below 1 means [DefaultFlushThreshold]. It
// returns ctx's error when ctx ends first, nil otherwise; nil sockets are
// skipped. The queue is capped by socketio's MaxQueuedBytes (a slower
// consumer is disconnected), so a threshold above it never waits.
func WaitBuffered(ctx context.Context, threshold int, socks ...*socketio.Socket) error {
	if threshold < 1 {
		threshold = DefaultFlushThreshold
	}
	var t *time.Timer
	for _, s := range socks {
		if s == nil {
			continue
		}
		done := s.Context().Done()
	wait:
		for s.Connected() && s.BufferedBytes() >= threshold {
			if t == nil {
				t = time.NewTimer(pressurePoll)
				defer t.Stop()
			} else {
				t.Reset(pressurePoll)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-done:
				break wait
			case <-t.C:
			}
		}
	}
	return ctx.Err()
}

// FlushPressure waits until the caller's socket has fewer than
// thresholdBytes queued for writing (below 1: [DefaultFlushThreshold]),
// the socket disconnected or ctx ended (its error is returned then). A
// handler streaming large output calls it between chunks so that a client
// that stops reading is not flooded up to the slow-consumer limit. Over
// HTTP it returns at once: the response is written synchronously, so a
// slow reader already slows [Request.Stream] down.
func (r *Request) FlushPressure(ctx context.Context, thresholdBytes int) error {
	if r.Client == nil {
		return ctx.Err()
	}
	return WaitBuffered(ctx, thresholdBytes, r.Client.Socket())
}
