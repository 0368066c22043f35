package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// This file is the HTTP long-polling transport, used when a websocket
// cannot be opened (a proxy that refuses upgrades). It turns Engine.IO's
// polling requests into the message-at-a-time transport conn expects: a
// read is served from the last GET's payload or a new long-polling GET, a
// write is one POST. conn reads from one goroutine and serialises writes,
// so there is never more than one GET and one POST in flight, as the server
// requires.

// recordSeparator separates packets in a polling payload.
const recordSeparator = 0x1e

// maxPollBody bounds one polling response.
const maxPollBody = 64 << 20

// pollingURL turns the server address into the polling endpoint.
func pollingURL(server, path string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("client: server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("client: server URL %q: scheme must be http, https, ws or wss", server)
	}
	u.Path = path
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "polling")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// polling is one Engine.IO polling session.
type polling struct {
	hc     *http.Client
	base   string // endpoint with EIO and transport, without sid
	header http.Header
	ctx    context.Context
	cancel context.CancelFunc
	limit  int64

	mu            sync.Mutex // Protects following.
	sid           string
	pending       [][]byte
	readDeadline  time.Time
	writeDeadline time.Time
}

// dialPolling opens a polling session: the first GET returns the open
// packet, which stays queued for the Engine.IO handshake to read.
func dialPolling(ctx context.Context, hc *http.Client, target string, header http.Header, limit int64) (transport, error) {
	pctx, cancel := context.WithCancel(context.Background())
	p := &polling{hc: hc, base: target, header: header, ctx: pctx, cancel: cancel, limit: limit}
	if p.limit <= 0 || p.limit > maxPollBody {
		p.limit = maxPollBody
	}
	if err := p.poll(ctx); err != nil {
		cancel()
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 || len(p.pending[0]) == 0 || p.pending[0][0] != eioOpen {
		cancel()
		return nil, fmt.Errorf("%w: polling handshake without open packet", errBadPacket)
	}
	var open openPacket
	if err := json.Unmarshal(p.pending[0][1:], &open); err != nil || open.SID == "" {
		cancel()
		return nil, fmt.Errorf("%w: polling open packet", errBadPacket)
	}
	p.sid = open.SID
	return p, nil
}

func (p *polling) url() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sid == "" {
		return p.base
	}
	return p.base + "&sid=" + url.QueryEscape(p.sid)
}

// poll runs one GET and queues the packets it returns.
func (p *polling) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url(), nil)
	if err != nil {
		return err
	}
	req.Header = p.header.Clone()
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.limit+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &HandshakeError{StatusCode: resp.StatusCode, Err: fmt.Errorf("polling GET: %s", bytes.TrimSpace(body))}
	}
	if int64(len(body)) > p.limit {
		return fmt.Errorf("client: polling payload above %d bytes", p.limit)
	}
	var pkts [][]byte
	for _, pkt := range bytes.Split(body, []byte{recordSeparator}) {
		if len(pkt) == 0 {
			continue
		}
		pkts = append(pkts, pkt)
	}
	p.mu.Lock()
	p.pending = append(p.pending, pkts...)
	p.mu.Unlock()
	return nil
}

// ReadMessage returns the next packet, polling for more when none is queued.
func (p *polling) ReadMessage() (int, []byte, error) {
	for {
		p.mu.Lock()
		if len(p.pending) > 0 {
			pkt := p.pending[0]
			p.pending = p.pending[1:]
			p.mu.Unlock()
			if pkt[0] == 'b' {
				bin, err := base64.StdEncoding.DecodeString(string(pkt[1:]))
				if err != nil {
					return 0, nil, fmt.Errorf("%w: base64 packet", errBadPacket)
				}
				return websocket.BinaryMessage, bin, nil
			}
			return websocket.TextMessage, pkt, nil
		}
		dl := p.readDeadline
		p.mu.Unlock()
		if err := p.ctx.Err(); err != nil {
			return 0, nil, net.ErrClosed
		}
		ctx, cancel := p.ctx, context.CancelFunc(func() {})
		if !dl.IsZero() {
			ctx, cancel = context.WithDeadline(p.ctx, dl)
		}
		err := p.poll(ctx)
		cancel()
		switch {
		case err == nil:
		case p.ctx.Err() != nil:
			return 0, nil, net.ErrClosed
		case errors.Is(err, context.DeadlineExceeded):
			return 0, nil, os.ErrDeadlineExceeded
		default:
			return 0, nil, err
		}
	}
}

// WriteMessage POSTs one packet.
func (p *polling) WriteMessage(_ int, data []byte) error {
	if p.ctx.Err() != nil {
		return net.ErrClosed // nothing was sent
	}
	p.mu.Lock()
	dl := p.writeDeadline
	p.mu.Unlock()
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if !dl.IsZero() {
		ctx, cancel = context.WithDeadline(p.ctx, dl)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header = p.header.Clone()
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.hc.Do(req)
	if err != nil {
		// Not net.ErrClosed even if Close interrupted it: the server may
		// have read the packet.
		return fmt.Errorf("client: polling POST interrupted: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("client: polling POST: HTTP %d", resp.StatusCode)
	}
	return nil
}

// SetReadDeadline bounds the next reads.
func (p *polling) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.readDeadline = t
	p.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds the next writes.
func (p *polling) SetWriteDeadline(t time.Time) error {
	p.mu.Lock()
	p.writeDeadline = t
	p.mu.Unlock()
	return nil
}

// Close aborts the requests in flight. The server notices the aborted GET
// and ends the session ("transport error"), as it does for a browser tab
// that goes away.
func (p *polling) Close() error {
	p.cancel()
	return nil
}

// isUpgradeRefusal reports whether a websocket dial failed at the HTTP
// level (the server or a proxy answered but did not upgrade), the case
// where polling may still get through.
func isUpgradeRefusal(err error) bool {
	var he *HandshakeError
	return errors.As(err, &he) || errors.Is(err, websocket.ErrBadHandshake) ||
		strings.Contains(err.Error(), "bad handshake")
}
