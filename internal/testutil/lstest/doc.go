// Package lstest holds what the api and sync modules' tests share: HTTP
// requests to a test server the way a same-origin browser page sends
// them, the decoded LuckyStack reply envelope, waiting for a socket event,
// and a recorder of the hooks that ran.
package lstest
