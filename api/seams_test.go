package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
)

// TestResponseHeader: an HTTP handler's header changes reach the response;
// over the socket there is no header.
func TestResponseHeader(t *testing.T) {
	hasHeader := make(chan bool, 1)
	e := newEnv(t, noLimits(), func(m *Module) {
		require.NoError(t, Register(m, "system/mark/v1", Route[Echo, Echo]{Handler: func(_ context.Context, req *Request, in Echo) (Echo, error) {
			h := req.ResponseHeader()
			hasHeader <- h != nil
			if h != nil {
				h.Set("X-Mark", "yes")
			}
			return in, nil
		}}))
	})
	resp, _ := e.Do(http.MethodPost, "/api/system/mark/v1", "", "application/json", strings.NewReader(`{"n":1}`), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "yes", resp.Header.Get("X-Mark"))
	assert.True(t, recv(t, hasHeader))
	c := e.dial("")
	assert.Equal(t, "success", request(t, c, 1, "api/system/mark/v1", Echo{N: 1})["status"])
	assert.False(t, recv(t, hasHeader))
}

// TestAuthCheckSeam: Auth.Compile and Auth.Check judge sessions as the
// pipeline does.
func TestAuthCheckSeam(t *testing.T) {
	a, err := Auth{Login: true, Additional: []Predicate{Equals("admin", true)}}.Compile()
	require.NoError(t, err)
	assert.Equal(t, "auth.required", a.Check(nil).Code)
	f := a.Check(&luckystack.Session{ID: "u"})
	require.NotNil(t, f)
	assert.Equal(t, AuthFailure{Code: "auth.forbidden", Status: 403, Key: "admin", Reason: "additional-failed"}, *f)
	assert.Nil(t, a.Check(&luckystack.Session{ID: "u", Admin: true}))
	_, err = Auth{Additional: []Predicate{{}}}.Compile()
	assert.Error(t, err)
}
