package socketio

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// oldCheckJSON is what checkJSON did before scanJSON: encoding/json's
// verdict, then a depth count. scanJSON must agree with it everywhere.
func oldCheckJSON(data []byte) error {
	if !json.Valid(data) {
		return errInvalidPayload
	}
	depth, inStr, esc := 0, false, false
	for _, c := range data {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth > maxNesting {
				return errTooDeep
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

var jsonSeeds = []string{
	``, ` `, `1`, `-0`, `-`, `01`, `1.`, `1.5`, `1e5`, `1E+5`, `1e`, `-1.5e-3`, `.5`, `+1`,
	`"a"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\/"`, "\"\t\"", `"unterminated`, `"a\"`,
	`true`, `tru`, `false`, `null`, `nul`, `nullx`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`,
	`{}`, `{ }`, `{"a":1}`, `{"a" : [1, {"b": null}] }`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{1:2}`,
	`{"a":1]`, `[1}`, `[[]]`, `1 2`, ` {"a":1} `, `["apiRequest",{"name":"x","data":{},"responseIndex":1}]`,
	"[\"\xff\xfe\"]", `"\ud800"`,
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting),
	strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
}

func TestCheckJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range jsonSeeds {
		assert.Equal(t, oldCheckJSON([]byte(s)), checkJSON([]byte(s)), "%q", s)
	}
}

// FuzzScanJSON compares the one-pass scanner with encoding/json's
// validator and the depth limit on arbitrary input.
func FuzzScanJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := checkJSON(data), oldCheckJSON(data); got != want {
			t.Fatalf("checkJSON(%q) = %v, want %v", data, got, want)
		}
	})
}
