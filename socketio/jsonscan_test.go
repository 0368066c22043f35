package socketio

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// refCheckJSON is the reference checkJSON is held to: encoding/json's
// verdict, then the depth encoding/json's tokenizer reports.
func refCheckJSON(data []byte) error {
	if !json.Valid(data) {
		return errInvalidPayload
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: the value ended
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			if depth++; depth > maxNesting {
				return errTooDeep
			}
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
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
		assert.Equal(t, refCheckJSON([]byte(s)), checkJSON([]byte(s)), "%q", s)
	}
}

// FuzzScanJSON compares the one-pass scanner with encoding/json's
// validator and tokenizer on arbitrary input.
func FuzzScanJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := checkJSON(data), refCheckJSON(data); got != want {
			t.Fatalf("checkJSON(%q) = %v, want %v", data, got, want)
		}
	})
}
