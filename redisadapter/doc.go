// Package redisadapter lets several luckystack servers, and Node.js Socket.IO
// servers, share broadcasts and cluster-wide requests through Redis pub/sub,
// speaking the wire protocol of Node's @socket.io/redis-adapter 8.x (the
// classic createAdapter, not the sharded or streams variants).
//
//	rc := redis.NewClient(&redis.Options{Addr: "localhost:6379"}) // or any redis.UniversalClient
//	ra, err := redisadapter.New(rc, redisadapter.Options{Logger: logger})
//	if err != nil { ... }
//	srv := socketio.NewServer(socketio.Options{Adapter: ra.For})
//	...
//	_ = srv.Shutdown(ctx) // closes the namespace adapters
//	_ = ra.Close(ctx)     // stops the adapter's goroutines; rc stays open
//
// One [Adapter] serves one server: it takes one subscription connection
// from the client (PSUBSCRIBE "<key>#<nsp>#*" and SUBSCRIBE to the request
// and response channels of every namespace) and owns three goroutines: a
// reader, a keeper (subscription changes, health pings) and a publisher.
//
// # Delivery
//
// Every operation acts on the local sockets first through the embedded
// [socketio.MemoryAdapter], then tells the other servers. Publishing never
// waits for Redis on the caller's goroutine: messages go to a bounded queue
// ([Options.MaxPendingPublishes]) that one goroutine sends as pipelines, in
// order. Room-channel messages for rooms without a local socket are dropped
// from the channel name alone, before the payload is decoded
// ([Stats].DroppedUnknownRoom). Pub/sub is at-most-once: a message published
// while a peer is not subscribed is lost for that peer.
//
// # Cluster requests
//
// Fetch sockets, all rooms, server-side emit with acks and the server count
// (PUBSUB NUMSUB of the request channel, summed over the masters of a
// cluster client) wait for the other servers until the context ends, or
// [Options.RequestsTimeout] when it has no deadline. They never wait longer,
// whatever Redis does, and when some servers did not answer they return what
// came with a [*TimeoutError] saying "N of M servers answered".
//
// # When Redis fails
//
// Local delivery goes on. Failed publishes and the lost subscription are
// reported to [Options.OnError] and [Options.Logger]; publishes wait in the
// queue (and beyond it fail with [ErrQueueFull]) while Redis is unreachable.
// The subscription is restored by itself once Redis answers again (retries
// every 50 to 500ms), so cross-server delivery resumes within about a second;
// a connection that stays open but stops answering pings is replaced.
//
// # Concurrency
//
// Every method is safe for concurrent use. Server-side event handlers for
// events from other servers run on the reader goroutine, which serves every
// namespace: they must return quickly (their ack may be called later from any
// goroutine). Ack callbacks of broadcasts run there too.
//
// # Wire format
//
// Per namespace and key prefix (default "socket.io"):
//
//   - broadcasts go to "socket.io#<nsp>#", or "socket.io#<nsp>#<room>#" when
//     they target exactly one room; a node PSUBSCRIBEs "socket.io#<nsp>#*" and
//     drops room channels for rooms it does not hold before decoding anything;
//   - requests go to "socket.io-request#<nsp>#";
//   - responses go to "socket.io-response#<nsp>#", or to the requester's
//     "socket.io-response#<nsp>#<uid>#".
//
// Broadcasts are msgpack [uid, packet, opts] as notepack.io 3.0.1 writes them.
// Each namespace adapter has its own random 6-character uid, as in Node;
// messages carrying it are its own and ignored (Node emitters use "emitter").
// Requests and responses are JSON, except the broadcast-with-ack request (type
// 7) and the BROADCAST_ACK response (type 9), which are msgpack; receivers
// tell them apart by a leading '{'. Encoders reproduce Node's bytes, key order
// included, and are checked against captured golden samples.
//
// # Binary data
//
// Inside the server a packet's data is JSON in which binary values are
// {"_placeholder":true,"num":i} objects indexing a list of attachments. On
// Redis each becomes a msgpack bin in place, exactly where a Node Buffer would
// be, and the packet type stays EVENT (2): a receiver finding bin values gets
// them back as placeholders plus attachments and sends the packet to clients
// as BINARY_EVENT.
//
// # Trust
//
// Redis pub/sub messages are neither signed nor authenticated: anyone who can
// publish on the channels can inject packets. Decoders treat every message as
// hostile input: they bound nesting and declared lengths, and return an error
// instead of panicking.
package redisadapter
