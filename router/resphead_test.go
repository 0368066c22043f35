package router

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerOutcome is what the router uses of an answer, and what is left
// in the reader after its body.
type answerOutcome struct {
	Status        int
	Header        http.Header
	ContentLength int64
	Close         bool
	Body          string
	BodyErr       bool
	Rest          string
}

func outcome(t *testing.T, resp *http.Response, br *bufio.Reader) answerOutcome {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	o := answerOutcome{Status: resp.StatusCode, Header: resp.Header, ContentLength: resp.ContentLength, Close: resp.Close,
		Body: string(body), BodyErr: err != nil}
	if err == nil {
		rest, _ := io.ReadAll(br)
		o.Rest = string(rest)
	}
	if len(o.Header) == 0 {
		o.Header = nil
	}
	return o
}

// viaNetHTTP is the oracle: http.ReadResponse on the same input.
func viaNetHTTP(t *testing.T, in, method string) (answerOutcome, bool) {
	br := bufio.NewReaderSize(strings.NewReader(in), 4<<10)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return answerOutcome{}, false
	}
	return outcome(t, resp, br), true
}

func TestReadAnswer(t *testing.T) {
	t.Parallel()
	next := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
	tests := []struct {
		name, in, method string
		plain            bool // taken by the own parser
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-type: text/plain\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello" + next, "GET", true},
		{"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n" + next, "GET", true},
		{"HEAD keeps the length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + next, "HEAD", true},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n" + next, "GET", true},
		{"304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" + next, "GET", true},
		{"close-delimited", "HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil the end", "GET", true},
		{"connection close", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", "POST", true},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n" + next, "GET", true},
		{"UTF-8 value", "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"\xc3\xa9\"\r\nContent-Length: 0\r\n\r\n", "GET", true},
		{"early hints first", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + next, "GET", true},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", false},
		{"folded", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "GET", false},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "GET", false},
		{"length and coding", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "GET", false},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", "GET", false},
		{"head over the buffer", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 5<<10) + "\r\nContent-Length: 2\r\n\r\nok", "GET", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 4<<10)
			resp, err := readPlainAnswer(br, tc.method)
			require.NoError(t, err)
			assert.Equal(t, tc.plain, resp != nil)
			want, ok := viaNetHTTP(t, tc.in, tc.method)
			br = bufio.NewReaderSize(strings.NewReader(tc.in), 4<<10)
			resp, err = readAnswer(br, tc.method)
			if !ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, outcome(t, resp, br))
		})
	}
	t.Run("connection closed before an answer", func(t *testing.T) {
		_, err := readAnswer(bufio.NewReader(strings.NewReader("")), "GET")
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a stale connection reads as net/http reports it")
	})
}

// FuzzReadAnswer checks the own answer parser against http.ReadResponse:
// what it takes, net/http reads the same way, body and what follows it
// included.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nrest",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"code\":1}",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		br := bufio.NewReaderSize(strings.NewReader(string(in)), 4<<10)
		resp, err := readPlainAnswer(br, method)
		if resp == nil || err != nil {
			return
		}
		got := outcome(t, resp, br)
		want, ok := viaNetHTTP(t, string(in), method)
		require.True(t, ok, "net/http refuses what the own parser took: %q", in)
		if want.BodyErr || got.BodyErr {
			assert.Equal(t, want.BodyErr, got.BodyErr, "%q", in)
			return
		}
		assert.Equal(t, want, got, "%q", in)
	})
}

// Connection-style token lists: the request's parsed header and a raw head
// line are read with the same rules (case-insensitive, OWS around each
// token, several fields of one name).
func TestHeaderTokens(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{[]string{"Upgrade"}, true},
		{[]string{"keep-alive, upgrade"}, true},
		{[]string{"keep-alive,\tUPGRADE "}, true},
		{[]string{"keep-alive", "Upgrade"}, true},
		{[]string{"upgraded"}, false},
		{[]string{"keep-alive, up grade"}, false},
		{nil, false},
	} {
		h := http.Header{"Connection": tc.values}
		require.Equal(t, tc.want, headerHasToken(h, "Connection", "upgrade"), "%q", tc.values)
		if len(tc.values) == 1 {
			require.Equal(t, tc.want, headerValueHasToken(tc.values[0], "upgrade"), "%q", tc.values[0])
		}
	}
}
