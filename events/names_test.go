package events_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/events"
)

func TestNamesMatchWire(t *testing.T) {
	t.Parallel()
	// The expected strings are copied from luckystack-wire.md §2.1/§2.2, not
	// derived from the constants, so a typo in either place fails here.
	tests := []struct {
		name events.Name
		wire string
	}{
		{events.NameAPIRequest, "apiRequest"},
		{events.NameAPICancel, "apiCancel"},
		{events.NameSync, "sync"},
		{events.NameSyncCancel, "syncCancel"},
		{events.NameJoinRoom, "joinRoom"},
		{events.NameLeaveRoom, "leaveRoom"},
		{events.NameGetJoinedRooms, "getJoinedRooms"},
		{events.NameUpdateLocation, "updateLocation"},
		{events.NameIntentionalDisconnect, "intentionalDisconnect"},
		{events.NameIntentionalReconnect, "intentionalReconnect"},
		{events.NameActivity, "activity"},
		{events.NameUpdateSession, "updateSession"},
		{events.NameSessionReplaced, "sessionReplaced"},
		{events.NameLogout, "logout"},
		{events.NameUserAFK, "userAfk"},
		{events.NameUserBack, "userBack"},
		{events.NameUserLeft, "userLeft"},
		{events.NameConnect, "connect"},
		{events.NameDisconnect, "disconnect"},
		{events.NameConnectError, "connect_error"},
		{events.NameReconnectAttempt, "reconnect_attempt"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.wire, tc.name.String())
	}

	all := events.Names()
	require.Len(t, all, len(tests), "Names must list every fixed event exactly once")
	seen := map[events.Name]bool{}
	for _, n := range all {
		assert.False(t, seen[n], "duplicate %q", n)
		seen[n] = true
	}
	for _, tc := range tests {
		assert.True(t, seen[tc.name], "Names is missing %q", tc.name)
	}
}

func TestNamesReturnsFreshSlice(t *testing.T) {
	t.Parallel()
	a := events.Names()
	a[0] = "tampered"
	assert.Equal(t, events.NameAPIRequest, events.Names()[0])
}

func TestIsReserved(t *testing.T) {
	t.Parallel()
	reserved := map[events.Name]bool{
		events.NameConnect: true, events.NameDisconnect: true,
		events.NameConnectError: true, events.NameReconnectAttempt: true,
	}
	for _, n := range events.Names() {
		assert.Equal(t, reserved[n], n.IsReserved(), "%q", n)
	}
	assert.False(t, events.Name("chat").IsReserved())
}
