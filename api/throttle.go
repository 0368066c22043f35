package api

import (
	"sync"
	"time"
)

// ThrottleOptions configures a [StreamThrottle]; the zero value is the
// original's createStreamThrottle defaults.
type ThrottleOptions struct {
	// FlushAtChars flushes as soon as this many bytes are buffered. Zero
	// means 32.
	FlushAtChars int
	// FlushEvery flushes buffered text this long after the first write
	// since the last flush. Zero means 50ms; negative turns the timer off
	// (text then leaves only at FlushAtChars, Flush or Close).
	FlushEvery time.Duration
	// Field names the payload field carrying the text. Zero means "chunk".
	Field string
}

// StreamThrottle batches small text pieces (a model's tokens, say) into
// fewer stream frames {<Field>: text}, through any emitter: Request.Stream,
// or a sync request's Stream, BroadcastStream or a recipient's stream. Frame
// count, not bytes, is what costs on a websocket, so a handler writing a
// token at a time would otherwise send one frame per token.
//
// It is safe for concurrent use. Close it before the handler returns so the
// tail is sent and its timer is stopped; emits after the handler returned
// are refused by the request anyway.
type StreamThrottle struct {
	emit  func(any) error
	at    int
	every time.Duration
	field string

	mu     sync.Mutex // Protects following.
	buf    []byte
	timer  *time.Timer
	closed bool
	err    error // first emit error of a timer flush, reported by the next call
}

// NewStreamThrottle returns a throttle sending through emit.
func NewStreamThrottle(emit func(any) error, opts ThrottleOptions) *StreamThrottle {
	t := &StreamThrottle{emit: emit, at: opts.FlushAtChars, every: opts.FlushEvery, field: opts.Field}
	if t.at <= 0 {
		t.at = 32
	}
	if t.every == 0 {
		t.every = 50 * time.Millisecond
	}
	if t.field == "" {
		t.field = "chunk"
	}
	return t
}

// Write buffers text, sending it at once when FlushAtChars is reached. If
// an earlier timer flush failed, Write returns that error and does not take
// text, so the caller learns of the loss before sending more.
func (t *StreamThrottle) Write(text string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrStreamClosed
	}
	if err := t.takeErr(); err != nil {
		return err
	}
	t.buf = append(t.buf, text...)
	if len(t.buf) >= t.at {
		return t.flushLocked()
	}
	if t.every > 0 && t.timer == nil && len(t.buf) > 0 {
		t.timer = time.AfterFunc(t.every, t.onTimer)
	}
	return nil
}

// Flush sends whatever is buffered now.
func (t *StreamThrottle) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.takeErr(); err != nil {
		return err
	}
	return t.flushLocked()
}

// Close sends the tail and stops the timer; later writes fail.
func (t *StreamThrottle) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.flushLocked()
	if e := t.takeErr(); e != nil && err == nil {
		err = e
	}
	return err
}

func (t *StreamThrottle) onTimer() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	if err := t.flushLocked(); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *StreamThrottle) takeErr() error {
	err := t.err
	t.err = nil
	return err
}

func (t *StreamThrottle) flushLocked() error {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if len(t.buf) == 0 {
		return nil
	}
	text := string(t.buf)
	t.buf = t.buf[:0]
	return t.emit(map[string]string{t.field: text})
}
