package api

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

// pressurePoller is a raw Engine.IO polling client: between its GETs the
// server's queue for it only grows, which is a client that stops reading.
type pressurePoller struct {
	e   *testEnv
	sid string
}

func pressureDial(t *testing.T, e *testEnv) *pressurePoller {
	t.Helper()
	resp, body := e.Do(http.MethodGet, "/socket.io/?EIO=4&transport=polling", "", "", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.True(t, strings.HasPrefix(string(body), "0"), string(body))
	var open struct {
		SID string `json:"sid"`
	}
	require.NoError(t, json.Unmarshal(body[1:], &open))
	p := &pressurePoller{e: e, sid: open.SID}
	p.post(t, "40")
	require.Contains(t, p.get(t), "40{")
	return p
}

func (p *pressurePoller) path() string { return "/socket.io/?EIO=4&transport=polling&sid=" + p.sid }

func (p *pressurePoller) post(t *testing.T, pkt string) {
	t.Helper()
	resp, body := p.e.Do(http.MethodPost, p.path(), "", "text/plain", strings.NewReader(pkt), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func (p *pressurePoller) get(t *testing.T) string {
	t.Helper()
	resp, body := p.e.Do(http.MethodGet, p.path(), "", "", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// TestFlushPressure: a handler streaming to a socket client that stops
// reading is held by FlushPressure once the queue reaches the threshold;
// it goes on when the client reads again, and returns when the client
// disconnects. Over HTTP FlushPressure returns at once.
func TestFlushPressure(t *testing.T) {
	t.Parallel()
	const chunk, threshold = 32 << 10, 256 << 10
	entered := make(chan int, 100)
	left := make(chan error, 100)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/pump/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, req *Request, _ Echo) (Echo, error) {
			payload := Echo{S: strings.Repeat("x", chunk)}
			for i := range 90 {
				if req.Stream(payload) != nil {
					return Echo{}, nil
				}
				entered <- i
				left <- req.FlushPressure(ctx, threshold)
			}
			return Echo{}, nil
		}}))
		require.NoError(t, Register(m, "svc/http/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, req *Request, _ Echo) (Echo, error) {
			return Echo{S: "returned"}, req.FlushPressure(ctx, 1)
		}}))
	})
	p := pressureDial(t, e)
	p.post(t, `42["apiRequest",{"name":"api/svc/pump/v1","data":{},"responseIndex":1}]`)

	i := testutil.Blocked(t, entered, left, 200*time.Millisecond, waitFor)
	assert.GreaterOrEqual(t, i+1, threshold/chunk, "no wait below the threshold")
	assert.Less(t, i, threshold/chunk+2, "the wait starts at the threshold")

	assert.Contains(t, p.get(t), "apiStream-1", "the client reads again")
	select {
	case err := <-left:
		assert.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("FlushPressure did not return after the client read")
	}

	testutil.Blocked(t, entered, left, 200*time.Millisecond, waitFor)
	p.post(t, "1") // the client closes the connection
	select {
	case <-left:
	case <-time.After(waitFor):
		t.Fatal("FlushPressure did not return after the disconnect")
	}

	status, r := e.Post("/api/svc/http/v1", "", map[string]any{})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "returned", r["s"])
}
