// Package router is the front door of a LuckyStack deployment with several
// backends: an [http.Handler] that sends each request to a backend of the
// service it belongs to.
//
//	rt, err := router.New(router.Config{
//		Services: map[string][]string{
//			"system": {"http://10.0.0.1:3000", "http://10.0.0.2:3000"},
//			"billing": {"http://10.0.0.3:3000"},
//		},
//	})
//	srv := &http.Server{Addr: ":8080", Handler: rt}
//	srv.RegisterOnShutdown(rt.Close) // ends upgraded connections
//
// # Routing
//
// /api/<service>/... and /sync/<service>/... go to that service; a path
// naming no configured service, and every other path, goes to
// Config.DefaultService. Every protocol upgrade (any path) and every
// /socket.io/ request go to Config.WebSocketService, so the polling and
// websocket halves of one Socket.IO connection reach the same backends.
// Within a service new requests take the backends in turn.
//
// With several websocket backends, the requests of one Engine.IO session
// must all reach the backend that holds it. The router reads the session
// id from the open packet of each polling handshake and sends every later
// request carrying that ?sid= (polling or the websocket upgrade) to the
// same backend. A sid the router never saw (another router instance, a
// restart) is looked for among the backends, passing over those that
// answer Engine.IO's "Session ID unknown", and then remembered.
//
// A backend that refuses a connection is skipped for new sessions for
// Config.RefusedBackoff and the next backend is tried: nothing reached the
// refusing one. Requests bound to an Engine.IO session stay on their
// backend, and request bodies that stream (unknown length or over 64 KiB)
// are never sent twice; smaller bodies are held until sent. Upgrades are
// never retried once their head was sent.
//
// HTTP/1.1 is forwarded on kept-alive connections, which the router checks
// before reuse (except one pooled moments ago, for a request it may send
// again); when one still turns out closed without an answer, only an
// idempotent request is sent again. Trailers are not forwarded.
//
// # Serving
//
// The router is an http.Handler and works behind any http.Server. In front
// of one, [Router.Listener] adds an HTTP/1.1 loop of the router's own for
// plain requests (keep-alive, small or no body, no gate or pre-proxy hook
// registered): it reads heads with a strict parser, reuses one request,
// header map and response writer per connection, and has no background
// read per request (it starts watching the client for a close only once
// an answer takes over 10 ms). The usual answer (a length or no body,
// plain header lines) goes from the backend connection's buffer to the
// client's without being parsed into an http.Response. Every other
// request, from upgrades and
// chunked bodies to malformed heads, hands its connection to the
// http.Server, so statuses and hooks stay those of ServeHTTP.
// cmd/luckystack-router serves this way.
//
// # Upgrades
//
// The upgrade path follows the original's createWsProxy: a request head
// over Config.MaxHeaderBytes is answered 431, a target not in origin form
// 400, a service without backends 502, a backend silent for
// Config.HandshakeTimeout 504; a non-101 answer is relayed; on 101 the
// status line and headers go to the client (keeping Connection: Upgrade,
// without other hop-by-hop headers, Set-Cookie or X-Luckystack-*), then
// the bytes each side sent early, then both directions are piped until a
// side closes or the connection idles for Config.IdleTimeout. There is no
// lifetime byte cap unless Config.MaxBytesPerConnection sets one.
//
// On Linux with GOMAXPROCS of 2 or more, upgraded connections whose legs
// are both plain TCP sockets are carried by event loops of the router's
// own (Config.TunnelLoops), each a goroutine waiting in epoll_wait: a
// message then costs one wait, one read and one write, as in nginx. A busy
// loop keeps a P while it waits, so with GOMAXPROCS=1 there is none by
// default. Then, and for TLS legs or connection types of the caller's,
// an upgraded connection is a pair of goroutines on Go's poller.
//
// [http.Server.Shutdown] neither closes nor waits for upgraded
// connections: register [Router.Close] with RegisterOnShutdown, or call
// [Router.Shutdown] after it.
//
// # Forwarding headers
//
// X-Forwarded-*, X-Real-IP and Forwarded from a client are dropped unless
// the client's address is in Config.TrustedProxies; the router then sets
// X-Forwarded-For (extending a trusted chain), X-Forwarded-Host and
// X-Forwarded-Proto. Backends believe them when the router's address is in
// their luckystack Config.HTTP.TrustedProxies, so rate limits and hooks see
// the real client rather than the router.
//
// # Hooks
//
// [Router.OnProxyRequestGate] may refuse a request or upgrade with a status
// (403 by default); [Router.OnPreProxyRequest] and
// [Router.OnPostProxyResponse] observe. Registrations belong to one Router,
// append, run in order and are safe while serving.
package router
