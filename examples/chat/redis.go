package main

import (
	"log/slog"

	"github.com/luckystack/luckystack-go"
)

type redisStores struct {
	sessions luckystack.SessionStore
}

// redisFromEnv connects to REDIS_URL when it is set; the example runs in
// memory otherwise.
func redisFromEnv(log *slog.Logger) (redisStores, func(), error) {
	return redisStores{}, func() {}, nil
}
