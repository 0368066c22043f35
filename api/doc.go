// Package api implements LuckyStack's API RPC: typed request/response
// routes reachable over the Socket.IO connection (apiRequest →
// apiResponse-<i>, with apiStream-<i> chunks) and over HTTP
// (/api/<service>/<route...>/v<N>, with server-sent events), wire-compatible
// with the LuckyStack browser client (luckystack-wire.md §3).
//
//	type GetUserIn struct{ ID string `json:"id"` }
//	type GetUserOut struct{ Name string `json:"name"` }
//
//	mod := api.New(api.Options{})
//	err := api.Register(mod, "users/getUser/v1", api.Route[GetUserIn, GetUserOut]{
//		Auth: api.Auth{Login: true},
//		Handler: func(ctx context.Context, req *api.Request, in GetUserIn) (GetUserOut, error) {
//			return GetUserOut{Name: "Ada"}, nil
//		},
//	})
//	srv, err := luckystack.NewServer(luckystack.Options{Modules: []luckystack.Module{mod}})
//
// The reply to that route is {"name":"Ada","status":"success","httpStatus":200}:
// the output's fields are spread onto the envelope.
//
// # Routes
//
// Routes are registered per module, and a module belongs to one server;
// there is no package-level registry. Keys are canonical
// (api/<service>/<route...>/v<N>, see [ParseRouteName]); a route at the
// root ("logout/v1") belongs to service "system". Registering a key twice
// fails. Input is decoded into the handler's Go type: unknown fields and
// wrong types answer api.invalidInputType (the detail goes to the
// postApiValidate hook only), and an input type with a Validate() error
// method is checked by it. [Validation] relaxes this per route.
//
// Decoding and encoding follow encoding/json's rules exactly. Inputs and
// outputs that are flat structs (strings, booleans, numbers; outputs
// without floats) take a faster path in the common case and fall back to
// encoding/json for anything else, with the same result; so does the
// handler's context, which is made when the handler first uses it.
//
// # Pipeline
//
// Both transports run the same gates in the spec's order, so the same
// failure gets the same code and status on both: name, route lookup, auth
// ([Auth]), rate limits ([Limiter]), the HTTP method (HTTP only,
// [InferMethod]), validation, execution, then the respond chain
// (preApiRespond, transformApiResponse, the [ErrorFormatter], delivery,
// postApiRespond). The hooks are the exported [luckystack.Hook] values of
// this package; register handlers with luckystack.RegisterHook.
//
// The socket shortcut api/system/logout/v<N> deletes the caller's session
// (preLogout/postLogout hooks), answers {status:"success",httpStatus:200,
// result:true}, then tells every socket of the session "logout" and
// disconnects them.
//
// # Concurrency
//
// Events of one client are handled one at a time by the server, so the
// socket transport reserves a slot, then detaches from the client's event
// loop ([luckystack.Client.Detach]) and serves the request there; the
// client's next event, an apiCancel in particular, is never held up by a
// handler. A
// client may have [Options].MaxInFlight requests running (16 by default);
// more are refused at once with [CodeTooManyInFlight] (429) instead of
// queued. Handlers of different requests run in parallel, also for one
// client.
//
// A handler's context ends when the client sends apiCancel for its index
// (cause [ErrCanceled]), disconnects, goes away (HTTP), when the server
// shuts down, or when the route's timeout expires (cause [ErrTimeout]; the
// caller gets api.timeout, 504, even if the handler ignores its context).
// A cancelled request gets no reply: nobody is listening for it.
//
// # Streaming
//
// [Request.Stream] sends chunks before the final reply: apiStream-<i> on
// the socket, "event: stream" frames over HTTP when the caller sent
// Accept: text/event-stream or ?stream=true. Chunks never follow the reply.
//
// # Rate limits
//
// Each route has a fixed-window bucket per caller (user id, else IP), then
// all routes share one bucket per IP. Buckets live in memory by default;
// [NewRedisStore] shares them across instances and falls back to memory
// while Redis fails (or denies, with [DenyOnStoreError]).
package api
