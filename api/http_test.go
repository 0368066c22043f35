package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// streamRoute streams in.N chunks, then answers; an S of "fail" fails
// instead.
func streamRoute() Route[Echo, Echo] {
	return Route[Echo, Echo]{Handler: func(_ context.Context, req *Request, in Echo) (Echo, error) {
		for i := range in.N {
			if err := req.Stream(map[string]int{"i": i}); err != nil {
				return Echo{}, err
			}
		}
		if in.S == "fail" {
			return Echo{}, NewError("svc.failed", 0)
		}
		return in, nil
	}}
}

func TestHTTPServerSentEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/listThings/v1", streamRoute()))
		r := streamRoute()
		r.Auth.Login = true
		require.NoError(t, Register(m, "svc/listPrivate/v1", r))
	})
	sse := http.Header{"Accept": {"text/event-stream"}}
	data := url.QueryEscape(`{"n":2}`)

	resp, body := e.Do(http.MethodGet, "/api/svc/listThings/v1?__luckystack_data="+data, "", "", nil, sse)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache, no-transform", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	assert.Equal(t, ": connected\n\n"+
		"event: stream\ndata: {\"i\":0}\n\n"+
		"event: stream\ndata: {\"i\":1}\n\n"+
		"event: final\ndata: {\"n\":2,\"status\":\"success\",\"httpStatus\":200}\n\n", string(body))

	resp, body = e.Do(http.MethodGet, "/api/svc/listThings/v1?stream=true&__luckystack_data="+url.QueryEscape(`{"n":0}`), "", "", nil, nil)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"), "?stream=true asks for SSE too")
	assert.Equal(t, ": connected\n\nevent: final\ndata: {\"n\":0,\"status\":\"success\",\"httpStatus\":200}\n\n", string(body),
		"a success without chunks still opens the stream")

	resp, body = e.Do(http.MethodGet, "/api/svc/listThings/v1?stream=1&__luckystack_data="+url.QueryEscape(`{"n":1,"s":"fail"}`), "", "", nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, ": connected\n\nevent: stream\ndata: {\"i\":0}\n\n"+
		"event: final\ndata: {\"status\":\"error\",\"message\":\"svc.failed\",\"errorCode\":\"svc.failed\",\"httpStatus\":400}\n\n", string(body),
		"an error after the stream opened is the final frame")

	resp, body = e.Do(http.MethodGet, "/api/svc/listThings/v1?stream=1&__luckystack_data="+url.QueryEscape(`{"n":0,"s":"fail"}`), "", "", nil, nil)
	assert.Equal(t, 400, resp.StatusCode, "an error before any chunk is plain JSON with its status")
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"status":"error","message":"svc.failed","errorCode":"svc.failed","httpStatus":400}`, string(body))

	resp, body = e.Do(http.MethodGet, "/api/svc/listPrivate/v1?stream=true", "", "", nil, nil)
	assert.Equal(t, 401, resp.StatusCode, "gate failures are plain JSON")
	assert.Contains(t, string(body), `"auth.required"`)

	resp, body = e.Do(http.MethodGet, "/api/svc/listThings/v1?__luckystack_data="+data, "", "", nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"n":2,"status":"success","httpStatus":200}`, string(body), "without SSE the chunks are dropped")
}

func TestHTTPBodies(t *testing.T) {
	t.Parallel()
	type form struct {
		A string `json:"a"`
		B string `json:"b"`
	}
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/send/v1", Route[form, form]{Handler: func(_ context.Context, _ *Request, in form) (form, error) { return in, nil }}))
		require.NoError(t, Register(m, "svc/getOne/v1", Route[form, form]{Handler: func(_ context.Context, _ *Request, in form) (form, error) { return in, nil }}))
		require.NoError(t, Register(m, "svc/echo/v1", echoRoute()))
	})
	decode := func(b []byte) reply {
		var r reply
		require.NoError(t, json.Unmarshal(b, &r), "%s", b)
		return r
	}
	resp, body := e.Do(http.MethodPost, "/api/svc/send/v1", "", "application/x-www-form-urlencoded", strings.NewReader("a=1&b=x&b=y&stream=false"), nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, reply{"a": "1", "b": "y", "status": "success", "httpStatus": 200.0}, decode(body), "last value wins; stream is removed")

	resp, body = e.Do(http.MethodGet, "/api/svc/getOne/v1?a=q&b=r", "", "", nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "q", decode(body)["a"], "GET data is the query string")

	resp, body = e.Do(http.MethodPost, "/api/svc/echo/v1", "", "application/x-www-form-urlencoded",
		strings.NewReader("__luckystack_data="+url.QueryEscape(`{"n":4}`)), nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.EqualValues(t, 4, decode(body)["n"], "__luckystack_data replaces the data")

	resp, body = e.Do(http.MethodPost, "/api/svc/echo/v1", "", "application/json; charset=utf-8", nil, nil)
	assert.Equal(t, 200, resp.StatusCode, "an empty body is {}")
	assert.EqualValues(t, 0, decode(body)["n"])

	tests := []struct {
		name, ctype, body, code string
		status                  int
	}{
		{"bad json", "application/json", `{"n":`, "api.invalidRequestFormat", 400},
		{"array", "application/json", `[1]`, "api.invalidDataObject", 400},
		{"bad ldata", "application/json", `{"__luckystack_data":"[1]"}`, "api.invalidRequestFormat", 400},
		{"bad ldata json", "application/x-www-form-urlencoded", `__luckystack_data=%7B`, "api.invalidRequestFormat", 400},
		{"media type", "text/plain", `n=1`, "api.unsupportedMediaType", 415},
		{"no media type", "", `{"n":1}`, "api.unsupportedMediaType", 415},
	}
	for _, tc := range tests {
		resp, body := e.Do(http.MethodPost, "/api/svc/echo/v1", "", tc.ctype, strings.NewReader(tc.body), nil)
		r := decode(body)
		assert.Equal(t, tc.code, r.Code(), tc.name)
		assert.Equal(t, tc.status, resp.StatusCode, tc.name)
		assert.Equal(t, tc.status, r.Status(), tc.name)
	}

	// A chunked body has no Content-Length, so the cap is hit while reading.
	big := io.MultiReader(strings.NewReader(`{"s":"`), strings.NewReader(strings.Repeat("x", 2<<20)), strings.NewReader(`"}`))
	resp, body = e.Do(http.MethodPost, "/api/svc/echo/v1", "", "application/json", big, nil)
	assert.Equal(t, 413, resp.StatusCode)
	assert.Equal(t, "api.payloadTooLarge", decode(body).Code())

	for _, p := range []string{"/api/", "/api"} {
		resp, body = e.Do(http.MethodPost, p, "", "application/json", strings.NewReader(`{}`), nil)
		assert.Equal(t, 400, resp.StatusCode, p)
		assert.Equal(t, "api.invalidName", decode(body).Code(), p)
	}
}

func TestHTTPMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits(), func(m *Module) {
		for _, n := range []string{"getThing", "fetchThing", "listThings", "deleteThing", "removeThing", "updateThing", "editThing", "patchThing", "createThing"} {
			require.NoError(t, Register(m, "svc/"+n+"/v1", echoRoute()))
		}
		r := echoRoute()
		r.Method = "delete"
		require.NoError(t, Register(m, "svc/getDeclared/v1", r))
	})
	want := map[string]string{
		"getThing": "GET", "fetchThing": "GET", "listThings": "GET",
		"deleteThing": "DELETE", "removeThing": "DELETE",
		"updateThing": "PUT", "editThing": "PUT", "patchThing": "PUT",
		"createThing": "POST", "getDeclared": "DELETE",
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	for route, allowed := range want {
		for _, method := range methods {
			var body io.Reader
			ctype := ""
			if method != http.MethodGet {
				body, ctype = strings.NewReader(`{"n":1}`), "application/json"
			}
			resp, b := e.Do(method, "/api/svc/"+route+"/v1", "", ctype, body, nil)
			var r reply
			require.NoError(t, json.Unmarshal(b, &r))
			if method == allowed {
				assert.Equal(t, 200, resp.StatusCode, "%s %s", method, route)
				continue
			}
			assert.Equal(t, 405, resp.StatusCode, "%s %s", method, route)
			assert.Equal(t, "api.methodNotAllowed", r.Code())
			assert.Equal(t, []any{map[string]any{"key": "method", "value": method}}, r["errorParams"])
			assert.Equal(t, allowed, resp.Header.Get("Allow"))
		}
	}
	c := e.dial("")
	assert.Equal(t, "success", request(t, c, 1, "svc/getThing/v1", map[string]any{"n": 1})["status"], "the socket ignores methods")
}

func TestHTTPHookOrderAndCancel(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "svc/echo/v1", echoRoute()))
		require.NoError(t, Register(m, "svc/wait/v1", Route[Echo, Echo]{Handler: func(ctx context.Context, _ *Request, _ Echo) (Echo, error) {
			started <- struct{}{}
			<-ctx.Done()
			causes <- ctx.Err()
			return Echo{}, nil
		}}))
	})
	for _, h := range []func(){
		func() { record(e.srv, rec, PreSocketMessage) },
		func() { record(e.srv, rec, PreAPIValidate) },
		func() { record(e.srv, rec, PostAPIValidate) },
		func() { record(e.srv, rec, PreAPIExecute) },
		func() { record(e.srv, rec, PostAPIExecute) },
		func() { record(e.srv, rec, PreAPIRespond) },
		func() { record(e.srv, rec, TransformAPIResponse) },
		func() { record(e.srv, rec, PostAPIRespond) },
	} {
		h()
	}
	transports := &recorder{}
	luckystack.RegisterHook(e.srv, PreAPIExecute, func(_ context.Context, ev *ExecuteEvent) error {
		transports.Add(string(ev.Transport))
		return nil
	})
	status, r := e.Post("/api/svc/echo/v1", "", map[string]any{"n": 5})
	assert.Equal(t, 200, status)
	assert.EqualValues(t, 5, r["n"])
	assert.Equal(t, []string{
		"preApiValidate", "postApiValidate", "preApiExecute", "postApiExecute",
		"preApiRespond", "transformApiResponse", "postApiRespond",
	}, rec.List())
	assert.Equal(t, []string{string(TransportHTTP)}, transports.List())

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Base+"/api/svc/wait/v1", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Origin", e.Base)
	req.Header.Set("Content-Type", "application/json")
	errc := make(chan error, 1)
	go func() {
		resp, err := e.Client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	recv(t, started)
	cancel()
	assert.ErrorIs(t, recv(t, causes), context.Canceled, "the handler stops when the client goes away")
	require.Error(t, recv(t, errc))
}

func TestCrashFallbacks(t *testing.T) {
	t.Parallel()
	opts := noLimits()
	// The translator runs outside every recover but the pipeline's own, so
	// a panicking one exercises the crash paths.
	opts.Translate = func(string, string, []events.ErrorParam) string { panic("translator bug") }
	e := newEnv(t, opts, func(m *Module) { require.NoError(t, Register(m, "svc/listThings/v1", streamRoute())) })
	apiErrors := &recorder{}
	luckystack.RegisterHook(e.srv, APIError, func(_ context.Context, ev *APIErrorEvent) error {
		apiErrors.Add(ev.Route + " " + ev.Method)
		return nil
	})

	c := e.dial("")
	r := request(t, c, 1, "api/svc/listThings/v1", map[string]any{"n": 0, "s": "fail"})
	assert.Equal(t, reply{"status": "error", "errorCode": "api.serverExecutionFailed", "httpStatus": 500.0}, r)

	resp, body := e.Do(http.MethodGet, "/api/svc/listThings/v1?stream=1&__luckystack_data="+url.QueryEscape(`{"n":1,"s":"fail"}`), "", "", nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, ": connected\n\nevent: stream\ndata: {\"i\":0}\n\n"+
		"event: error\ndata: {\"status\":\"error\",\"httpStatus\":500,\"message\":\"api.invalidRequestFormat\",\"errorCode\":\"api.invalidRequestFormat\"}\n\n", string(body))

	resp, body = e.Do(http.MethodGet, "/api/svc/listThings/v1?__luckystack_data="+url.QueryEscape(`{"n":0,"s":"fail"}`), "", "", nil, nil)
	assert.Equal(t, 500, resp.StatusCode)
	assert.JSONEq(t, `{"status":"error","errorCode":"api.serverExecutionFailed","httpStatus":500}`, string(body))
	assert.Equal(t, []string{"api/svc/listThings/v1 GET", "api/svc/listThings/v1 GET"}, apiErrors.List())
}
