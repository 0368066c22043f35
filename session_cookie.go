package luckystack

import (
	"net/http"
	"time"
)

// SessionCookie returns the cookie [Server.SetSessionCookie] writes, for
// code that has a response header rather than a ResponseWriter (an API
// handler logging a user in over HTTP adds it with
// header.Add("Set-Cookie", c.String())).
func (s *Server) SessionCookie(token string) *http.Cookie {
	// Keep in step with SetSessionCookie; TestSessionCookieMatches checks.
	return &http.Cookie{
		Name: s.cfg.HTTP.SessionCookieName, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(), MaxAge: int(s.cfg.SessionTTL() / time.Second),
	}
}
