// Package cluster proves the LuckyStack layer across instances: several Go
// servers sharing one real redis-server for sessions (the original's key
// layout) and for the Socket.IO adapter. Session pushes, kicks, logouts and
// room traffic reach a session's sockets on whichever instance holds them.
//
// The tests start their own redis-server (internal/testutil/redistest) and
// fail, rather than skip, when LUCKYSTACK_REQUIRE_REDIS is set.
package cluster
