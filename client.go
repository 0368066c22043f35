package luckystack

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/luckystack/luckystack-go/socketio"
)

// Client is a connected browser tab (one Socket.IO socket) as the LuckyStack
// layer sees it: its token, locale and socket.
type Client struct {
	srv    *Server
	sock   *socketio.Socket
	token  string
	locale string
	event  atomic.Pointer[socketio.Event] // the event whose handler runs, for Detach

	mu      sync.Mutex // Protects following.
	ip      string     // resolved by IP on first use
	userID  string
	flags   map[string]bool
	roomSeq map[string]uint64 // join order of content rooms, see Rooms
	nextSeq uint64
}

// clientData is what other servers see of a client in fetch-sockets replies.
type clientData struct {
	Token  string `json:"token,omitempty"`
	UserID string `json:"userId,omitempty"`
}

// MarshalJSON ships the token and user id with fetch-sockets replies, so the
// sync fan-out and session kicks can act on clients of other instances.
func (c *Client) MarshalJSON() ([]byte, error) {
	c.mu.Lock()
	d := clientData{Token: c.token, UserID: c.userID}
	c.mu.Unlock()
	return json.Marshal(d)
}

// ClientInfo decodes the token and user id of a socket found with
// FetchSockets, on this instance or another.
func ClientInfo(rs *socketio.RemoteSocket) (token, userID string) {
	var d clientData
	_ = json.Unmarshal(rs.Data, &d)
	return d.Token, d.UserID
}

// ClientOf returns the Client of a local socket.
func ClientOf(sock *socketio.Socket) (*Client, bool) {
	c, ok := sock.Data().(*Client)
	return c, ok
}

// ID is the socket id.
func (c *Client) ID() string { return c.sock.ID() }

// Token is the session token the client connected with ("" when anonymous).
func (c *Client) Token() string { return c.token }

// UserID is the session's user id when the session resolved at connect.
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// SetUserID records the user id (the session API does it on writes).
func (c *Client) SetUserID(id string) {
	c.mu.Lock()
	c.userID = id
	c.mu.Unlock()
}

// Locale is the preferred language from the handshake headers ("" if none).
func (c *Client) Locale() string { return c.locale }

// IP is the client's address, honouring the trusted-proxy settings.
//
// It is resolved on first use and kept: the peer address and the handshake
// headers it comes from cannot change during a connection, and resolving
// builds a header map (a cost every API and sync request would pay).
func (c *Client) IP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ip == "" {
		c.ip = c.srv.clientIPFromSocket(c.sock)
	}
	return c.ip
}

// Socket returns the underlying Socket.IO socket.
func (c *Client) Socket() *socketio.Socket { return c.sock }

// Server returns the server.
func (c *Client) Server() *Server { return c.srv }

// Context is cancelled when the client disconnects.
func (c *Client) Context() context.Context { return c.sock.Context() }

// Emit sends an event with one JSON argument (none when payload is nil).
func (c *Client) Emit(event string, payload any) error {
	if payload == nil {
		return c.sock.Emit(event)
	}
	return c.sock.Emit(event, payload)
}

// EmitRaw sends event with payload, JSON already, as its one argument,
// without encoding or boxing anything (socketio.Socket.EmitRaw). The
// api module replies with it from its encoded envelopes.
func (c *Client) EmitRaw(event []byte, payload json.RawMessage) error {
	return c.sock.EmitRaw(event, payload)
}

// Session reads the client's session (nil when anonymous or gone).
func (c *Client) Session(ctx context.Context) (*Session, error) {
	if c.token == "" {
		return nil, nil
	}
	return c.srv.GetSession(ctx, c.token)
}

// InRoom reports whether the client's socket is in room: a content room,
// its own id room or an identity room such as [SessionRoom]. Code that
// checks a client-supplied room code should refuse internal names first,
// or use [Client.Rooms], which lists content rooms only.
func (c *Client) InRoom(code string) bool {
	for _, r := range c.sock.Rooms() {
		if r == code {
			return true
		}
	}
	return false
}

// Rooms lists the client's content rooms (without its id and identity
// rooms) in the order they were joined, as Node's socket.rooms does. Rooms
// joined behind the server's back (through [Client.Socket] or a cluster
// operation) are placed after the known ones, by name.
func (c *Client) Rooms() []string {
	all := c.sock.Rooms()
	out := make([]string, 0, len(all))
	for _, r := range all {
		if r == c.sock.ID() || isInternalRoom(r) {
			continue
		}
		out = append(out, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.roomSeq == nil {
		c.roomSeq = make(map[string]uint64, len(out))
	}
	var unknown []string
	for _, r := range out {
		if _, ok := c.roomSeq[r]; !ok {
			unknown = append(unknown, r)
		}
	}
	slices.Sort(unknown)
	for _, r := range unknown {
		c.nextSeq++
		c.roomSeq[r] = c.nextSeq
	}
	if len(c.roomSeq) > len(out) {
		// Forget rooms left behind the server's back.
		live := make(map[string]struct{}, len(out))
		for _, r := range out {
			live[r] = struct{}{}
		}
		for r := range c.roomSeq {
			if _, ok := live[r]; !ok {
				delete(c.roomSeq, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(c.roomSeq[a], c.roomSeq[b]) })
	return out
}

// join puts the socket in content rooms, recording their join order.
func (c *Client) join(rooms ...string) {
	c.mu.Lock()
	if c.roomSeq == nil {
		c.roomSeq = make(map[string]uint64, len(rooms))
	}
	for _, r := range rooms {
		if _, ok := c.roomSeq[r]; !ok {
			c.nextSeq++
			c.roomSeq[r] = c.nextSeq
		}
	}
	c.mu.Unlock()
	c.sock.Join(rooms...)
}

// leave takes the socket out of a content room.
func (c *Client) leave(room string) {
	c.sock.Leave(room)
	c.mu.Lock()
	delete(c.roomSeq, room)
	c.mu.Unlock()
}

// SetFlag sets a per-connection flag (modules keep small state here, e.g.
// presence's "intentional disconnect seen").
func (c *Client) SetFlag(name string, v bool) (old bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flags == nil {
		c.flags = make(map[string]bool)
	}
	old = c.flags[name]
	c.flags[name] = v
	return old
}

// internalRoomPrefix marks rooms the server manages (session identity rooms).
// joinRoom refuses codes with this prefix, so no client-chosen string can put
// a socket into one (the original joined a room named by the raw token).
const internalRoomPrefix = "\x00ls:"

func isInternalRoom(r string) bool { return strings.HasPrefix(r, internalRoomPrefix) }

// SessionRoom is the internal room holding every socket of a session token.
func SessionRoom(token string) string { return internalRoomPrefix + "session:" + token }

// SocketConnectEvent is the payload of OnSocketConnect.
type SocketConnectEvent struct {
	SocketID string
	Token    string
	IP       string
	Client   *Client
}

// SocketDisconnectEvent is the payload of OnSocketDisconnect.
type SocketDisconnectEvent struct {
	SocketID string
	Token    string
	Reason   string
	Client   *Client
}

// Hooks fired by the socket layer.
var (
	OnSocketConnect    = NewHook[SocketConnectEvent]("onSocketConnect")
	OnSocketDisconnect = NewHook[SocketDisconnectEvent]("onSocketDisconnect")
)

// installConnectHandler is step 8: what happens on connection and disconnect.
func (s *Server) installConnectHandler() {
	nsp := s.io.Sockets()
	nsp.OnConnection(s.onConnection)
	nsp.OnDisconnect(s.onDisconnect)
	s.installRoomHandlers()
}

func (s *Server) onConnection(sock *socketio.Socket) {
	c := &Client{srv: s, sock: sock, token: s.extractTokenFromSocket(sock), locale: localeFromHeaders(sock.Header("X-Language"), sock.Header("Accept-Language"))}
	sock.SetData(c)
	ctx := sock.Context()
	if c.token != "" {
		// The identity room and the persisted rooms are joined only for a
		// session that resolves, and before the first event is handled.
		if sess, err := s.GetSession(ctx, c.token); err != nil {
			s.log.Warn("luckystack: session read failed at connect", "err", err)
		} else if sess != nil {
			c.SetUserID(sess.ID)
			sock.Join(SessionRoom(c.token))
			if len(sess.RoomCodes) > 0 {
				c.join(sess.RoomCodes...)
			}
		}
	}
	DispatchHook(ctx, s, OnSocketConnect, &SocketConnectEvent{SocketID: sock.ID(), Token: c.token, IP: c.IP(), Client: c})
	if p := s.presenceSeam(); p != nil {
		p.SocketConnected(ctx, c)
	}
}

func (s *Server) onDisconnect(sock *socketio.Socket, reason string) {
	c, ok := ClientOf(sock)
	if !ok {
		return
	}
	if p := s.presenceSeam(); p != nil {
		// Presence owns onSocketDisconnect: it fires it when the socket's
		// grace window closes, so it stays the session's final event.
		p.SocketDisconnected(c, reason)
		return
	}
	DispatchHook(context.Background(), s, OnSocketDisconnect, &SocketDisconnectEvent{SocketID: sock.ID(), Token: c.token, Reason: reason, Client: c})
}

// dispatchEvent routes a Socket.IO event to its LuckyStack handler with the
// single JSON argument LuckyStack events carry.
func (s *Server) dispatchEvent(e *socketio.Event) {
	h := (*s.socketEvts.Load())[e.Name]
	c, ok := ClientOf(e.Socket)
	if h == nil || !ok {
		return
	}
	var payload json.RawMessage
	if e.Args.Len() > 0 {
		payload = e.Args.Raw(0)
	}
	c.event.Store(e)
	h(e.Socket.Context(), c, payload)
	c.event.CompareAndSwap(e, nil)
}

// Detach lets the client's later events be handled while the calling
// [SocketEventHandler] goes on: handlers of one client otherwise run one
// at a time. A handler calls it at most once, from its own goroutine, when
// what had to happen in order with the client's other events is done and
// long work follows (the api module serves a request this way, still
// cancellable by a later apiCancel). Elsewhere it does nothing useful.
func (c *Client) Detach() {
	if e := c.event.Swap(nil); e != nil {
		e.Detach()
	}
}
