package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/luckystack/luckystack-go/events"
)

// Envelope is a reply on its way to the caller: the JSON object sent as
// apiResponse-<i>, as the HTTP body or as the SSE final frame. Respond hooks
// and error formatters read and change it field by field.
//
// It starts as encoded bytes and is decoded into fields only when someone
// reads or changes a field, so the common path (no respond hooks) never
// pays for a map. An Envelope is not safe for concurrent use; the pipeline
// hands it to one hook at a time.
type Envelope struct {
	body   json.RawMessage            // authoritative while fields is nil
	fields map[string]json.RawMessage // authoritative once decoded

	status     string // cached while fields is nil
	httpStatus int    // cached while fields is nil
	fallback   int    // status when the fields lack a usable httpStatus
}

func newEnvelope(body json.RawMessage, status string, httpStatus int) *Envelope {
	e := new(Envelope)
	e.init(body, status, httpStatus)
	return e
}

// init makes e the envelope of body, whose status fields are given.
func (e *Envelope) init(body json.RawMessage, status string, httpStatus int) {
	*e = Envelope{body: body, status: status, httpStatus: httpStatus, fallback: httpStatus}
}

// errorEnvelope encodes a normalised error envelope.
func errorEnvelope(e events.ErrorEnvelope) *Envelope {
	b, err := json.Marshal(e)
	if err != nil {
		// Only ErrorParams can fail, and Normalize vetted them.
		e.ErrorParams = nil
		b, _ = json.Marshal(e)
	}
	return newEnvelope(b, events.StatusError, e.HTTPStatus)
}

func (e *Envelope) decode() {
	if e.fields != nil {
		return
	}
	e.fields = map[string]json.RawMessage{}
	_ = json.Unmarshal(e.body, &e.fields)
	e.body = nil
}

// Status returns the "status" field: "success" or "error" for envelopes
// the pipeline built, whatever a hook set otherwise.
func (e *Envelope) Status() string {
	if e.fields == nil {
		return e.status
	}
	var s string
	_ = json.Unmarshal(e.fields["status"], &s)
	return s
}

// IsError reports whether the envelope is an error reply; only those go
// through error formatters.
func (e *Envelope) IsError() bool { return e.Status() == events.StatusError }

// HTTPStatus returns the "httpStatus" field, which is also the HTTP
// response status. A missing or unusable value (not an integer in
// 200..599) gives the status the pipeline chose.
func (e *Envelope) HTTPStatus() int {
	if e.fields == nil {
		return e.httpStatus
	}
	var n json.Number
	if json.Unmarshal(e.fields["httpStatus"], &n) == nil {
		if i, err := strconv.Atoi(n.String()); err == nil && i >= 200 && i <= 599 {
			return i
		}
	}
	return e.fallback
}

// Get returns the encoded value of field key, or nil.
func (e *Envelope) Get(key string) json.RawMessage {
	e.decode()
	return e.fields[key]
}

// Set encodes v into field key.
func (e *Envelope) Set(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.decode()
	e.fields[key] = b
	return nil
}

// Delete removes field key.
func (e *Envelope) Delete(key string) {
	e.decode()
	delete(e.fields, key)
}

// Keys returns the field names, sorted.
func (e *Envelope) Keys() []string {
	e.decode()
	return slices.Sorted(maps.Keys(e.fields))
}

// Decode decodes the whole envelope into v.
func (e *Envelope) Decode(v any) error { return json.Unmarshal(e.bytes(), v) }

// Replace swaps the whole envelope for v, which must encode as a JSON
// object; the pipeline's status stays the fallback for the HTTP status.
func (e *Envelope) Replace(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil || !events.IsObject(b) {
		return fmt.Errorf("api: envelope must be a JSON object: %w", events.ErrNotObject)
	}
	e.body, e.fields = nil, m
	return nil
}

// ErrorEnvelope returns the standard error fields of the envelope.
func (e *Envelope) ErrorEnvelope() events.ErrorEnvelope {
	var ee events.ErrorEnvelope
	_ = e.Decode(&ee)
	return ee
}

// MarshalJSON returns the envelope's JSON object.
func (e *Envelope) MarshalJSON() ([]byte, error) { return e.bytes(), nil }

func (e *Envelope) bytes() json.RawMessage {
	if e.fields == nil {
		return e.body
	}
	b, err := json.Marshal(e.fields)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

var (
	statusKey     = []byte(`"status"`)
	httpStatusKey = []byte(`"httpStatus"`)
)

// handlerFailure is what turns a handler's output into an error reply
// instead of a success: a code with its fallback status, or the error
// envelope the output itself described.
type handlerFailure struct {
	env      events.ErrorEnvelope
	fallback int
}

// spreadResult builds the success envelope from a handler's encoded output:
// { ...output, status: "success", httpStatus: output.httpStatus ?? 200 }
// (luckystack-wire.md §2.3). Output that is null, not an object, or carries
// a status other than success/error fails the way the original does; an
// output with status "error" is treated as the handler's error envelope.
func spreadResult(b []byte) (*Envelope, *handlerFailure) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, &handlerFailure{env: events.ErrorEnvelope{ErrorCode: events.CodeAPIEmptyResponse}, fallback: http.StatusInternalServerError}
	}
	if b[0] != '{' {
		return nil, &handlerFailure{env: events.ErrorEnvelope{ErrorCode: events.CodeAPIInvalidResponseStatus}, fallback: http.StatusInternalServerError}
	}
	if !bytes.Contains(b, statusKey) && !bytes.Contains(b, httpStatusKey) {
		// Fast path: append our two fields. They come last, and JSON.parse
		// keeps the last of duplicate keys, which is the spread's override.
		out := make([]byte, 0, len(b)+36)
		out = append(out, b[:len(b)-1]...)
		if len(b) > 2 {
			out = append(out, ',')
		}
		out = append(out, `"status":"success","httpStatus":200}`...)
		return newEnvelope(out, events.StatusSuccess, http.StatusOK), nil
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, &handlerFailure{env: events.ErrorEnvelope{ErrorCode: events.CodeAPIInvalidResponseStatus}, fallback: http.StatusInternalServerError}
	}
	var status string
	if raw, ok := fields["status"]; ok {
		if json.Unmarshal(raw, &status) != nil {
			status = "?"
		}
	}
	switch status {
	case "", events.StatusSuccess:
	case events.StatusError:
		var ee events.ErrorEnvelope
		_ = json.Unmarshal(b, &ee)
		fallback := ee.HTTPStatus
		if fallback == 0 {
			fallback = http.StatusBadRequest
		}
		return nil, &handlerFailure{env: ee, fallback: fallback}
	default:
		return nil, &handlerFailure{env: events.ErrorEnvelope{ErrorCode: events.CodeAPIInvalidResponseStatus}, fallback: http.StatusInternalServerError}
	}
	code := http.StatusOK
	var n json.Number
	if json.Unmarshal(fields["httpStatus"], &n) == nil {
		if i, err := strconv.Atoi(n.String()); err == nil && i >= 200 && i <= 599 {
			code = i
		}
	}
	fields["status"] = json.RawMessage(`"success"`)
	fields["httpStatus"] = json.RawMessage(strconv.Itoa(code))
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, &handlerFailure{env: events.ErrorEnvelope{ErrorCode: events.CodeAPIInternalServerError}, fallback: http.StatusInternalServerError}
	}
	return newEnvelope(out, events.StatusSuccess, code), nil
}
