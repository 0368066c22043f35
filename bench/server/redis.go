package main

import (
	"errors"
	"os"

	"github.com/luckystack/luckystack-go/socketio"
)

// installRedis plugs the Redis adapter in when REDIS_URL is set.
func installRedis(opts *socketio.Options) (func(), error) {
	if os.Getenv("REDIS_URL") == "" {
		return func() {}, nil
	}
	return nil, errors.New("bench server: REDIS_URL set but the Redis adapter is not wired yet")
}
