// Package sync is LuckyStack's room fan-out ("sync"): a client sends a
// typed request to a route keyed sync/<service>/<route...>/v<N>, the route's
// server handler runs once, the sender gets exactly one acknowledgement on
// sync-<i>, and the result is delivered on the "sync" event to every member
// of the receiver room on every instance of the cluster
// (luckystack-wire.md §4).
//
//	mod := sync.New(sync.Options{})
//	err := sync.Register(mod, "chat/message/v1", sync.Route[Msg, Msg]{
//		Server: func(ctx context.Context, req *sync.Request, in Msg) (Msg, error) { return in, nil },
//	})
//	srv, err := luckystack.NewServer(luckystack.Options{Modules: []luckystack.Module{mod}})
//
// # Pipeline
//
// Socket and HTTP (POST /sync/...) share every gate, so a failure gives the
// same code and status on both: route lookup, auth, receiver rules
// (receiver "all" refused unless allowed; room membership required unless
// disabled), rate limits, the preSyncAuthorize, preSyncValidate and
// preSyncExecute hooks, validation into the handler's Go type, execution,
// then fan-out (preSyncFanout, delivery, postSyncFanout). The socket
// transport sends {__cancelId} on sync-progress-<i> first and acknowledges
// before delivering; HTTP answers after delivery. Error answers to the
// sender go through the route's ErrorFormatter, else the module's.
//
// # Fan-out
//
// A route with a client handler, or a server with a PreSyncRecipient or
// PostSyncRecipient hook, is delivered recipient by recipient: the room's
// sockets are fetched cluster-wide and the client handler runs for each
// (with bounded concurrency). Otherwise the frame is encoded once and sent
// with one room broadcast; the bytes each recipient gets are the same
// either way. ignoreSelf skips the sender's socket and every socket of its
// session.
//
// One client's socket requests run in parallel, but their fan-outs are
// delivered in the order the client sent them: a request whose handler
// finished first waits (after its acknowledgement) until the previous
// request of the same client delivered, failed or was cancelled.
// MaxInFlight bounds that chain. On the broadcast path a sender outside the
// receiver room costs no cluster-wide fetch when a socket of this instance
// is in the room.
//
// # Streams
//
// While the server handler runs it may stream: [Request.Stream] to the
// sender (sync-progress-<i>), [Request.BroadcastStream] to the room,
// [Request.StreamTo] to sessions, and a client handler's [Recipient.Stream]
// to its recipient. Text produced a token at a time is best batched with
// [api.StreamThrottle], which works with any of them as its emitter:
//
//	th := api.NewStreamThrottle(req.BroadcastStream, api.ThrottleOptions{})
//	defer th.Close()
//	for tok := range tokens {
//		_ = th.Write(tok)
//	}
//
// A large stream calls [Request.FlushPressure] between chunks so that slow
// readers are not flooded.
//
// # Cancellation
//
// syncCancel, the sender's disconnect and Shutdown cancel the handler's
// context. A request cancelled before its acknowledgement is dropped: no
// acknowledgement, no fan-out. Once acknowledged, delivery completes.
//
// # Differences from the original
//
// Fan-out and stream frames always carry the server-resolved key in both cb
// and fullName (§14.1 item 3); exactly one acknowledgement is sent (§14.3
// item 17); broadcastStream to "all" reaches everyone (item 18); a route's
// RateLimit is honoured (item 19); identity rooms are internal, so a
// receiver equal to the sender's own token addresses that session's
// sockets, and streamTo addresses sessions by token the same way.
package sync
