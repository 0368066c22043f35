package luckystack

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/luckystack/luckystack-go/events"
)

// HTTPRequestEvent is the payload of PreHTTPRequest.
type HTTPRequestEvent struct {
	Method    string
	URL       string
	RequestID string
	Origin    string
	Headers   http.Header
}

// TestResetEvent is the payload of OnTestReset; handlers append what they
// cleared.
type TestResetEvent struct {
	IncludeHooks bool
	Cleared      []string
}

// CSRFMismatchEvent is the payload of CSRFMismatch.
type CSRFMismatchEvent struct {
	Route         string
	Method        string
	RequestID     string
	UserID        string
	ProvidedToken bool
}

// HTTP hooks.
var (
	// CSRFMismatch fires (stop ignored) when a request is refused for a
	// missing or wrong x-csrf-token.
	CSRFMismatch = NewHook[CSRFMismatchEvent]("csrfMismatch")
	// PreHTTPRequest may stop any request (status default 403).
	PreHTTPRequest = NewHook[HTTPRequestEvent]("preHttpRequest")
	// OnTestReset lets modules clear their state on POST /_test/reset.
	OnTestReset = NewHook[TestResetEvent]("onTestReset")
)

// routeTable is the dispatcher's registered handlers, replaced as a whole.
type routeTable struct {
	api, sync http.Handler
	custom    []customRoute
}

type customRoute struct {
	pattern string // exact path, or a prefix ending in "/"
	h       http.Handler
}

func (s *Server) updateRoutes(fn func(t *routeTable)) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	t := *s.routes.Load()
	t.custom = append([]customRoute(nil), t.custom...)
	fn(&t)
	s.routes.Store(&t)
}

// HandleAPI installs the handler of /api/ (the api module does).
func (s *Server) HandleAPI(h http.Handler) { s.updateRoutes(func(t *routeTable) { t.api = h }) }

// HandleSync installs the handler of /sync/ (the sync module does).
func (s *Server) HandleSync(h http.Handler) { s.updateRoutes(func(t *routeTable) { t.sync = h }) }

// HandleRoute adds a custom route: an exact path, or a prefix ending in "/".
// Custom routes run after the built-in ones and before static files.
func (s *Server) HandleRoute(pattern string, h http.Handler) {
	s.updateRoutes(func(t *routeTable) { t.custom = append(t.custom, customRoute{pattern, h}) })
}

var requestIDPattern = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)
var uploadIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// WriteJSON answers with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"status":"error","errorCode":"server.internalError"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError answers with the error envelope of code at its catalogue status
// (or status when non-zero).
func WriteError(w http.ResponseWriter, status int, code string, params ...events.ErrorParam) {
	env := events.NewError(code, params...)
	if status != 0 {
		env.HTTPStatus = status
	}
	WriteJSON(w, env.HTTPStatus, env)
}

// ServeHTTP is the HTTP dispatcher: Socket.IO, then origin gate, headers,
// preHttpRequest, CSRF, health, test reset, favicon, uploads, auth routes,
// /api/, /sync/, custom routes and static files. A panic answers 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/socket.io/") {
		s.io.ServeHTTP(w, r)
		return
	}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.Error("luckystack: http handler panicked", "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
			WriteJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "errorCode": events.CodeServerInternalError})
		}
	}()
	if !s.checkRequestOrigin(r) {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	reqID := s.securityHeaders(w, r)
	if stop := DispatchHook(r.Context(), s, PreHTTPRequest, &HTTPRequestEvent{
		Method: r.Method, URL: r.URL.String(), RequestID: reqID, Origin: r.Header.Get("Origin"), Headers: publicHeaders(r.Header),
	}); stop != nil {
		status := stop.HTTPStatus
		if status == 0 {
			status = http.StatusForbidden
		}
		WriteJSON(w, status, map[string]string{"status": "error", "errorCode": stop.ErrorCode})
		return
	}
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		http.Error(w, "method: "+r.Method+" not supported, use one of: GET, POST, PUT, DELETE", http.StatusNotFound)
		return
	}
	if r.ContentLength > s.cfg.HTTP.RequestBodyMaxBytes {
		WriteError(w, http.StatusRequestEntityTooLarge, events.CodeAPIPayloadTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.HTTP.RequestBodyMaxBytes)
	token := s.ExtractTokenFromRequest(r)
	s.refreshSessionCookie(w, r, token)
	if !s.checkCSRF(w, r, token) {
		return
	}
	p := r.URL.Path
	switch {
	case p == "/livez":
		WriteJSON(w, http.StatusOK, map[string]string{"status": "live"})
	case p == "/readyz" || p == "/_health":
		s.serveHealth(w, r, p)
	case p == "/_test/reset":
		s.serveTestReset(w, r)
	case p == "/favicon.ico":
		s.serveFile(w, r, "favicon.ico", false)
	case strings.HasPrefix(p, "/uploads/"):
		s.serveUpload(w, r)
	case p == "/auth/csrf":
		s.serveCSRF(w, r, token)
	case p == "/auth/logout":
		s.serveLogout(w, r, token)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		s.serveModule(w, r, s.routes.Load().api)
	case p == "/sync" || strings.HasPrefix(p, "/sync/"):
		s.serveModule(w, r, s.routes.Load().sync)
	default:
		for _, c := range s.routes.Load().custom {
			if p == c.pattern || (strings.HasSuffix(c.pattern, "/") && strings.HasPrefix(p, c.pattern)) {
				s.serveCustom(w, r, c.h)
				return
			}
		}
		s.serveStatic(w, r)
	}
}

// serveCustom runs a custom route; a panic answers 500
// server.customRouteFailed (spec §9.4) and the server keeps serving.
func (s *Server) serveCustom(w http.ResponseWriter, r *http.Request, h http.Handler) {
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.Error("luckystack: custom route panicked", "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
			WriteJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "errorCode": events.CodeServerCustomRouteFailed})
		}
	}()
	h.ServeHTTP(w, r)
}

// refreshSessionCookie re-issues the session cookie (a fresh Max-Age) on
// every request that carries it with a live session; reading the session
// also slides its expiry in the store.
func (s *Server) refreshSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	if token == "" || r.URL.Path == "/auth/logout" {
		return
	}
	if cookieValue(strings.Join(r.Header.Values("Cookie"), "; "), s.cfg.HTTP.SessionCookieName) != token {
		return // the token came from Authorization: Bearer
	}
	if sess, err := s.GetSession(r.Context(), token); err == nil && sess != nil {
		s.SetSessionCookie(w, token)
	}
}

func (s *Server) serveModule(w http.ResponseWriter, r *http.Request, h http.Handler) {
	if h == nil {
		WriteError(w, http.StatusNotFound, events.CodeNotFound)
		return
	}
	h.ServeHTTP(w, r)
}

// securityHeaders writes the CORS and security headers and returns the
// request id.
func (s *Server) securityHeaders(w http.ResponseWriter, r *http.Request) string {
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" && s.origins.allowed(origin) {
		n, _ := normalizeOrigin(origin, s.secure())
		h.Set("Access-Control-Allow-Origin", n)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Session-Based-Token, X-CSRF-Token, X-Request-Id")
	h.Set("Access-Control-Expose-Headers", "X-Session-Token, X-Request-Id")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-XSS-Protection", "0")
	h.Set("X-Content-Type-Options", "nosniff")
	id := r.Header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = newUUID()
	}
	h.Set("X-Request-Id", id)
	return id
}

func publicHeaders(in http.Header) http.Header {
	out := in.Clone()
	for _, k := range []string{"Authorization", "Cookie", "X-Csrf-Token", "X-Test-Reset-Token", "X-Session-Based-Token", "X-Session-Token"} {
		out.Del(k)
	}
	return out
}

// checkCSRF enforces x-csrf-token on state-changing cookie-mode requests that
// carry a session, comparing in constant time.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, token string) bool {
	if s.cfg.Session.BasedToken || token == "" {
		return true
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	p := r.URL.Path
	if (strings.HasPrefix(p, "/auth/") && !strings.HasPrefix(p, "/auth/api/")) || strings.HasPrefix(p, "/assets/") {
		return true
	}
	sess, err := s.GetSession(r.Context(), token)
	if err != nil || sess == nil {
		return true // nothing to protect
	}
	got := r.Header.Get("X-Csrf-Token")
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1 {
		return true
	}
	DispatchHook(r.Context(), s, CSRFMismatch, &CSRFMismatchEvent{
		Route: p, Method: r.Method, RequestID: w.Header().Get("X-Request-Id"), UserID: sess.ID, ProvidedToken: got != "",
	})
	WriteJSON(w, http.StatusForbidden, map[string]any{
		"status": "error", "errorCode": events.CodeAuthCSRFMismatch,
		"message": "CSRF token missing or invalid. Fetch /auth/csrf first.", "httpStatus": http.StatusForbidden,
	})
	return false
}

func (s *Server) serveCSRF(w http.ResponseWriter, r *http.Request, token string) {
	sess, _ := s.GetSession(r.Context(), token)
	if sess == nil {
		WriteError(w, http.StatusUnauthorized, events.CodeAuthUnauthenticated)
		return
	}
	if sess.CSRFToken == "" {
		updated, err := s.sessions.Update(r.Context(), token, func(cur *Session) error {
			if cur.CSRFToken == "" {
				cur.CSRFToken = NewToken()
			}
			return nil
		})
		if err != nil {
			WriteError(w, http.StatusUnauthorized, events.CodeAuthUnauthenticated)
			return
		}
		sess = updated
	}
	// The session cookie was already re-issued by the dispatcher.
	WriteJSON(w, http.StatusOK, map[string]string{"status": "success", "csrfToken": sess.CSRFToken})
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request, token string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		WriteError(w, http.StatusMethodNotAllowed, events.CodeAPIMethodNotAllowed, events.ErrorParam{Key: "method", Value: r.Method})
		return
	}
	if token != "" {
		if err := s.DeleteSession(r.Context(), token); err != nil {
			s.log.Warn("luckystack: logout", "err", err)
		}
	}
	s.ClearSessionCookie(w)
	WriteJSON(w, http.StatusOK, map[string]any{"status": "success", "result": true})
}

// SetSessionCookie issues the session cookie for token.
func (s *Server) SetSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.HTTP.SessionCookieName, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(), MaxAge: int(s.cfg.SessionTTL() / time.Second),
	})
}

// ClearSessionCookie expires the session cookie.
func (s *Server) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.HTTP.SessionCookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(), MaxAge: -1,
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, p string) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := s.sessions.Get(ctx, "health-probe")
	ok := err == nil
	if p == "/_health" {
		status, code := "ok", http.StatusOK
		if !ok {
			status, code = "degraded", http.StatusServiceUnavailable
		}
		WriteJSON(w, code, map[string]any{"status": status, "bootUuid": s.bootIDValue()})
		return
	}
	status, code, store := "ready", http.StatusOK, "ok"
	if !ok {
		status, code, store = "not-ready", http.StatusServiceUnavailable, "error"
	}
	WriteJSON(w, code, map[string]any{"status": status, "checks": map[string]string{"bootUuid": s.bootIDValue(), "sessions": store}})
}

func (s *Server) serveTestReset(w http.ResponseWriter, r *http.Request) {
	if !*s.cfg.TestMode {
		WriteError(w, http.StatusNotFound, events.CodeNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		WriteError(w, http.StatusMethodNotAllowed, events.CodeAPIMethodNotAllowed, events.ErrorParam{Key: "method", Value: r.Method})
		return
	}
	want := s.getenv("TEST_RESET_TOKEN")
	got := r.Header.Get("X-Test-Reset-Token")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		WriteError(w, http.StatusForbidden, events.CodeAuthForbidden)
		return
	}
	ev := &TestResetEvent{IncludeHooks: r.URL.Query().Get("include") == "hooks"}
	if c, ok := s.sessions.(interface{ Clear(context.Context) error }); ok {
		if err := c.Clear(r.Context()); err == nil {
			ev.Cleared = append(ev.Cleared, "sessions")
		}
	}
	DispatchHook(r.Context(), s, OnTestReset, ev)
	if ev.IncludeHooks {
		s.ClearHooks()
		ev.Cleared = append(ev.Cleared, "hooks")
	}
	WriteJSON(w, http.StatusOK, map[string]any{"status": "success", "cleared": ev.Cleared})
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	id := strings.TrimSuffix(name, path.Ext(name))
	if s.opts.Uploads == nil || !uploadIDPattern.MatchString(id) {
		http.Error(w, "File not found", http.StatusNotFound)
		return
	}
	b, err := fs.ReadFile(s.opts.Uploads, id+".webp")
	if err != nil {
		http.Error(w, "File not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/webp")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}

// serveStatic serves Options.Static with an SPA fallback: paths without an
// extension get index.html.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if p == "server.js" || strings.HasSuffix(p, ".map") || strings.Contains(r.URL.Path, "..") {
		WriteError(w, http.StatusNotFound, events.CodeNotFound)
		return
	}
	if p == "" || path.Ext(p) == "" {
		s.serveFile(w, r, "index.html", true)
		return
	}
	s.serveFile(w, r, p, true)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string, envelope bool) {
	if s.opts.Static != nil {
		if f, err := s.opts.Static.Open(name); err == nil {
			defer f.Close()
			if st, err := f.Stat(); err == nil && !st.IsDir() {
				if rs, ok := f.(interface {
					Read([]byte) (int, error)
					Seek(int64, int) (int64, error)
				}); ok {
					http.ServeContent(w, r, name, st.ModTime(), rs)
					return
				}
			}
		}
	}
	if envelope {
		WriteError(w, http.StatusNotFound, events.CodeNotFound)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsBodyTooLarge reports whether err came from reading a body over the cap.
func IsBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
