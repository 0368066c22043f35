package router

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// respWriter is the own loop's http.ResponseWriter: it writes the status
// line and headers as given (no content sniffing, no header reordering
// rules beyond framing), frames the body by the Content-Length the answer
// declares or else chunked, and buffers so that a small answer leaves in
// one write.
type respWriter struct {
	c *clientConn
	h http.Header

	method    string
	wrote     bool
	noBody    bool
	chunked   bool
	declared  int64 // Content-Length sent, -1 for none
	written   int64
	closeConn bool // Connection: close is sent and the connection closed after
}

var errBodyTooLong = errors.New("router: body longer than its Content-Length")

func (w *respWriter) reset(method string, closeConn bool) {
	clear(w.h)
	*w = respWriter{c: w.c, h: w.h, method: method, closeConn: closeConn, declared: -1}
}

// Header returns the headers to send.
func (w *respWriter) Header() http.Header { return w.h }

// WriteHeader writes the status line and headers. 1xx codes are not
// passed on (the router answers with the final status only).
func (w *respWriter) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return
	}
	w.wrote = true
	bw := w.c.bw
	var num [3]byte
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(num[:0], int64(code), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(code))
	bw.WriteString("\r\n")
	w.noBody = w.method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if cl := w.h["Content-Length"]; len(cl) == 1 {
		if n, ok := parseLength(cl[0]); ok {
			w.declared = n
		}
	}
	for k, vs := range w.h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue // framing is the writer's
		}
		for _, v := range vs {
			writeHeaderLine(bw, k, v)
		}
	}
	_, hasDate := w.h["Date"]
	w.endHead(code, hasDate)
}

// endHead writes the framing headers after the answer's own (the
// Content-Length declared, else chunked for a status with a body), a Date
// unless the answer has one, Connection: close when the connection ends
// after this answer, and the blank line.
func (w *respWriter) endHead(code int, hasDate bool) {
	bw := w.c.bw
	switch {
	case w.declared >= 0 && code != http.StatusNoContent:
		var num [20]byte
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(num[:0], w.declared, 10))
		bw.WriteString("\r\n")
	case !w.noBody:
		w.chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.noBody {
		w.declared = -1
	}
	if !hasDate {
		bw.WriteString("Date: ")
		bw.WriteString(w.c.rt.httpDate())
		bw.WriteString("\r\n")
	}
	if w.closeConn {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// Write writes body bytes, chunked when no length was declared.
func (w *respWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.noBody {
		return len(p), nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	bw := w.c.bw
	if w.chunked {
		var size [16]byte
		bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		n, err := bw.Write(p)
		bw.WriteString("\r\n")
		w.written += int64(n)
		return n, err
	}
	var tooLong error
	if left := w.declared - w.written; int64(len(p)) > left {
		p, tooLong = p[:left], errBodyTooLong
	}
	n, err := bw.Write(p)
	w.written += int64(n)
	if err == nil {
		err = tooLong
	}
	return n, err
}

// Flush sends what is buffered.
func (w *respWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.c.bw.Flush()
}

// finish completes the answer and reports whether the connection can
// take another request: the client did not ask to close and the body
// matched its declared length.
func (w *respWriter) finish() bool {
	if !w.wrote {
		w.h["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked {
		w.c.bw.WriteString("0\r\n\r\n")
	}
	err := w.c.bw.Flush()
	return err == nil && !w.closeConn && (w.declared < 0 || w.written == w.declared)
}

// cachedDate is the Date header value of one second.
type cachedDate struct {
	sec int64
	s   string
}

// httpDate returns the current Date header value, formatted once a
// second.
func (rt *Router) httpDate() string {
	now := time.Now()
	if d := rt.date.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &cachedDate{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	rt.date.Store(d)
	return d.s
}
