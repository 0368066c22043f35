package luckystack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestConfigDefaults pins every default of Config; docs/CONFIG.md lists the
// same table.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	c := srv.Config()

	assert.False(t, c.Session.BasedToken)
	assert.Equal(t, 7, c.Session.ExpiryDays)
	assert.Equal(t, 7*24*time.Hour, c.SessionTTL())
	assert.Equal(t, "luckystack", c.Session.ProjectName)
	assert.Equal(t, PerUserSingle, c.Session.PerUser)
	assert.Zero(t, c.Session.MaxPerUser)
	assert.False(t, c.Session.RevokeOld)
	assert.Equal(t, ptr(true), c.Session.NotifyOldDeviceOnRevoke)

	assert.Equal(t, "token", c.HTTP.SessionCookieName)
	assert.Equal(t, ptr(false), c.HTTP.SessionCookieSecure)
	assert.Equal(t, int64(1<<20), c.HTTP.RequestBodyMaxBytes)
	assert.False(t, c.HTTP.TrustProxy)
	assert.Equal(t, 1, c.HTTP.TrustedProxyHopCount)
	assert.Empty(t, c.HTTP.TrustedProxies)
	assert.False(t, c.HTTP.AcceptBearerInCookieMode)
	assert.Empty(t, c.HTTP.CORS.AllowedOrigins)
	assert.Nil(t, c.HTTP.CORS.AllowOrigin)
	assert.False(t, c.HTTP.CORS.AllowLocalhost)

	assert.Equal(t, 50, c.Socket.MaxRoomsPerSession)
	assert.Equal(t, 25*time.Second, c.Socket.PingInterval)
	assert.Equal(t, 20*time.Second, c.Socket.PingTimeout)
	assert.Equal(t, int64(5<<20), c.Socket.MaxHTTPBufferSize)

	assert.False(t, c.SocketActivityBroadcaster)
	assert.False(t, c.LocationProviderEnabled)
	assert.Equal(t, "en", c.DefaultLanguage)
	assert.Equal(t, ptr(false), c.TestMode)

	// The socket settings reach the Socket.IO server.
	io := srv.IO().Options()
	assert.Equal(t, 25*time.Second, io.PingInterval)
	assert.Equal(t, 20*time.Second, io.PingTimeout)
	assert.Equal(t, int64(5<<20), io.MaxHTTPBufferSize)
	assert.Equal(t, "/socket.io/", io.Path)
}

func TestConfigEnvironmentFallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"PROJECT_NAME", map[string]string{"PROJECT_NAME": "shop"}, func(t *testing.T, c Config) {
			assert.Equal(t, "shop", c.Session.ProjectName)
		}},
		{"SECURE=true", map[string]string{"SECURE": "true"}, func(t *testing.T, c Config) {
			assert.True(t, *c.HTTP.SessionCookieSecure)
		}},
		{"SECURE=1 is not true", map[string]string{"SECURE": "1"}, func(t *testing.T, c Config) {
			assert.False(t, *c.HTTP.SessionCookieSecure)
		}},
		{"production means secure", map[string]string{"NODE_ENV": "production"}, func(t *testing.T, c Config) {
			assert.True(t, *c.HTTP.SessionCookieSecure)
			assert.False(t, *c.TestMode)
		}},
		{"SECURE=false wins over production", map[string]string{"NODE_ENV": "production", "SECURE": "false"}, func(t *testing.T, c Config) {
			assert.False(t, *c.HTTP.SessionCookieSecure)
		}},
		{"NODE_ENV=test", map[string]string{"NODE_ENV": "test"}, func(t *testing.T, c Config) {
			assert.True(t, *c.TestMode)
		}},
		{"NODE_ENV=development", map[string]string{"NODE_ENV": "development"}, func(t *testing.T, c Config) {
			assert.True(t, *c.TestMode)
		}},
		{"EXTERNAL_ORIGINS", map[string]string{"EXTERNAL_ORIGINS": " https://a.example ,, http://b.example:8080 "}, func(t *testing.T, c Config) {
			assert.Equal(t, []string{"https://a.example", "http://b.example:8080"}, c.HTTP.CORS.AllowedOrigins)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, newServer(t, Options{Getenv: envMap(tc.env)}).Config())
		})
	}
}

func TestConfigOverlay(t *testing.T) {
	t.Parallel()
	origins := []string{"https://app.example"}
	in := Config{
		Session:  SessionConfig{BasedToken: true, ExpiryDays: 2, ProjectName: "p"},
		HTTP:     HTTPConfig{SessionCookieName: "sid", SessionCookieSecure: ptr(true), RequestBodyMaxBytes: 10, TrustedProxyHopCount: 3, CORS: CORSConfig{AllowedOrigins: origins}},
		Socket:   SocketConfig{MaxRoomsPerSession: -1, PingInterval: time.Second, PingTimeout: 2 * time.Second, MaxHTTPBufferSize: 100},
		TestMode: ptr(true), DefaultLanguage: "nl",
	}
	c := newServer(t, Options{Config: in, Getenv: envMap(map[string]string{
		"PROJECT_NAME": "env", "SECURE": "false", "NODE_ENV": "production", "EXTERNAL_ORIGINS": "https://ext.example",
	})}).Config()
	assert.True(t, c.Session.BasedToken)
	assert.Equal(t, 2, c.Session.ExpiryDays)
	assert.Equal(t, "p", c.Session.ProjectName, "explicit beats PROJECT_NAME")
	assert.Equal(t, "sid", c.HTTP.SessionCookieName)
	assert.True(t, *c.HTTP.SessionCookieSecure, "explicit beats SECURE")
	assert.Equal(t, int64(10), c.HTTP.RequestBodyMaxBytes)
	assert.Equal(t, 3, c.HTTP.TrustedProxyHopCount)
	assert.Equal(t, []string{"https://app.example", "https://ext.example"}, c.HTTP.CORS.AllowedOrigins, "EXTERNAL_ORIGINS adds to the list")
	assert.Equal(t, []string{"https://app.example"}, origins, "the caller's slice is not modified")
	assert.Equal(t, -1, c.Socket.MaxRoomsPerSession, "negative means unbounded")
	assert.Equal(t, time.Second, c.Socket.PingInterval)
	assert.Equal(t, "nl", c.DefaultLanguage)
	assert.True(t, *c.TestMode, "explicit beats NODE_ENV")
}
