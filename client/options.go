package client

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/luckystack/luckystack-go/offlinequeue"
)

// Defaults applied to zero [Options] fields. The reconnection values are the
// ones LuckyStack's browser client passes to socket.io-client
// (luckystack-wire.md §1.2).
const (
	// DefaultReconnectDelay is the first reconnection delay.
	DefaultReconnectDelay = time.Second
	// DefaultReconnectDelayMax caps the reconnection delay.
	DefaultReconnectDelayMax = 5 * time.Second
	// DefaultRandomization is the jitter factor: each delay is moved by up
	// to this fraction of itself, up or down.
	DefaultRandomization = 0.5
	// DefaultDialTimeout bounds one connection attempt, handshake included
	// (socket.io-client's "timeout").
	DefaultDialTimeout = 20 * time.Second
	// DefaultWriteTimeout bounds one frame write.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultSyncTimeout is how long a sync request waits for its
	// acknowledgement (the original's sync.requestTimeoutMs).
	DefaultSyncTimeout = 30 * time.Second
	// DefaultProbeTimeout bounds the round trip [Client.Resume] uses to
	// check a connection.
	DefaultProbeTimeout = 5 * time.Second
	// DefaultMaxMessageSize caps one message from the server.
	DefaultMaxMessageSize = 64 << 20
	// DefaultCookieName is the session cookie's name on the server.
	DefaultCookieName = "token"
)

// TokenTransport selects how the session token reaches the server.
type TokenTransport int

const (
	// TokenInAuth sends the token as the CONNECT packet's auth.token, as the
	// browser client does in token mode. It is the default.
	TokenInAuth TokenTransport = iota + 1
	// TokenInCookie sends the token in the handshake's Cookie header, as a
	// browser does in cookie mode.
	TokenInCookie
)

// TransportKind selects the Engine.IO transport.
type TransportKind int

const (
	// WebSocketThenPolling opens a websocket and falls back to HTTP
	// long-polling when the server or a proxy refuses the upgrade. It is
	// the default.
	WebSocketThenPolling TransportKind = iota + 1
	// WebSocketOnly never polls.
	WebSocketOnly
	// PollingOnly uses HTTP long-polling only.
	PollingOnly
)

// Options configures [New] and [Dial]. The zero value is valid: no token,
// websocket transport at /socket.io/, reconnection forever with 1 s to 5 s
// backoff, an offline queue with the [offlinequeue] defaults.
type Options struct {
	// Token is the session token. Empty connects anonymously. It can be
	// changed later with [Client.SetToken].
	Token string
	// TokenTransport says where the token goes. Zero means [TokenInAuth].
	TokenTransport TokenTransport
	// CookieName is the session cookie for [TokenInCookie]. Zero means
	// [DefaultCookieName].
	CookieName string
	// Auth holds extra fields of the CONNECT auth payload. "token" is set
	// by the client in [TokenInAuth] mode and wins over an entry here.
	Auth map[string]any
	// Header is sent with every websocket handshake (Origin, User-Agent,
	// ...). It is copied; later changes have no effect.
	Header http.Header
	// Path is the Engine.IO endpoint. Zero means "/socket.io/".
	Path string
	// Namespace is the Socket.IO namespace. Zero means "/", the only one
	// LuckyStack serves.
	Namespace string
	// Dialer dials the websocket. Nil means a dialer with the handshake
	// bounded by DialTimeout.
	Dialer *websocket.Dialer
	// Transport selects websocket, polling, or websocket with a polling
	// fallback. Zero means [WebSocketThenPolling].
	Transport TransportKind
	// HTTPClient sends the polling requests. Nil means a client of the
	// Client's own, whose idle connections Close releases.
	HTTPClient *http.Client

	// ReconnectDelay is the first delay before reconnecting; each further
	// attempt doubles it. Zero means [DefaultReconnectDelay].
	ReconnectDelay time.Duration
	// ReconnectDelayMax caps the delay. Zero means [DefaultReconnectDelayMax].
	ReconnectDelayMax time.Duration
	// Randomization is the jitter factor in [0, 1]. Zero means
	// [DefaultRandomization]; negative disables jitter.
	Randomization float64
	// MaxReconnectAttempts stops reconnecting after that many failed
	// attempts in a row; the client then reports [StatusDisconnected] until
	// [Client.Resume] or [Client.Reconnect]. Zero means unlimited.
	MaxReconnectAttempts int
	// NoReconnect disables automatic reconnection entirely.
	NoReconnect bool
	// DialTimeout bounds one connection attempt. Zero means
	// [DefaultDialTimeout].
	DialTimeout time.Duration
	// WriteTimeout bounds one frame write. Zero means [DefaultWriteTimeout].
	WriteTimeout time.Duration
	// MaxMessageSize caps one message from the server; a bigger one ends
	// the connection. Zero means [DefaultMaxMessageSize]; negative means no
	// limit. It applies to the default dialer only.
	MaxMessageSize int64

	// APITimeout bounds every API request that has no earlier deadline on
	// its context. Zero means none, as in the original (api.requestTimeoutMs
	// false); the context still applies.
	APITimeout time.Duration
	// SyncTimeout bounds every sync request's wait for its
	// acknowledgement. Zero means [DefaultSyncTimeout]; negative disables.
	SyncTimeout time.Duration
	// ProbeTimeout bounds the round trip of [Client.Resume]. Zero means
	// [DefaultProbeTimeout].
	ProbeTimeout time.Duration

	// Offline configures the offline queue that holds API and sync
	// requests made while the client is not connected.
	Offline offlinequeue.Options
	// NoOfflineQueue answers requests made while disconnected at once
	// with api.disconnected instead of queueing them.
	NoOfflineQueue bool

	// OnStatus observes every status change. It runs on the client's
	// callback goroutine, one call at a time, in order.
	OnStatus func(StatusEvent)
	// Logger receives diagnostics. Nil means silent.
	Logger *slog.Logger

	// dial replaces the websocket dialer in tests (export_test.go).
	dial dialFunc
	// ownHTTP is set when HTTPClient was made by withDefaults.
	ownHTTP bool
}

// dialFunc opens a transport to url with header.
type dialFunc func(ctx context.Context, url string, header http.Header) (transport, error)

// withDefaults returns a copy of o with every zero field set.
func (o Options) withDefaults() Options {
	if o.TokenTransport == 0 {
		o.TokenTransport = TokenInAuth
	}
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.Namespace == "" {
		o.Namespace = "/"
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = DefaultReconnectDelay
	}
	if o.ReconnectDelayMax <= 0 {
		o.ReconnectDelayMax = DefaultReconnectDelayMax
	}
	if o.ReconnectDelayMax < o.ReconnectDelay {
		o.ReconnectDelayMax = o.ReconnectDelay
	}
	switch {
	case o.Randomization == 0:
		o.Randomization = DefaultRandomization
	case o.Randomization < 0:
		o.Randomization = 0
	case o.Randomization > 1:
		o.Randomization = 1
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.SyncTimeout == 0 {
		o.SyncTimeout = DefaultSyncTimeout
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Header = o.Header.Clone()
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.Transport == 0 {
		o.Transport = WebSocketThenPolling
	}
	if o.HTTPClient == nil && o.Transport != WebSocketOnly {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		o.HTTPClient = &http.Client{Transport: tr}
		o.ownHTTP = true
	}
	if o.dial == nil {
		o.dial = websocketDialer(o.Dialer, o.DialTimeout, o.MaxMessageSize)
	}
	return o
}

// websocketDialer returns the production dial function.
func websocketDialer(d *websocket.Dialer, timeout time.Duration, maxMessage int64) dialFunc {
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: timeout, Proxy: http.ProxyFromEnvironment}
	}
	return func(ctx context.Context, url string, header http.Header) (transport, error) {
		ws, resp, err := d.DialContext(ctx, url, header)
		if err != nil {
			if resp != nil {
				_ = resp.Body.Close()
				return nil, &HandshakeError{StatusCode: resp.StatusCode, Err: err}
			}
			return nil, err
		}
		if maxMessage > 0 {
			ws.SetReadLimit(maxMessage)
		}
		return ws, nil
	}
}
