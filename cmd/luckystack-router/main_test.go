package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ROUTER_SERVICES":        "system=http://a:1,http://b:2; chat=http://c:3",
		"ROUTER_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
		"ROUTER_IDLE_TIMEOUT":    "0",
		"ROUTER_TUNNEL_LOOPS":    "-1",
	}
	getenv := func(k string) string { return env[k] }

	cfg, opts, err := parseConfig(nil, getenv)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:3000", opts.listen)
	assert.False(t, opts.quiet)
	assert.Empty(t, opts.pprof, "no profiling listener unless asked for")
	assert.Equal(t, map[string][]string{"system": {"http://a:1", "http://b:2"}, "chat": {"http://c:3"}}, cfg.Services)
	assert.Equal(t, []string{"10.0.0.0/8", "192.168.1.1"}, cfg.TrustedProxies)
	assert.Equal(t, time.Duration(-1), cfg.IdleTimeout, "0 on the command line turns the idle timeout off")
	assert.Equal(t, 30*time.Second, cfg.HandshakeTimeout)
	assert.Equal(t, -1, cfg.TunnelLoops)

	cfg, opts, err = parseConfig([]string{"-listen", ":9", "-quiet", "-pprof", "127.0.0.1:6060", "-service", "system=http://x:1",
		"-service", "system=http://y:2", "-idle-timeout", "5s", "-default", "web", "-tunnel-loops", "2"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, ":9", opts.listen)
	assert.True(t, opts.quiet)
	assert.Equal(t, "127.0.0.1:6060", opts.pprof)
	assert.Equal(t, map[string][]string{"system": {"http://x:1", "http://y:2"}}, cfg.Services, "flags win over the environment")
	assert.Equal(t, 5*time.Second, cfg.IdleTimeout)
	assert.Equal(t, "web", cfg.DefaultService)
	assert.Equal(t, 2, cfg.TunnelLoops)

	_, _, err = parseConfig([]string{"-service", "nourl"}, getenv)
	assert.Error(t, err)
	_, _, err = parseConfig(nil, func(k string) string {
		if k == "ROUTER_IDLE_TIMEOUT" {
			return "soon"
		}
		return ""
	})
	assert.ErrorContains(t, err, "ROUTER_IDLE_TIMEOUT")
	_, _, err = parseConfig(nil, func(k string) string {
		if k == "ROUTER_TUNNEL_LOOPS" {
			return "many"
		}
		return ""
	})
	assert.ErrorContains(t, err, "ROUTER_TUNNEL_LOOPS")
}
