package events

import (
	"encoding/json"
	"math"
	"reflect"
)

// Values of the "status" field that the client branches on.
const (
	// StatusSuccess marks a success envelope, acknowledgement or fan-out
	// frame.
	StatusSuccess = "success"
	// StatusError marks an error envelope or error frame.
	StatusError = "error"
	// StatusStream marks a fan-out stream frame; see [SyncStreamFrame].
	StatusStream = "stream"
)

// ErrorEnvelope is the error reply shape shared by API, sync and room
// replies (luckystack-wire.md §2.3):
//
//	{"status":"error","message":...,"errorCode":...,"errorParams":[...],"httpStatus":...}
//
// Build envelopes with [NewError], or pass handler-supplied ones through
// [ErrorEnvelope.Normalize]; a hand-built zero value is not valid on the wire.
//
// ErrorEnvelope deliberately has no JSON methods, so it can be embedded in
// larger frames ([SyncErrorFrame], [RoomsErrorReply]) and its fields flatten
// into them.
type ErrorEnvelope struct {
	// Status is always [StatusError] after normalisation.
	Status string `json:"status"`
	// Message is the translated text. Without a translator it equals
	// ErrorCode. It is omitted when empty because two original replies (the
	// preSocketMessage stop and the socket crash fallback) carry no message
	// at all.
	Message string `json:"message,omitempty"`
	// ErrorCode is a catalogue code such as [CodeAuthRequired] or a code
	// chosen by a hook.
	ErrorCode string `json:"errorCode"`
	// ErrorParams fill placeholders in the translated message. Nil is
	// omitted from the wire.
	ErrorParams []ErrorParam `json:"errorParams,omitempty"`
	// HTTPStatus is the status the HTTP transport answers with and the value
	// socket clients see in the envelope.
	HTTPStatus int `json:"httpStatus"`
}

// ErrorParam is one {key, value} pair of [ErrorEnvelope.ErrorParams]. Value
// must be a string, a bool or a finite number (any Go integer or float kind,
// or a valid [json.Number]); [ErrorEnvelope.Normalize] drops the whole list
// otherwise, as the original does.
type ErrorParam struct {
	// Key names the placeholder in the translated message, e.g. "seconds".
	Key string `json:"key"`
	// Value is substituted for the placeholder.
	Value any `json:"value"`
}

// NewError returns a normalised envelope for code with the catalogue's
// default status ([DefaultStatus]) and Message equal to the code, which is
// what the client shows when no translator is registered.
func NewError(code string, params ...ErrorParam) ErrorEnvelope {
	return ErrorEnvelope{ErrorCode: code, ErrorParams: params}.Normalize(DefaultStatus(code))
}

// Normalize returns a copy of e with the rules of luckystack-wire.md §2.3
// applied:
//   - Status becomes [StatusError];
//   - an empty ErrorCode becomes [CodeInvalidResponse];
//   - HTTPStatus is kept if valid, else fallbackStatus if valid, else
//     [DefaultHTTPStatus];
//   - an empty Message becomes the ErrorCode;
//   - ErrorParams is dropped entirely if any entry has an unsupported value.
//
// A status is valid when it lies in 100..599. The original accepts any
// number, but an out-of-range status would make net/http's WriteHeader panic
// on the HTTP transport, so it is treated as absent instead.
func (e ErrorEnvelope) Normalize(fallbackStatus int) ErrorEnvelope {
	e.Status = StatusError
	if e.ErrorCode == "" {
		e.ErrorCode = CodeInvalidResponse
	}
	switch {
	case validStatus(e.HTTPStatus):
	case validStatus(fallbackStatus):
		e.HTTPStatus = fallbackStatus
	default:
		e.HTTPStatus = DefaultHTTPStatus
	}
	if e.Message == "" {
		e.Message = e.ErrorCode
	}
	if !validParams(e.ErrorParams) {
		e.ErrorParams = nil
	} else if e.ErrorParams != nil {
		// Copy so the caller's slice is never shared with an envelope that
		// may be mutated later by a formatter hook.
		e.ErrorParams = append([]ErrorParam(nil), e.ErrorParams...)
	}
	return e
}

func validStatus(s int) bool { return s >= 100 && s <= 599 }

func validParams(params []ErrorParam) bool {
	for _, p := range params {
		if !validParamValue(p.Value) {
			return false
		}
	}
	return true
}

// validParamValue accepts values that encode as a JSON string, boolean or
// number. Kinds rather than concrete types are checked so that named types
// such as `type Seconds int` work too.
func validParamValue(v any) bool {
	if n, ok := v.(json.Number); ok {
		_, err := n.Float64()
		return err == nil
	}
	if v == nil {
		return false
	}
	if _, ok := v.(json.Marshaler); ok {
		// A custom encoding could produce an object or array whatever the
		// underlying kind is.
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		return !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return false
}
