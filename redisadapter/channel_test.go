package redisadapter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestChannelNames checks the names against the golden PUBLISH lines.
func TestChannelNames(t *testing.T) {
	t.Parallel()
	c := newChannels("", "/", "Wm1daO")
	assert.Equal(t, "socket.io#/#", c.broadcast)
	assert.Equal(t, "socket.io#/#room1#", c.room("room1"))
	assert.Equal(t, "socket.io-request#/#", c.request)
	assert.Equal(t, "socket.io-response#/#", c.response)
	assert.Equal(t, "socket.io-response#/#Wm1daO#", c.ownResponse)
	assert.Equal(t, "socket.io-response#/#dgBOSp#", c.responseTo("dgBOSp"))
	assert.Equal(t, "socket.io#/#*", c.pattern())

	c = newChannels("app", "/chat", "u")
	assert.Equal(t, "app#/chat#", c.broadcast)
	assert.Equal(t, "app-request#/chat#", c.request)
	assert.Equal(t, "app-response#/chat#u#", c.ownResponse)
}

// TestChannelPatternEscapesGlob keeps the subscription to this namespace.
func TestChannelPatternEscapesGlob(t *testing.T) {
	t.Parallel()
	c := newChannels("k*", "/a?[b]\\", "u")
	assert.Equal(t, `k\*#/a\?\[b\]\\#*`, c.pattern())
}

// TestParseBroadcast classifies received channel names.
func TestParseBroadcast(t *testing.T) {
	t.Parallel()
	c := newChannels("", "/", "u")
	tests := []struct {
		channel, room string
		ok            bool
	}{
		{"socket.io#/#", "", true},
		{"socket.io#/#room1#", "room1", true},
		{"socket.io#/#a#b#", "a#b", true},
		{"socket.io#/#42#", "42", true},
		{"socket.io#/##", "", true},
		{"socket.io#/#room1", "", false},
		{"socket.io#/chat#", "", false},
		{"socket.io-request#/#", "", false},
		{"other#/#", "", false},
	}
	for _, tc := range tests {
		room, ok := c.parseBroadcast(tc.channel)
		assert.Equal(t, tc.ok, ok, tc.channel)
		assert.Equal(t, tc.room, room, tc.channel)
	}
}

// TestNewUID checks the alphabet and length of uid2(6)-style ids.
func TestNewUID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := newUID()
		assert.Len(t, id, 6)
		assert.Empty(t, strings.Trim(id, uidAlphabet), id)
		seen[id] = true
	}
	assert.Greater(t, len(seen), 990, "ids should not repeat")
}
