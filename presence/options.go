package presence

import (
	"fmt"
	"slices"
	"time"
)

// DeletePolicy says whether an expired grace window deletes the session.
type DeletePolicy int

const (
	// DeleteUnlessTabSwitch deletes the session when the window expires,
	// except when the window was opened by a tab switch. It is the
	// original's behaviour and the default.
	DeleteUnlessTabSwitch DeletePolicy = iota
	// DeleteAlways deletes the session on every expiry.
	DeleteAlways
	// DeleteNever keeps the session: the user is reported as left but stays
	// logged in ("remember me" apps, weak spot 11 of the spec).
	DeleteNever
)

// String returns the policy's name.
func (p DeletePolicy) String() string {
	switch p {
	case DeleteUnlessTabSwitch:
		return "unless-tab-switch"
	case DeleteAlways:
		return "always"
	case DeleteNever:
		return "never"
	}
	return fmt.Sprintf("DeletePolicy(%d)", int(p))
}

// DisconnectTimers are the grace windows by cause. Zero fields take the
// defaults.
type DisconnectTimers struct {
	// TabSwitch applies after the client sent intentionalDisconnect. Zero
	// means 20s.
	TabSwitch time.Duration
	// TransportClose applies to the reasons in Options.AllowReasons
	// (a closed or broken connection: a closed browser or a page refresh).
	// Zero means 60s.
	TransportClose time.Duration
	// Default applies to every other reason. Zero means 2s.
	Default time.Duration
}

// Options configures [New]. It is an overlay over the defaults: every zero
// field, nested ones included, takes its default (a deep merge), and a
// non-nil slice replaces the default list as a whole. The table is in
// docs/PRESENCE.md.
type Options struct {
	// DisconnectTimers are the grace windows.
	DisconnectTimers DisconnectTimers
	// IgnoreReasons are disconnect reasons that open no window: no timer,
	// no userLeft, no delete. Nil means ["ping timeout"]; an empty non-nil
	// slice ignores nothing.
	IgnoreReasons []string
	// AllowReasons get the TransportClose window. Nil means
	// ["transport close", "transport error"].
	AllowReasons []string
	// DeleteOnExpiry says whether expiry deletes the session. Zero means
	// DeleteUnlessTabSwitch.
	DeleteOnExpiry DeletePolicy
	// AFKTimeout is how long every socket of a session must be idle before
	// room peers get userAfk. Zero means 5 minutes; negative disables AFK
	// detection.
	AFKTimeout time.Duration
	// ActivitySampleInterval is how often idle sockets are looked for.
	// Zero means 15s; negative disables the sampler (and so AFK).
	ActivitySampleInterval time.Duration
	// Store keeps the grace windows and activity that instances share. Nil
	// means [NewMemoryStore], right for one instance; a cluster needs
	// [NewRedisStore] for warm reconnects across instances.
	Store Store
}

// Defaults of [Options]; the docs table lists the same values.
const (
	DefaultTabSwitch              = 20 * time.Second
	DefaultTransportClose         = 60 * time.Second
	DefaultWindow                 = 2 * time.Second
	DefaultAFKTimeout             = 5 * time.Minute
	DefaultActivitySampleInterval = 15 * time.Second
)

// defaultIgnoreReasons and defaultAllowReasons are copied into each
// Options, never handed out, so nobody can change the defaults.
var (
	defaultIgnoreReasons = []string{"ping timeout"}
	defaultAllowReasons  = []string{"transport close", "transport error"}
)

// withDefaults returns o merged over the defaults.
func (o Options) withDefaults() Options {
	t := &o.DisconnectTimers
	if t.TabSwitch == 0 {
		t.TabSwitch = DefaultTabSwitch
	}
	if t.TransportClose == 0 {
		t.TransportClose = DefaultTransportClose
	}
	if t.Default == 0 {
		t.Default = DefaultWindow
	}
	if o.IgnoreReasons == nil {
		o.IgnoreReasons = slices.Clone(defaultIgnoreReasons)
	} else {
		o.IgnoreReasons = slices.Clone(o.IgnoreReasons)
	}
	if o.AllowReasons == nil {
		o.AllowReasons = slices.Clone(defaultAllowReasons)
	} else {
		o.AllowReasons = slices.Clone(o.AllowReasons)
	}
	if o.AFKTimeout == 0 {
		o.AFKTimeout = DefaultAFKTimeout
	}
	if o.ActivitySampleInterval == 0 {
		o.ActivitySampleInterval = DefaultActivitySampleInterval
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	return o
}

// problems lists invalid values, reported by Verify at bootstrap.
func (o Options) problems() []string {
	var out []string
	t := o.DisconnectTimers
	for name, d := range map[string]time.Duration{"TabSwitch": t.TabSwitch, "TransportClose": t.TransportClose, "Default": t.Default} {
		if d < 0 {
			out = append(out, fmt.Sprintf("presence: DisconnectTimers.%s %v is negative", name, d))
		}
	}
	if o.DeleteOnExpiry < DeleteUnlessTabSwitch || o.DeleteOnExpiry > DeleteNever {
		out = append(out, fmt.Sprintf("presence: unknown DeleteOnExpiry %d", int(o.DeleteOnExpiry)))
	}
	slices.Sort(out)
	return out
}

// afkEnabled reports whether the sampler looks for idle sessions.
func (o Options) afkEnabled() bool { return o.AFKTimeout > 0 && o.ActivitySampleInterval > 0 }

// window returns the grace window for a disconnect, or false when the
// reason is ignored.
func (o Options) window(reason string, tabSwitch bool) (time.Duration, bool) {
	if slices.Contains(o.IgnoreReasons, reason) {
		return 0, false
	}
	switch {
	case tabSwitch:
		return o.DisconnectTimers.TabSwitch, true
	case slices.Contains(o.AllowReasons, reason):
		return o.DisconnectTimers.TransportClose, true
	}
	return o.DisconnectTimers.Default, true
}

// deletes reports whether an expiry deletes the session.
func (o Options) deletes(tabSwitch bool) bool {
	switch o.DeleteOnExpiry {
	case DeleteAlways:
		return true
	case DeleteNever:
		return false
	}
	return !tabSwitch
}
