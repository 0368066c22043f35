package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// serveUpgrade proxies a protocol upgrade: it dials the backend, forwards
// the request head, and either relays a refusal or, on 101, hands both
// connections to a tunnel. The whole handshake is bounded by
// HandshakeTimeout (504). Once a head was sent it is sent elsewhere only
// while looking for an unknown session (a "Session ID unknown" answer
// upgraded nothing); an upgraded stream is never retried.
func (rt *Router) serveUpgrade(w http.ResponseWriter, r *http.Request, a *attempt) {
	ctx, cancel := context.WithTimeout(r.Context(), rt.cfg.HandshakeTimeout)
	defer cancel()
	svc := a.route.svc.name
	fail := func(status int, err error) {
		rt.cfg.Logger.Warn("router: upgrade failed", "service", svc, "backend", a.backend.url.String(),
			"path", r.URL.Path, "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
		rt.runPost(r.Context(), &ProxyResponseEvent{Service: svc, Target: a.backend.url.String(), Method: r.Method,
			Path: r.URL.Path, Upgrade: true, Status: status, Err: err, Duration: time.Since(a.start)})
	}
	header := r.Header.Clone()
	removeHopByHop(header)
	rt.setForwarding(header, r)
	if rt.pres.list.Load() != nil {
		rt.runPre(r.Context(), &ProxyRequestEvent{Service: svc, Target: a.backend.url.String(), Upgrade: true,
			Request: r, Header: header})
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.RequestURI, sanitize(r.Host))
	_ = header.Write(&head)
	fmt.Fprintf(&head, "Connection: Upgrade\r\nUpgrade: %s\r\n\r\n", sanitize(r.Header.Get("Upgrade")))

	var (
		up   net.Conn
		br   *bufio.Reader
		resp *http.Response
	)
	for {
		var err error
		up, br, resp, err = rt.handshake(ctx, a, r, head.Bytes())
		if err != nil {
			fail(timeoutStatus(ctx, err), err)
			return
		}
		if resp.StatusCode != http.StatusSwitchingProtocols && a.route.probe && unknownSession(resp) {
			if nb := rt.passOver(a); nb != nil {
				_ = up.Close()
				a.backend = nb
				continue
			}
		}
		break
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		rt.relayRefusal(w, resp)
		_ = up.Close()
		rt.runPost(r.Context(), &ProxyResponseEvent{Service: svc, Target: a.backend.url.String(), Method: r.Method,
			Path: r.URL.Path, Upgrade: true, Status: resp.StatusCode, Duration: time.Since(a.start)})
		return
	}
	if a.route.probe {
		rt.sticky.put(a.route.sid, a.backend, time.Now().UnixNano())
	}
	rt.switchProtocols(w, r, a, up, br, resp)
}

// handshake dials the chosen backend, sends the upgrade head and reads the
// answer's head, all within ctx's deadline. A refusing backend is marked
// and, unless the request is bound to a known session, the next one is
// tried.
func (rt *Router) handshake(ctx context.Context, a *attempt, r *http.Request, head []byte) (net.Conn, *bufio.Reader, *http.Response, error) {
	var up net.Conn
	for {
		c, err := rt.dial(ctx, a.backend)
		if err == nil {
			up = c
			break
		}
		if !isRefused(err) {
			return nil, nil, nil, err
		}
		rt.refused(a.backend, err)
		var nb *backend
		switch {
		case a.route.probe:
			nb = rt.passOver(a)
		case !a.route.pinned:
			a.tried = append(a.tried, a.backend)
			nb = rt.next(a.route.svc, a.tried)
		}
		if nb == nil {
			return nil, nil, nil, err
		}
		a.backend = nb
	}
	deadline, _ := ctx.Deadline()
	_ = up.SetDeadline(deadline)
	if _, err := up.Write(head); err != nil {
		_ = up.Close()
		return nil, nil, nil, err
	}
	br := bufio.NewReaderSize(up, 4<<10)
	resp, err := http.ReadResponse(br, r)
	if err != nil {
		_ = up.Close()
		return nil, nil, nil, fmt.Errorf("router: reading the backend's handshake answer: %w", err)
	}
	return up, br, resp, nil
}

func (rt *Router) dial(ctx context.Context, b *backend) (net.Conn, error) {
	if b.tls {
		d := &tls.Dialer{NetDialer: rt.cfg.Dialer, Config: &tls.Config{ServerName: b.url.Hostname()}}
		return d.DialContext(ctx, "tcp", b.addr)
	}
	c, err := rt.cfg.Dialer.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	return wrapConn(c), nil
}

// timeoutStatus is 504 when the handshake ran out of time, else 502.
func timeoutStatus(ctx context.Context, err error) int {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// maxRelayedBody bounds the body of a refused upgrade passed to the client.
const maxRelayedBody = 64 << 10

// relayRefusal passes a non-101 answer to the client (Engine.IO's JSON
// error, a 403 of an origin check) without its hop-by-hop headers.
func (rt *Router) relayRefusal(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	removeInternal(resp.Header)
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxRelayedBody))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// switchProtocols completes a 101: it forwards the status line and the
// headers (keeping Connection: Upgrade, dropping other hop-by-hop headers,
// Set-Cookie and internal ones), then the bytes either side sent early,
// then pipes both ways until one side closes, the idle timeout, the byte
// cap or Close.
func (rt *Router) switchProtocols(w http.ResponseWriter, r *http.Request, a *attempt, up net.Conn, br *bufio.Reader, resp *http.Response) {
	svc := a.route.svc.name
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "upgrade not supported by this server", http.StatusInternalServerError)
		return
	}
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		_ = up.Close()
		http.Error(w, "router closed", http.StatusServiceUnavailable)
		return
	}
	rt.active.Add(1)
	rt.mu.Unlock()
	defer rt.active.Done()

	client, cbuf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		rt.cfg.Logger.Warn("router: hijack failed", "err", err)
		return
	}
	upgradeProto := resp.Header.Get("Upgrade")
	removeHopByHop(resp.Header)
	removeInternal(resp.Header)
	resp.Header.Del("Set-Cookie")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n")
	if upgradeProto != "" {
		fmt.Fprintf(&head, "Upgrade: %s\r\n", sanitize(upgradeProto))
	}
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	// Early bytes: what the backend sent right after its head (a first
	// websocket frame) sits in br; what the client sent after its request
	// sits in cbuf. Both go out before piping starts.
	if n := br.Buffered(); n > 0 {
		early, _ := br.Peek(n)
		head.Write(early)
		_, _ = br.Discard(n)
	}
	_ = client.SetDeadline(time.Now().Add(rt.cfg.HandshakeTimeout))
	_, werr := client.Write(head.Bytes())
	var clientEarly []byte
	if n := cbuf.Reader.Buffered(); n > 0 && werr == nil {
		clientEarly, _ = cbuf.Reader.Peek(n)
		_, werr = up.Write(clientEarly)
	}
	rt.runPost(r.Context(), &ProxyResponseEvent{Service: svc, Target: a.backend.url.String(), Method: r.Method,
		Path: r.URL.Path, Upgrade: true, Status: http.StatusSwitchingProtocols, Err: werr, Duration: time.Since(a.start)})
	if werr != nil {
		_ = client.Close()
		_ = up.Close()
		return
	}
	_ = client.SetDeadline(time.Time{})
	_ = up.SetDeadline(time.Time{})
	t := newTunnel(client, up, rt.cfg.IdleTimeout, rt.cfg.MaxBytesPerConnection)
	t.bytes.Add(int64(len(clientEarly)))
	if !rt.track(t) {
		t.close()
		return
	}
	defer rt.untrack(t)
	t.run(rt.loopFor())
}

func (rt *Router) track(t *tunnel) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return false
	}
	rt.tunnels[t] = struct{}{}
	return true
}

func (rt *Router) untrack(t *tunnel) {
	rt.mu.Lock()
	delete(rt.tunnels, t)
	rt.mu.Unlock()
}

// sanitize keeps a header value on one line.
func sanitize(v string) string {
	return string(bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, []byte(v)))
}
