package client

import (
	"encoding/json"
	"strings"

	"github.com/luckystack/luckystack-go/events"
)

// Push events: what the server sends without being asked. Every callback
// runs on the client's callback goroutine, one at a time, in arrival order;
// a callback may call the client (but a blocking call such as APIRequest
// there holds up later callbacks until it returns).

// SyncEventKind says which fan-out frame a [SyncEvent] carries.
type SyncEventKind int

const (
	// SyncSuccess: the route's result for this recipient.
	SyncSuccess SyncEventKind = iota + 1
	// SyncStream: a stream chunk (broadcastStream, streamTo, or the
	// _client handler's stream).
	SyncStream
	// SyncError: a per-recipient error.
	SyncError
)

// SyncEvent is one fan-out frame of the "sync" event (luckystack-wire.md
// §4.6) for a route this client listens to.
type SyncEvent struct {
	// Kind is the frame's kind.
	Kind SyncEventKind
	// Route is the route key, "sync/<service>/<route...>/v<N>".
	Route string
	// ServerOutput is the _server handler's output (SyncSuccess).
	ServerOutput json.RawMessage
	// ClientOutput is this recipient's _client output, {} without one
	// (SyncSuccess).
	ClientOutput json.RawMessage
	// Message is the frame's message (SyncSuccess).
	Message string
	// Chunk is the streamed payload without the frame's own fields
	// (SyncStream).
	Chunk json.RawMessage
	// Err is the error (SyncError).
	Err *Error
}

// syncRouteKey normalises a route key the way the browser's receiver does:
// "chat/message/v1" and "sync/chat/message/v1" are the same route.
func syncRouteKey(k string) string {
	k = strings.Trim(strings.TrimSpace(k), "/")
	if k == "" || strings.HasPrefix(k, "sync/") {
		return k
	}
	return "sync/" + k
}

// OnSync registers fn for fan-out frames of route (with or without its
// "sync/" prefix, version included: "chat/message/v1"), and returns its
// unregister function. Error frames whose code or message is "sync.ignore"
// are swallowed, as the browser client does.
func (c *Client) OnSync(route string, fn func(SyncEvent)) (unregister func()) {
	return c.syncHandlers.add(syncRouteKey(route), fn)
}

// onSyncFrame routes a fan-out frame on the reader goroutine. Frames are
// routed by fullName, the key the server resolved, and by cb only when
// fullName is missing: the browser client dispatches on both, which lets a
// sender aim a frame at another route's callbacks through a forged cb
// (luckystack-wire.md §14.1 item 3).
func (c *Client) onSyncFrame(args []json.RawMessage) {
	if len(args) == 0 || !events.IsObject(args[0]) {
		return
	}
	var f struct {
		CB           string          `json:"cb"`
		FullName     string          `json:"fullName"`
		Status       string          `json:"status"`
		Message      string          `json:"message"`
		ErrorCode    string          `json:"errorCode"`
		ServerOutput json.RawMessage `json:"serverOutput"`
		ClientOutput json.RawMessage `json:"clientOutput"`
	}
	if json.Unmarshal(args[0], &f) != nil {
		return
	}
	key := syncRouteKey(f.FullName)
	if key == "" {
		key = syncRouteKey(f.CB)
	}
	if key == "" {
		c.opts.Logger.Debug("client: sync frame without route", "frame", string(args[0]))
		return
	}
	ev := SyncEvent{Route: key}
	switch f.Status {
	case events.StatusSuccess:
		ev.Kind = SyncSuccess
		ev.ServerOutput = orEmpty(f.ServerOutput)
		ev.ClientOutput = orEmpty(f.ClientOutput)
		ev.Message = f.Message
	case events.StatusStream:
		var fields map[string]json.RawMessage
		if json.Unmarshal(args[0], &fields) != nil {
			return
		}
		for _, k := range []string{"status", "fullName", "cb", "errorCode", "errorParams", "httpStatus", "message"} {
			delete(fields, k)
		}
		chunk, err := json.Marshal(fields)
		if err != nil {
			return
		}
		ev.Kind, ev.Chunk = SyncStream, chunk
	case events.StatusError:
		if f.ErrorCode == events.CodeSyncIgnore || f.Message == events.CodeSyncIgnore {
			return
		}
		ev.Kind, ev.Err = SyncError, errorFromEnvelope(args[0])
	default:
		return
	}
	for _, h := range c.syncHandlers.get(key) {
		fn := h.fn
		c.disp.post(func() { fn(ev) })
	}
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

// OnUpdateSession registers fn for "updateSession": the session (without
// its token) after every server-side write, as a JSON object. The wire
// carries it as a JSON string; fn gets the decoded object.
func (c *Client) OnUpdateSession(fn func(session json.RawMessage)) (unregister func()) {
	return c.On(string(events.NameUpdateSession), func(args []json.RawMessage) {
		if obj, ok := jsonStringObject(args); ok {
			fn(obj)
		}
	})
}

// OnSessionReplaced registers fn for "sessionReplaced": a login elsewhere
// replaced this session.
func (c *Client) OnSessionReplaced(fn func(events.SessionReplaced)) (unregister func()) {
	return c.On(string(events.NameSessionReplaced), func(args []json.RawMessage) {
		obj, ok := jsonStringObject(args)
		var v events.SessionReplaced
		if ok && json.Unmarshal(obj, &v) == nil {
			fn(v)
		}
	})
}

// OnLogout registers fn for "logout"; success is false for the "error"
// variant. After a successful logout the server disconnects the socket, and
// the client, like socket.io-client, does not reconnect on its own.
func (c *Client) OnLogout(fn func(success bool)) (unregister func()) {
	return c.On(string(events.NameLogout), func(args []json.RawMessage) {
		var s string
		if len(args) > 0 && json.Unmarshal(args[0], &s) == nil {
			fn(events.Logout(s) == events.LogoutSuccess)
		}
	})
}

// OnUserAFK registers fn for "userAfk": a room peer went away.
func (c *Client) OnUserAFK(fn func(events.UserAFK)) (unregister func()) {
	return onTyped(c, events.NameUserAFK, fn)
}

// OnUserBack registers fn for "userBack": a room peer came back.
func (c *Client) OnUserBack(fn func(events.UserBack)) (unregister func()) {
	return onTyped(c, events.NameUserBack, fn)
}

// OnUserLeft registers fn for "userLeft": a room peer's grace window
// expired.
func (c *Client) OnUserLeft(fn func(events.UserLeft)) (unregister func()) {
	return onTyped(c, events.NameUserLeft, fn)
}

func onTyped[T any](c *Client, name events.Name, fn func(T)) func() {
	return c.On(string(name), func(args []json.RawMessage) {
		var v T
		if len(args) > 0 && json.Unmarshal(args[0], &v) == nil {
			fn(v)
		}
	})
}

// jsonStringObject decodes a payload that is JSON text inside a JSON string
// (updateSession, sessionReplaced). An object sent directly is accepted too.
func jsonStringObject(args []json.RawMessage) (json.RawMessage, bool) {
	if len(args) == 0 {
		return nil, false
	}
	if events.IsObject(args[0]) {
		return args[0], true
	}
	var s string
	if json.Unmarshal(args[0], &s) != nil || !events.IsObject(json.RawMessage(s)) {
		return nil, false
	}
	return json.RawMessage(s), true
}
