package luckystack

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSessionCookieMatches: SessionCookie is exactly what SetSessionCookie
// writes, in both cookie security modes.
func TestSessionCookieMatches(t *testing.T) {
	for _, secure := range []bool{false, true} {
		srv := newServer(t, Options{Config: Config{HTTP: HTTPConfig{SessionCookieSecure: &secure}}})
		w := httptest.NewRecorder()
		srv.SetSessionCookie(w, "tok123")
		require.Equal(t, w.Header().Get("Set-Cookie"), srv.SessionCookie("tok123").String())
	}
}
