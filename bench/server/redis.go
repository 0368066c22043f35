package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go/redisadapter"
	"github.com/luckystack/luckystack-go/socketio"
)

// installRedis plugs the Redis adapter in when REDIS_URL is set, as the Node
// peer does, so S5 compares the two adapters.
func installRedis(opts *socketio.Options) (*redisadapter.Adapter, func(), error) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		return nil, func() {}, nil
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, err
	}
	rc := redis.NewClient(ro)
	ra, err := redisadapter.New(rc, redisadapter.Options{})
	if err != nil {
		return nil, nil, err
	}
	opts.Adapter = ra.For
	return ra, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ra.Close(ctx)
		_ = rc.Close()
	}, nil
}

// publishRoom is held by no socket of any instance: a broadcast to it costs
// the encode and the PUBLISH only, which is what the publish rate measures.
const publishRoom = "bench-publish-nobody"

// publish sends n broadcasts to publishRoom and acks {sent, ms} once Redis
// accepted every one of them (the adapter's Published counter), so the rate
// is the pipelined publisher's, not only the enqueueing's.
func publish(srv *socketio.Server, ra *redisadapter.Adapter, n int, pad string, e *socketio.Event) {
	if ra == nil {
		_ = e.Ack(map[string]any{"error": "publish needs REDIS_URL"})
		return
	}
	base := ra.Stats().Published
	start := time.Now()
	op := srv.To(publishRoom)
	sent := 0
	for ; sent < n; sent++ {
		for {
			err := op.Emit("p", sent, pad)
			if err == nil {
				break
			}
			if !errors.Is(err, redisadapter.ErrQueueFull) {
				_ = e.Ack(map[string]any{"error": err.Error(), "sent": sent})
				return
			}
			// The producer outran Redis: wait for the queue to drain rather
			// than count refusals.
			time.Sleep(50 * time.Microsecond)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for ra.Stats().Published-base < uint64(n) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
	}
	_ = e.Ack(map[string]any{"sent": int(ra.Stats().Published - base), "ms": float64(time.Since(start).Microseconds()) / 1000})
}
