package client

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/luckystack/luckystack-go/events"
)

// trimRoom applies the server's trimming to a room code.
func trimRoom(s string) string { return strings.TrimSpace(s) }

// roomOp is one joinRoom, leaveRoom or getJoinedRooms request.
type roomOp struct {
	event events.Name
	group string
}

const (
	roomJoin  = events.NameJoinRoom
	roomLeave = events.NameLeaveRoom
	roomGet   = events.NameGetJoinedRooms
)

// JoinRoom joins the room code (the session must exist on the server) and
// returns the socket's rooms. The client remembers the room and joins it
// again after every reconnect. Room operations are not queued: while the
// client is not connected they fail with api.disconnected.
func (c *Client) JoinRoom(ctx context.Context, room string) ([]string, error) {
	room = trimRoom(room)
	cn, err := c.current()
	if err != nil {
		return nil, c.notConnected(err)
	}
	rooms, err := c.roomsCall(ctx, cn, roomOp{event: roomJoin, group: room})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if !slices.Contains(c.rooms, room) {
		c.rooms = append(c.rooms, room)
	}
	c.mu.Unlock()
	return rooms, nil
}

// LeaveRoom leaves the room code, stops rejoining it, and returns the
// socket's remaining rooms.
func (c *Client) LeaveRoom(ctx context.Context, room string) ([]string, error) {
	room = trimRoom(room)
	cn, err := c.current()
	if err != nil {
		return nil, c.notConnected(err)
	}
	rooms, err := c.roomsCall(ctx, cn, roomOp{event: roomLeave, group: room})
	if err != nil {
		return nil, err
	}
	c.forgetRoom(room)
	return rooms, nil
}

// GetJoinedRooms asks the server which rooms this socket is in (its own id
// room and session room excluded).
func (c *Client) GetJoinedRooms(ctx context.Context) ([]string, error) {
	cn, err := c.current()
	if err != nil {
		return nil, c.notConnected(err)
	}
	return c.roomsCall(ctx, cn, roomOp{event: roomGet})
}

// Rooms returns the rooms the client rejoins after a reconnect: those joined
// through JoinRoom and not left since.
func (c *Client) Rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.rooms)
}

func (c *Client) forgetRoom(room string) {
	c.mu.Lock()
	c.rooms = slices.DeleteFunc(c.rooms, func(r string) bool { return r == room })
	c.mu.Unlock()
}

func (c *Client) notConnected(err error) *Error {
	if err == ErrClosed {
		return newError(events.CodeAPIDisconnected, ErrClosed)
	}
	return newError(events.CodeAPIDisconnected, ErrNotConnected)
}

// roomsCall sends a room request on cn and waits for its reply.
func (c *Client) roomsCall(ctx context.Context, cn *conn, op roomOp) ([]string, error) {
	index := int(c.index.Add(1))
	var req any
	switch op.event {
	case roomJoin:
		req = events.JoinRoomRequest{Group: op.group, ResponseIndex: events.Index(index)}
	case roomLeave:
		req = events.LeaveRoomRequest{Group: op.group, ResponseIndex: events.Index(index)}
	default:
		req = events.GetJoinedRoomsRequest{ResponseIndex: events.Index(index)}
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, newError(events.CodeRoomInvalid, err)
	}
	cl := newCall(index, op.event, "", payload)
	if err := c.send(cl, cn); err != nil {
		return nil, c.notConnected(ErrNotConnected)
	}
	for {
		frames, wait := cl.take()
		for _, f := range frames {
			if f.disconnected {
				return nil, c.disconnectedError()
			}
			c.pending.remove(cl)
			return parseRoomsReply(f.data)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			c.pending.remove(cl)
			return nil, ctxError(ctx, events.CodeAPITimeout)
		}
	}
}

// parseRoomsReply reads {rooms:[...]} or an error envelope (which may also
// carry rooms:[]).
func parseRoomsReply(raw json.RawMessage) ([]string, error) {
	var r struct {
		Status string   `json:"status"`
		Rooms  []string `json:"rooms"`
	}
	if !events.IsObject(raw) || json.Unmarshal(raw, &r) != nil {
		return nil, invalidResponse(raw)
	}
	if r.Status == events.StatusError {
		return nil, errorFromEnvelope(raw)
	}
	if r.Rooms == nil {
		r.Rooms = []string{}
	}
	return r.Rooms, nil
}

// rejoin joins the remembered rooms on a fresh connection, before queued
// requests are replayed (a queued sync to a room needs the membership).
// Each join waits for its reply so that the order is certain. Failures are
// logged and the room is kept: the server may accept it on a later
// connection, after SetToken for instance.
func (c *Client) rejoin(ctx context.Context, cn *conn) {
	for _, room := range c.Rooms() {
		jctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
		_, err := c.roomsCall(jctx, cn, roomOp{event: roomJoin, group: room})
		cancel()
		if err != nil {
			c.opts.Logger.Warn("client: rejoin room failed", "room", room, "err", err)
			if Code(err) == events.CodeAPIDisconnected || ctx.Err() != nil {
				return
			}
		}
	}
}
