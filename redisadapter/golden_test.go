package redisadapter

// Golden samples of /work/shared/spec/redis-adapter-wire.md (Redis MONITOR of
// Node 20, socket.io 4.8.3, @socket.io/redis-adapter 8.3.0). The first
// broadcast is given there byte for byte; for the other msgpack samples the
// spec gives the decoded value, so their bytes are spelled out here from
// notepack.io 3.0.1's encoder (same layout, same uid). JSON samples are copied
// verbatim.

var (
	goldenBroadcastRoom1 = []byte("\x93\xa6Wm1daO\x83\xa4type\x02\xa4data\x93\xa2ev\x82\xa1a\x01\xa1b\xa1x*\xa3nsp\xa1/" +
		"\x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80")
	goldenBroadcastAll = []byte("\x93\xa6Wm1daO\x83\xa4type\x02\xa4data\x92\xa3all\xa5plain\xa3nsp\xa1/" +
		"\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80")
	goldenBroadcastBinary = []byte("\x93\xa6Wm1daO\x83\xa4type\x02\xa4data\x92\xa3bin\xc4\x03\x01\x02\x03\xa3nsp\xa1/" +
		"\x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80")
	goldenBroadcastExcept = []byte("\x93\xa6Wm1daO\x83\xa4type\x02\xa4data\x92\xa3all\xa5plain\xa3nsp\xa1/" +
		"\x83\xa5rooms\x90\xa6except\x91\xa5room2\xa5flags\x80")

	goldenSSE        = `{"uid":"Wm1daO","type":6,"data":["hello","world",1]}`
	goldenSSEWithAck = `{"uid":"dgBOSp","requestId":"PComhd","type":6,"data":["hello","with-ack"]}`
	goldenFetch      = `{"uid":"Wm1daO","requestId":"sHHoWt","type":5,"opts":{"rooms":["r1"],"except":[]}}`
	goldenFetchResp  = `{"requestId":"sHHoWt","sockets":[{"id":"io3A…","handshake":{"headers":{},"time":"…",` +
		`"address":"::ffff:127.0.0.1","xdomain":false,"secure":true,"issued":1795640096418,"query":{},"auth":{}},` +
		`"rooms":["io3A…","r1"],"data":{}}]}`
	goldenBroadcastAckReq = []byte("\x85\xa3uid\xa6Wm1daO\xa9requestId\xa6BVGza1\xa4type\x07" +
		"\xa6packet\x83\xa4type\x02\xa4data\x91\xa5noack\xa3nsp\xa1/" +
		"\xa4opts\x83\xa5rooms\x91\xa2r1\xa6except\x90\xa5flags\x81\xa7timeout\xcd\x03\xe8")
	goldenClientCount = `{"type":8,"requestId":"BVGza1","clientCount":1}`
	goldenAckResp     = []byte("\x83\xa4type\x09\xa9requestId\xa6BVGza1\xa6packet\xaaclient-ack")
	goldenJoin        = `{"uid":"Wm1daO","type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["joined-remotely"]}`
	goldenLeave       = `{"uid":"dgBOSp","type":3,"opts":{"rooms":["r1"],"except":[]},"rooms":["joined-remotely"]}`
	goldenDisconnect  = `{"uid":"dgBOSp","type":4,"opts":{"rooms":["nobody"],"except":[]},"close":true}`
	goldenAllRooms    = `{"uid":"dgBOSp","requestId":"-6D5Kl","type":1}`
	goldenAllRoomsRes = `{"requestId":"-6D5Kl","rooms":[]}`
)

// goldenMessages lists every golden payload, for fuzz seeds.
func goldenMessages() [][]byte {
	out := [][]byte{goldenBroadcastRoom1, goldenBroadcastAll, goldenBroadcastBinary, goldenBroadcastExcept,
		goldenBroadcastAckReq, goldenAckResp}
	for _, s := range []string{goldenSSE, goldenSSEWithAck, goldenFetch, goldenFetchResp, goldenClientCount,
		goldenJoin, goldenLeave, goldenDisconnect, goldenAllRooms, goldenAllRoomsRes} {
		out = append(out, []byte(s))
	}
	return out
}
