package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/redistest"
	"github.com/luckystack/luckystack-go/redisadapter"
	"github.com/luckystack/luckystack-go/socketio"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// TestMixedCluster runs scripts/mixed.mjs against one Go and one Node server
// sharing a redis-server, with responses on the shared channel (Node's
// default) and on each requester's own channel.
func TestMixedCluster(t *testing.T) {
	t.Parallel()
	for _, specific := range []bool{false, true} {
		name := "shared response channel"
		if specific {
			name = "specific response channel"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			requireNode(t)
			addr := redistest.Start(t)
			g := newGoServer(t, addr, specific)
			env := map[string]string{"REDIS_URL": "redis://" + addr, "GO_URL": g.url}
			if specific {
				env["SPECIFIC_RESPONSE_CHANNEL"] = "1"
			}
			runNode(t, "mixed.mjs", env, g.control)
		})
	}
}

// goServer is the Go half of the cluster.
type goServer struct {
	srv *socketio.Server
	url string

	mu  sync.Mutex // Protects following.
	sse []sseEvent
}

type sseEvent struct {
	Event string `json:"event"`
	Args  []any  `json:"args"`
}

func newGoServer(t *testing.T, addr string, specific bool) *goServer {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	ra, err := redisadapter.New(rc, redisadapter.Options{RequestsTimeout: 2 * time.Second, PublishOnSpecificResponseChannel: specific})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ra.Close(ctx); err != nil {
			t.Errorf("adapter close: %v", err)
		}
	})
	g := &goServer{srv: socketio.NewServer(socketio.Options{Adapter: ra.For})}
	ts := httptest.NewServer(g.srv)
	g.url = ts.URL
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.srv.Shutdown(ctx)
	})
	nsp := g.srv.Sockets()
	nsp.OnConnection(func(s *socketio.Socket) { s.SetData(map[string]string{"server": "go"}) })
	nsp.On("join", func(e *socketio.Event) {
		var room string
		_ = e.Args.Decode(0, &room)
		e.Socket.Join(room)
		_ = e.Ack()
	})
	record := func(event string) socketio.ServerSideHandler {
		return func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			g.mu.Lock()
			g.sse = append(g.sse, sseEvent{Event: event, Args: vals})
			g.mu.Unlock()
			if ack != nil {
				ack("go-answer")
			}
		}
	}
	nsp.OnServerSideEmit("hello", record("hello"))
	nsp.OnServerSideEmit("ask", record("ask"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ra.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return g
}

// ctlArg is what the script sends with a Go-side action.
type ctlArg struct {
	Rooms     []string          `json:"rooms"`
	Except    []string          `json:"except"`
	Event     string            `json:"event"`
	Args      []json.RawMessage `json:"args"`
	Add       []string          `json:"add"`
	Close     bool              `json:"close"`
	TimeoutMs int               `json:"timeoutMs"`
	ID        string            `json:"id"`
}

// control performs the Go side of each scenario.
func (g *goServer) control(cmd string, raw json.RawMessage) (any, error) {
	var a ctlArg
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.TimeoutMs > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(a.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	nsp := g.srv.Sockets()
	op := nsp.To(a.Rooms...).Except(a.Except...)
	switch cmd {
	case "serverCount":
		return nsp.Adapter().ServerCount(ctx)
	case "emit":
		return nil, op.Emit(a.Event, args(a.Args)...)
	case "emitWithAck":
		replies, err := op.EmitWithAck(ctx, a.Event, args(a.Args)...)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(replies))
		for i, r := range replies {
			out[i], _ = r.Value(0)
		}
		return out, nil
	case "fetch":
		socks, err := op.FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		type sock struct {
			ID        string          `json:"id"`
			Rooms     []string        `json:"rooms"`
			Data      json.RawMessage `json:"data"`
			UserAgent string          `json:"userAgent"`
			Transport string          `json:"transport"`
			Address   string          `json:"address"`
		}
		out := make([]sock, len(socks))
		for i, s := range socks {
			out[i] = sock{ID: s.ID, Rooms: s.Rooms, Data: s.Data, UserAgent: s.Handshake.Headers.Get("User-Agent"),
				Transport: s.Handshake.Query.Get("transport"), Address: s.Handshake.Address}
		}
		return out, nil
	case "remoteEmit":
		// Emit through the RemoteSocket fetched from the other server.
		socks, err := nsp.To(a.ID).FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		if len(socks) != 1 {
			return nil, fmt.Errorf("fetched %d sockets for %s", len(socks), a.ID)
		}
		return nil, socks[0].Emit(a.Event, args(a.Args)...)
	case "sse":
		return nil, nsp.ServerSideEmit(ctx, a.Event, args(a.Args)...)
	case "sseAck":
		replies, err := nsp.ServerSideEmitWithAck(ctx, a.Event, args(a.Args)...)
		out := make([]any, len(replies))
		for i, r := range replies {
			out[i], _ = r.Value(0)
		}
		res := map[string]any{"replies": out}
		if err != nil {
			res["error"] = err.Error()
		}
		return res, nil
	case "sseReceived":
		g.mu.Lock()
		defer g.mu.Unlock()
		return append([]sseEvent{}, g.sse...), nil
	case "join":
		return nil, op.SocketsJoin(ctx, a.Add...)
	case "leave":
		return nil, op.SocketsLeave(ctx, a.Add...)
	case "disconnect":
		return nil, op.DisconnectSockets(ctx, a.Close)
	case "rooms":
		s, ok := nsp.Socket(a.ID)
		if !ok {
			return nil, nil
		}
		return s.Rooms(), nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownCmd, cmd)
}

// args decodes the script's arguments; {"$bin": base64} becomes []byte so
// binary can be sent from the Go server.
func args(raw []json.RawMessage) []any {
	out := make([]any, len(raw))
	for i, r := range raw {
		var v any
		_ = json.Unmarshal(r, &v)
		out[i] = binary(v)
	}
	return out
}

func binary(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["$bin"].(string); ok && len(x) == 1 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err == nil {
				return b
			}
		}
		for k, e := range x {
			x[k] = binary(e)
		}
	case []any:
		for i, e := range x {
			x[i] = binary(e)
		}
	}
	return v
}
