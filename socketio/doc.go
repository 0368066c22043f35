// Package socketio implements a Socket.IO v5 server over Engine.IO v4, wire
// compatible with Node's socket.io 4.8 and the official socket.io-client 4.x.
//
//	srv := socketio.NewServer(socketio.Options{})
//	srv.Sockets().On("chat", func(e *socketio.Event) {
//		var msg string
//		if e.Args.Decode(0, &msg) == nil {
//			e.Socket.To("lobby").Emit("chat", msg)
//		}
//		_ = e.Ack("ok")
//	})
//	http.Handle("/socket.io/", srv)
//
// # Transports
//
// Long polling and WebSocket, with the polling→websocket upgrade. Packets
// keep their order across the upgrade because both transports drain one
// queue per connection.
//
// # Concurrency
//
// Handlers of one socket run one at a time, in arrival order, on a pooled
// goroutine taken only while the socket has work; handlers of different
// sockets run in parallel. A handler that goes on with long work may call
// [Event.Detach] so that the socket's later events do not wait for it.
// Connection middlewares and OnConnection handlers run before the socket's
// first event, and the client receives CONNECT only after them. Every method of [Server], [Namespace],
// [Socket] and [BroadcastOperator] is safe for concurrent use; registrations
// may happen while serving.
//
// # Resources
//
// An idle websocket connection holds one reader goroutine on a minimal (2 KB)
// stack, a heartbeat timer and its handshake in compact form, and no read
// buffer: on Unix over plain TCP the reader waits for readability and takes
// a pooled buffer ([Options.ReadBufferSize]) only while bytes arrive. gorilla
// performs the websocket handshake; frames are read and written by this
// package. About 8 KB of RSS per idle connection at 10,000 (see
// docs/BENCHMARKS.md, S2). Writes are queued (bounded by
// [Options.MaxQueuedBytes], see [SlowConsumerPolicy]) and written by a
// pooled goroutine that is released when the queue is empty. A broadcast encodes its
// packet once for all recipients. [Server.Shutdown] waits for every
// goroutine the server started.
//
// # Scaling
//
// Each namespace has an [Adapter]. [MemoryAdapter] serves one process; the
// redisadapter package speaks the protocol of Node's @socket.io/redis-adapter
// so Go and Node servers can share a cluster.
package socketio
