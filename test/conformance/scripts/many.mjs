// 1,000 concurrent websocket clients in one process: each connects, emits
// with an ack, and receives the broadcast the server sends once all of them
// have checked in.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, withTimeout } from "./lib.mjs";

const N = Number(process.env.CLIENTS);

await run(
  {
    async [`${N} concurrent clients`]() {
      const sockets = [];
      const broadcasts = [];
      let connectedCount = 0;
      let errors = [];
      log(`connecting ${N} websocket clients`);
      for (let i = 0; i < N; i++) {
        const s = io(SERVER_URL, { forceNew: true, reconnection: false, transports: ["websocket"], timeout: 30000 });
        sockets.push(s);
        broadcasts.push(
          new Promise((resolve) => s.once("all-in", (count, bin) => resolve({ count, bin }))),
        );
        s.once("connect", () => connectedCount++);
        s.once("connect_error", (err) => errors.push(`client ${i}: ${err.message}`));
      }
      await withTimeout(
        Promise.all(sockets.map((s) => (s.connected ? null : new Promise((r) => s.once("connect", r))))),
        60000,
        `${N} connections (${connectedCount} so far, errors: ${errors.slice(0, 5)})`,
      );
      assert.deepEqual(errors, []);
      log(`${N} connected; every client emits with ack`);
      const acks = await withTimeout(
        Promise.all(sockets.map((s, i) => s.timeout(30000).emitWithAck("hello", i, s.id))),
        45000,
        "acks",
      );
      acks.forEach((a, i) => assert.deepEqual(a, { i, double: 2 * i, id: sockets[i].id }, `ack of client ${i}`));
      log("all acks right; waiting for the broadcast on every client");
      const got = await withTimeout(Promise.all(broadcasts), 30000, "broadcast on every client");
      got.forEach(({ count, bin }, i) => {
        assert.equal(count, N, `client ${i}: broadcast count`);
        assert.ok(Buffer.isBuffer(bin) && bin.length === 3, `client ${i}: binary in the broadcast`);
      });
      assert.ok(sockets.every((s) => s.connected));
      log(`all ${N} received the broadcast`);
      for (const s of sockets) s.disconnect();
    },
  },
  150000,
);
