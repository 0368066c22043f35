package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/events"
)

// Auth is a route's access rule (luckystack-wire.md §3.5). The zero value
// lets everybody in, anonymous callers included.
type Auth struct {
	// Login requires a session with a user id (auth.required, 401).
	Login bool
	// Additional predicates over session fields must all hold
	// (auth.forbidden, 403, with param "key"). A non-empty list refuses
	// anonymous callers even without Login.
	Additional []Predicate
}

// Predicate constrains one session field, addressed by its JSON name
// ("admin", "email", or a project field kept in Session.Extra). Every
// constraint that is set must hold. A key the session object lacks is a
// server-side mistake and answers auth.invalidCondition (500).
//
// The session is seen as its JSON object, as in the original: framework
// fields that Go omits when empty count as present with their zero value
// (false, "", null), so Equals("admin", true) forbids a non-admin instead
// of failing as an unknown key.
type Predicate struct {
	// Key is the session field's JSON name.
	Key string
	// Value is compared with JavaScript's === when HasValue is set: numbers
	// by value, strings and booleans exactly, null equals nil, and objects or
	// arrays never compare equal.
	Value any
	// HasValue turns the Value comparison on; it exists because nil is a
	// value to compare with (null).
	HasValue bool
	// Type, when non-empty, is the JavaScript typeof the field must have
	// ("string", "number", "boolean", "object"). It is only checked when
	// the value is neither null nor absent.
	Type string
	// Nullish, when set, must equal "the value is null".
	Nullish *bool
	// MustBeFalsy, when set, must equal the value's JavaScript falsiness
	// (false, 0, "" and null are falsy).
	MustBeFalsy *bool
}

// Equals is a predicate requiring session field key to be === v.
func Equals(key string, v any) Predicate { return Predicate{Key: key, Value: v, HasValue: true} }

// TypeOf is a predicate requiring session field key to have JavaScript
// typeof typ when it is not null.
func TypeOf(key, typ string) Predicate { return Predicate{Key: key, Type: typ} }

// Nullish is a predicate requiring session field key to be null (want) or
// not null (!want).
func Nullish(key string, want bool) Predicate { return Predicate{Key: key, Nullish: &want} }

// Falsy is a predicate requiring session field key to be falsy (want) or
// truthy (!want).
func Falsy(key string, want bool) Predicate { return Predicate{Key: key, MustBeFalsy: &want} }

var jsTypes = map[string]bool{"string": true, "number": true, "boolean": true, "object": true, "undefined": true, "bigint": true, "function": true, "symbol": true}

// compile validates a predicate at registration and normalises Value the way
// session values are decoded (numbers become float64), so that 1 === 1.0.
func (p Predicate) compile() (Predicate, error) {
	if p.Key == "" {
		return p, fmt.Errorf("api: auth predicate without a key")
	}
	if p.Type != "" && !jsTypes[p.Type] {
		return p, fmt.Errorf("api: auth predicate %q: unknown type %q", p.Key, p.Type)
	}
	if p.HasValue {
		b, err := json.Marshal(p.Value)
		if err != nil {
			return p, fmt.Errorf("api: auth predicate %q: value: %w", p.Key, err)
		}
		var v any
		_ = json.Unmarshal(b, &v)
		p.Value = v
	}
	return p, nil
}

// sessionDefaults are the framework fields a Go session always has, with
// the JSON value an omitted one stands for.
var sessionDefaults = map[string]any{
	"id": "", "email": "", "name": "", "avatar": "", "admin": false,
	"language": "", "location": nil, "roomCodes": []any{}, "csrfToken": "", "lastLogin": "",
}

// sessionObject returns the session as the JSON object predicates see.
func sessionObject(s *luckystack.Session) (map[string]any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range sessionDefaults {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m, nil
}

// authFailure says why a request was refused, with the hook's reason.
type authFailure struct {
	code   string
	status int
	key    string
	reason string // login-required | additional-failed | invalid-condition
}

func (f *authFailure) envelope() events.ErrorEnvelope {
	e := events.ErrorEnvelope{ErrorCode: f.code, HTTPStatus: f.status}
	if f.key != "" {
		e.ErrorParams = []events.ErrorParam{{Key: "key", Value: f.key}}
	}
	return e
}

// checkAuth applies a route's Auth to the caller's session (nil when
// anonymous).
func checkAuth(a Auth, s *luckystack.Session) *authFailure {
	if a.Login && (s == nil || s.ID == "") {
		return &authFailure{code: events.CodeAuthRequired, status: http.StatusUnauthorized, reason: "login-required"}
	}
	if len(a.Additional) == 0 {
		return nil
	}
	forbidden := func(key string) *authFailure {
		return &authFailure{code: events.CodeAuthForbidden, status: http.StatusForbidden, key: key, reason: "additional-failed"}
	}
	if s == nil {
		return forbidden(a.Additional[0].Key)
	}
	obj, err := sessionObject(s)
	if err != nil {
		return &authFailure{code: events.CodeAuthInvalidCondition, status: http.StatusInternalServerError, key: a.Additional[0].Key, reason: "invalid-condition"}
	}
	for _, p := range a.Additional {
		v, ok := obj[p.Key]
		if !ok {
			return &authFailure{code: events.CodeAuthInvalidCondition, status: http.StatusInternalServerError, key: p.Key, reason: "invalid-condition"}
		}
		if !p.holds(v) {
			return forbidden(p.Key)
		}
	}
	return nil
}

func (p Predicate) holds(v any) bool {
	if p.Nullish != nil && (v == nil) != *p.Nullish {
		return false
	}
	if p.Type != "" && v != nil && jsTypeOf(v) != p.Type {
		return false
	}
	if p.HasValue && !strictEqual(v, p.Value) {
		return false
	}
	if p.MustBeFalsy != nil && falsy(v) != *p.MustBeFalsy {
		return false
	}
	return true
}

// jsTypeOf is typeof for a decoded JSON value.
func jsTypeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "object"
}

// strictEqual is === for decoded JSON values: objects and arrays are
// references in JavaScript, so two of them are never equal.
func strictEqual(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	}
	return false
}
