// Package presence tells a LuckyStack room who is there: it holds a
// session's disconnect for a grace window before announcing userLeft, turns
// a reconnect inside the window into a warm reconnect (userBack), handles
// tab switches (intentionalDisconnect → userAfk) and idle users (userAfk,
// then userBack on the next activity).
//
//	pm := presence.New(presence.Options{})
//	srv, err := luckystack.NewServer(luckystack.Options{
//		Config:  luckystack.Config{SocketActivityBroadcaster: true},
//		Modules: []luckystack.Module{pm},
//	})
//
// # Grace windows
//
// A disconnect of a session's socket opens a window whose length depends on
// the reason (Options.DisconnectTimers): TransportClose for a closed or
// broken connection, TabSwitch after intentionalDisconnect, Default for
// everything else; reasons in Options.IgnoreReasons open none. The
// socket's onSocketDisconnect hook waits for the window: it fires when a
// socket of the session comes back (the window closes warm) or, as the
// final event, after the expiry's userLeft and postDisconnectGraceExpired.
// Expiry deletes the session according to Options.DeleteOnExpiry.
//
// Everything except the connect bookkeeping is active only when the
// project config's SocketActivityBroadcaster is on, as in the original.
//
// # Across instances
//
// A [Store] holds at most one pending window per session for the whole
// cluster; [NewRedisStore] shares it between instances, so a reconnect on
// another instance inside the window is warm and the first instance's
// expiry does nothing. Before announcing userLeft the owner counts the
// session's sockets on every instance through the Socket.IO adapter. See
// docs/decisions/0002-presence-across-instances.md.
//
// # Cost
//
// No goroutine per socket: a window is one time.AfterFunc per session, and
// one sampler goroutine (owned by the server) looks for idle sessions in a
// single pass over the local sockets.
//
// # Concurrency
//
// Every method is safe for concurrent use. Hooks run on the goroutine of
// the socket event that caused them, or on a server-owned goroutine for
// expiries and the sampler.
package presence
