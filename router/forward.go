package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"
)

// maxBufferedBody is the largest request body read before forwarding, so
// the request can be sent again on a fresh connection when a kept-alive
// one turns out closed. Larger and unknown-length bodies stream through
// and are never resent.
const maxBufferedBody = 64 << 10

// maxAttempts bounds the sends of one request (stale connections, refusing
// backends).
const maxAttempts = 4

// errStale marks a kept-alive connection the backend had closed before the
// request reached it.
var errStale = errors.New("router: backend closed a kept-alive connection")

// forwardHTTP sends r to a backend of its route and relays the answer.
func (rt *Router) forwardHTTP(w http.ResponseWriter, r *http.Request, a *attempt) {
	ctx := r.Context()
	// header is nil unless a preProxyRequest hook is to see and change
	// the upstream headers: without one they are written straight from
	// r.Header.
	var header http.Header
	if rt.pres.list.Load() != nil {
		header = make(http.Header, len(r.Header)+3)
		rt.upstreamHeaders(r, a.route.handshake, func(k, v string) { header[k] = append(header[k], v) })
		rt.runPre(ctx, &ProxyRequestEvent{Service: a.route.svc.name, Target: a.backend.url.String(), Request: r, Header: header})
	}

	var body []byte
	streamed := false
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
	case r.ContentLength > 0 && r.ContentLength <= maxBufferedBody:
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
	default:
		streamed = true
	}

	var (
		bc   *backendConn
		resp *http.Response
		err  error
	)
	for n := 0; ; n++ {
		var reused bool
		bc, reused, err = rt.getConn(ctx, a.backend, !streamed && idempotent(r.Method))
		if err == nil {
			// One watch per connection for the round trip and the relay:
			// a client that goes away ends the backend leg at once.
			conn := bc
			stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
			err = rt.sendRequest(ctx, bc, r, header, a.route.handshake, body, streamed, reused)
			if err == nil {
				var relayed bool
				if resp, relayed, err = rt.answer(ctx, w, r, a, bc, reused, stop); relayed {
					return
				}
			}
			if err == nil && a.route.probe && !streamed && unknownSession(resp) {
				if nb := rt.passOver(a); nb != nil {
					rt.finishAnswer(a.backend, bc, resp, stop)
					a.backend = nb
					continue
				}
			}
			if err == nil {
				if a.route.probe && resp.StatusCode < 300 {
					rt.sticky.put(a.route.sid, a.backend, time.Now().UnixNano())
				}
				rt.relay(w, r, a, bc, resp, stop)
				return
			}
			stop()
			_ = bc.Close()
			if errors.Is(err, errStale) && !streamed && n < maxAttempts+len(a.route.svc.backends) {
				continue // same backend, a fresh connection
			}
		}
		if isRefused(err) {
			rt.refused(a.backend, err)
			if !streamed && n < maxAttempts+len(a.route.svc.backends) {
				var nb *backend
				switch {
				case a.route.probe:
					nb = rt.passOver(a)
				case !a.route.pinned:
					a.tried = append(a.tried, a.backend)
					nb = rt.next(a.route.svc, a.tried)
				}
				if nb != nil {
					a.backend = nb
					continue
				}
			}
		}
		rt.proxyError(w, r, a, err)
		return
	}
}

// sendRequest writes the request on bc. A reused connection that fails
// reports errStale. header, when not nil, replaces the headers
// upstreamHeaders derives from r.
func (rt *Router) sendRequest(ctx context.Context, bc *backendConn, r *http.Request, header http.Header, handshake bool, body []byte, streamed, reused bool) error {
	bw := bc.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.RequestURI)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(oneLine(r.Host))
	bw.WriteString("\r\n")
	if header != nil {
		for k, vs := range header {
			for _, v := range vs {
				writeHeaderLine(bw, k, v)
			}
		}
	} else {
		rt.upstreamHeaders(r, handshake, func(k, v string) { writeHeaderLine(bw, k, v) })
	}
	switch {
	case streamed && r.ContentLength > 0:
		bw.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n\r\n")
		if _, err := io.CopyN(bw, r.Body, r.ContentLength); err != nil {
			return fmt.Errorf("router: streaming the request body: %w", err)
		}
	case streamed:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, r.Body); err != nil {
			return fmt.Errorf("router: streaming the request body: %w", err)
		}
		_ = cw.Close()
		bw.WriteString("\r\n")
	case body != nil || methodHasBody(r.Method):
		bw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		bw.Write(body)
	default:
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		if reused && ctx.Err() == nil {
			// The backend had closed the connection: it read nothing.
			return fmt.Errorf("%w: %w", errStale, err)
		}
		return err
	}
	return nil
}

// answer reads the answer to the request just written on bc. A plain
// answer the own loop's writer can take is relayed at once (relayed);
// otherwise it returns the answer's head, past any 1xx, for the caller to
// relay. A reused connection that ends before any answer byte reports
// errStale when the request may be sent again.
func (rt *Router) answer(ctx context.Context, w http.ResponseWriter, r *http.Request, a *attempt, bc *backendConn, reused bool, stop func() bool) (resp *http.Response, relayed bool, err error) {
	head, err := peekHead(bc.br)
	if err == nil {
		if rt.relayPlain(w, a, bc, head, stop) {
			return nil, true, nil
		}
		resp, err = answerFrom(bc.br, head, r.Method)
	}
	// 100 Continue and 103 Early Hints precede the real answer.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = readAnswer(bc.br, r.Method)
	}
	if err != nil {
		return nil, false, staleOr(ctx, bc, r, reused, err)
	}
	return resp, false, nil
}

// staleOr returns err, marked errStale when the reused connection closed
// without an answer: one closed while idle (past the alive check) or a
// backend failing on this very request. Only an idempotent request may be
// sent again.
func staleOr(ctx context.Context, bc *backendConn, r *http.Request, reused bool, err error) error {
	if reused && idempotent(r.Method) && ctx.Err() == nil && bc.br.Buffered() == 0 &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)) {
		return fmt.Errorf("%w: %w", errStale, err)
	}
	return err
}

// relayPlain relays the answer whose head was peeked with
// respWriter.relayPlain when w is the own loop's writer and the answer and
// request allow it (no probe, no handshake answer to read a sid from, no
// post-proxy hook); false, with nothing consumed, otherwise.
func (rt *Router) relayPlain(w http.ResponseWriter, a *attempt, bc *backendConn, head string, stop func() bool) bool {
	pw, ok := w.(*respWriter)
	if !ok || pw.wrote || head == "" || a.route.probe || rt.posts.list.Load() != nil {
		return false
	}
	pa, ok := scanPlainAnswer(head)
	if !ok || a.route.handshake && pa.code == http.StatusOK {
		return false
	}
	ok = pw.relayPlain(bc.br, head, pa)
	if stop() && ok && !pa.close {
		rt.putConn(a.backend, bc)
	} else {
		_ = bc.Close()
	}
	return true
}

// passOver moves a probe on from a backend that does not hold the session:
// the next backend not yet asked, or nil.
func (rt *Router) passOver(a *attempt) *backend {
	a.tried = append(a.tried, a.backend)
	return rt.nextAny(a.route.svc, a.tried)
}

// finishAnswer reads the rest of an answer that is not relayed and keeps
// the connection when that is possible. stop ends the connection's
// client watch.
func (rt *Router) finishAnswer(b *backend, bc *backendConn, resp *http.Response, stop func() bool) {
	_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxRelayedBody))
	_ = resp.Body.Close()
	if stop() && err == nil && !resp.Close && bc.br.Buffered() == 0 {
		rt.putConn(b, bc)
		return
	}
	_ = bc.Close()
}

func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func methodHasBody(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// relay copies the answer to the client and keeps the connection when the
// answer was read to its end. stop ends the connection's client watch: it
// reports false when the watch fired, the client gone and the connection's
// deadline set, so the connection is not kept.
func (rt *Router) relay(w http.ResponseWriter, r *http.Request, a *attempt, bc *backendConn, resp *http.Response, stop func() bool) {
	ctx := r.Context()
	var prefix []byte
	if a.route.handshake && resp.StatusCode == http.StatusOK {
		prefix, _ = io.ReadAll(io.LimitReader(resp.Body, maxOpenPacket))
		if sid := sidFromOpen(prefix); sid != "" {
			rt.sticky.put(sid, a.backend, time.Now().UnixNano())
		}
	}
	removeHopByHop(resp.Header)
	removeInternal(resp.Header)
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // as the backend sent it: no sniffing
	}
	w.WriteHeader(resp.StatusCode)
	if rt.posts.list.Load() != nil {
		rt.runPost(ctx, &ProxyResponseEvent{Service: a.route.svc.name, Target: a.backend.url.String(),
			Method: r.Method, Path: r.URL.Path, Status: resp.StatusCode, Duration: time.Since(a.start)})
	}
	ok := true
	if len(prefix) > 0 {
		_, err := w.Write(prefix)
		ok = err == nil
	}
	if ok {
		ok = copyBody(w, resp.Body, resp.ContentLength < 0)
	}
	ok = stop() && ok // false when the client went away meanwhile
	if ok && !resp.Close {
		rt.putConn(a.backend, bc)
		return
	}
	_ = bc.Close()
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody copies an answer body, flushing after each write when it
// streams (unknown length: sync streams, event streams), and reports
// whether it reached the body's end with the client still there.
func copyBody(w http.ResponseWriter, body io.ReadCloser, stream bool) bool {
	defer body.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	fl, _ := w.(http.Flusher)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false
			}
			if stream && fl != nil {
				fl.Flush()
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// proxyError answers a request no backend answered: 504 when the backend
// timed out, 502 otherwise, nothing when the client has gone.
func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, a *attempt, err error) {
	status := http.StatusBadGateway
	var ne net.Error
	switch {
	case r.Context().Err() != nil:
		status = 499 // the client closed the request; nothing is written
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		status = http.StatusGatewayTimeout
	}
	if status != 499 {
		rt.cfg.Logger.Warn("router: proxy error", "service", a.route.svc.name, "backend", a.backend.url.String(),
			"path", r.URL.Path, "err", err)
		http.Error(w, http.StatusText(status), status)
	}
	rt.runPost(r.Context(), &ProxyResponseEvent{Service: a.route.svc.name, Target: a.backend.url.String(),
		Method: r.Method, Path: r.URL.Path, Status: status, Err: err, Duration: time.Since(a.start)})
}
