package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/client"
	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/offlinequeue"
)

// orderLog records the texts the "test/order/v1" route received, in order.
type orderLog struct {
	mu    sync.Mutex
	texts []string
}

func (l *orderLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.texts...)
}

func orderRoutes(t *testing.T, log *orderLog) func(*luckystack.Server, *api.Module) {
	base := testRoutes(t, nil, nil)
	return func(srv *luckystack.Server, mod *api.Module) {
		base(srv, mod)
		require.NoError(t, api.Register(mod, "test/order/v1", api.Route[echoIn, echoOut]{
			Handler: func(_ context.Context, _ *api.Request, in echoIn) (echoOut, error) {
				log.mu.Lock()
				log.texts = append(log.texts, in.Text)
				log.mu.Unlock()
				return echoOut{Text: in.Text}, nil
			},
		}))
	}
}

// fastReconnect keeps offline tests quick: retries every few milliseconds.
func fastReconnect(o client.Options) client.Options {
	o.ReconnectDelay = 5 * time.Millisecond
	o.ReconnectDelayMax = 20 * time.Millisecond
	return o
}

// offlineClient returns a client of env whose server is down.
func offlineClient(t *testing.T, env *lsEnv, o client.Options) *client.Client {
	t.Helper()
	env.stop()
	c, err := client.New(env.url(), fastReconnect(o))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	require.Never(t, func() bool { return c.Status() == client.StatusConnected }, 30*time.Millisecond, 5*time.Millisecond)
	return c
}

type result struct {
	text string
	err  error
}

// goAPI sends test/order/v1 {text} in the background and waits until it
// sits in the offline queue, so that the queue order is the call order.
func goAPI(t *testing.T, c *client.Client, text string, wantQueued int, out chan<- result, opts ...client.RequestOption) {
	t.Helper()
	go func() {
		res, err := c.APIRequest(context.Background(), "test/order", "v1", echoIn{Text: text}, opts...)
		r := result{text: text, err: err}
		if err == nil {
			var o echoOut
			r.err = res.Decode(&o)
			r.text = o.Text
		}
		out <- r
	}()
	if wantQueued >= 0 {
		require.Eventually(t, func() bool { a, _ := c.Queued(); return a == wantQueued }, waitFor, time.Millisecond)
	}
}

func collect(t *testing.T, ch <-chan result, n int) map[string]error {
	t.Helper()
	got := map[string]error{}
	for range n {
		select {
		case r := <-ch:
			got[r.text] = r.err
		case <-time.After(waitFor):
			t.Fatalf("only %d of %d results", len(got), n)
		}
	}
	return got
}

func TestOfflineRequestsReplayInOrderAPIThenSync(t *testing.T) {
	log := &orderLog{}
	env := newLS(t, orderRoutes(t, log))
	c := offlineClient(t, env, client.Options{})
	results := make(chan result, 8)
	goAPI(t, c, "a1", 1, results)
	goAPI(t, c, "a2", 2, results)
	syncDone := make(chan error, 3)
	for i, text := range []string{"s1", "s2", "s3"} {
		go func() {
			_, err := c.SyncRequest(context.Background(), "test/echo", "v1", "all", echoIn{Text: text})
			syncDone <- err
		}()
		require.Eventually(t, func() bool { _, s := c.Queued(); return s == i+1 }, waitFor, time.Millisecond)
	}
	goAPI(t, c, "a3", 3, results)

	env.start()
	got := collect(t, results, 3)
	assert.Equal(t, map[string]error{"a1": nil, "a2": nil, "a3": nil}, got)
	for range 3 {
		require.NoError(t, <-syncDone)
	}
	// The server runs API handlers in parallel, so their order is checked
	// on the wire by TestReplayOrderOnTheWire; sync requests are handled
	// one at a time and show the replay order here.
	assert.ElementsMatch(t, []string{"a1", "a2", "a3"}, log.list())
	assert.Equal(t, []string{"s1", "s2", "s3"}, env.sync.texts(), "sync queue replayed in call order")
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	a, s := c.Queued()
	assert.Zero(t, a+s)
}

func TestOfflineQueueDropPolicies(t *testing.T) {
	tests := []struct {
		name        string
		queuePolicy offlinequeue.Policy
		itemPolicy  offlinequeue.Policy
		wantSent    []string
		wantCode    map[string]string
	}{
		{"reject refuses the newest", offlinequeue.Reject, 0, []string{"a1", "a2"},
			map[string]string{"a3": events.CodeOfflineQueueFull}},
		{"drop-newest refuses the newest", offlinequeue.DropNewest, 0, []string{"a1", "a2"},
			map[string]string{"a3": events.CodeOfflineQueueFull}},
		{"drop-oldest evicts the head", offlinequeue.DropOldest, 0, []string{"a2", "a3"},
			map[string]string{"a1": events.CodeOfflineDropped}},
		{"per-request policy wins", offlinequeue.Reject, offlinequeue.DropOldest, []string{"a2", "a3"},
			map[string]string{"a1": events.CodeOfflineDropped}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &orderLog{}
			env := newLS(t, orderRoutes(t, log))
			c := offlineClient(t, env, client.Options{Offline: offlinequeue.Options{MaxSize: 2, DropPolicy: tc.queuePolicy}})
			results := make(chan result, 4)
			goAPI(t, c, "a1", 1, results)
			goAPI(t, c, "a2", 2, results)
			var opts []client.RequestOption
			if tc.itemPolicy != 0 {
				opts = append(opts, client.WithDropPolicy(tc.itemPolicy))
			}
			goAPI(t, c, "a3", -1, results, opts...)
			// The refused or evicted request is answered while offline.
			var failed result
			select {
			case failed = <-results:
			case <-time.After(waitFor):
				t.Fatal("no request was refused")
			}
			var e *client.Error
			require.ErrorAs(t, failed.err, &e)
			for text, code := range tc.wantCode {
				assert.Equal(t, text, failed.text)
				assert.Equal(t, code, e.Code)
			}
			if e.Code == events.CodeOfflineQueueFull {
				assert.Equal(t, 503, e.HTTPStatus)
			} else {
				assert.Equal(t, "queue-full", e.Param("reason"))
			}
			env.start()
			got := collect(t, results, 2)
			for _, text := range tc.wantSent {
				assert.NoError(t, got[text], text)
			}
			assert.ElementsMatch(t, tc.wantSent, log.list())
		})
	}
}

func TestOfflineSyncPerRequestDropPolicy(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := offlineClient(t, env, client.Options{Offline: offlinequeue.Options{MaxSize: 1}})
	first := make(chan error, 1)
	go func() {
		_, err := c.SyncRequest(context.Background(), "test/echo", "v1", "all", map[string]int{"n": 1})
		first <- err
	}()
	require.Eventually(t, func() bool { _, s := c.Queued(); return s == 1 }, waitFor, time.Millisecond)
	// Reject (the queue's policy) refuses a second one...
	_, err := c.SyncRequest(ctxT(t), "test/echo", "v1", "all", nil)
	assert.Equal(t, events.CodeOfflineQueueFull, client.Code(err))
	// ...but a request may choose to evict the oldest.
	second := make(chan error, 1)
	go func() {
		_, err := c.SyncRequest(context.Background(), "test/echo", "v1", "all", map[string]int{"n": 2},
			client.WithDropPolicy(offlinequeue.DropOldest))
		second <- err
	}()
	err = <-first
	assert.Equal(t, events.CodeOfflineDropped, client.Code(err))
	env.start()
	require.NoError(t, <-second)
}

func TestOfflineExpiredRequestIsDropped(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := offlineClient(t, env, client.Options{Offline: offlinequeue.Options{MaxAge: 30 * time.Millisecond}})
	results := make(chan result, 1)
	goAPI(t, c, "old", 1, results)
	// The client prunes the queue before every connection attempt.
	r := collect(t, results, 1)
	var e *client.Error
	require.ErrorAs(t, r["old"], &e)
	assert.Equal(t, events.CodeOfflineDropped, e.Code)
	assert.Equal(t, "expired", e.Param("reason"))
}

func TestOfflineCancelWhileQueued(t *testing.T) {
	log := &orderLog{}
	env := newLS(t, orderRoutes(t, log))
	c := offlineClient(t, env, client.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.APIRequest(ctx, "test/order", "v1", echoIn{Text: "never"}); errc <- err }()
	require.Eventually(t, func() bool { a, _ := c.Queued(); return a == 1 }, waitFor, time.Millisecond)
	cancel()
	assert.Equal(t, events.CodeRequestAborted, client.Code(<-errc))
	a, _ := c.Queued()
	assert.Zero(t, a)
	env.start()
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusConnected))
	_, err := c.APIRequest(ctxT(t), "test/order", "v1", echoIn{Text: "after"})
	require.NoError(t, err)
	assert.Equal(t, []string{"after"}, log.list(), "the cancelled request was never sent")
}

func TestOfflineWithoutQueueFailsFast(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := offlineClient(t, env, client.Options{NoOfflineQueue: true})
	_, err := c.APIRequest(ctxT(t), "test/echo", "v1", nil)
	assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
	c2 := offlineClient(t, env, client.Options{})
	_, err = c2.APIRequest(ctxT(t), "test/echo", "v1", nil, client.WithoutQueue())
	assert.Equal(t, events.CodeAPIDisconnected, client.Code(err))
}

func TestCloseSettlesQueuedRequests(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	env.stop()
	c, err := client.New(env.url(), fastReconnect(client.Options{}))
	require.NoError(t, err)
	results := make(chan result, 1)
	goAPI(t, c, "q", 1, results)
	require.NoError(t, c.Close())
	r := collect(t, results, 1)
	assert.Equal(t, events.CodeOfflineDropped, client.Code(r["q"]))
	assert.ErrorIs(t, r["q"], client.ErrClosed)
}

// TestOfflineExpiryWhileNotTrying: a client that stopped reconnecting
// (NoReconnect here; a logout does the same) still expires queued requests
// instead of leaving their callers waiting.
func TestOfflineExpiryWhileNotTrying(t *testing.T) {
	env := newLS(t, testRoutes(t, nil, nil))
	c := env.dial(client.Options{NoReconnect: true, Offline: offlinequeue.Options{MaxAge: 30 * time.Millisecond}})
	env.stop()
	require.NoError(t, c.WaitStatus(ctxT(t), client.StatusDisconnected))
	results := make(chan result, 1)
	goAPI(t, c, "stale", -1, results)
	r := collect(t, results, 1)
	assert.Equal(t, events.CodeOfflineDropped, client.Code(r["stale"]))
	var e *client.Error
	require.ErrorAs(t, r["stale"], &e)
	assert.Equal(t, "expired", e.Param("reason"))
}
