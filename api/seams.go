package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/luckystack/luckystack-go"
)

// AuthFailure says why [Auth.Check] refused a session: the error code, its
// status, the failed predicate's key ("" for a missing login) and the
// apiAuthRejected reason.
type AuthFailure struct {
	// Code is auth.required, auth.forbidden or auth.invalidCondition.
	Code string
	// Status is 401, 403 or 500.
	Status int
	// Key is the failed predicate's key ("" for auth.required).
	Key string
	// Reason is "login-required", "additional-failed" or
	// "invalid-condition".
	Reason string
}

// Compile validates a's predicates and normalises their values, as
// [Register] does; other modules (sync) call it once at registration.
func (a Auth) Compile() (Auth, error) {
	out := Auth{Login: a.Login}
	for _, p := range a.Additional {
		cp, err := p.compile()
		if err != nil {
			return Auth{}, fmt.Errorf("api: %w", err)
		}
		out.Additional = append(out.Additional, cp)
	}
	return out, nil
}

// Check applies a compiled Auth to the caller's session (nil when
// anonymous) with the API's rules (luckystack-wire.md §3.5); nil means
// admitted. Other modules use it so that every transport judges the same
// session the same way.
func (a Auth) Check(s *luckystack.Session) *AuthFailure {
	f := checkAuth(a, s)
	if f == nil {
		return nil
	}
	return &AuthFailure{Code: f.code, Status: f.status, Key: f.key, Reason: f.reason}
}

// DecodeInput decodes raw into an In with the rules of validation mode
// (unknown fields, wrong types, the input's Validate method), exactly as
// the API pipeline does; the error's text is the detail for validation
// hooks. The sync module uses it so both modules validate alike.
func DecodeInput[In any](raw json.RawMessage, mode Validation) (In, error) {
	return decodeInput[In](raw, mode)
}

// ResponseHeader returns the HTTP response's header, which a handler may
// change before it returns (to set a cookie, say); the reply is written
// after the handler. Over the socket it is nil.
func (r *Request) ResponseHeader() http.Header { return r.header }
