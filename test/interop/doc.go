// Package interop checks that redisadapter and Node's @socket.io/redis-adapter
// form one cluster: a Go server (socketio + redisadapter) and a Node server
// (socket.io 4.8 + @socket.io/redis-adapter 8.3.0 + node-redis 5, pinned by
// package.json and package-lock.json here) share a real redis-server, and
// official socket.io-client sockets on both check every cross-server feature
// in both directions.
//
// Run it with `go test ./test/interop/` after `npm ci` in this folder (`make
// test` does both). The test fails, rather than skips, when node or
// node_modules are missing; it skips only when redis-server is not installed
// and LUCKYSTACK_REQUIRE_REDIS is unset.
//
// The Node script (scripts/mixed.mjs) runs the Node server and the clients;
// what the Go server must do or report it asks through the line protocol of
// scripts/lib.mjs, answered by the test's control function.
package interop
