//go:build !linux

package router

import (
	"errors"
	"log/slog"
	"time"
)

// evLoop exists on Linux only (evloop_linux.go); elsewhere every tunnel
// is a goroutine pair.
type evLoop struct{}

// leg is the loop's view of one socket; unused here.
type leg struct{}

func newEvLoop(time.Duration, int64, *slog.Logger) (*evLoop, error) {
	return nil, errors.New("router: tunnel loops need Linux")
}

func (*evLoop) run()              {}
func (*evLoop) shutdown()         {}
func (*evLoop) send(loopCmd) bool { return false }

func (*tunnel) enterLoop(*evLoop) bool { return false }
