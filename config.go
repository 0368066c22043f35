package luckystack

import "time"

// Config is the project configuration. Zero fields take the documented
// defaults (the table in docs/CONFIG.md), so a Config literal is an overlay
// over the defaults: set only what differs.
type Config struct {
	Session SessionConfig
	HTTP    HTTPConfig
	Socket  SocketConfig
	// SocketActivityBroadcaster turns on presence (AFK/back/left) and the
	// activity events. Default false.
	SocketActivityBroadcaster bool
	// LocationProviderEnabled accepts updateLocation events. Default false.
	LocationProviderEnabled bool
	// DefaultLanguage for error messages. Zero means "en".
	DefaultLanguage string
	// TestMode enables POST /_test/reset. Zero means the env NODE_ENV is
	// "development" or "test".
	TestMode *bool
}

// SessionConfig configures sessions.
type SessionConfig struct {
	// BasedToken selects token mode (auth.token / Authorization: Bearer first)
	// instead of cookie mode. Default false (cookie mode).
	BasedToken bool
	// ExpiryDays is the sliding session lifetime. Zero means 7.
	ExpiryDays int
	// ProjectName prefixes Redis keys. Zero means env PROJECT_NAME, else
	// "luckystack".
	ProjectName string
	// PerUser is how many sessions one user may hold: PerUserSingle (a
	// new session revokes the user's others) or PerUserMultiple. Zero means
	// PerUserSingle, as the original.
	PerUser string
	// MaxPerUser caps the sessions of one user in PerUserMultiple mode.
	// Zero means no cap.
	MaxPerUser int
	// RevokeOld makes a session beyond MaxPerUser revoke the user's oldest
	// sessions instead of being refused with ErrSessionLimit.
	RevokeOld bool
	// NotifyOldDeviceOnRevoke sends sessionReplaced to a revoked session's
	// sockets before they are logged out. Nil means true.
	NotifyOldDeviceOnRevoke *bool
}

// The values of SessionConfig.PerUser.
const (
	PerUserSingle   = "single"
	PerUserMultiple = "multiple"
)

// HTTPConfig configures the HTTP side.
type HTTPConfig struct {
	// SessionCookieName is the session cookie. Zero means "token".
	SessionCookieName string
	// SessionCookieSecure adds Secure to the cookie and makes bare hosts in
	// origin lists https. Nil means env SECURE=true; when SECURE is unset,
	// env NODE_ENV=production (as the original).
	SessionCookieSecure *bool
	// RequestBodyMaxBytes caps request bodies (413 beyond). Zero means 1 MiB.
	RequestBodyMaxBytes int64
	// TrustProxy makes the client IP come from X-Forwarded-For / X-Real-IP.
	TrustProxy bool
	// TrustedProxyHopCount is which X-Forwarded-For hop from the right is the
	// client. Zero means 1.
	TrustedProxyHopCount int
	// TrustedProxies lists CIDRs whose forwarding headers are believed even
	// without TrustProxy (a router in front of the backends).
	TrustedProxies []string
	// AcceptBearerInCookieMode also accepts auth.token / Bearer in cookie mode.
	AcceptBearerInCookieMode bool
	// CORS is the origin policy.
	CORS CORSConfig
}

// CORSConfig is the origin policy applied to the Socket.IO handshake and to
// HTTP requests.
type CORSConfig struct {
	// AllowedOrigins are origins (scheme://host[:port]) allowed besides the
	// server's own. The env EXTERNAL_ORIGINS (comma list) is added to them.
	AllowedOrigins []string
	// AllowOrigin, when set, decides for origins not in AllowedOrigins.
	AllowOrigin func(normalizedOrigin string) bool
	// AllowLocalhost allows http(s)://localhost, 127.0.0.1 and [::1] on any port.
	AllowLocalhost bool
}

// SocketConfig configures the real-time side.
type SocketConfig struct {
	// MaxRoomsPerSession caps session.roomCodes (oldest evicted). Zero means
	// 50; negative means unbounded.
	MaxRoomsPerSession int
	// PingInterval zero means 25s.
	PingInterval time.Duration
	// PingTimeout zero means 20s.
	PingTimeout time.Duration
	// MaxHTTPBufferSize caps one message. Zero means 5 MiB.
	MaxHTTPBufferSize int64
}

// withDefaults fills zero fields. getenv supplies environment fallbacks.
func (c Config) withDefaults(getenv func(string) string) Config {
	if c.DefaultLanguage == "" {
		c.DefaultLanguage = "en"
	}
	if c.TestMode == nil {
		env := getenv("NODE_ENV")
		on := env == "development" || env == "test"
		c.TestMode = &on
	}
	if c.Session.ExpiryDays <= 0 {
		c.Session.ExpiryDays = 7
	}
	if c.Session.ProjectName == "" {
		c.Session.ProjectName = getenv("PROJECT_NAME")
	}
	if c.Session.ProjectName == "" {
		c.Session.ProjectName = "luckystack"
	}
	if c.Session.PerUser == "" {
		c.Session.PerUser = PerUserSingle
	}
	if c.Session.NotifyOldDeviceOnRevoke == nil {
		on := true
		c.Session.NotifyOldDeviceOnRevoke = &on
	}
	h := &c.HTTP
	if h.SessionCookieName == "" {
		h.SessionCookieName = "token"
	}
	if h.SessionCookieSecure == nil {
		env := getenv("SECURE")
		secure := env == "true" || (env == "" && getenv("NODE_ENV") == "production")
		h.SessionCookieSecure = &secure
	}
	if h.RequestBodyMaxBytes <= 0 {
		h.RequestBodyMaxBytes = 1 << 20
	}
	if h.TrustedProxyHopCount <= 0 {
		h.TrustedProxyHopCount = 1
	}
	if ext := getenv("EXTERNAL_ORIGINS"); ext != "" {
		h.CORS.AllowedOrigins = append(append([]string(nil), h.CORS.AllowedOrigins...), splitList(ext)...)
	}
	s := &c.Socket
	if s.MaxRoomsPerSession == 0 {
		s.MaxRoomsPerSession = 50
	}
	if s.PingInterval <= 0 {
		s.PingInterval = 25 * time.Second
	}
	if s.PingTimeout <= 0 {
		s.PingTimeout = 20 * time.Second
	}
	if s.MaxHTTPBufferSize <= 0 {
		s.MaxHTTPBufferSize = 5 << 20
	}
	return c
}

// SessionTTL is the sliding session lifetime.
func (c Config) SessionTTL() time.Duration {
	return time.Duration(c.Session.ExpiryDays) * 24 * time.Hour
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if part := trimSpace(s[start:i]); part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	return out
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
