package luckystack

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/luckystack/luckystack-go/events"
)

// RoomEvent is the payload of PreRoomJoin and PreRoomLeave.
type RoomEvent struct {
	Token string
	Room  string
}

// RoomChangedEvent is the payload of PostRoomJoin and PostRoomLeave.
type RoomChangedEvent struct {
	Token    string
	Room     string
	AllRooms []string
}

// LocationEvent is the payload of OnLocationUpdate.
type LocationEvent struct {
	Token       string
	OldLocation *Location
	NewLocation *Location
}

// Room hooks. A stop of a pre-hook refuses the operation with its error code
// (room replies always carry status 400, as the original).
var (
	PreRoomJoin      = NewHook[RoomEvent]("preRoomJoin")
	PostRoomJoin     = NewHook[RoomChangedEvent]("postRoomJoin")
	PreRoomLeave     = NewHook[RoomEvent]("preRoomLeave")
	PostRoomLeave    = NewHook[RoomChangedEvent]("postRoomLeave")
	OnLocationUpdate = NewHook[LocationEvent]("onLocationUpdate")
)

const maxRoomCodeLen = 256

// RoomCodeFromPath returns the last segment of a URL path, which the seed
// documents as a page's room code: "/games/chess/room-abc" → "room-abc".
func RoomCodeFromPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// keyedMutex serialises work per key (room operations per session token).
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

func (s *Server) installRoomHandlers() {
	s.HandleSocketEvent(string(events.NameJoinRoom), func(ctx context.Context, c *Client, p json.RawMessage) {
		s.roomOp(ctx, c, p, true)
	})
	s.HandleSocketEvent(string(events.NameLeaveRoom), func(ctx context.Context, c *Client, p json.RawMessage) {
		s.roomOp(ctx, c, p, false)
	})
	s.HandleSocketEvent(string(events.NameGetJoinedRooms), s.getJoinedRooms)
	s.HandleSocketEvent(string(events.NameUpdateLocation), s.updateLocation)
}

// roomRequest decodes {group, responseIndex}: a non-string group counts as
// "", a responseIndex that is not an integer makes the request ignored.
func roomRequest(p json.RawMessage) (group string, index int, ok bool) {
	var raw struct {
		Group         json.RawMessage `json:"group"`
		ResponseIndex json.RawMessage `json:"responseIndex"`
	}
	if json.Unmarshal(p, &raw) != nil {
		return "", 0, false
	}
	var ri events.ResponseIndex
	if json.Unmarshal(raw.ResponseIndex, &ri) != nil || !ri.Valid {
		return "", 0, false
	}
	_ = json.Unmarshal(raw.Group, &group)
	return strings.TrimSpace(group), ri.Value, true
}

func roomError(code string) events.ErrorEnvelope {
	return events.ErrorEnvelope{ErrorCode: code, HTTPStatus: 400}.Normalize(400)
}

func (s *Server) roomOp(ctx context.Context, c *Client, p json.RawMessage, join bool) {
	group, idx, ok := roomRequest(p)
	if !ok {
		return
	}
	reply := events.LeaveRoom(idx)
	blocked, pre, post := events.CodeRoomLeaveBlocked, PreRoomLeave, PostRoomLeave
	if join {
		reply = events.JoinRoom(idx)
		blocked, pre, post = events.CodeRoomJoinBlocked, PreRoomJoin, PostRoomJoin
	}
	if c.token == "" {
		_ = c.Emit(reply, roomError(events.CodeAuthRequired))
		return
	}
	if group == "" || jsLen(group) > maxRoomCodeLen || isInternalRoom(group) {
		_ = c.Emit(reply, roomError(events.CodeRoomInvalid))
		return
	}
	unlock := s.roomLocks.lock(c.token)
	defer unlock()
	sess, err := s.GetSession(ctx, c.token)
	if err != nil || sess == nil {
		_ = c.Emit(reply, roomError(events.CodeSessionNotFound))
		return
	}
	// A session created after the socket connected (login over HTTP)
	// still gets its identity room, so pushes and evictions reach it.
	c.sock.Join(SessionRoom(c.token))
	c.SetUserID(sess.ID)
	if stop := DispatchHook(ctx, s, pre, &RoomEvent{Token: c.token, Room: group}); stop != nil {
		code := stop.ErrorCode
		if code == "" {
			code = blocked
		}
		_ = c.Emit(reply, roomError(code))
		return
	}
	var evicted []string
	_, err = s.UpdateSession(ctx, c.token, func(cur *Session) error {
		evicted = evicted[:0] // a store may run fn again after a conflict
		codes := slices.Clone(cur.RoomCodes)
		switch {
		case !join:
			codes = slices.DeleteFunc(codes, func(r string) bool { return r == group })
		case !slices.Contains(codes, group):
			// A code already held keeps its place (the original dedupes
			// kept + group); a new one evicts the oldest beyond the cap.
			codes = dedupe(codes)
			if limit := s.cfg.Socket.MaxRoomsPerSession; limit > 0 {
				for len(codes) >= limit {
					evicted = append(evicted, codes[0])
					codes = codes[1:]
				}
			}
			codes = append(codes, group)
		}
		cur.RoomCodes = dedupe(codes)
		delete(cur.Extra, "code")
		delete(cur.Extra, "codes")
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSessionNotFound) {
			_ = c.Emit(reply, roomError(events.CodeSessionNotFound))
			return
		}
		s.log.Warn("luckystack: room update failed", "err", err)
		_ = c.Emit(reply, roomError(events.CodeSessionNotFound))
		return
	}
	if len(evicted) > 0 {
		// Every tab of the session leaves evicted rooms, on every instance
		// (the original only updated the current socket).
		_ = s.io.To(SessionRoom(c.token)).SocketsLeave(ctx, evicted...)
		for _, r := range evicted {
			c.leave(r)
		}
	}
	if join {
		c.join(group)
	} else {
		c.leave(group)
	}
	rooms := c.Rooms()
	_ = c.Emit(reply, events.RoomsReply{Rooms: rooms})
	DispatchHook(ctx, s, post, &RoomChangedEvent{Token: c.token, Room: group, AllRooms: rooms})
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, r := range in {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) getJoinedRooms(ctx context.Context, c *Client, p json.RawMessage) {
	var raw struct {
		ResponseIndex json.RawMessage `json:"responseIndex"`
	}
	var ri events.ResponseIndex
	if json.Unmarshal(p, &raw) != nil || json.Unmarshal(raw.ResponseIndex, &ri) != nil || !ri.Valid {
		return
	}
	reply := events.GetJoinedRooms(ri.Value)
	if c.token == "" {
		_ = c.Emit(reply, events.RoomsErrorReply{ErrorEnvelope: roomError(events.CodeAuthRequired)})
		return
	}
	_ = c.Emit(reply, events.RoomsReply{Rooms: c.Rooms()})
}

// jsLen is the length JavaScript reports for s (UTF-16 code units), which
// the original's limits are expressed in.
func jsLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// validLocation applies the limits of spec §7.7.
func validLocation(l *events.UpdateLocation) bool {
	if !strings.HasPrefix(l.PathName, "/") || jsLen(l.PathName) > 2048 || strings.ContainsRune(l.PathName, 0) {
		return false
	}
	if len(l.SearchParams) > 50 {
		return false
	}
	for k, v := range l.SearchParams {
		if jsLen(k) > 256 || jsLen(v) > 1024 {
			return false
		}
	}
	return true
}

func (s *Server) updateLocation(ctx context.Context, c *Client, p json.RawMessage) {
	if c.token == "" || !s.cfg.LocationProviderEnabled {
		return
	}
	var raw struct {
		PathName     json.RawMessage `json:"pathName"`
		SearchParams json.RawMessage `json:"searchParams"`
	}
	if json.Unmarshal(p, &raw) != nil {
		return
	}
	var loc events.UpdateLocation
	if json.Unmarshal(raw.PathName, &loc.PathName) != nil {
		return
	}
	if len(raw.SearchParams) > 0 && string(raw.SearchParams) != "null" {
		if raw.SearchParams[0] != '{' || json.Unmarshal(raw.SearchParams, &loc.SearchParams) != nil {
			return
		}
	}
	if !validLocation(&loc) {
		return
	}
	unlock := s.roomLocks.lock(c.token)
	defer unlock()
	var old *Location
	next := &Location{PathName: loc.PathName, SearchParams: loc.SearchParams}
	_, err := s.UpdateSession(ctx, c.token, func(cur *Session) error {
		old = cur.Location
		cur.Location = next
		return nil
	})
	if err != nil {
		return
	}
	DispatchHook(ctx, s, OnLocationUpdate, &LocationEvent{Token: c.token, OldLocation: old, NewLocation: next})
}
