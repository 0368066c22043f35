package luckystack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyStore fails reads on demand.
type flakyStore struct {
	*MemorySessionStore
	fail atomic.Bool
}

func (f *flakyStore) Get(ctx context.Context, token string) (*Session, error) {
	if f.fail.Load() {
		return nil, errors.New("store down")
	}
	return f.MemorySessionStore.Get(ctx, token)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSecurityHeadersAndRequestID(t *testing.T) {
	t.Parallel()
	_, ts := newHTTPServer(t, Options{})
	res := do(t, ts, "GET", "/livez", hdr("X-Request-Id", "abc-123-XYZ"), "")
	h := res.header
	assert.Equal(t, "abc-123-XYZ", h.Get("X-Request-Id"), "a valid id is echoed")
	assert.Equal(t, "GET, POST, PUT, DELETE, OPTIONS", h.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type, Authorization, X-Session-Based-Token, X-CSRF-Token, X-Request-Id", h.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "X-Session-Token, X-Request-Id", h.Get("Access-Control-Expose-Headers"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	assert.Equal(t, "SAMEORIGIN", h.Get("X-Frame-Options"))
	assert.Equal(t, "0", h.Get("X-XSS-Protection"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))

	for _, bad := range []string{"", "has space", "semi;colon", strings.Repeat("a", 129)} {
		res := do(t, ts, "GET", "/livez", hdr("X-Request-Id", bad), "")
		assert.Regexp(t, uuidPattern, res.header.Get("X-Request-Id"), "%q gets a new id", bad)
	}
	res = do(t, ts, "GET", "/livez", hdr("X-Request-Id", strings.Repeat("a", 128)), "")
	assert.Equal(t, strings.Repeat("a", 128), res.header.Get("X-Request-Id"))
	// Security headers go on errors too.
	res = do(t, ts, "GET", "/nothing-here.png", nil, "")
	assert.Equal(t, 404, res.code)
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
}

func TestMethodsAndPreHTTPRequest(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	o := hdr("Origin", ts.Origin)
	for _, m := range []string{"PATCH", "HEAD", "TRACE"} {
		res := do(t, ts, m, "/livez", o, "")
		assert.Equal(t, 404, res.code, m)
		if m != "HEAD" {
			assert.Equal(t, "method: "+m+" not supported, use one of: GET, POST, PUT, DELETE\n", res.body)
		}
	}
	res := do(t, ts, "OPTIONS", "/anything", o, "")
	assert.Equal(t, 204, res.code)

	var (
		mu   sync.Mutex
		seen []HTTPRequestEvent
	)
	RegisterHook(srv, PreHTTPRequest, func(_ context.Context, e *HTTPRequestEvent) error {
		mu.Lock()
		seen = append(seen, *e)
		mu.Unlock()
		if strings.HasPrefix(e.URL, "/blocked") {
			return StopWith("custom.blocked", 0)
		}
		if strings.HasPrefix(e.URL, "/teapot") {
			return StopWith("custom.teapot", 418)
		}
		return nil
	})
	res = do(t, ts, "GET", "/blocked?x=1", hdr("X-Request-Id", "rid-1", "Cookie", "token=secret", "Authorization", "Bearer b",
		"X-Csrf-Token", "c", "X-Test-Reset-Token", "r", "X-Session-Token", "s", "X-Custom", "v"), "")
	assert.Equal(t, 403, res.code)
	assert.JSONEq(t, `{"status":"error","errorCode":"custom.blocked"}`, res.body)
	res = do(t, ts, "GET", "/teapot", nil, "")
	assert.Equal(t, 418, res.code)
	res = do(t, ts, "GET", "/livez", nil, "")
	assert.Equal(t, 200, res.code)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 3)
	first := seen[0]
	assert.Equal(t, "GET", first.Method)
	assert.Equal(t, "/blocked?x=1", first.URL)
	assert.Equal(t, "rid-1", first.RequestID)
	assert.Equal(t, "v", first.Headers.Get("X-Custom"))
	for _, k := range []string{"Cookie", "Authorization", "X-Csrf-Token", "X-Test-Reset-Token", "X-Session-Token"} {
		assert.Empty(t, first.Headers.Values(k), "%s is not shown to hooks", k)
	}
}

func TestHealthRoutes(t *testing.T) {
	t.Parallel()
	store := &flakyStore{MemorySessionStore: NewMemorySessionStore(0)}
	srv, ts := newHTTPServer(t, Options{Sessions: store})
	boot := srv.bootIDValue()
	assert.Regexp(t, uuidPattern, boot)

	res := do(t, ts, "GET", "/livez", nil, "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"live"}`, res.body)
	assert.Equal(t, "application/json; charset=utf-8", res.header.Get("Content-Type"))
	res = do(t, ts, "GET", "/readyz", nil, "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"ready","checks":{"bootUuid":"`+boot+`","sessions":"ok"}}`, res.body)
	res = do(t, ts, "GET", "/_health", nil, "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"ok","bootUuid":"`+boot+`"}`, res.body)

	store.fail.Store(true)
	res = do(t, ts, "GET", "/readyz", nil, "")
	assert.Equal(t, 503, res.code)
	assert.JSONEq(t, `{"status":"not-ready","checks":{"bootUuid":"`+boot+`","sessions":"error"}}`, res.body)
	res = do(t, ts, "GET", "/_health", nil, "")
	assert.Equal(t, 503, res.code)
	assert.JSONEq(t, `{"status":"degraded","bootUuid":"`+boot+`"}`, res.body)
	res = do(t, ts, "GET", "/livez", nil, "")
	assert.Equal(t, 200, res.code, "liveness does not depend on the store")
}

func TestTestReset(t *testing.T) {
	t.Parallel()
	env := envMap(map[string]string{"TEST_RESET_TOKEN": "sekrit"})

	t.Run("404 outside test mode", func(t *testing.T) {
		t.Parallel()
		_, ts := newHTTPServer(t, Options{Getenv: env})
		res := do(t, ts, "POST", "/_test/reset", hdr("Origin", ts.Origin, "X-Test-Reset-Token", "sekrit"), "")
		assert.Equal(t, 404, res.code)
		assert.JSONEq(t, `{"status":"error","message":"notFound","errorCode":"notFound","httpStatus":404}`, res.body)
	})

	t.Run("no token configured: always 403", func(t *testing.T) {
		t.Parallel()
		_, ts := newHTTPServer(t, Options{Config: Config{TestMode: ptr(true)}})
		res := do(t, ts, "POST", "/_test/reset", hdr("Origin", ts.Origin, "X-Test-Reset-Token", ""), "")
		assert.Equal(t, 403, res.code)
		assert.Contains(t, res.body, `"errorCode":"auth.forbidden"`)
	})

	t.Run("test mode", func(t *testing.T) {
		t.Parallel()
		srv, ts := newHTTPServer(t, Options{Config: Config{TestMode: ptr(true)}, Getenv: env})
		tok, err := srv.CreateSession(wctx(t), &Session{ID: "u"})
		require.NoError(t, err)

		res := do(t, ts, "GET", "/_test/reset", nil, "")
		assert.Equal(t, 405, res.code)
		assert.Equal(t, "POST", res.header.Get("Allow"))
		assert.JSONEq(t, `{"status":"error","message":"api.methodNotAllowed","errorCode":"api.methodNotAllowed","errorParams":[{"key":"method","value":"GET"}],"httpStatus":405}`, res.body)

		res = do(t, ts, "POST", "/_test/reset", nil, "")
		assert.Equal(t, 403, res.code, "the origin gate still applies")

		for _, bad := range []string{"", "wrong", "sekri", "sekrit2"} {
			res = do(t, ts, "POST", "/_test/reset", hdr("Origin", ts.Origin, "X-Test-Reset-Token", bad), "")
			assert.Equal(t, 403, res.code, "token %q", bad)
		}
		sess, _ := srv.GetSession(wctx(t), tok)
		require.NotNil(t, sess, "nothing cleared by refused requests")

		var modules atomic.Int32
		RegisterHook(srv, OnTestReset, func(_ context.Context, e *TestResetEvent) error {
			modules.Add(1)
			e.Cleared = append(e.Cleared, "rateLimits")
			return nil
		})
		res = do(t, ts, "POST", "/_test/reset", hdr("Origin", ts.Origin, "X-Test-Reset-Token", "sekrit"), "")
		assert.Equal(t, 200, res.code)
		assert.JSONEq(t, `{"status":"success","cleared":["sessions","rateLimits"]}`, res.body)
		sess, _ = srv.GetSession(wctx(t), tok)
		assert.Nil(t, sess)
		assert.Equal(t, 1, HookCount(srv, OnTestReset), "hooks stay without include=hooks")

		res = do(t, ts, "POST", "/_test/reset?include=hooks", hdr("Origin", ts.Origin, "X-Test-Reset-Token", "sekrit"), "")
		assert.Equal(t, 200, res.code)
		assert.JSONEq(t, `{"status":"success","cleared":["sessions","rateLimits","hooks"]}`, res.body)
		assert.Zero(t, HookCount(srv, OnTestReset))
		assert.Equal(t, int32(2), modules.Load())
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	var apiHits atomic.Int32
	srv.HandleAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiHits.Add(1)
		WriteJSON(w, 200, map[string]string{"status": "success"})
	}))
	srv.HandleRoute("/custom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	var mismatches []CSRFMismatchEvent
	var mu sync.Mutex
	RegisterHook(srv, CSRFMismatch, func(_ context.Context, e *CSRFMismatchEvent) error {
		mu.Lock()
		mismatches = append(mismatches, *e)
		mu.Unlock()
		return nil
	})
	ctx := wctx(t)
	tok, err := srv.CreateSession(ctx, &Session{ID: "u1"})
	require.NoError(t, err)
	sess, _ := srv.GetSession(ctx, tok)
	require.Len(t, sess.CSRFToken, 64, "CreateSession mints a CSRF token")

	cookie := "token=" + tok
	post := func(path string, kv ...string) response {
		return do(t, ts, "POST", path, hdr(append([]string{"Origin", ts.Origin, "Cookie", cookie, "X-Request-Id", "rid"}, kv...)...), "{}")
	}

	res := post("/api/x/y/v1")
	assert.Equal(t, 403, res.code)
	assert.JSONEq(t, `{"status":"error","errorCode":"auth.csrfMismatch","message":"CSRF token missing or invalid. Fetch /auth/csrf first.","httpStatus":403}`, res.body)
	for _, bad := range []string{"wrong", sess.CSRFToken[:63], sess.CSRFToken + "0", strings.ToUpper(sess.CSRFToken)} {
		assert.Equal(t, 403, post("/api/x/y/v1", "X-CSRF-Token", bad).code, "token %q", bad)
	}
	assert.Equal(t, 403, post("/sync/x/y/v1").code, "sync too")
	assert.Equal(t, 403, post("/auth/api/x").code, "/auth/api too")
	assert.Equal(t, 403, post("/custom").code, "custom routes too")
	assert.Equal(t, 403, do(t, ts, "DELETE", "/api/x/y/v1", hdr("Origin", ts.Origin, "Cookie", cookie), "").code)
	assert.Zero(t, apiHits.Load())

	res = post("/api/x/y/v1", "X-CSRF-Token", sess.CSRFToken)
	assert.Equal(t, 200, res.code)
	assert.Equal(t, 204, post("/custom", "X-CSRF-Token", sess.CSRFToken).code)

	// Exempt: safe methods, /auth/*, /assets/*, no session, token mode.
	assert.Equal(t, 200, do(t, ts, "GET", "/api/x/y/v1", hdr("Cookie", cookie), "").code)
	assert.Equal(t, 404, post("/assets/x.js").code, "not refused by CSRF")
	assert.Equal(t, 200, do(t, ts, "POST", "/api/x/y/v1", hdr("Origin", ts.Origin, "Cookie", "token=stale"), "").code, "no session, nothing to protect")
	assert.Equal(t, 200, do(t, ts, "POST", "/api/x/y/v1", hdr("Origin", ts.Origin), "").code, "anonymous")

	mu.Lock()
	require.NotEmpty(t, mismatches)
	assert.Equal(t, CSRFMismatchEvent{Route: "/api/x/y/v1", Method: "POST", RequestID: "rid", UserID: "u1"}, mismatches[0])
	assert.True(t, mismatches[1].ProvidedToken)
	mu.Unlock()

	res = post("/auth/logout")
	assert.Equal(t, 200, res.code, "logout is exempt (SameSite=Strict protects it)")

	t.Run("token mode is not enforced", func(t *testing.T) {
		t.Parallel()
		srv, ts := newHTTPServer(t, Options{Config: Config{Session: SessionConfig{BasedToken: true}}})
		srv.HandleAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
		tok, err := srv.CreateSession(wctx(t), &Session{ID: "u"})
		require.NoError(t, err)
		res := do(t, ts, "POST", "/api/x", hdr("Origin", ts.Origin, "Authorization", "Bearer "+tok, "Cookie", "token="+tok), "")
		assert.Equal(t, 200, res.code)
	})
}

func TestCSRFRoute(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	ctx := wctx(t)

	res := do(t, ts, "GET", "/auth/csrf", nil, "")
	assert.Equal(t, 401, res.code)
	assert.JSONEq(t, `{"status":"error","message":"auth.unauthenticated","errorCode":"auth.unauthenticated","httpStatus":401}`, res.body)
	res = do(t, ts, "GET", "/auth/csrf", hdr("Cookie", "token=stale"), "")
	assert.Equal(t, 401, res.code)

	tok, err := srv.CreateSession(ctx, &Session{ID: "u"})
	require.NoError(t, err)
	sess, _ := srv.GetSession(ctx, tok)
	res = do(t, ts, "GET", "/auth/csrf", hdr("Cookie", "token="+tok), "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"success","csrfToken":"`+sess.CSRFToken+`"}`, res.body)
	assert.Len(t, res.header.Values("Set-Cookie"), 1, "the session cookie is re-issued once")

	// A session written without one (e.g. by another login flow) gets one.
	require.NoError(t, srv.Sessions().Set(ctx, "bare", &Session{ID: "v"}))
	res = do(t, ts, "GET", "/auth/csrf", hdr("Cookie", "token=bare"), "")
	assert.Equal(t, 200, res.code)
	stored, _ := srv.GetSession(ctx, "bare")
	require.Len(t, stored.CSRFToken, 64)
	assert.JSONEq(t, `{"status":"success","csrfToken":"`+stored.CSRFToken+`"}`, res.body)
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{Session: SessionConfig{ExpiryDays: 2}}})
	tok, err := srv.CreateSession(wctx(t), &Session{ID: "u"})
	require.NoError(t, err)

	res := do(t, ts, "GET", "/livez", hdr("Cookie", "token="+tok), "")
	assert.Equal(t, []string{"token=" + tok + "; Path=/; Max-Age=172800; HttpOnly; SameSite=Strict"}, res.header.Values("Set-Cookie"),
		"a request carrying a live session cookie re-issues it")
	res = do(t, ts, "GET", "/livez", hdr("Cookie", "token=stale"), "")
	assert.Empty(t, res.header.Values("Set-Cookie"))
	res = do(t, ts, "GET", "/livez", hdr("Authorization", "Bearer "+tok), "")
	assert.Empty(t, res.header.Values("Set-Cookie"), "no cookie for a bearer token")

	secure := newServer(t, Options{Config: Config{HTTP: HTTPConfig{SessionCookieSecure: ptr(true), SessionCookieName: "sid"}}})
	rec := &headerRecorder{h: http.Header{}}
	secure.SetSessionCookie(rec, "t")
	assert.Equal(t, "sid=t; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict", rec.h.Get("Set-Cookie"))
	rec = &headerRecorder{h: http.Header{}}
	secure.ClearSessionCookie(rec)
	assert.Equal(t, "sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict", rec.h.Get("Set-Cookie"))
}

type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(int)             {}

func TestLogoutRoute(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{})
	tok, err := srv.CreateSession(wctx(t), &Session{ID: "u"})
	require.NoError(t, err)
	c := dial(t, ts, cookieOpts(tok))

	res := do(t, ts, "GET", "/auth/logout", hdr("Cookie", "token="+tok), "")
	assert.Equal(t, 405, res.code)
	assert.Equal(t, "POST", res.header.Get("Allow"))
	assert.Contains(t, res.body, `"errorCode":"api.methodNotAllowed"`)
	sess, _ := srv.GetSession(wctx(t), tok)
	require.NotNil(t, sess, "GET deletes nothing")

	res = do(t, ts, "POST", "/auth/logout", hdr("Origin", ts.Origin, "Cookie", "token="+tok), "")
	assert.Equal(t, 200, res.code)
	assert.JSONEq(t, `{"status":"success","result":true}`, res.body)
	assert.Equal(t, []string{"token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"}, res.header.Values("Set-Cookie"))
	sess, _ = srv.GetSession(wctx(t), tok)
	assert.Nil(t, sess)

	assert.JSONEq(t, `"success"`, string(expect(t, c, "logout")))
	reason, err := c.WaitDisconnect(wctx(t))
	require.NoError(t, err)
	assert.Equal(t, "io server disconnect", reason)

	res = do(t, ts, "POST", "/auth/logout", hdr("Origin", ts.Origin), "")
	assert.Equal(t, 200, res.code, "logging out without a session still clears the cookie")
	assert.Len(t, res.header.Values("Set-Cookie"), 1)
}

func TestModuleRoutesAndCustomRoutes(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Static: fstest.MapFS{"index.html": {Data: []byte("<html>spa</html>")}}})
	notFound := `{"status":"error","message":"notFound","errorCode":"notFound","httpStatus":404}`
	for _, p := range []string{"/api", "/api/x/y/v1", "/sync/x/y/v1", "/sync"} {
		res := do(t, ts, "GET", p, nil, "")
		assert.Equal(t, 404, res.code, p)
		assert.JSONEq(t, notFound, res.body, p)
	}

	text := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, s) })
	}
	srv.HandleAPI(text("api"))
	srv.HandleSync(text("sync"))
	srv.HandleRoute("/livez", text("shadowed"))
	srv.HandleRoute("/api/override", text("shadowed"))
	srv.HandleRoute("/hello", text("hello"))
	srv.HandleRoute("/files/", text("files-1"))
	srv.HandleRoute("/files/special", text("files-2"))
	srv.HandleRoute("/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("custom route bug") }))

	tests := []struct{ path, want string }{
		{"/api/x/y/v1", "api"},
		{"/api/override", "api"},
		{"/sync/x/y/v1", "sync"},
		{"/livez", `{"status":"live"}`},
		{"/hello", "hello"},
		{"/files/a/b", "files-1"},
		{"/files/special", "files-1"},
		{"/hello/sub", "<html>spa</html>"},
		{"/files", "<html>spa</html>"},
	}
	for _, tc := range tests {
		res := do(t, ts, "GET", tc.path, nil, "")
		assert.Equal(t, tc.want, res.body, tc.path)
	}

	res := do(t, ts, "GET", "/boom", nil, "")
	assert.Equal(t, 500, res.code)
	assert.JSONEq(t, `{"status":"error","errorCode":"server.customRouteFailed"}`, res.body)
	res = do(t, ts, "GET", "/hello", nil, "")
	assert.Equal(t, "hello", res.body, "the server keeps serving")

	srv.HandleAPI(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("module bug") }))
	res = do(t, ts, "GET", "/api/x", nil, "")
	assert.Equal(t, 500, res.code)
	assert.JSONEq(t, `{"status":"error","errorCode":"server.internalError"}`, res.body)
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	srv, ts := newHTTPServer(t, Options{Config: Config{HTTP: HTTPConfig{RequestBodyMaxBytes: 100}}})
	srv.HandleAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if IsBodyTooLarge(err) {
			WriteError(w, 0, "api.payloadTooLarge")
			return
		}
		_, _ = io.WriteString(w, "read ok")
	}))
	o := hdr("Origin", ts.Origin)
	res := do(t, ts, "POST", "/api/x", o, strings.Repeat("a", 100))
	assert.Equal(t, "read ok", res.body)

	res = do(t, ts, "POST", "/api/x", o, strings.Repeat("a", 101))
	assert.Equal(t, 413, res.code)
	assert.JSONEq(t, `{"status":"error","message":"api.payloadTooLarge","errorCode":"api.payloadTooLarge","httpStatus":413}`, res.body)

	// A chunked body has no length up front: the read fails at the cap.
	ctx := wctx(t)
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/x", io.MultiReader(strings.NewReader(strings.Repeat("b", 150))))
	require.NoError(t, err)
	req.Header.Set("Origin", ts.Origin)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	assert.Contains(t, string(body), "api.payloadTooLarge")
}

func TestFaviconUploadsAndStatic(t *testing.T) {
	t.Parallel()
	static := fstest.MapFS{
		"index.html":    {Data: []byte("<html>index</html>")},
		"app.js":        {Data: []byte("console.log(1)")},
		"app.js.map":    {Data: []byte("{}")},
		"server.js":     {Data: []byte("secret")},
		"assets/x.css":  {Data: []byte("body{}")},
		"favicon.ico":   {Data: []byte("ICO")},
		"docs/guide.md": {Data: []byte("# guide")},
	}
	uploads := fstest.MapFS{
		"avatar_1-A.webp": {Data: []byte("WEBP")},
		"other.png":       {Data: []byte("PNG")},
	}
	_, ts := newHTTPServer(t, Options{Static: static, Uploads: uploads})
	tests := []struct {
		path string
		code int
		body string
	}{
		{"/", 200, "<html>index</html>"},
		{"/dashboard/settings", 200, "<html>index</html>"},
		{"/app.js", 200, "console.log(1)"},
		{"/assets/x.css", 200, "body{}"},
		{"/docs/guide.md", 200, "# guide"},
		{"/favicon.ico", 200, "ICO"},
		{"/app.js.map", 404, ""},
		{"/server.js", 404, ""},
		{"/missing.png", 404, ""},
		{"/assets/../server.js", 404, ""},
		{"/uploads/avatar_1-A.webp", 200, "WEBP"},
		{"/uploads/avatar_1-A.png", 200, "WEBP"},
		{"/uploads/other.png", 404, "File not found\n"},
		{"/uploads/missing.webp", 404, "File not found\n"},
		{"/uploads/bad.id.webp", 404, "File not found\n"},
		{"/uploads/" + strings.Repeat("a", 129) + ".webp", 404, "File not found\n"},
		{"/uploads/", 404, "File not found\n"},
	}
	for _, tc := range tests {
		res := do(t, ts, "GET", tc.path, nil, "")
		assert.Equal(t, tc.code, res.code, tc.path)
		if tc.body != "" {
			assert.Equal(t, tc.body, res.body, tc.path)
		}
		if strings.HasPrefix(tc.path, "/uploads/") && tc.code == 200 {
			assert.Equal(t, "image/webp", res.header.Get("Content-Type"))
			assert.Equal(t, "public, max-age=86400", res.header.Get("Cache-Control"))
		}
	}

	_, bare := newHTTPServer(t, Options{})
	res := do(t, bare, "GET", "/favicon.ico", nil, "")
	assert.Equal(t, 404, res.code)
	assert.Empty(t, res.body, "favicon without a file is an empty 404")
	res = do(t, bare, "GET", "/", nil, "")
	assert.Equal(t, 404, res.code, "no static files: 404")
	res = do(t, bare, "GET", "/uploads/a.webp", nil, "")
	assert.Equal(t, 404, res.code)
}
