package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// WantsSSE reports whether an HTTP caller asked for server-sent events:
// Accept: text/event-stream, or ?<param>=true (or 1). The api and sync
// modules answer such callers with a stream of frames.
func WantsSSE(r *http.Request, param string) bool {
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return true
	}
	switch r.URL.Query().Get(param) {
	case "true", "1":
		return true
	}
	return false
}

// SSEWriter writes server-sent events, opening the stream (status 200 and
// the event-stream headers) on the first frame, so an answer that fails
// before anything was streamed can still be a plain JSON error. It is not
// safe for concurrent use: callers serialise access.
type SSEWriter struct {
	w      http.ResponseWriter
	opened bool
}

// NewSSEWriter returns a writer on w; nothing is written yet.
func NewSSEWriter(w http.ResponseWriter) *SSEWriter { return &SSEWriter{w: w} }

// Opened reports whether the stream has been opened by a frame.
func (s *SSEWriter) Opened() bool { return s.opened }

// Frame writes one event, opening the stream first if needed. JSON from
// encoding/json has no raw newlines, so one data line carries it.
func (s *SSEWriter) Frame(event string, data json.RawMessage) error {
	if !s.opened {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache, no-transform")
		h.Set("Connection", "keep-alive")
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(s.w, ": connected\n\n")
		s.opened = true
	}
	return s.Event(event, data)
}

// Event writes one event on an already opened stream and flushes it.
func (s *SSEWriter) Event(event string, data json.RawMessage) error {
	var b bytes.Buffer
	b.Grow(len(event) + len(data) + 16)
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteString("\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return http.NewResponseController(s.w).Flush()
}
