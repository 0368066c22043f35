package router

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

func (rt *Router) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:   rt.rewrite,
		Transport: retryTransport{rt},
		// Long polls and streamed sync responses must reach the client as
		// they are written.
		FlushInterval:  -1,
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		BufferPool:     &bufferPool{},
		ErrorLog:       slog.NewLogLogger(rt.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// rewrite aims the outbound request at the chosen backend. The client's
// Host is kept, so backends build the same URLs the client sees.
func (rt *Router) rewrite(pr *httputil.ProxyRequest) {
	a := attemptOf(pr.In.Context())
	aim(pr.Out, a.backend)
	rt.setForwarding(pr.Out.Header, pr.In)
	if a.route.handshake {
		// The open packet must arrive uncompressed to be read.
		pr.Out.Header.Del("Accept-Encoding")
	}
	if rt.pres.list.Load() != nil {
		rt.runPre(pr.In.Context(), &ProxyRequestEvent{Service: a.route.svc.name, Target: a.backend.url.String(),
			Request: pr.In, Header: pr.Out.Header})
	}
}

func aim(out *http.Request, b *backend) {
	out.URL.Scheme = b.url.Scheme
	out.URL.Host = b.url.Host
}

// retryTransport sends a request, and when the backend refuses the
// connection before anything was sent, marks it and tries the next backend
// of the service: only for requests without a body (the transport has
// consumed it) and not bound to an Engine.IO session (which lives on the
// refusing backend).
type retryTransport struct{ rt *Router }

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.rt
	a := attemptOf(req.Context())
	for {
		resp, err := rt.transport.RoundTrip(req)
		if err == nil || !isRefused(err) {
			return resp, err
		}
		rt.refused(a.backend, err)
		if a.route.pinned || (req.Body != nil && req.Body != http.NoBody) {
			return nil, err
		}
		a.tried = append(a.tried, a.backend)
		nb := rt.next(a.route.svc, a.tried)
		if nb == nil {
			return nil, err
		}
		a.backend = nb
		req = req.Clone(req.Context())
		aim(req, nb)
	}
}

// modifyResponse learns the session of a handshake, keeps internal headers
// from the client and reports the response.
func (rt *Router) modifyResponse(resp *http.Response) error {
	a := attemptOf(resp.Request.Context())
	if a.route.handshake && resp.StatusCode == http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxOpenPacket))
		if err != nil {
			return err
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		if sid := sidFromOpen(body); sid != "" {
			rt.sticky.put(sid, a.backend, time.Now().UnixNano())
		}
	}
	removeInternal(resp.Header)
	if rt.posts.list.Load() != nil {
		in := resp.Request
		rt.runPost(in.Context(), &ProxyResponseEvent{Service: a.route.svc.name, Target: a.backend.url.String(),
			Method: in.Method, Path: in.URL.Path, Status: resp.StatusCode, Duration: time.Since(a.start)})
	}
	return nil
}

// proxyError answers a request no backend answered: 504 when the backend
// timed out, 502 otherwise, nothing when the client has gone.
func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	a := attemptOf(r.Context())
	status := http.StatusBadGateway
	var ne net.Error
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		status = 499 // client closed the request; nothing is written
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

// bufferPool recycles the 32 KiB copy buffers of proxied bodies.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
