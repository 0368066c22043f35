package offlinequeue_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/offlinequeue"
)

func TestPolicyNames(t *testing.T) {
	t.Parallel()
	// The spellings are the original client's offlineDropPolicy values.
	for p, name := range map[offlinequeue.Policy]string{
		offlinequeue.Reject:     "reject",
		offlinequeue.DropOldest: "drop-oldest",
		offlinequeue.DropNewest: "drop-newest",
	} {
		assert.Equal(t, name, p.String())
		parsed, err := offlinequeue.ParsePolicy(name)
		require.NoError(t, err)
		assert.Equal(t, p, parsed)
	}
	assert.Equal(t, "Policy(0)", offlinequeue.Policy(0).String())
	for _, bad := range []string{"", "Reject", "drop_oldest", "dropOldest"} {
		_, err := offlinequeue.ParsePolicy(bad)
		assert.ErrorIs(t, err, offlinequeue.ErrInvalidPolicy, bad)
	}
	assert.Equal(t, offlinequeue.Reject, offlinequeue.DefaultDropPolicy)
}

func TestReasonAndKindNames(t *testing.T) {
	t.Parallel()
	// "expired" and "queue-full" travel as the reason param of
	// offline.dropped, so their spelling is wire-visible.
	assert.Equal(t, "expired", offlinequeue.ReasonExpired.String())
	assert.Equal(t, "queue-full", offlinequeue.ReasonQueueFull.String())
	assert.Equal(t, "removed", offlinequeue.ReasonRemoved.String())
	assert.Equal(t, "cleared", offlinequeue.ReasonCleared.String())
	assert.Equal(t, "Reason(0)", offlinequeue.Reason(0).String())
	assert.Equal(t, "api", offlinequeue.API.String())
	assert.Equal(t, "sync", offlinequeue.Sync.String())
	assert.Equal(t, "Kind(7)", offlinequeue.Kind(7).String())
}

func TestErrorMatchingAndText(t *testing.T) {
	t.Parallel()
	full := &offlinequeue.Error{Code: offlinequeue.CodeQueueFull, Reason: offlinequeue.ReasonQueueFull, Queue: offlinequeue.API, Key: "api/a/b/v1"}
	dropped := &offlinequeue.Error{Code: offlinequeue.CodeDropped, Reason: offlinequeue.ReasonExpired, Queue: offlinequeue.Sync, ID: "ID1", Key: "sync/a/b/v1"}

	wrapped := fmt.Errorf("request failed: %w", full)
	assert.ErrorIs(t, wrapped, offlinequeue.ErrQueueFull)
	assert.NotErrorIs(t, wrapped, offlinequeue.ErrDropped)
	assert.ErrorIs(t, dropped, offlinequeue.ErrDropped)
	assert.NotErrorIs(t, dropped, offlinequeue.ErrQueueFull)
	assert.False(t, errors.Is(dropped, errors.New("offlinequeue: item dropped")), "matching is by sentinel identity, not text")

	assert.Equal(t, `offlinequeue: api queue full, refused "api/a/b/v1"`, full.Error())
	assert.Equal(t, `offlinequeue: sync item ID1 ("sync/a/b/v1") dropped: expired`, dropped.Error())
	assert.Equal(t, "offline.queueFull", offlinequeue.CodeQueueFull)
	assert.Equal(t, "offline.dropped", offlinequeue.CodeDropped)
}
