package router

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The own loop relays the usual backend answer (HTTP/1.1, a Content-Length
// or no body, nothing but plain header lines) straight from the backend
// connection's buffer to the client's: no http.Response, no header maps to
// fill, filter, copy and walk again, no body reader. On a small answer
// that work was most of the router's user time on the answer's way back.
// Anything else (1xx, chunked or close-delimited bodies, Trailer, a
// Connection header naming other headers, duplicate lengths) takes the
// general path, which the fast one must match byte for byte apart from
// header order: FuzzPlainRelay holds them to it.

// peekHead returns the answer head at the start of br's buffer, reading
// until it is whole, without consuming anything. It returns "" and no
// error when the head does not fit the buffer or a read failed after some
// bytes (the general path then reads and reports it), and the error of a
// connection that ended before any byte.
func peekHead(br *bufio.Reader) (string, error) {
	n := 0
	for {
		want := br.Buffered()
		if want == 0 || want == n {
			want++ // read more
		}
		b, err := br.Peek(want)
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // as http.ReadResponse says it
			}
			return "", err
		}
		n = len(b)
		if end := bytes.Index(b, []byte("\r\n\r\n")); end >= 0 {
			return string(b[:end+4]), nil
		}
		if err != nil {
			return "", nil // full buffer or a read error
		}
	}
}

// plainAnswer is what the fast relay needs of an answer head.
type plainAnswer struct {
	code   int
	length int64 // Content-Length; -1 when none was sent
	close  bool  // Connection: close
	date   bool  // the backend sent a Date
}

// scanPlainAnswer reports whether head can take the fast relay: plain as
// parseAnswerHead requires, a final status, a Content-Length unless the
// status has no body, no Transfer-Encoding or Trailer, and a Connection
// header naming nothing but close and keep-alive (any other name would be
// a header to drop).
func scanPlainAnswer(head string) (plainAnswer, bool) {
	a := plainAnswer{length: -1}
	line, rest, _ := strings.Cut(head, "\r\n")
	var ok bool
	if a.code, ok = statusLine(line); !ok || a.code < 200 {
		return a, false
	}
	fields := fieldScanner{rest: rest}
	for name, value, ok := fields.next(); ok; name, value, ok = fields.next() {
		switch name {
		case "Content-Length":
			n, ok := parseLength(value)
			if !ok || a.length >= 0 {
				return a, false
			}
			a.length = n
		case "Transfer-Encoding", "Trailer":
			return a, false
		case "Connection":
			for t := range strings.SplitSeq(value, ",") {
				switch t = strings.Trim(t, " \t"); {
				case strings.EqualFold(t, "close"):
					a.close = true
				case t == "" || strings.EqualFold(t, "keep-alive"):
				default:
					return a, false
				}
			}
		case "Date":
			a.date = true
		}
	}
	if fields.bad {
		return a, false
	}
	if a.length < 0 && a.code != http.StatusNoContent && a.code != http.StatusNotModified {
		return a, false // a body that ends with the connection
	}
	return a, true
}

// dropAnswerHeader reports whether the relay leaves out the answer header
// name (canonical): hop-by-hop headers, the router's internal ones, and
// the framing the writer sets itself.
func dropAnswerHeader(name string) bool {
	return name == "Content-Length" || isHopByHop(name) || isInternal(name)
}

// relayPlain writes the answer whose head scanPlainAnswer accepted to the
// client as respWriter.WriteHeader and Write would, consuming head and body
// from br, and reports whether the whole body reached the client's
// buffer. The writer is left as after those calls, so finish frames and
// flushes as usual.
func (w *respWriter) relayPlain(br *bufio.Reader, head string, a plainAnswer) bool {
	w.wrote = true
	bw := w.c.bw
	var num [20]byte
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(num[:0], int64(a.code), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(a.code))
	bw.WriteString("\r\n")
	_, rest, _ := strings.Cut(head, "\r\n")
	fields := fieldScanner{rest: rest}
	for name, value, ok := fields.next(); ok; name, value, ok = fields.next() {
		if !dropAnswerHeader(name) {
			bw.WriteString(name)
			bw.WriteString(": ")
			bw.WriteString(value)
			bw.WriteString("\r\n")
		}
	}
	w.noBody = w.method == http.MethodHead || a.code == http.StatusNoContent || a.code == http.StatusNotModified
	w.declared = a.length
	w.endHead(a.code, a.date) // a length or no body: never chunked
	_, _ = br.Discard(len(head))
	if w.method == http.MethodHead || a.code == http.StatusNoContent || a.code == http.StatusNotModified {
		return true // no body follows, whatever the length says
	}
	for left := a.length; left > 0; {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return false // the backend ended inside the body
			}
		}
		p, _ := br.Peek(int(min(left, int64(br.Buffered()))))
		n, err := bw.Write(p)
		_, _ = br.Discard(n)
		w.written += int64(n)
		left -= int64(n)
		if err != nil {
			return false
		}
	}
	return true
}
