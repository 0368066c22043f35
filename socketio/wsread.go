package socketio

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// Our own reader of client websocket frames (RFC 6455 §5). gorilla only
// performs the upgrade handshake: its Conn keeps a read buffer and a deep
// read call per connection, which is most of what an idle connection costs.
// This reader holds no buffer while the connection is idle: where the
// connection offers a syscall.RawConn (plain TCP), it waits for readability
// in a shallow frame and takes a pooled buffer only once bytes arrive.

var (
	errWSProtocol = errors.New("socketio: websocket protocol error")
	errWSTooBig   = errors.New("socketio: websocket message too big")
	errWSClosed   = errors.New("socketio: websocket closed by the peer")
)

// Websocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// bufPool hands out read buffers of one size.
type bufPool struct {
	size int
	pool sync.Pool // *[]byte, so Put does not allocate
}

func (p *bufPool) get() *[]byte {
	if b, _ := p.pool.Get().(*[]byte); b != nil {
		return b
	}
	b := make([]byte, p.size)
	return &b
}

func (p *bufPool) put(b *[]byte) { p.pool.Put(b) }

// wsReader reads the frames of one server-side websocket connection. Only
// the connection's reader goroutine uses it.
type wsReader struct {
	nc    net.Conn
	raw   syscall.RawConn // nil: plain reads into a buffer kept for good
	pool  *bufPool
	limit int64

	bufp *[]byte // read buffer; nil while idle on a RawConn
	r, w int     // unparsed bytes are (*bufp)[r:w]

	// A fragmented message being assembled.
	frag   []byte
	fragOp byte

	// onReadable is r.readRaw, bound once; dst, n and err carry its
	// arguments and results.
	onReadable func(fd uintptr) bool
	dst        []byte
	n          int
	err        error
}

func newWSReader(nc net.Conn, pool *bufPool, limit int64) *wsReader {
	r := &wsReader{nc: nc, pool: pool, limit: limit}
	if sc, ok := nc.(syscall.Conn); ok && rawReadSupported {
		if raw, err := sc.SyscallConn(); err == nil {
			r.raw = raw
			r.onReadable = r.readRaw
		}
	}
	return r
}

// idle reports whether no unparsed bytes are held: the next read waits for
// the network.
func (r *wsReader) idle() bool { return r.r == r.w && len(r.frag) == 0 }

// fill reads more bytes into the buffer, waiting for at least one.
func (r *wsReader) fill() error {
	if r.bufp == nil {
		if r.raw == nil {
			r.bufp = r.pool.get()
		}
	} else if r.r > 0 {
		r.w = copy(*r.bufp, (*r.bufp)[r.r:r.w])
		r.r = 0
	}
	if r.raw == nil {
		n, err := r.nc.Read((*r.bufp)[r.w:])
		r.w += n
		if n > 0 {
			return nil
		}
		return orEOF(err)
	}
	r.dst = nil
	return r.rawRead()
}

// readFull fills p from the buffered bytes, then from the network.
func (r *wsReader) readFull(p []byte) error {
	n := copy(p, (*r.bufp)[r.r:r.w])
	r.r += n
	for n < len(p) {
		if r.raw == nil {
			m, err := r.nc.Read(p[n:])
			n += m
			if m == 0 {
				return orEOF(err)
			}
			continue
		}
		r.dst = p[n:]
		if err := r.rawRead(); err != nil {
			return err
		}
		n += r.n
	}
	return nil
}

func (r *wsReader) rawRead() error {
	r.n, r.err = 0, nil
	if err := r.raw.Read(r.onReadable); err != nil {
		return err
	}
	if r.err != nil {
		return &net.OpError{Op: "read", Net: "tcp", Err: r.err}
	}
	if r.n == 0 {
		return io.EOF
	}
	if r.dst == nil {
		r.w += r.n
	}
	return nil
}

func orEOF(err error) error {
	if err == nil {
		return io.ErrNoProgress
	}
	return err
}

// need makes n unparsed bytes available.
func (r *wsReader) need(n int) error {
	for r.w-r.r < n {
		if err := r.fill(); err != nil {
			return err
		}
	}
	return nil
}

// frame is one parsed frame header.
type frame struct {
	fin    bool
	op     byte
	length int64
	key    [4]byte
}

func (r *wsReader) header() (frame, error) {
	var f frame
	if err := r.need(2); err != nil {
		return f, err
	}
	b := (*r.bufp)[r.r:]
	f.fin, f.op = b[0]&0x80 != 0, b[0]&0x0F
	if b[0]&0x70 != 0 || b[1]&0x80 == 0 {
		// No extension was negotiated, and RFC 6455 §5.1: a server must
		// close on an unmasked client frame.
		return f, errWSProtocol
	}
	hlen := 6
	switch b[1] & 0x7F {
	case 126:
		hlen += 2
	case 127:
		hlen += 8
	}
	if err := r.need(hlen); err != nil {
		return f, err
	}
	b = (*r.bufp)[r.r : r.r+hlen]
	switch n := b[1] & 0x7F; n {
	case 126:
		f.length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return f, errWSProtocol
		}
		f.length = int64(u)
	default:
		f.length = int64(n)
	}
	copy(f.key[:], b[hlen-4:])
	r.r += hlen
	return f, nil
}

// next returns the next data message (opText or opBinary) in a buffer of its
// own: decoded packets keep referring to it. Pings are answered through pong.
func (r *wsReader) next(pong func(payload []byte)) (byte, []byte, error) {
	for {
		f, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		switch f.op {
		case opClose, opPing, opPong:
			if !f.fin || f.length > 125 {
				return 0, nil, errWSProtocol
			}
			var ctl [125]byte
			p := ctl[:f.length]
			if err := r.payload(p, f.key); err != nil {
				return 0, nil, err
			}
			switch f.op {
			case opClose:
				return 0, nil, errWSClosed
			case opPing:
				pong(append([]byte(nil), p...))
			}
			continue
		case opText, opBinary:
			if r.frag != nil {
				return 0, nil, errWSProtocol
			}
		case opContinuation:
			if r.frag == nil {
				return 0, nil, errWSProtocol
			}
		default:
			return 0, nil, errWSProtocol
		}
		have := int64(len(r.frag))
		if f.length > r.limit-have {
			return 0, nil, errWSTooBig
		}
		if f.op != opContinuation && f.fin {
			data := make([]byte, f.length)
			if err := r.payload(data, f.key); err != nil {
				return 0, nil, err
			}
			return f.op, data, nil
		}
		if f.op != opContinuation {
			r.fragOp = f.op
			r.frag = make([]byte, 0, f.length)
		}
		r.frag = append(r.frag, make([]byte, f.length)...)
		if err := r.payload(r.frag[have:], f.key); err != nil {
			return 0, nil, err
		}
		if f.fin {
			data := r.frag
			r.frag = nil
			return r.fragOp, data, nil
		}
	}
}

// payload reads len(p) payload bytes and unmasks them.
func (r *wsReader) payload(p []byte, key [4]byte) error {
	if err := r.readFull(p); err != nil {
		return err
	}
	mask(p, key)
	return nil
}

// mask XORs a whole frame payload p with the masking key.
func mask(p []byte, key [4]byte) {
	var k [8]byte
	for i := range k {
		k[i] = key[i&3]
	}
	kw := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^kw)
	}
	for ; i < len(p); i++ {
		p[i] ^= k[i&7]
	}
}
