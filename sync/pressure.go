package sync

import (
	"context"

	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/socketio"
)

// DefaultFlushThreshold is the queued-bytes threshold of
// [Request.FlushPressure] when none is given (the original's
// sync.flushPressure.maxBufferedBytes, 5 MiB).
const DefaultFlushThreshold = 5 << 20

// flushPressureMembers bounds the room members FlushPressure samples, as
// the original does: a huge room must not make every wait a full scan.
const flushPressureMembers = 32

// FlushPressure waits until the sender's socket and up to 32 sockets of the
// receiver room on this instance each have fewer than thresholdBytes queued
// for writing (below 1: [DefaultFlushThreshold]), or are gone, or ctx ends
// (its error is returned then); it samples every 10 ms
// ([api.WaitBuffered]). A handler that broadcasts a large stream calls it
// between chunks so that slow readers are not flooded up to socketio's
// slow-consumer limit (MaxQueuedBytes, 1 MiB by default: a threshold above
// it never waits). Over HTTP the sender has no socket and only the room's
// sockets are sampled. Members on other instances are not sampled.
func (r *Request) FlushPressure(ctx context.Context, thresholdBytes int) error {
	return api.WaitBuffered(ctx, thresholdBytes, r.pressureSockets(ctx)...)
}

// pressureSockets lists the sender's socket and up to flushPressureMembers
// local sockets of the receiver room.
func (r *Request) pressureSockets(ctx context.Context) []*socketio.Socket {
	nsp := r.m.server().IO().Sockets()
	socks := make([]*socketio.Socket, 0, flushPressureMembers+1)
	own := ""
	if r.Client != nil {
		socks = append(socks, r.Client.Socket())
		own = r.Client.ID()
	}
	op := nsp.Local()
	if r.room != "" {
		op = op.To(r.room)
	}
	members, _ := op.FetchSockets(ctx)
	for _, rs := range members {
		if len(socks) == cap(socks) {
			break
		}
		if rs.ID == own {
			continue
		}
		if s, ok := nsp.Socket(rs.ID); ok {
			socks = append(socks, s)
		}
	}
	return socks
}
