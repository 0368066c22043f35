package presence

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOptionsDeepMerge(t *testing.T) {
	d := Options{}.withDefaults()
	assert.Equal(t, DisconnectTimers{TabSwitch: 20 * time.Second, TransportClose: time.Minute, Default: 2 * time.Second}, d.DisconnectTimers)
	assert.Equal(t, []string{"ping timeout"}, d.IgnoreReasons)
	assert.Equal(t, []string{"transport close", "transport error"}, d.AllowReasons)
	assert.Equal(t, 5*time.Minute, d.AFKTimeout)
	assert.Equal(t, 15*time.Second, d.ActivitySampleInterval)
	assert.Equal(t, DeleteUnlessTabSwitch, d.DeleteOnExpiry)
	assert.IsType(t, &MemoryStore{}, d.Store)

	// One nested field set: its siblings keep their defaults.
	o := Options{DisconnectTimers: DisconnectTimers{Default: time.Second}, AllowReasons: []string{"x"}}.withDefaults()
	assert.Equal(t, DisconnectTimers{TabSwitch: 20 * time.Second, TransportClose: time.Minute, Default: time.Second}, o.DisconnectTimers)
	assert.Equal(t, []string{"x"}, o.AllowReasons, "a slice replaces the default list")
	assert.Equal(t, []string{"ping timeout"}, o.IgnoreReasons)

	// The defaults cannot be changed through a returned slice.
	d.IgnoreReasons[0] = "mutated"
	assert.Equal(t, []string{"ping timeout"}, Options{}.withDefaults().IgnoreReasons)

	assert.Empty(t, Options{IgnoreReasons: []string{}}.withDefaults().IgnoreReasons, "empty ignores nothing")
}

func TestOptionsProblems(t *testing.T) {
	assert.Empty(t, Options{}.problems())
	p := Options{DisconnectTimers: DisconnectTimers{TabSwitch: -1}, DeleteOnExpiry: 9}.problems()
	assert.Len(t, p, 2)
	assert.Contains(t, p[0], "TabSwitch")
	assert.Equal(t, "DeletePolicy(9)", DeletePolicy(9).String())
}

func TestWindowChoice(t *testing.T) {
	o := Options{}.withDefaults()
	tests := []struct {
		reason    string
		tabSwitch bool
		want      time.Duration
		opens     bool
	}{
		{"transport close", false, time.Minute, true},
		{"transport error", false, time.Minute, true},
		{"transport close", true, 20 * time.Second, true},
		{"server namespace disconnect", true, 20 * time.Second, true},
		{"client namespace disconnect", false, 2 * time.Second, true},
		{"ping timeout", false, 0, false},
		{"ping timeout", true, 0, false},
	}
	for _, tc := range tests {
		w, ok := o.window(tc.reason, tc.tabSwitch)
		assert.Equal(t, tc.want, w, tc.reason)
		assert.Equal(t, tc.opens, ok, tc.reason)
	}
}
