// Package luckystack serves LuckyStack's real-time layer: a Socket.IO server
// with sessions, rooms, hooks and an HTTP dispatcher, which the api, sync and
// presence modules extend the way a user's own extension would.
//
//	srv, err := luckystack.NewServer(luckystack.Options{Args: os.Args[1:], DefaultPort: 3000})
//	if err != nil {
//		log.Fatal(err)
//	}
//	log.Fatal(srv.Listen())
//
// # Lifecycle
//
// [NewServer] runs the bootstrap steps 1 to 8 (argv, configuration, verify,
// HTTP dispatcher, Socket.IO server, adapter, socket middlewares, connect
// handler and modules); [Server.Listen] binds and serves (step 9).
// [Server.Shutdown] stops accepting, runs the preServerStop hook, closes every
// socket with "server shutting down" and waits for the server's goroutines.
//
// # Concurrency
//
// Events of one client are handled one at a time, in arrival order; clients
// are handled in parallel. Hooks, middlewares, socket events and routes can
// be registered while serving: registries are copy-on-write snapshots.
//
// # Hooks and middleware
//
// Hooks are typed: a [Hook] value names the hook point and its payload type,
// [RegisterHook] appends a handler and returns its unregister function, and a
// handler returning a [*Stop] refuses the operation at pre-hook sites.
// Socket middlewares ([Server.RegisterSocketMiddleware]) are identified by
// name.
//
// # Origins and tokens
//
// The origin policy ([Config].HTTP.CORS) gates the Socket.IO handshake (both
// transports) and every HTTP request. Session tokens come from the session
// cookie, the handshake auth.token or Authorization: Bearer, with the
// precedence of cookie mode or token mode.
//
// # Rooms and sessions
//
// Every socket of a session is also in an internal identity room
// ([SessionRoom]), which no client-chosen room code can name; session pushes
// and kicks address it, on every instance when a cluster adapter is set.
package luckystack
