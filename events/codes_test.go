package events_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/luckystack/luckystack-go/events"
)

func TestCatalogue(t *testing.T) {
	t.Parallel()
	// Code spelling and status are both copied from luckystack-wire.md
	// §2.4 independently of codes.go.
	tests := []struct {
		code   string
		wire   string
		status int
	}{
		{events.CodeInvalidResponse, "error.invalidResponse", 400},

		{events.CodeAPIInvalidRequest, "api.invalidRequest", 400},
		{events.CodeAPIInvalidName, "api.invalidName", 400},
		{events.CodeAPIInvalidDataObject, "api.invalidDataObject", 400},
		{events.CodeRoutingInvalidServiceRouteName, "routing.invalidServiceRouteName", 400},
		{events.CodeAPINotFound, "api.notFound", 404},
		{events.CodeAuthRequired, "auth.required", 401},
		{events.CodeAuthForbidden, "auth.forbidden", 403},
		{events.CodeAuthInvalidCondition, "auth.invalidCondition", 500},
		{events.CodeAPIRateLimitExceeded, "api.rateLimitExceeded", 429},
		{events.CodeAPIMethodNotAllowed, "api.methodNotAllowed", 405},
		{events.CodeAPIInvalidInputType, "api.invalidInputType", 400},
		{events.CodeAPITimeout, "api.timeout", 504},
		{events.CodeAPIInternalServerError, "api.internalServerError", 500},
		{events.CodeAPIEmptyResponse, "api.emptyResponse", 500},
		{events.CodeAPIInvalidResponseStatus, "api.invalidResponseStatus", 500},
		{events.CodeAPIServerExecutionFailed, "api.serverExecutionFailed", 500},
		{events.CodeAPIPayloadTooLarge, "api.payloadTooLarge", 413},
		{events.CodeAPIInvalidRequestFormat, "api.invalidRequestFormat", 400},
		{events.CodeAPIUnsupportedMediaType, "api.unsupportedMediaType", 415},
		{events.CodeAPIDevToolsUnavailable, "api.devToolsUnavailable", 503},

		{events.CodeSyncInvalidRequest, "sync.invalidRequest", 400},
		{events.CodeSyncInvalidCallback, "sync.invalidCallback", 400},
		{events.CodeSyncMissingReceiver, "sync.missingReceiver", 400},
		{events.CodeSyncNotFound, "sync.notFound", 400},
		{events.CodeSyncReceiverNotAllowed, "sync.receiverNotAllowed", 403},
		{events.CodeSyncNotRoomMember, "sync.notRoomMember", 403},
		{events.CodeSyncRateLimitExceeded, "sync.rateLimitExceeded", 429},
		{events.CodeSyncInvalidInputType, "sync.invalidInputType", 400},
		{events.CodeSyncServerExecutionFailed, "sync.serverExecutionFailed", 400},
		{events.CodeSyncInvalidServerResponse, "sync.invalidServerResponse", 400},
		{events.CodeSyncNoReceiversFound, "sync.noReceiversFound", 400},
		{events.CodeSyncClientExecutionFailed, "sync.clientExecutionFailed", 400},
		{events.CodeSyncClientRejected, "sync.clientRejected", 400},
		{events.CodeSyncInvalidClientResponse, "sync.invalidClientResponse", 400},
		{events.CodeSyncDisabled, "sync.disabled", 404},
		{events.CodeSyncMethodNotAllowed, "sync.methodNotAllowed", 405},
		{events.CodeSyncInvalidName, "sync.invalidName", 400},
		{events.CodeSyncDevToolsUnavailable, "sync.devToolsUnavailable", 503},
		{events.CodeSyncInvalidRequestFormat, "sync.invalidRequestFormat", 500},
		{events.CodeSyncIOUnavailable, "sync.ioUnavailable", 400},
		{events.CodeSyncIgnore, "sync.ignore", 400},

		{events.CodeRoomInvalid, "room.invalid", 400},
		{events.CodeSessionNotFound, "session.notFound", 400},
		{events.CodeRoomJoinBlocked, "room.joinBlocked", 400},
		{events.CodeRoomLeaveBlocked, "room.leaveBlocked", 400},

		{events.CodeRequestAborted, "request.aborted", 400},
		{events.CodeAPIIOUnavailable, "api.ioUnavailable", 400},
		{events.CodeAPIDisconnected, "api.disconnected", 400},
		{events.CodeAPIInvalidVersion, "api.invalidVersion", 400},
		{events.CodeAPIInvalidServerResponse, "api.invalidServerResponse", 400},
		{events.CodeSyncInvalidVersion, "sync.invalidVersion", 400},
		{events.CodeSyncRequestTimeout, "sync.requestTimeout", 504},
		{events.CodeSyncFailedRequest, "sync.failedRequest", 400},
		{events.CodeOfflineQueueFull, "offline.queueFull", 503},
		{events.CodeOfflineDropped, "offline.dropped", 400},

		{events.CodeAuthCSRFMismatch, "auth.csrfMismatch", 403},
		{events.CodeAuthUnauthenticated, "auth.unauthenticated", 401},
		{events.CodeServerInternalError, "server.internalError", 500},
		{events.CodeServerCustomRouteFailed, "server.customRouteFailed", 500},
		{events.CodeNotFound, "notFound", 404},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		assert.Equal(t, tc.wire, tc.code)
		assert.Equal(t, tc.status, events.DefaultStatus(tc.code), tc.wire)
		assert.False(t, seen[tc.code], "duplicate code %q", tc.code)
		seen[tc.code] = true
	}
}

func TestDefaultStatusUnknownCode(t *testing.T) {
	t.Parallel()
	// Hook stop signals may use any code; those fall to the normaliser's
	// default rather than to 0, which net/http would reject.
	assert.Equal(t, 400, events.DefaultStatus("myapp.customStop"))
	assert.Equal(t, 400, events.DefaultStatus(""))
	assert.Equal(t, 403, events.DefaultStopStatus)
}
