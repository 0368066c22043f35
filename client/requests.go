package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/luckystack/luckystack-go/events"
	"github.com/luckystack/luckystack-go/offlinequeue"
)

// RequestOption sets a per-call option of [Client.APIRequest] or
// [Client.SyncRequest].
type RequestOption func(*requestOptions)

type requestOptions struct {
	onStream   func(chunk json.RawMessage)
	ignoreSelf bool
	dropPolicy offlinequeue.Policy
	noQueue    bool
}

// WithStream receives the request's stream chunks (apiStream-<i>, or the
// sync-progress-<i> frames after the cancel id). It runs on the goroutine
// that called the request, in order, and always before the request returns.
func WithStream(fn func(chunk json.RawMessage)) RequestOption {
	return func(o *requestOptions) { o.onStream = fn }
}

// WithIgnoreSelf makes the server skip every socket of the sender's session
// during a sync fan-out.
func WithIgnoreSelf() RequestOption { return func(o *requestOptions) { o.ignoreSelf = true } }

// WithDropPolicy sets the offline queue policy for this request if it has to
// wait for a connection (the original's per-request offlineDropPolicy).
func WithDropPolicy(p offlinequeue.Policy) RequestOption {
	return func(o *requestOptions) { o.dropPolicy = p }
}

// WithoutQueue answers api.disconnected at once instead of queueing the
// request while the client is not connected.
func WithoutQueue() RequestOption { return func(o *requestOptions) { o.noQueue = true } }

// Response is a successful API reply: the handler's fields spread onto the
// envelope with "status":"success" and "httpStatus".
type Response struct {
	// HTTPStatus is the envelope's httpStatus (200 unless the handler set
	// one).
	HTTPStatus int
	// Body is the whole envelope.
	Body json.RawMessage
}

// Decode unmarshals the envelope into v; its fields are the handler's output.
func (r *Response) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// SyncResult is a sync request's acknowledgement, sent by the server before
// the fan-out reaches the recipients.
type SyncResult struct {
	// Message is "sync <route key> success".
	Message string
	// Result is the _server handler's output; always a JSON object.
	Result json.RawMessage
}

var versionRE = regexp.MustCompile(`^v[0-9]+$`)

// normalizeName applies the browser client's rules: trim, backslashes to
// slashes, strip outer slashes, no empty segment, at least service/route.
// A leading segment equal to prefix ("api", "sync") is dropped.
func normalizeName(name, prefix string) (string, bool) {
	s := strings.Trim(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/"), "/")
	segs := strings.Split(s, "/")
	if len(segs) > 2 && segs[0] == prefix {
		segs = segs[1:]
	}
	if len(segs) < 2 {
		return "", false
	}
	for _, seg := range segs {
		if strings.TrimSpace(seg) == "" {
			return "", false
		}
	}
	return strings.Join(segs, "/"), true
}

// encodeData encodes request data, which must be a JSON object; nil is {}.
func encodeData(data any) (json.RawMessage, bool) {
	if data == nil {
		return json.RawMessage("{}"), true
	}
	var raw json.RawMessage
	switch v := data.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		raw = b
	}
	return raw, events.IsObject(raw)
}

// APIRequest calls the API route "<service>/<route...>" at version ("v1")
// with data (a struct, map or JSON object; nil sends {}) and returns the
// success envelope. Every failure is an [*Error] carrying the error code:
// the server's envelope, or request.aborted / api.timeout when ctx ends
// (the server is then sent apiCancel), api.disconnected when the connection
// drops before the reply, offline.queueFull / offline.dropped from the
// offline queue, api.invalidName / api.invalidVersion for a bad name.
//
// While the client is not connected the request waits in the offline queue
// and is sent once the connection is back, after the rooms are rejoined.
func (c *Client) APIRequest(ctx context.Context, name, version string, data any, opts ...RequestOption) (*Response, error) {
	var ro requestOptions
	for _, o := range opts {
		o(&ro)
	}
	route, ok := normalizeName(name, "api")
	if !ok {
		return nil, newError(events.CodeAPIInvalidName, nil)
	}
	version = strings.TrimSpace(version)
	if !versionRE.MatchString(version) {
		return nil, newError(events.CodeAPIInvalidVersion, nil)
	}
	payload, ok := encodeData(data)
	if !ok {
		return nil, newError(events.CodeAPIInvalidDataObject, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, newError(events.CodeRequestAborted, err)
	}
	if c.opts.APITimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.APITimeout)
		defer cancel()
	}
	key := "api/" + route + "/" + version
	index := int(c.index.Add(1))
	req, err := json.Marshal(events.APIRequest{Name: key, Data: payload, ResponseIndex: events.Index(index)})
	if err != nil {
		return nil, newError(events.CodeAPIInvalidDataObject, err)
	}
	cl := newCall(index, events.NameAPIRequest, key, req)
	if err := c.submit(ctx, cl, offlinequeue.API, ro); err != nil {
		return nil, err
	}
	for {
		frames, wait := cl.take()
		for _, f := range frames {
			if f.disconnected {
				return nil, c.disconnectedError()
			}
			switch f.prefix {
			case events.PrefixAPIStream:
				if ro.onStream != nil {
					ro.onStream(f.data)
				}
			case events.PrefixAPIResponse:
				c.pending.remove(cl)
				return parseAPIResponse(f.data)
			}
		}
		if wait == nil {
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			c.abort(cl, events.NameAPICancel, events.APICancel{ResponseIndex: events.Index(index)})
			return nil, ctxError(ctx, events.CodeAPITimeout)
		}
	}
}

// parseAPIResponse turns an apiResponse payload into a result or an error.
func parseAPIResponse(raw json.RawMessage) (*Response, error) {
	var head struct {
		Status     string `json:"status"`
		HTTPStatus int    `json:"httpStatus"`
	}
	if !events.IsObject(raw) || json.Unmarshal(raw, &head) != nil {
		return nil, invalidResponse(raw)
	}
	switch head.Status {
	case events.StatusSuccess:
		if head.HTTPStatus == 0 {
			head.HTTPStatus = 200
		}
		return &Response{HTTPStatus: head.HTTPStatus, Body: raw}, nil
	case events.StatusError:
		return nil, errorFromEnvelope(raw)
	}
	return nil, invalidResponse(raw)
}

func invalidResponse(raw json.RawMessage) *Error {
	e := newError(events.CodeAPIInvalidServerResponse, nil)
	e.Raw = raw
	return e
}

// SyncRequest sends data to the sync route "<service>/<route...>" at
// version for the room receiver ("all" where the server allows it) and
// returns the server's acknowledgement. Recipients (this client too, when it
// is in the room and WithIgnoreSelf is not given) get the result through
// [Client.OnSync]. Failures are [*Error] values as for [Client.APIRequest];
// without an acknowledgement within [Options.SyncTimeout] the request ends
// with sync.requestTimeout (after a syncCancel).
func (c *Client) SyncRequest(ctx context.Context, name, version, receiver string, data any, opts ...RequestOption) (*SyncResult, error) {
	var ro requestOptions
	for _, o := range opts {
		o(&ro)
	}
	route, ok := normalizeName(name, "sync")
	if !ok {
		return nil, newError(events.CodeSyncInvalidName, nil)
	}
	version = strings.TrimSpace(version)
	if !versionRE.MatchString(version) {
		return nil, newError(events.CodeSyncInvalidVersion, nil)
	}
	receiver = strings.TrimSpace(receiver)
	if receiver == "" {
		return nil, newError(events.CodeSyncMissingReceiver, nil)
	}
	payload, ok := encodeData(data)
	if !ok {
		return nil, newError(events.CodeSyncInvalidRequest, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, newError(events.CodeRequestAborted, err)
	}
	if c.opts.SyncTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.SyncTimeout)
		defer cancel()
	}
	cb := route + "/" + version
	key := "sync/" + cb
	index := int(c.index.Add(1))
	req, err := json.Marshal(events.SyncRequest{
		Name: key, Data: payload, Callback: cb, Receiver: receiver,
		ResponseIndex: events.Index(index), IgnoreSelf: ro.ignoreSelf,
	})
	if err != nil {
		return nil, newError(events.CodeSyncInvalidRequest, err)
	}
	cl := newCall(index, events.NameSync, key, req)
	if err := c.submit(ctx, cl, offlinequeue.Sync, ro); err != nil {
		return nil, err
	}
	cancelID := ""
	for {
		frames, wait := cl.take()
		for _, f := range frames {
			if f.disconnected {
				return nil, c.disconnectedError()
			}
			switch f.prefix {
			case events.PrefixSyncProgress:
				if id, ok := cancelIDOf(f); ok {
					cancelID = id
					continue
				}
				if ro.onStream != nil {
					ro.onStream(f.data)
				}
			case events.PrefixSync:
				c.pending.remove(cl)
				return parseSyncAck(f.data)
			}
		}
		if wait == nil {
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			// A cancel id may have arrived while we were not looking.
			late, _ := cl.take()
			for _, f := range late {
				if id, ok := cancelIDOf(f); ok {
					cancelID = id
				}
			}
			id := cancelID
			if id == "" {
				id = cb
			}
			c.abort(cl, events.NameSyncCancel, events.SyncCancel{Callback: id})
			return nil, ctxError(ctx, events.CodeSyncRequestTimeout)
		}
	}
}

// cancelIDOf returns the server's cancel id if f is the first progress
// frame {"__cancelId": ...}.
func cancelIDOf(f frame) (string, bool) {
	if f.prefix != events.PrefixSyncProgress || !events.IsObject(f.data) {
		return "", false
	}
	var cf struct {
		CancelID *string `json:"__cancelId"`
	}
	if json.Unmarshal(f.data, &cf) != nil || cf.CancelID == nil {
		return "", false
	}
	return *cf.CancelID, true
}

// parseSyncAck turns a sync-<i> payload into a result or an error.
func parseSyncAck(raw json.RawMessage) (*SyncResult, error) {
	var ack struct {
		Status  string          `json:"status"`
		Message string          `json:"message"`
		Result  json.RawMessage `json:"result"`
	}
	if !events.IsObject(raw) || json.Unmarshal(raw, &ack) != nil {
		e := newError(events.CodeSyncFailedRequest, nil)
		e.Raw = raw
		return nil, e
	}
	switch ack.Status {
	case events.StatusSuccess:
		res := ack.Result
		if !events.IsObject(res) {
			// The browser client does the same with a non-object result.
			res = json.RawMessage("{}")
		}
		return &SyncResult{Message: ack.Message, Result: bytes.Clone(res)}, nil
	case events.StatusError:
		return nil, errorFromEnvelope(raw)
	}
	e := newError(events.CodeSyncFailedRequest, nil)
	e.Raw = raw
	return nil, e
}

// ctxError is the error of a request whose context ended: timeoutCode on a
// deadline, request.aborted on cancellation.
func ctxError(ctx context.Context, timeoutCode string) *Error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(timeoutCode, err)
	}
	return newError(events.CodeRequestAborted, err)
}

// disconnectedError is api.disconnected, wrapping ErrClosed after Close.
func (c *Client) disconnectedError() *Error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return newError(events.CodeAPIDisconnected, ErrClosed)
	}
	return newError(events.CodeAPIDisconnected, nil)
}

// submit sends cl now if the client is connected and nothing is waiting to
// be replayed before it; otherwise it queues cl and waits until a replay
// sent it (nil), it was dropped, or ctx ended.
func (c *Client) submit(ctx context.Context, cl *call, kind offlinequeue.Kind, ro requestOptions) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return newError(events.CodeAPIDisconnected, ErrClosed)
	}
	if cn := c.conn; cn != nil && !c.flushing {
		c.mu.Unlock()
		if c.send(cl, cn) == nil {
			return nil
		}
		c.mu.Lock()
	}
	if ro.noQueue || c.opts.NoOfflineQueue {
		c.mu.Unlock()
		return newError(events.CodeAPIDisconnected, nil)
	}
	q := c.queue.API()
	if kind == offlinequeue.Sync {
		q = c.queue.Sync()
	}
	var qopts []offlinequeue.EnqueueOption
	if ro.dropPolicy != 0 {
		qopts = append(qopts, offlinequeue.WithDropPolicy(ro.dropPolicy))
	}
	// Enqueue under c.mu: serve's "queue empty, replay done" check takes
	// the same lock, so an item can never land after the last flush.
	ticket, err := q.Enqueue(cl.key, cl, qopts...)
	c.mu.Unlock()
	if err != nil {
		return queueError(err)
	}
	select {
	case err := <-ticket.Done:
		if err != nil {
			return c.queueDropError(err)
		}
		return nil
	case <-ctx.Done():
	}
	timeoutCode := events.CodeAPITimeout
	cancelEvent := events.NameAPICancel
	var cancelPayload any = events.APICancel{ResponseIndex: events.Index(cl.index)}
	if kind == offlinequeue.Sync {
		timeoutCode = events.CodeSyncRequestTimeout
		cancelEvent = events.NameSyncCancel
		var req events.SyncRequest
		_ = json.Unmarshal(cl.payload, &req)
		cancelPayload = events.SyncCancel{Callback: req.Callback}
	}
	if !c.queue.RemoveByID(ticket.ID) {
		// A replay is sending it right now; its ticket settles at once.
		if err := <-ticket.Done; err == nil {
			c.abort(cl, cancelEvent, cancelPayload)
		}
	} else {
		<-ticket.Done
	}
	return ctxError(ctx, timeoutCode)
}

// send registers cl for its replies and emits it on cn. A failed write
// means cn is unusable: it is killed so that the manager reconnects.
//
// Delivery is at most once, as in Socket.IO: only a write that failed
// because the transport was already closed certainly sent nothing, and only
// then is the error returned so the caller may queue the request again.
// Any other failure may have reached the server (a polling POST whose
// answer was lost, a websocket frame cut halfway), so the call stays
// registered on cn and ends with api.disconnected when cn's end is
// processed, unless its reply already came in.
func (c *Client) send(cl *call, cn *conn) error {
	c.pending.add(cl, cn.gen)
	err := cn.emit(-1, string(cl.event), cl.payload)
	if err == nil {
		return nil
	}
	cn.kill(ReasonTransportError)
	if (errors.Is(err, net.ErrClosed) || errors.Is(err, websocket.ErrCloseSent)) && !cl.answered() {
		c.pending.remove(cl)
		cl.reset()
		return err
	}
	c.opts.Logger.Debug("client: write failed, request may have been sent", "event", cl.event, "err", err)
	return nil
}

// abort gives up on cl: it is unregistered and, if it reached the server on
// the still-live connection, the server is told to stop.
func (c *Client) abort(cl *call, event events.Name, payload any) {
	c.pending.remove(cl)
	gen := cl.sentOn()
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if gen == 0 || cn == nil || cn.gen != gen {
		return
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return
	}
	if err := cn.emit(-1, string(event), b); err != nil {
		c.opts.Logger.Debug("client: send cancel", "event", event, "err", err)
	}
}

// queueError maps a refused enqueue to the wire error.
func queueError(err error) *Error {
	var qe *offlinequeue.Error
	if errors.As(err, &qe) {
		return newError(qe.Code, err, events.ErrorParam{Key: "reason", Value: qe.Reason.String()})
	}
	return newError(events.CodeOfflineQueueFull, err)
}

// queueDropError maps a dropped queue item to the wire error.
func (c *Client) queueDropError(err error) *Error {
	var qe *offlinequeue.Error
	if errors.As(err, &qe) {
		cause := err
		if qe.Reason == offlinequeue.ReasonCleared {
			cause = errors.Join(err, ErrClosed)
		}
		return newError(qe.Code, cause, events.ErrorParam{Key: "reason", Value: qe.Reason.String()})
	}
	return newError(events.CodeOfflineDropped, err)
}

// Queued returns how many API and sync requests wait in the offline queue.
func (c *Client) Queued() (api, sync int) {
	return c.queue.API().Len(), c.queue.Sync().Len()
}
