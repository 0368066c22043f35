package sync

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	stdsync "sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/socketio"
)

// ErrStreamClosed is returned by the stream methods once the handler that
// may stream has returned, or the request was cancelled: nothing may follow
// the acknowledgement's decision.
var ErrStreamClosed = errors.New("sync: stream closed")

// Request is what a server handler knows about the call besides its typed
// input. It is valid until the handler returns; its stream methods may be
// called from other goroutines meanwhile.
type Request struct {
	// RouteName is the canonical key, e.g. "sync/chat/message/v1".
	RouteName string
	// Service and Route are the key's parts ("chat", "message").
	Service, Route string
	// Version is N of the key's vN.
	Version int
	// Receiver is the receiver as sent: "all" or a room code (the sender's
	// own token addresses its session's sockets).
	Receiver string
	// IgnoreSelf is set when the sender's session gets no fan-out frame.
	IgnoreSelf bool
	// Transport tells how the request arrived.
	Transport api.Transport
	// Session is the sender's session, nil when anonymous. Do not modify.
	Session *luckystack.Session
	// Token is the sender's session token ("" when anonymous).
	Token string
	// IP is the client address, honouring the trusted-proxy settings.
	IP string
	// Locale is the sender's preferred language ("" when unknown).
	Locale string
	// Data is the raw input object as received.
	Data json.RawMessage
	// Client is the sending socket (nil over HTTP).
	Client *luckystack.Client
	// HTTP is the HTTP request (nil over the socket). Its body was read.
	HTTP *http.Request

	m    *Module
	e    *entry
	room string // physical room; "" means every socket
	out  *output

	chunkMu stdsync.Mutex // Protects following.
	chunks  map[string]int
}

// UserID returns the session's user id, or "".
func (r *Request) UserID() string {
	if r.Session == nil {
		return ""
	}
	return r.Session.ID
}

// Stream sends payload to the sender only, before the acknowledgement: a
// sync-progress-<i> event on the socket (as the raw payload), an
// "event: stream" frame over HTTP server-sent events, nothing over plain
// HTTP or without a responseIndex. A nil payload is sent as {}.
func (r *Request) Stream(payload any) error {
	b, err := encodePayload(payload)
	if err != nil {
		return err
	}
	if !r.out.canStream {
		return r.out.check()
	}
	return r.emitChunk("originator", b, func() error { return r.out.stream(b) })
}

// BroadcastStream sends payload as a stream frame on the "sync" event to
// every member of the receiver room on every instance ("all": every
// socket). The payload must encode as a JSON object; its fields are sent
// with cb, fullName and status "stream".
func (r *Request) BroadcastStream(payload any) error {
	frame, err := r.streamFrame(payload)
	if err != nil {
		return err
	}
	nsp := r.m.server().IO().Sockets()
	recipient := "all"
	if r.room != "" {
		recipient = "room:" + r.Receiver
	}
	return r.emitChunk(recipient, frame, func() error {
		if r.room == "" {
			return nsp.Emit(string(events.NameSync), frame)
		}
		return nsp.To(r.room).Emit(string(events.NameSync), frame)
	})
}

// StreamTo sends payload as a stream frame to every socket of the sessions
// whose tokens are given, on every instance. Empty tokens are ignored;
// with none left it does nothing.
func (r *Request) StreamTo(tokens []string, payload any) error {
	rooms := make([]string, 0, len(tokens))
	for _, t := range tokens {
		if t != "" {
			rooms = append(rooms, luckystack.SessionRoom(t))
		}
	}
	if len(rooms) == 0 {
		return nil
	}
	frame, err := r.streamFrame(payload)
	if err != nil {
		return err
	}
	return r.emitChunk("tokens", frame, func() error {
		return r.m.server().IO().Sockets().To(rooms...).Emit(string(events.NameSync), frame)
	})
}

// streamFrame builds {...payload, cb, fullName, status:"stream"} with the
// resolved key in both cb and fullName.
func (r *Request) streamFrame(payload any) (json.RawMessage, error) {
	b, err := encodePayload(payload)
	if err != nil {
		return nil, err
	}
	return events.SyncStreamFrame(r.e.cb, r.e.key, b)
}

// emitChunk sends one chunk while the stream is open, with the stream
// hooks around it.
func (r *Request) emitChunk(recipient string, chunk json.RawMessage, send func() error) error {
	if err := r.out.check(); err != nil {
		return err
	}
	srv := r.m.server()
	if !hooked(srv, PreSyncStream) && !hooked(srv, PostSyncStream) {
		return send()
	}
	ctx := context.WithoutCancel(r.out.context())
	ev := &StreamEvent{RouteName: r.RouteName, Chunk: chunk, Recipient: recipient}
	luckystack.DispatchHook(ctx, srv, PreSyncStream, ev)
	if err := send(); err != nil {
		return err
	}
	r.chunkMu.Lock()
	if r.chunks == nil {
		r.chunks = map[string]int{}
	}
	ev.ChunkIndex = r.chunks[recipient]
	r.chunks[recipient]++
	r.chunkMu.Unlock()
	luckystack.DispatchHook(ctx, srv, PostSyncStream, ev)
	return nil
}

func encodePayload(payload any) (json.RawMessage, error) {
	if payload == nil {
		return json.RawMessage(`{}`), nil
	}
	if raw, ok := payload.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("sync: stream payload is not valid JSON")
		}
		return raw, nil
	}
	return json.Marshal(payload)
}

// output gates what the handler streams: open from the handler's start
// until it returns or its context ends.
type output struct {
	canStream bool
	send      func(chunk json.RawMessage) error

	mu     stdsync.Mutex // Protects following.
	ctx    context.Context
	closed bool
}

func (o *output) bind(ctx context.Context) {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
}

func (o *output) context() context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ctx == nil {
		return context.Background()
	}
	return o.ctx
}

func (o *output) check() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.ctx == nil || o.ctx.Err() != nil {
		return ErrStreamClosed
	}
	return nil
}

func (o *output) stream(b json.RawMessage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.ctx == nil || o.ctx.Err() != nil {
		return ErrStreamClosed
	}
	return o.send(b)
}

func (o *output) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// Recipient is one socket a fan-out frame is for, as a client handler sees
// it. The socket may live on another instance.
type Recipient struct {
	// SocketID is the recipient socket.
	SocketID string
	// Token is its session token ("" when anonymous).
	Token string
	// UserID is its session's user id ("" when unknown).
	UserID string
	// Request is the sender's request (read-only).
	Request *Request

	sock *socketio.RemoteSocket
	done atomic.Bool
}

// Stream sends payload to this recipient only, as a stream frame on the
// "sync" event, while the client handler runs. The payload must encode as
// a JSON object.
func (rc *Recipient) Stream(payload any) error {
	if rc.done.Load() {
		return ErrStreamClosed
	}
	r := rc.Request
	frame, err := r.streamFrame(payload)
	if err != nil {
		return err
	}
	srv := r.m.server()
	send := func() error { return emitTo(srv, rc.sock, frame) }
	if !hooked(srv, PreSyncStream) && !hooked(srv, PostSyncStream) {
		return send()
	}
	recipient := "socket:" + rc.SocketID
	ctx := context.Background()
	ev := &StreamEvent{RouteName: r.RouteName, Chunk: frame, Recipient: recipient}
	luckystack.DispatchHook(ctx, srv, PreSyncStream, ev)
	if err := send(); err != nil {
		return err
	}
	r.chunkMu.Lock()
	if r.chunks == nil {
		r.chunks = map[string]int{}
	}
	ev.ChunkIndex = r.chunks[recipient]
	r.chunks[recipient]++
	r.chunkMu.Unlock()
	luckystack.DispatchHook(ctx, srv, PostSyncStream, ev)
	return nil
}

// emitTo sends a "sync" frame to one socket: directly when it is local,
// through the adapter otherwise.
func emitTo(srv *luckystack.Server, rs *socketio.RemoteSocket, frame json.RawMessage) error {
	nsp := srv.IO().Sockets()
	if s, ok := nsp.Socket(rs.ID); ok {
		return s.Emit(string(events.NameSync), frame)
	}
	return rs.Emit(string(events.NameSync), frame)
}

// language picks the error-message language: the session's, else the
// request locale, else def.
func (r *Request) language(def string) string {
	if r.Session != nil && r.Session.Language != "" {
		code, _, _ := strings.Cut(r.Session.Language, "-")
		return strings.ToLower(code)
	}
	if r.Locale != "" {
		return r.Locale
	}
	return def
}
