package socketio

import (
	"log/slog"
	"net/http"
	"time"
)

// SlowConsumerPolicy says what happens to a connection whose outbound queue
// is full because the client does not read fast enough.
type SlowConsumerPolicy int

const (
	// SlowConsumerDisconnect closes the connection with the reason
	// "slow consumer". It is the default: a client that cannot keep up would
	// otherwise miss messages silently.
	SlowConsumerDisconnect SlowConsumerPolicy = iota + 1
	// SlowConsumerDrop drops the messages that do not fit and keeps the
	// connection. Use it only for streams where a gap is harmless.
	SlowConsumerDrop
)

// String returns the policy's name.
func (p SlowConsumerPolicy) String() string {
	switch p {
	case SlowConsumerDisconnect:
		return "disconnect"
	case SlowConsumerDrop:
		return "drop"
	}
	return "unset"
}

// CORSOptions configures the CORS headers of polling responses, so that a page
// served from another allowed origin can connect.
type CORSOptions struct {
	// AllowOrigin reports whether a cross-origin request from origin may be
	// answered. Nil allows none.
	AllowOrigin func(origin string) bool
	// Credentials adds Access-Control-Allow-Credentials: true, needed for
	// cookies (withCredentials on the client).
	Credentials bool
}

// Options configures a [Server]. The zero value is a working server with
// Node's defaults.
type Options struct {
	// Path is where the server answers. Zero means "/socket.io/".
	Path string
	// PingInterval is how often the server pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Zero means 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling→websocket upgrade. Zero means 10s.
	UpgradeTimeout time.Duration
	// ConnectTimeout closes a connection that joins no namespace in time.
	// Zero means 45s.
	ConnectTimeout time.Duration
	// MaxHTTPBufferSize caps one websocket message or one polling POST body in
	// bytes. Zero means 1e6.
	MaxHTTPBufferSize int64
	// DisablePolling refuses the polling transport.
	DisablePolling bool
	// DisableWebSocket refuses the websocket transport.
	DisableWebSocket bool
	// DisableUpgrades stops advertising and accepting polling→websocket upgrades.
	DisableUpgrades bool
	// AllowRequest may refuse a handshake (both transports) before anything
	// else happens, e.g. for an origin check. Its error message reaches the
	// client in the 403 body. Nil allows every request.
	AllowRequest func(r *http.Request) error
	// CORS enables CORS headers on polling responses. Nil sends none.
	CORS *CORSOptions
	// WriteTimeout bounds one write to a websocket; a client that does not
	// read for this long is disconnected. Zero means 10s.
	WriteTimeout time.Duration
	// MaxQueuedBytes caps a connection's outbound queue. Zero means 1 MiB.
	MaxQueuedBytes int
	// SlowConsumer is the policy when the queue is full. Zero means
	// SlowConsumerDisconnect.
	SlowConsumer SlowConsumerPolicy
	// MaxPendingEvents caps how many received events of one socket may wait
	// for its handlers; beyond it the server stops reading from that client.
	// Zero means 256.
	MaxPendingEvents int
	// ReadBufferSize is the size of the buffer a websocket connection reads
	// into. Buffers come from a shared pool and an idle connection holds
	// none (on Unix over plain TCP), so the size costs memory only while
	// bytes are arriving. Zero means 4096; at least 256.
	ReadBufferSize int
	// Adapter creates each namespace's adapter. Nil means an in-memory
	// adapter ([NewMemoryAdapter]).
	Adapter func(nsp *Namespace) Adapter
	// Logger receives diagnostics. Nil means silent.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.Path[len(o.Path)-1] != '/' {
		o.Path += "/"
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 20 * time.Second
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = 10 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 45 * time.Second
	}
	if o.MaxHTTPBufferSize <= 0 {
		o.MaxHTTPBufferSize = 1e6
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = 1 << 20
	}
	if o.SlowConsumer == 0 {
		o.SlowConsumer = SlowConsumerDisconnect
	}
	if o.MaxPendingEvents <= 0 {
		o.MaxPendingEvents = 256
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 4096
	}
	o.ReadBufferSize = max(o.ReadBufferSize, 256)
	if o.Adapter == nil {
		o.Adapter = func(nsp *Namespace) Adapter { return NewMemoryAdapter(nsp) }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
