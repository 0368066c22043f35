package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The one-pass scanner must read every payload exactly as encoding/json
// does: same acceptance, same name, data and index.
func TestAPIPayloadScanMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"name":"api/bench/echo/v1","data":{"ts":1,"pad":"x"},"responseIndex":3}`,
		` {"name":"a","data":{},"responseIndex":0} `,
		`{"NAME":"a","Data":{"k":[1,2,{"z":null}]},"ResponseIndex":"7"}`,
		`{"name":"a","name":"b","data":{"x":1},"data":[],"responseIndex":1}`,
		`{"name":null,"data":null,"responseIndex":null}`,
		`{"name":5,"data":"s","responseIndex":1.5}`,
		`{"name":"a\"b\u0041","data":{},"responseIndex":-1}`,
		`{"n\u0061me":"esc key","data":{},"responseIndex":2}`,
		`{"reſponseIndex":4,"name":"a","data":{}}`,
		`{"other":{"deep":[[[[{"a":"b"}]]]]},"name":"x","data":{"y":true,"z":false},"responseIndex":9}`,
		`{}`, `[]`, `"s"`, ``, `   `, `null`, `{`, `{"name"}`, `{"name":}`, `{"name":"a",}`,
		`{"name":"a"} x`, `{"a":01}`, `{"a":1.}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":"\x"}`,
		`{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":1e+5,"b":-0.5E-3}`,
		`{"a":"é","name":"ü","data":{"ö":1},"responseIndex":1}`, `{"a":[]}`, `{"a":{}}`, `{"a":[{}]}`, `{"responseIndex":99999999999999999999,"name":"a","data":{}}`,
		`{"responseIndex":-0,"data":{}}`, `{"responseIndex":3.0,"data":{}}`, `{"responseIndex":"12","data":{}}`,
	}
	deep := func(n int, open, close string) string {
		return `{"name":"a","data":{"x":` + strings.Repeat(open, n) + strings.Repeat(close, n) + `},"responseIndex":1}`
	}
	inputs = append(inputs, deep(63, "[", "]"), deep(64, `{"k":[`, "]}"), deep(65, "[", "]"), deep(200, `[{"k":`, "}]"),
		deep(130, "[", "]")+"]", deep(129, `{"a":`, "}")[:60])
	// Names of registered routes resolve to the key's own string.
	m := New(Options{})
	require.NoError(t, Register(m, "bench/echo/v1", echoRoute()))
	inputs = append(inputs, `{"name":"api/bench/echo/v1","data":{},"responseIndex":1}`,
		`{"name":"api/bench/echo/v2","data":{},"responseIndex":1}`, `{"name":"api/bench/ech\u006f/v1","data":{},"responseIndex":1}`)
	for _, in := range inputs {
		var want, got apiPayload
		wantOK := decodeAPIPayload(&want, json.RawMessage(in))
		gotOK := parseAPIPayload(&got, json.RawMessage(in))
		got.resolveName(m)
		assert.Equal(t, wantOK, gotOK, "accept %q", in)
		if !wantOK {
			continue
		}
		assert.Equal(t, want.name, got.name, "name %q", in)
		assert.Equal(t, want.nameOK, got.nameOK, "nameOK %q", in)
		assert.Equal(t, string(want.data), string(got.data), "data %q", in)
		assert.Equal(t, want.dataObj, got.dataObj, "dataObj %q", in)
		assert.Equal(t, want.ri, got.ri, "responseIndex %q", in)
	}
}

// Request.Data points into the event's own memory, with no copy: it must
// stay intact after the handler returned and later requests came in.
func TestRequestDataOutlivesTheRequest(t *testing.T) {
	t.Parallel()
	kept := make(chan json.RawMessage, 32)
	e := newEnv(t, Options{RateLimit: RateLimitOptions{Disabled: true}}, func(m *Module) {
		require.NoError(t, Register(m, "test/keep/v1", Route[map[string]any, map[string]any]{
			Handler: func(_ context.Context, req *Request, in map[string]any) (map[string]any, error) {
				kept <- req.Data
				return in, nil
			},
		}))
	})
	c := e.dial("")
	var want []string
	for i := range 20 {
		data := map[string]any{"i": i, "pad": strings.Repeat("z", i*9)}
		b, err := json.Marshal(data)
		require.NoError(t, err)
		want = append(want, string(b))
		r := request(t, c, i, "api/test/keep/v1", data)
		require.Equal(t, "success", r["status"], "%v", r)
	}
	for i := range want {
		select {
		case got := <-kept:
			assert.JSONEq(t, want[i], string(got), "request %d", i)
		case <-time.After(waitFor):
			t.Fatalf("request %d never reached the handler", i)
		}
	}
}

func BenchmarkAPIPayloadParse(b *testing.B) {
	in := json.RawMessage(`{"name":"api/bench/echo/v1","data":{"ts":1732584000000000,"pad":"xxxxxxxx"},"responseIndex":123}`)
	b.ReportAllocs()
	for b.Loop() {
		var p apiPayload
		parseAPIPayload(&p, in)
	}
}
