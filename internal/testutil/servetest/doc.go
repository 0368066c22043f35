// Package servetest runs a luckystack.Server for a test: served on a
// goroutine that stopping it joins, so a test leaves no server behind and
// a Shutdown that leaves Serve running fails the test.
package servetest
