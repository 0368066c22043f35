package sync

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

// syncPoller is a raw Engine.IO polling client: between its GETs the
// server's queue for it only grows, which is a client that stops reading.
type syncPoller struct {
	e   *testEnv
	sid string
}

func syncPollerDial(t *testing.T, e *testEnv, token string) *syncPoller {
	t.Helper()
	resp, body := e.do(http.MethodGet, "/socket.io/?EIO=4&transport=polling", "", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var open struct {
		SID string `json:"sid"`
	}
	require.NoError(t, json.Unmarshal(body[1:], &open))
	p := &syncPoller{e: e, sid: open.SID}
	p.post(t, `40{"token":"`+token+`"}`)
	require.Contains(t, p.get(t), "40{")
	return p
}

func (p *syncPoller) path() string { return "/socket.io/?EIO=4&transport=polling&sid=" + p.sid }

func (p *syncPoller) post(t *testing.T, pkt string) {
	t.Helper()
	resp, body := p.e.do(http.MethodPost, p.path(), "", pkt, http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func (p *syncPoller) get(t *testing.T) string {
	t.Helper()
	resp, body := p.e.do(http.MethodGet, p.path(), "", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// TestSyncFlushPressure: a handler broadcasting a stream to a room whose
// member stops reading is held by FlushPressure at the threshold; it goes
// on when the member reads again and returns when the member leaves.
func TestSyncFlushPressure(t *testing.T) {
	const chunk, threshold = 32 << 10, 256 << 10
	entered := make(chan int, 100)
	left := make(chan error, 100)
	stop := make(chan struct{})
	e := newEnv(t, noLimits(), func(m *Module) {
		mustRegister(t, m, "chat/pump/v1", Route[Msg, Msg]{Server: func(ctx context.Context, req *Request, in Msg) (Msg, error) {
			payload := map[string]string{"s": strings.Repeat("x", chunk)}
			for i := range 60 {
				if err := req.BroadcastStream(payload); err != nil {
					return in, err
				}
				entered <- i
				left <- req.FlushPressure(ctx, threshold)
				select {
				case <-stop:
					return in, nil
				default:
				}
			}
			return in, nil
		}})
	})
	a, _ := e.member("a", "r")
	p := syncPollerDial(t, e, e.login("slow"))
	p.post(t, `42["joinRoom",{"group":"r","responseIndex":1}]`)
	require.Contains(t, p.get(t), "joinRoom-1")

	require.NoError(t, a.Emit("sync", syncMsg("sync/chat/pump/v1", Msg{Text: "go"}, "r", 1)))
	i := testutil.Blocked(t, entered, left, 500*time.Millisecond, waitFor)
	assert.GreaterOrEqual(t, i+1, threshold/chunk, "no wait below the threshold")
	// A poll in flight can take one batch off the queue, so the wait may
	// start a few chunks later on a loaded machine; it must still start
	// long before the handler's 60 chunks.
	assert.Less(t, i, threshold/chunk+4, "the wait starts at the threshold")

	assert.Contains(t, p.get(t), `"status":"stream"`, "the member reads again")
	select {
	case err := <-left:
		assert.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("FlushPressure did not return after the member read")
	}

	testutil.Blocked(t, entered, left, 500*time.Millisecond, waitFor)
	close(stop)
	p.post(t, "1") // the member closes its connection
	select {
	case err := <-left:
		assert.NoError(t, err, "the handler's context is the sender's, which is still there")
	case <-time.After(waitFor):
		t.Fatal("FlushPressure did not return after the member left")
	}
	assert.Equal(t, "success", expect(t, a, "sync-1")["status"])
}
