// Package conformance holds the protocol conformance suite of the socketio
// package: its tests start in-process Go servers and drive them with the
// official Node socket.io-client (pinned by package.json and
// package-lock.json here), one Node script per group of scenarios under
// scripts/.
//
// Run it with `go test ./test/conformance/` after `npm ci` in this folder
// (`make test` does both). The tests fail, rather than skip, when node or
// node_modules are missing: conformance is not optional.
//
// A script gets the server's base URL in SERVER_URL (and sometimes more
// URLs), checks what the client sees with node:assert, and can ask the Go
// side to act or report through a line protocol on its stdin/stdout (see
// scripts/lib.mjs and runNode). A failing script fails the Go test with the
// script's whole output.
package conformance
