package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strings"
)

// readAnswer reads a backend's answer head from br, as http.ReadResponse
// does for the router's needs, with a parser of its own for plain heads
// (HTTP/1.1, CRLF lines, no folding, one Content-Length or "chunked" or
// neither, in the buffer at once): one string for the head instead of one
// per line, no textproto reader, no transfer-coding tables. Anything else
// goes to http.ReadResponse, which nothing was consumed from.
func readAnswer(br *bufio.Reader, method string) (*http.Response, error) {
	head, err := peekHead(br)
	if err != nil {
		return nil, err
	}
	return answerFrom(br, head, method)
}

// answerFrom reads the answer whose head peekHead returned, still
// unconsumed ("" when peekHead found none whole): parsed here when it is
// plain, else by http.ReadResponse.
func answerFrom(br *bufio.Reader, head, method string) (*http.Response, error) {
	if resp := plainAnswerFrom(br, head, method); resp != nil {
		return resp, nil
	}
	return http.ReadResponse(br, &http.Request{Method: method})
}

// readPlainAnswer returns nil and no error when the head is not plain (or
// not whole within the buffer), having consumed nothing; the error of a
// connection that ended before any byte.
func readPlainAnswer(br *bufio.Reader, method string) (*http.Response, error) {
	head, err := peekHead(br)
	return plainAnswerFrom(br, head, method), err
}

// plainAnswerFrom parses and consumes the peeked head when it is plain;
// nil, with nothing consumed, when it is not (or is "").
func plainAnswerFrom(br *bufio.Reader, head, method string) *http.Response {
	if head == "" {
		return nil
	}
	resp := parseAnswerHead(head)
	if resp == nil {
		return nil
	}
	_, _ = br.Discard(len(head))
	setAnswerBody(resp, br, method)
	return resp
}

// parseAnswerHead parses a plain answer head; nil when it is not plain.
func parseAnswerHead(s string) *http.Response {
	line, rest, _ := strings.Cut(s, "\r\n")
	code, ok := statusLine(line)
	if !ok {
		return nil
	}
	lines := strings.Count(rest, "\r\n")
	resp := &http.Response{Status: line[9:], StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, lines), ContentLength: -1}
	vals := make([]string, 0, lines)
	lengths, codings := 0, 0
	fields := fieldScanner{rest: rest}
	for name, value, ok := fields.next(); ok; name, value, ok = fields.next() {
		switch name {
		case "Content-Length":
			lengths++
			n, ok := parseLength(value)
			if !ok {
				return nil
			}
			resp.ContentLength = n
		case "Transfer-Encoding":
			codings++
			if !strings.EqualFold(value, "chunked") {
				return nil
			}
			resp.TransferEncoding = []string{"chunked"}
			continue // as net/http: in TransferEncoding, not Header
		case "Connection":
			if headerValueHasToken(value, "close") {
				resp.Close = true
			}
		case "Trailer":
			return nil
		}
		vals = append(vals, value)
		if old, ok := resp.Header[name]; ok {
			resp.Header[name] = append(old, value)
		} else {
			resp.Header[name] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if fields.bad || lengths > 1 || codings > 1 || lengths == 1 && codings == 1 {
		return nil
	}
	if codings == 1 {
		resp.ContentLength = -1
	}
	if resp.Close {
		delete(resp.Header, "Connection") // as net/http does
	}
	return resp
}

// statusLine parses a plain status line: HTTP/1.1, three digits of at
// least 100, a reason without control characters.
func statusLine(line string) (code int, ok bool) {
	if len(line) < len("HTTP/1.1 200") || line[:9] != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') ||
		!plainAnswerValue(line[12:]) {
		return 0, false
	}
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, code >= 100
}

// fieldScanner walks the header lines of an answer head after its status
// line. next reports false at the blank line that ends them, or at a line
// that is not plain, which sets bad.
type fieldScanner struct {
	rest string
	bad  bool
}

func (f *fieldScanner) next() (name, value string, ok bool) {
	line, rest, _ := strings.Cut(f.rest, "\r\n")
	f.rest = rest
	if line == "" {
		return "", "", false
	}
	name, value, ok = headerLine(line)
	if !ok || !plainAnswerValue(value) {
		f.bad = true
		return "", "", false
	}
	return name, value, true
}

// plainAnswerValue is plainValue, also accepting obs-text (UTF-8 in
// Content-Disposition and the like), which net/http passes on.
func plainAnswerValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func headerValueHasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.Trim(t, " \t"), token) {
			return true
		}
	}
	return false
}

// setAnswerBody frames the body after the head (RFC 9112 section 6.3).
func setAnswerBody(resp *http.Response, br *bufio.Reader, method string) {
	switch {
	case method == http.MethodHead: // the length is that of a GET's body
		resp.Body = http.NoBody
	case resp.StatusCode < 200 || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified:
		resp.Body = http.NoBody
		resp.ContentLength = 0
	case resp.TransferEncoding != nil:
		resp.Body = &chunkedBody{br: br, r: httputil.NewChunkedReader(br)}
	case resp.ContentLength >= 0:
		resp.Body = &lengthBody{br: br, left: resp.ContentLength}
		if resp.ContentLength == 0 {
			resp.Body = http.NoBody
		}
	default:
		resp.Close = true // the body ends with the connection
		resp.Body = io.NopCloser(br)
	}
}

// lengthBody is a body of known length; a connection that ends before
// it is io.ErrUnexpectedEOF, not a short body that looks whole.
type lengthBody struct {
	br   *bufio.Reader
	left int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		if b.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	if err == nil && b.left == 0 {
		err = io.EOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

// chunkedBody decodes a chunked body and, at its end, reads the trailer
// section (trailers are not forwarded), leaving br at the next answer.
type chunkedBody struct {
	br   *bufio.Reader
	r    io.Reader
	done bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		if terr := b.readTrailer(); terr != nil {
			return n, terr
		}
		b.done = true
	}
	return n, err
}

var errLongTrailer = errors.New("router: suspiciously long trailer after chunked body")

// readTrailer consumes the trailer section as net/http's body reader
// does: a bare CRLF, or header lines whose end is already buffered.
func (b *chunkedBody) readTrailer() error {
	buf, err := b.br.Peek(2)
	if bytes.Equal(buf, []byte("\r\n")) {
		_, _ = b.br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	rest, _ := b.br.Peek(b.br.Buffered())
	if !bytes.Contains(rest, []byte("\r\n\r\n")) {
		return errLongTrailer
	}
	_, err = textproto.NewReader(b.br).ReadMIMEHeader()
	return err
}

func (b *chunkedBody) Close() error { return nil }
