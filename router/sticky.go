package router

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Engine.IO keeps a session on the backend that answered its handshake,
// while its polling requests arrive as independent HTTP requests (and its
// websocket upgrade as another connection). The router learns each
// session's backend from the handshake response, which carries the session
// id in the open packet, and sends every later request carrying ?sid= there.
//
// A sid the router never saw (another router instance answered the
// handshake, or this one restarted) is looked for: the backends are asked
// in turn, starting from the one a hash of the sid picks, and those that
// answer Engine.IO's "Session ID unknown" (400, code 1, at once and without
// side effects) are passed over; the backend that knows the session is
// remembered. When none does, the client gets that answer and reconnects.

// stickyTable maps Engine.IO session ids to backends.
type stickyTable struct {
	ttl int64 // nanoseconds
	max int

	mu        sync.RWMutex // Protects following.
	m         map[string]*stickyEntry
	lastSweep int64
}

type stickyEntry struct {
	b    *backend
	seen atomic.Int64 // UnixNano of the last request of the session
}

func newStickyTable(ttl time.Duration, max int) *stickyTable {
	return &stickyTable{ttl: int64(ttl), max: max, m: make(map[string]*stickyEntry)}
}

// get returns the backend of sid and refreshes its entry, or nil.
func (t *stickyTable) get(sid string, now int64) *backend {
	t.mu.RLock()
	e := t.m[sid]
	t.mu.RUnlock()
	if e == nil || now-e.seen.Load() > t.ttl {
		return nil
	}
	e.seen.Store(now)
	return e.b
}

// put records that sid lives on b. Expired entries are swept now and then
// on insert (no goroutine to own); when the table is full the expired go
// first, then arbitrary ones.
func (t *stickyTable) put(sid string, b *backend, now int64) {
	e := &stickyEntry{b: b}
	e.seen.Store(now)
	t.mu.Lock()
	defer t.mu.Unlock()
	if now-t.lastSweep > t.ttl/2 || len(t.m) >= t.max {
		t.lastSweep = now
		for k, v := range t.m {
			if now-v.seen.Load() > t.ttl {
				delete(t.m, k)
			}
		}
		for k := range t.m {
			if len(t.m) < t.max {
				break
			}
			delete(t.m, k)
		}
	}
	t.m[sid] = e
}

func (t *stickyTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// enginePath reports whether p is Socket.IO's default path.
func enginePath(p string) bool {
	return p == "/socket.io" || strings.HasPrefix(p, "/socket.io/")
}

// maxOpenPacket bounds how much of a handshake response is read to find
// the sid; an open packet is a few hundred bytes.
const maxOpenPacket = 16 << 10

// sidFromOpen extracts the sid of an Engine.IO open packet at the start of
// a polling payload: `0{"sid":...}` (EIO 4) or `<len>:0{"sid":...}` (EIO 3).
func sidFromOpen(body []byte) string {
	i := bytes.IndexByte(body, '{')
	if i < 1 || body[i-1] != '0' {
		return ""
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.NewDecoder(bytes.NewReader(body[i:])).Decode(&open); err != nil {
		return ""
	}
	return open.SID
}

// sidHash picks a backend index for a sid the table does not know (FNV-1a).
func sidHash(sid string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(sid); i++ {
		h ^= uint32(sid[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// sidOf returns the Engine.IO session id of r, if any.
func sidOf(r *http.Request) string {
	if r.URL.RawQuery == "" || !strings.Contains(r.URL.RawQuery, "sid=") {
		return ""
	}
	return r.URL.Query().Get("sid")
}

// unknownSession reports whether an answer is Engine.IO's refusal of a
// session id it does not hold: 400 with {"code":1,...}. It reads the
// (small) body and leaves a copy in resp.Body.
func unknownSession(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	var e struct {
		Code *int `json:"code"`
	}
	return json.Unmarshal(body, &e) == nil && e.Code != nil && *e.Code == 1
}
