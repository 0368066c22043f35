// Package client is a Go client for LuckyStack servers, Go (this module) or
// Node: services, bots, command-line tools and tests use it where a browser
// would use socket.io-client and LuckyStack's client helpers. It speaks
// Engine.IO v4 / Socket.IO v5 over a websocket itself.
//
//	c, err := client.Dial(ctx, "http://127.0.0.1:3000", client.Options{Token: token})
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.APIRequest(ctx, "users/getUser", "v1", map[string]string{"id": "42"})
//	if client.Code(err) == "auth.required" { ... }
//	_, err = c.JoinRoom(ctx, "lobby")
//	c.OnSync("chat/message/v1", func(ev client.SyncEvent) { ... })
//	_, err = c.SyncRequest(ctx, "chat/message", "v1", "lobby", msg)
//
// # Connection
//
// [New] starts connecting in the background; [Dial] also waits for the
// first connection. The session token travels as the CONNECT packet's
// auth.token or, with [TokenInCookie], in the handshake's Cookie header.
// A lost connection is re-established with socket.io-client's backoff
// (1 s doubling to 5 s, ±50 % jitter, unlimited attempts by default), after
// which the client rejoins the rooms it joined, replays the offline queue and
// reports [StatusConnected]. The status is observable through
// [Options.OnStatus], [Client.Status] and [Client.WaitStatus].
//
// Like socket.io-client, the client does not reconnect on its own after the
// server disconnected it on purpose (logout, kick) or refused it with a
// CONNECT_ERROR; [Client.Reconnect] or [Client.Resume] starts again.
//
// The server's Engine.IO pings double as a watchdog: a server silent for one
// ping interval plus the ping timeout is declared dead ("ping timeout") and
// the client reconnects. [Client.Resume] is the answer to a suspended
// process or a changed network: it probes the connection with a round trip
// and replaces it at once if it died silently.
//
// # Requests
//
// [Client.APIRequest], [Client.SyncRequest] and the room calls share one
// responseIndex counter and correlate replies by it, as the protocol
// requires (luckystack-wire.md §2). Every failure is an [*Error] with the
// wire error code, whether the server sent it or the client produced it
// (request.aborted, api.timeout, sync.requestTimeout, api.disconnected,
// offline.queueFull, offline.dropped). Deadlines and cancellation come from
// the context; when it ends, the server is told with apiCancel or
// syncCancel. A request whose connection drops before the reply ends with
// api.disconnected at once, sync requests included (the browser client
// waits 30 s for those; luckystack-wire.md §14.4 item 30). API calls have no
// timeout unless [Options.APITimeout] sets one; sync calls wait
// [Options.SyncTimeout] (30 s) for their acknowledgement.
//
// # Offline queue
//
// API and sync requests made while the client is not connected wait in an
// [offlinequeue.Pair] (100 each, 5 minutes, reject by default; see
// [Options.Offline] and [WithDropPolicy]) and are sent after the next
// connect, API queue first, each in call order; requests made during that
// replay queue behind it. Every queued request is answered: by its reply once
// sent, or with offline.dropped (reason expired, queue-full or cleared) or
// offline.queueFull. Room calls and the plain [Client.Emit] are never
// queued.
//
// # Callbacks and concurrency
//
// All methods are safe for concurrent use. Push-event callbacks ([Client.On],
// [Client.OnSync], [Client.OnUpdateSession], [Client.OnLogout], the presence
// callbacks) and [Options.OnStatus] run on one goroutine owned by the client,
// one at a time, in arrival order; the connection's reader never waits for
// them. Stream callbacks ([WithStream]) run on the goroutine that made the
// request, before it returns. A panicking callback is logged and contained.
// [Client.Close] ends every goroutine of the client and waits for them.
//
// # Limits
//
// The client opens a websocket and falls back to HTTP long-polling when the
// upgrade is refused ([Options.Transport]); a polling connection is not
// upgraded later. It speaks the default namespace unless [Options.Namespace]
// says otherwise. Binary attachments are not supported: binary packets from
// the server are skipped (LuckyStack never sends any) and []byte arguments
// are refused. Acknowledgements the server asks of the client are not sent.
//
// Delivery is at most once, as in Socket.IO: a request whose write failed
// after it may have reached the server is not sent again; it ends with
// api.disconnected unless its reply arrives.
package client
