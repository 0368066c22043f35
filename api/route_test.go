package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
)

func TestParseRouteName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, prefix, in    string
		key, service, route string
		version             int
		wantErr             bool
	}{
		{name: "canonical", prefix: "api", in: "api/users/getUser/v1", key: "api/users/getUser/v1", service: "users", route: "getUser", version: 1},
		{name: "without prefix", prefix: "api", in: "users/getUser/v2", key: "api/users/getUser/v2", service: "users", route: "getUser", version: 2},
		{name: "nested route", prefix: "api", in: "api/games/chess/move/v3", key: "api/games/chess/move/v3", service: "games", route: "chess/move", version: 3},
		{name: "normalised", prefix: "api", in: "  \\api\\users\\getUser\\v1// ", key: "api/users/getUser/v1", service: "users", route: "getUser", version: 1},
		{name: "only one prefix dropped", prefix: "api", in: "api/api/x/v1", key: "api/api/x/v1", service: "api", route: "x", version: 1},
		{name: "sync prefix", prefix: "sync", in: "sync/chat/send/v1", key: "sync/chat/send/v1", service: "chat", route: "send", version: 1},
		{name: "version as written", prefix: "api", in: "a/b/v01", key: "api/a/b/v01", service: "a", route: "b", version: 1},
		{name: "two segments", prefix: "api", in: "api/logout/v1", wantErr: true},
		{name: "empty", prefix: "api", in: " / ", wantErr: true},
		{name: "empty segment", prefix: "api", in: "api/a//b/v1", wantErr: true},
		{name: "no version", prefix: "api", in: "api/a/b/c", wantErr: true},
		{name: "bad version", prefix: "api", in: "api/a/b/v1x", wantErr: true},
		{name: "bare v", prefix: "api", in: "api/a/b/v", wantErr: true},
		{name: "huge version", prefix: "api", in: "api/a/b/v99999999999999999999999", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, service, route, version, err := ParseRouteName(tc.prefix, tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrInvalidRouteName)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.key, key)
			assert.Equal(t, tc.service, service)
			assert.Equal(t, tc.route, route)
			assert.Equal(t, tc.version, version)
		})
	}
}

func TestInferMethod(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"getUser": "GET", "fetchAll": "GET", "listRooms": "GET", "chess/GetBoard": "GET",
		"deleteUser": "DELETE", "removeItem": "DELETE",
		"updateUser": "PUT", "editName": "PUT", "patchThing": "PUT",
		"createUser": "POST", "logout": "POST", "target": "POST",
	}
	for route, want := range tests {
		assert.Equal(t, want, InferMethod(route), route)
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	require.NoError(t, Register(m, "users/getUser/v1", echoRoute()))
	require.NoError(t, Register(m, "logout/v1", echoRoute()), "a root route belongs to service system")
	require.NoError(t, Register(m, "api/users/getUser/v2", echoRoute()))

	err := Register(m, "api/users/getUser/v1", echoRoute())
	require.ErrorIs(t, err, ErrDuplicateRoute)
	err = Register(m, "\\users\\getUser\\v1", echoRoute())
	require.ErrorIs(t, err, ErrDuplicateRoute, "normalised names collide too")

	require.ErrorIs(t, Register(m, "x", echoRoute()), ErrInvalidRouteName)
	require.Error(t, Register(m, "a/b/v1", Route[Echo, Echo]{}), "nil handler")
	r := echoRoute()
	r.Method = "PATCH"
	require.Error(t, Register(m, "a/b/v1", r))
	r = echoRoute()
	r.Validation = Validation(7)
	require.Error(t, Register(m, "a/b/v1", r))
	r = echoRoute()
	r.Auth.Additional = []Predicate{{Type: "string"}}
	require.Error(t, Register(m, "a/b/v1", r), "predicate without key")
	r.Auth.Additional = []Predicate{TypeOf("admin", "integer")}
	require.Error(t, Register(m, "a/b/v1", r), "unknown typeof")

	assert.Equal(t, []string{"api/system/logout/v1", "api/users/getUser/v1", "api/users/getUser/v2"}, m.Routes())
	e := m.lookup("api/users/getUser/v1")
	require.NotNil(t, e)
	assert.Equal(t, "GET", e.method)
	assert.Equal(t, "POST", m.lookup("api/system/logout/v1").method)
}

type validated struct {
	N int `json:"n"`
}

func (v validated) Validate() error {
	if v.N < 0 {
		return errors.New("n must not be negative")
	}
	return nil
}

type ptrValidated struct {
	S string `json:"s"`
}

func (v *ptrValidated) Validate() error {
	if v.S == "" {
		return errors.New("s is required")
	}
	return nil
}

func TestDecodeInput(t *testing.T) {
	t.Parallel()
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }

	_, err := decodeInput[validated](raw(`{"n":1,"x":2}`), ValidationStrict)
	require.ErrorContains(t, err, "unknown field")
	_, err = decodeInput[validated](raw(`{"n":"1"}`), ValidationStrict)
	require.Error(t, err)
	_, err = decodeInput[validated](raw(`{"n":-1}`), ValidationStrict)
	require.ErrorContains(t, err, "negative")
	v, err := decodeInput[validated](raw(`{"n":3}`), ValidationStrict)
	require.NoError(t, err)
	assert.Equal(t, 3, v.N)

	_, err = decodeInput[ptrValidated](raw(`{}`), ValidationStrict)
	require.ErrorContains(t, err, "required", "pointer-receiver Validate runs")
	_, err = decodeInput[*ptrValidated](raw(`{}`), ValidationStrict)
	require.ErrorContains(t, err, "required", "pointer input type")

	v, err = decodeInput[validated](raw(`{"n":-1,"x":2}`), ValidationRelaxed)
	require.NoError(t, err, "relaxed ignores unknown fields and Validate")
	assert.Equal(t, -1, v.N)
	_, err = decodeInput[validated](raw(`{"n":"1"}`), ValidationRelaxed)
	require.Error(t, err, "relaxed still needs the right types")

	v, err = decodeInput[validated](raw(`{"n":"1","x":2}`), ValidationSkip)
	require.NoError(t, err)
	assert.Equal(t, 0, v.N)

	m, err := decodeInput[map[string]any](raw(`{"a":1}`), ValidationStrict)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": 1.0}, m)
}

// TestStrictDecoderReuse: the pooled decoders carry nothing from
// one input to the next, whether the previous one decoded, failed halfway
// or was large.
func TestStrictDecoderReuse(t *testing.T) {
	t.Parallel()
	big := `{"n":5,"pad":"` + strings.Repeat("x", maxPooledInput) + `"}`
	type padded struct {
		N   int    `json:"n"`
		Pad string `json:"pad"`
	}
	for i := range 200 {
		switch i % 4 {
		case 0:
			v, err := decodeInput[validated](json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), ValidationStrict)
			require.NoError(t, err)
			require.Equal(t, i, v.N)
		case 1:
			_, err := decodeInput[validated](json.RawMessage(`{"n":1,"x":{"deep":[1,2`), ValidationStrict)
			require.Error(t, err)
		case 2:
			_, err := decodeInput[validated](json.RawMessage(`{"x":2}`), ValidationStrict)
			require.ErrorContains(t, err, "unknown field")
			v, err := decodeInput[validated](json.RawMessage(fmt.Sprintf(`{"x":2,"n":%d}`, i)), ValidationRelaxed)
			require.NoError(t, err)
			require.Equal(t, i, v.N)
		case 3:
			v, err := decodeInput[padded](json.RawMessage(big), ValidationStrict)
			require.NoError(t, err)
			require.Equal(t, 5, v.N)
		}
	}
}

func TestSpreadResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		out        string
		wantBody   string
		wantCode   string
		wantStatus int
	}{
		{name: "fields spread", out: `{"a":1}`, wantBody: `{"a":1,"status":"success","httpStatus":200}`, wantStatus: 200},
		{name: "empty object", out: `{}`, wantBody: `{"status":"success","httpStatus":200}`, wantStatus: 200},
		{name: "own status", out: `{"a":1,"httpStatus":201,"status":"success"}`, wantBody: `{"a":1,"httpStatus":201,"status":"success"}`, wantStatus: 201},
		{name: "bad own status", out: `{"httpStatus":99}`, wantBody: `{"httpStatus":200,"status":"success"}`, wantStatus: 200},
		{name: "null", out: `null`, wantCode: "api.emptyResponse", wantStatus: 500},
		{name: "not an object", out: `[1]`, wantCode: "api.invalidResponseStatus", wantStatus: 500},
		{name: "odd status", out: `{"status":"maybe"}`, wantCode: "api.invalidResponseStatus", wantStatus: 500},
		{name: "error envelope", out: `{"status":"error","errorCode":"x.y","httpStatus":409}`, wantCode: "x.y", wantStatus: 409},
		{name: "error without status", out: `{"status":"error","errorCode":"x.y"}`, wantCode: "x.y", wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, f := spreadResult([]byte(tc.out))
			if tc.wantCode != "" {
				require.NotNil(t, f)
				ee := f.env.Normalize(f.fallback)
				assert.Equal(t, tc.wantCode, ee.ErrorCode)
				assert.Equal(t, tc.wantStatus, ee.HTTPStatus)
				return
			}
			require.Nil(t, f)
			assert.JSONEq(t, tc.wantBody, string(env.bytes()))
			assert.Equal(t, tc.wantStatus, env.HTTPStatus())
			assert.Equal(t, "success", env.Status())
		})
	}
}

func TestEnvelopeFields(t *testing.T) {
	t.Parallel()
	env := newEnvelope(json.RawMessage(`{"a":1,"status":"success","httpStatus":200}`), "success", 200)
	require.NoError(t, env.Set("b", "x"))
	env.Delete("a")
	assert.Equal(t, []string{"b", "httpStatus", "status"}, env.Keys())
	require.NoError(t, env.Set("httpStatus", 202))
	assert.Equal(t, 202, env.HTTPStatus())
	require.NoError(t, env.Set("httpStatus", "nope"))
	assert.Equal(t, 200, env.HTTPStatus(), "unusable status falls back")
	require.Error(t, env.Replace([]int{1}))
	require.NoError(t, env.Replace(map[string]any{"status": "error", "errorCode": "z"}))
	assert.True(t, env.IsError())
	assert.Equal(t, "z", env.ErrorEnvelope().ErrorCode)
}

func TestCheckAuth(t *testing.T) {
	t.Parallel()
	compile := func(ps ...Predicate) Auth {
		a := Auth{}
		for _, p := range ps {
			cp, err := p.compile()
			require.NoError(t, err)
			a.Additional = append(a.Additional, cp)
		}
		return a
	}
	user := &luckystack.Session{ID: "u1", Email: "a@b.c", Extra: map[string]json.RawMessage{
		"role": json.RawMessage(`"editor"`), "credits": json.RawMessage(`3`), "banned": json.RawMessage(`null`),
		"tags": json.RawMessage(`["x"]`),
	}}
	tests := []struct {
		name   string
		auth   Auth
		sess   *luckystack.Session
		code   string
		status int
		key    string
		reason string
	}{
		{name: "open", auth: Auth{}, sess: nil},
		{name: "login anonymous", auth: Auth{Login: true}, code: "auth.required", status: 401, reason: "login-required"},
		{name: "login without id", auth: Auth{Login: true}, sess: &luckystack.Session{}, code: "auth.required", status: 401, reason: "login-required"},
		{name: "login ok", auth: Auth{Login: true}, sess: user},
		{name: "predicate anonymous", auth: compile(Equals("admin", true)), code: "auth.forbidden", status: 403, key: "admin", reason: "additional-failed"},
		{name: "omitted admin is false", auth: compile(Equals("admin", true)), sess: user, code: "auth.forbidden", status: 403, key: "admin", reason: "additional-failed"},
		{name: "admin false ok", auth: compile(Equals("admin", false)), sess: user},
		{name: "extra string", auth: compile(Equals("role", "editor")), sess: user},
		{name: "extra number int vs float", auth: compile(Equals("credits", 3)), sess: user},
		{name: "unknown key", auth: compile(Equals("nope", 1)), sess: user, code: "auth.invalidCondition", status: 500, key: "nope", reason: "invalid-condition"},
		{name: "typeof", auth: compile(TypeOf("credits", "number"), TypeOf("role", "string")), sess: user},
		{name: "typeof fails", auth: compile(TypeOf("role", "number")), sess: user, code: "auth.forbidden", status: 403, key: "role", reason: "additional-failed"},
		{name: "typeof skipped for null", auth: compile(TypeOf("banned", "string")), sess: user},
		{name: "nullish", auth: compile(Nullish("banned", true), Nullish("role", false)), sess: user},
		{name: "nullish fails", auth: compile(Nullish("role", true)), sess: user, code: "auth.forbidden", status: 403, key: "role", reason: "additional-failed"},
		{name: "falsy", auth: compile(Falsy("banned", true), Falsy("admin", true), Falsy("credits", false)), sess: user},
		{name: "falsy fails", auth: compile(Falsy("email", true)), sess: user, code: "auth.forbidden", status: 403, key: "email", reason: "additional-failed"},
		{name: "arrays never equal", auth: compile(Equals("tags", []string{"x"})), sess: user, code: "auth.forbidden", status: 403, key: "tags", reason: "additional-failed"},
		{name: "second entry fails", auth: compile(Equals("role", "editor"), Equals("credits", 4)), sess: user, code: "auth.forbidden", status: 403, key: "credits", reason: "additional-failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := checkAuth(tc.auth, tc.sess)
			if tc.code == "" {
				require.Nil(t, f)
				return
			}
			require.NotNil(t, f)
			assert.Equal(t, tc.code, f.code)
			assert.Equal(t, tc.status, f.status)
			assert.Equal(t, tc.key, f.key)
			assert.Equal(t, tc.reason, f.reason)
		})
	}
}

func TestModuleInstallOnce(t *testing.T) {
	t.Parallel()
	m := New(Options{Timeout: -1, RateLimit: RateLimitOptions{OnStoreError: 9}})
	assert.Len(t, m.Verify(nil), 2, "bad options are reported at bootstrap")
	_, err := luckystack.NewServer(luckystack.Options{Args: []string{"0"}, Modules: []luckystack.Module{m}, Getenv: func(string) string { return "" }})
	var be *luckystack.BootstrapError
	require.ErrorAs(t, err, &be)
	assert.Len(t, be.Problems, 2)

	ok := New(Options{})
	s1 := newEnv(t, noLimits(), nil).srv
	require.NoError(t, ok.Install(s1))
	s2 := newEnv(t, noLimits(), nil).srv
	require.Error(t, ok.Install(s2), "a module belongs to one server")
	require.NoError(t, ok.Close(context.Background()))
}

// TestResultEncodesLikeMarshal: handler outputs go through a pooled
// encoder; the envelope must hold what json.Marshal gives (HTML escaped,
// no trailing newline), whatever a previous, larger or failed, encoding
// left in the buffer, and an output that cannot be encoded is a 500.
func TestResultEncodesLikeMarshal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{}, nil)
	type out struct {
		Text string  `json:"text"`
		N    float64 `json:"n,omitempty"`
		C    any     `json:"c,omitempty"`
	}
	req := &Request{RouteName: "api/x/y/v1"}
	big := out{Text: strings.Repeat("x", 4096)}
	_ = e.mod.result(req, &entry{}, big, nil, nil)
	failed := e.mod.result(req, &entry{}, out{C: make(chan int)}, nil, nil)
	assert.Equal(t, "api.internalServerError", failed.ErrorEnvelope().ErrorCode)
	assert.Equal(t, 500, failed.HTTPStatus())

	for _, o := range []out{{Text: "<b>&</b>"}, {Text: "a", N: 1.5}, {Text: "\u2028"}} {
		env := e.mod.result(req, &entry{}, o, nil, nil)
		want, err := json.Marshal(o)
		require.NoError(t, err)
		spread, f := spreadResult(want)
		require.Nil(t, f)
		assert.Equal(t, string(spread.bytes()), string(env.bytes()))
		assert.NotContains(t, string(env.bytes()), "<b>")
	}
}
