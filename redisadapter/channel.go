package redisadapter

// This file names the Redis channels of one namespace and generates node and
// request ids, as socket.io-redis-adapter 8.x does.

import (
	"crypto/rand"
	"strings"
)

// defaultKey is the channel prefix when none is configured (Node's opts.key).
const defaultKey = "socket.io"

// channels holds the channel names of one namespace on one node.
type channels struct {
	// broadcast is "<key>#<nsp>#"; a single-room broadcast appends "<room>#".
	broadcast string
	// request is "<key>-request#<nsp>#".
	request string
	// response is "<key>-response#<nsp>#", shared by every node.
	response string
	// ownResponse is "<key>-response#<nsp>#<uid>#", where peers answer this node
	// when they run with publishOnSpecificResponseChannel.
	ownResponse string
}

// newChannels returns the channel names for namespace nsp on the node uid.
// An empty key means defaultKey.
func newChannels(key, nsp, uid string) channels {
	if key == "" {
		key = defaultKey
	}
	c := channels{
		broadcast: key + "#" + nsp + "#",
		request:   key + "-request#" + nsp + "#",
		response:  key + "-response#" + nsp + "#",
	}
	c.ownResponse = c.responseTo(uid)
	return c
}

// room returns the channel of a broadcast that targets exactly one room.
func (c channels) room(room string) string { return c.broadcast + room + "#" }

// responseTo returns the node-specific response channel of the node uid.
func (c channels) responseTo(uid string) string { return c.response + uid + "#" }

// pattern returns the PSUBSCRIBE pattern that covers the broadcast channel
// and every room channel. Node does not escape it, so a key or namespace
// containing glob characters also matches foreign channels there; escaping
// them here keeps the subscription exact, and parseBroadcast still filters.
func (c channels) pattern() string {
	var b strings.Builder
	for _, r := range c.broadcast {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('*')
	return b.String()
}

// parseBroadcast classifies a channel received through pattern(), looking at
// the name only so a message for a room this node does not hold can be dropped
// before its payload is decoded. It returns ok=false for a channel outside
// this namespace, room="" for the base channel, and the room otherwise.
//
// Node takes everything between the prefix and the last character as the
// room; this also requires that last character to be the '#' every publisher
// writes. As in Node, "<key>#<nsp>##" (a broadcast to the room "") reads as the
// base channel, which is harmless: opts.rooms is checked again after decoding.
func (c channels) parseBroadcast(channel string) (room string, ok bool) {
	rest, ok := strings.CutPrefix(channel, c.broadcast)
	if !ok || rest == "" {
		return "", ok
	}
	if room, ok = strings.CutSuffix(rest, "#"); !ok {
		return "", false
	}
	return room, true
}

// uidAlphabet is uid2's alphabet: 64 URL-safe characters, so byte%64 is
// uniform.
const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newUID returns a random 6-character id, like uid2(6) in Node: the node uid
// and the request ids. 36 bits are plenty to tell apart the nodes of a cluster
// and the requests in flight on one node.
func newUID() string {
	var p [6]byte
	_, _ = rand.Read(p[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	for i, c := range p {
		p[i] = uidAlphabet[c%64]
	}
	return string(p[:])
}
