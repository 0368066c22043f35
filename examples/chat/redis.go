package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/redisadapter"
	"github.com/luckystack/luckystack-go/socketio"
)

type redisStores struct {
	sessions luckystack.SessionStore
	adapter  func(*socketio.Namespace) socketio.Adapter
	limits   api.Store
}

// redisFromEnv uses REDIS_URL, when set, for sessions, rate limits and the
// Socket.IO adapter, so several instances sharing it form one cluster.
// Without it the example runs in memory.
func redisFromEnv(log *slog.Logger) (redisStores, func(), error) {
	return redisFromURL(os.Getenv("REDIS_URL"), log)
}

// redisFromURL is redisFromEnv for a given URL ("" means in memory).
func redisFromURL(url string, log *slog.Logger) (redisStores, func(), error) {
	if url == "" {
		return redisStores{}, func() {}, nil
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return redisStores{}, nil, err
	}
	rc := redis.NewClient(ro)
	ra, err := redisadapter.New(rc, redisadapter.Options{Logger: log})
	if err != nil {
		return redisStores{}, nil, err
	}
	log.Info("using Redis for sessions, rate limits and the adapter", "addr", ro.Addr)
	return redisStores{
			sessions: luckystack.NewRedisSessionStore(rc, luckystack.RedisSessionOptions{}),
			adapter:  ra.For,
			limits:   api.NewRedisStore(rc, ""),
		}, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = ra.Close(ctx)
			_ = rc.Close()
		}, nil
}
