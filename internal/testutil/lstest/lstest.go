package lstest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	luckystack "github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/internal/testutil/sioclient"
)

// HTTP sends requests to the server at Base.
type HTTP struct {
	T      testing.TB
	Base   string
	Client *http.Client
}

// Do sends a request with the same-origin Origin the dispatcher requires
// for state-changing methods, contentType and the Bearer token when set,
// and the headers of hdr; it returns the response and its whole body.
func (h *HTTP) Do(method, path, token, contentType string, body io.Reader, hdr http.Header) (*http.Response, []byte) {
	h.T.Helper()
	req, err := http.NewRequest(method, h.Base+path, body)
	require.NoError(h.T, err)
	req.Header.Set("Origin", h.Base)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.Client.Do(req)
	require.NoError(h.T, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.T, err)
	return resp, b
}

// Post sends data as a JSON body and decodes the JSON reply.
func (h *HTTP) Post(path, token string, data any) (int, Reply) {
	h.T.Helper()
	b, err := json.Marshal(data)
	require.NoError(h.T, err)
	resp, body := h.Do(http.MethodPost, path, token, "application/json", strings.NewReader(string(b)), nil)
	var r Reply
	require.NoError(h.T, json.Unmarshal(body, &r), "body %s", body)
	return resp.StatusCode, r
}

// Reply is a decoded envelope or frame.
type Reply map[string]any

// Code is the envelope's errorCode.
func (r Reply) Code() string { s, _ := r["errorCode"].(string); return s }

// Status is the envelope's httpStatus.
func (r Reply) Status() int { f, _ := r["httpStatus"].(float64); return int(f) }

// Obj is the object under key, nil when there is none.
func (r Reply) Obj(key string) map[string]any { m, _ := r[key].(map[string]any); return m }

// ExpectEvent waits up to timeout for event name on c.
func ExpectEvent(t testing.TB, c *sioclient.Client, name string, timeout time.Duration) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ev, err := c.Expect(ctx, name)
	require.NoError(t, err, "waiting for %s", name)
	return ev
}

// Expect waits up to timeout for event name and decodes its first
// argument.
func Expect(t testing.TB, c *sioclient.Client, name string, timeout time.Duration) Reply {
	t.Helper()
	var r Reply
	require.NoError(t, ExpectEvent(t, c, name, timeout).Decode(0, &r))
	return r
}

// Recorder collects names in the order they were added; safe for the
// goroutines hooks run on.
type Recorder struct {
	mu    sync.Mutex
	names []string
}

// Add appends name.
func (r *Recorder) Add(name string) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
}

// List returns the names so far.
func (r *Recorder) List() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// Reset forgets the names so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.names = nil
	r.mu.Unlock()
}

// Record registers a handler of hook h on srv that adds h's name to r.
func Record[P any](srv *luckystack.Server, r *Recorder, h luckystack.Hook[P]) {
	luckystack.RegisterHook(srv, h, func(context.Context, *P) error {
		r.Add(h.Name())
		return nil
	})
}
