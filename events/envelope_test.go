package events_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go/events"
)

func TestNewError(t *testing.T) {
	t.Parallel()
	env := events.NewError(events.CodeAPIRateLimitExceeded, events.ErrorParam{Key: "seconds", Value: 30})
	b, err := json.Marshal(env)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"status":"error",
		"message":"api.rateLimitExceeded",
		"errorCode":"api.rateLimitExceeded",
		"errorParams":[{"key":"seconds","value":30}],
		"httpStatus":429
	}`, string(b))
}

func TestNewErrorWithoutParamsOmitsThem(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(events.NewError(events.CodeAuthRequired))
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":401}`, string(b))
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       events.ErrorEnvelope
		fallback int
		want     events.ErrorEnvelope
	}{
		{
			name: "empty code becomes invalidResponse with 400",
			in:   events.ErrorEnvelope{},
			want: events.ErrorEnvelope{Status: "error", Message: "error.invalidResponse", ErrorCode: "error.invalidResponse", HTTPStatus: 400},
		},
		{
			name:     "explicit status beats fallback",
			in:       events.ErrorEnvelope{ErrorCode: "x.y", HTTPStatus: 418},
			fallback: 500,
			want:     events.ErrorEnvelope{Status: "error", Message: "x.y", ErrorCode: "x.y", HTTPStatus: 418},
		},
		{
			name:     "fallback used when status missing",
			in:       events.ErrorEnvelope{ErrorCode: "x.y"},
			fallback: 404,
			want:     events.ErrorEnvelope{Status: "error", Message: "x.y", ErrorCode: "x.y", HTTPStatus: 404},
		},
		{
			name:     "out-of-range status and fallback fall to 400",
			in:       events.ErrorEnvelope{ErrorCode: "x.y", HTTPStatus: 1000},
			fallback: 42,
			want:     events.ErrorEnvelope{Status: "error", Message: "x.y", ErrorCode: "x.y", HTTPStatus: 400},
		},
		{
			name: "translated message kept, wrong status string fixed",
			in:   events.ErrorEnvelope{Status: "success", Message: "Bitte anmelden", ErrorCode: "auth.required", HTTPStatus: 401},
			want: events.ErrorEnvelope{Status: "error", Message: "Bitte anmelden", ErrorCode: "auth.required", HTTPStatus: 401},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.in.Normalize(tc.fallback))
		})
	}
}

type seconds int

func TestNormalizeParams(t *testing.T) {
	t.Parallel()
	valid := [][]events.ErrorParam{
		{{Key: "s", Value: "text"}},
		{{Key: "b", Value: true}},
		{{Key: "i", Value: -3}, {Key: "u", Value: uint8(7)}, {Key: "f", Value: 1.5}},
		{{Key: "named", Value: seconds(30)}},
		{{Key: "n", Value: json.Number("12.5")}},
		{{Key: "", Value: "empty key is a string too"}},
	}
	for _, params := range valid {
		env := events.ErrorEnvelope{ErrorCode: "c", ErrorParams: params}.Normalize(0)
		assert.Equal(t, params, env.ErrorParams)
		_, err := json.Marshal(env)
		assert.NoError(t, err)
	}

	invalid := []events.ErrorParam{
		{Key: "nil", Value: nil},
		{Key: "map", Value: map[string]any{"a": 1}},
		{Key: "slice", Value: []int{1}},
		{Key: "nan", Value: math.NaN()},
		{Key: "inf", Value: math.Inf(1)},
		{Key: "badnum", Value: json.Number("abc")},
		{Key: "raw", Value: json.RawMessage(`{"a":1}`)},
		{Key: "struct", Value: struct{}{}},
	}
	for _, bad := range invalid {
		// One bad entry drops the whole list, as the original does.
		params := []events.ErrorParam{{Key: "ok", Value: "fine"}, bad}
		env := events.ErrorEnvelope{ErrorCode: "c", ErrorParams: params}.Normalize(0)
		assert.Nil(t, env.ErrorParams, bad.Key)
	}
}

func TestNormalizeParamsFromWire(t *testing.T) {
	t.Parallel()
	// Envelopes can come from handler JSON; decoded values must validate
	// the same way as Go-built ones.
	var env events.ErrorEnvelope
	require.NoError(t, json.Unmarshal([]byte(`{"errorCode":"c","errorParams":[{"key":"a","value":1},{"key":"b","value":"x"}]}`), &env))
	assert.Len(t, env.Normalize(0).ErrorParams, 2)

	require.NoError(t, json.Unmarshal([]byte(`{"errorCode":"c","errorParams":[{"key":"a","value":{"deep":1}}]}`), &env))
	assert.Nil(t, env.Normalize(0).ErrorParams)
}

func TestNormalizeDoesNotAliasCallerParams(t *testing.T) {
	t.Parallel()
	params := []events.ErrorParam{{Key: "k", Value: "v"}}
	env := events.ErrorEnvelope{ErrorCode: "c", ErrorParams: params}.Normalize(0)
	env.ErrorParams[0].Value = "changed"
	assert.Equal(t, "v", params[0].Value)
}

func TestEnvelopeWithoutMessageOmitsIt(t *testing.T) {
	t.Parallel()
	// The crash fallback of the original has no message field at all.
	b, err := json.Marshal(events.ErrorEnvelope{Status: events.StatusError, ErrorCode: events.CodeAPIServerExecutionFailed, HTTPStatus: 500})
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":"error","errorCode":"api.serverExecutionFailed","httpStatus":500}`, string(b))
}
