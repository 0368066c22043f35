package main

import (
	"context"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go/redisadapter"
	"github.com/luckystack/luckystack-go/socketio"
)

// installRedis plugs the Redis adapter in when REDIS_URL is set, as the Node
// peer does, so S5 compares the two adapters.
func installRedis(opts *socketio.Options) (func(), error) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		return func() {}, nil
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rc := redis.NewClient(ro)
	ra, err := redisadapter.New(rc, redisadapter.Options{})
	if err != nil {
		return nil, err
	}
	opts.Adapter = ra.For
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ra.Close(ctx)
		_ = rc.Close()
	}, nil
}
