// Package redisadapter lets several luckystack servers, and Node.js Socket.IO
// servers, share broadcasts and cluster-wide requests through Redis pub/sub,
// speaking the wire protocol of Node's @socket.io/redis-adapter 8.x (the
// classic createAdapter, not the sharded or streams variants).
//
// This first part of the package is the wire codec; the adapter that
// subscribes, publishes and answers requests on top of it comes next, with
// New, Options and Adapter.
//
// # Wire format
//
// Per namespace and key prefix (default "socket.io"):
//
//   - broadcasts go to "socket.io#<nsp>#", or "socket.io#<nsp>#<room>#" when
//     they target exactly one room; a node PSUBSCRIBEs "socket.io#<nsp>#*" and
//     drops room channels for rooms it does not hold before decoding anything;
//   - requests go to "socket.io-request#<nsp>#";
//   - responses go to "socket.io-response#<nsp>#", or to the requester's
//     "socket.io-response#<nsp>#<uid>#".
//
// Broadcasts are msgpack [uid, packet, opts] as notepack.io 3.0.1 writes them.
// Requests and responses are JSON, except the broadcast-with-ack request (type
// 7) and the BROADCAST_ACK response (type 9), which are msgpack; receivers
// tell them apart by a leading '{'. Encoders reproduce Node's bytes, key order
// included, and are checked against captured golden samples.
//
// # Binary data
//
// Inside the server a packet's data is JSON in which binary values are
// {"_placeholder":true,"num":i} objects indexing a list of attachments. On
// Redis each becomes a msgpack bin in place, exactly where a Node Buffer would
// be, and the packet type stays EVENT (2): a receiver finding bin values gets
// them back as placeholders plus attachments and sends the packet to clients
// as BINARY_EVENT.
//
// # Trust
//
// Redis pub/sub messages are neither signed nor authenticated: anyone who can
// publish on the channels can inject packets. Decoders treat every message as
// hostile input: they bound nesting and declared lengths, and return an error
// instead of panicking.
package redisadapter
