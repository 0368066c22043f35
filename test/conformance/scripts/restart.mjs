// Reconnection after the server restarts: the Go test shuts the server down
// (socketio.Server.Shutdown) and starts a new one on the same port; clients
// on every transport reconnect by themselves.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, control, until } from "./lib.mjs";

const opts = { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 };

await run({
  async "clients reconnect after a server restart"() {
    const clients = {
      websocket: io(SERVER_URL, { ...opts, transports: ["websocket"] }),
      polling: io(SERVER_URL, { ...opts, transports: ["polling"] }),
      upgraded: io(SERVER_URL, opts),
    };
    const names = Object.keys(clients);
    const upgraded = once(clients.upgraded.io.engine, "upgrade");
    await Promise.all(names.map((n) => connected(clients[n])));
    await upgraded;
    const before = {};
    const reasons = {};
    const reconnects = {};
    for (const n of names) {
      const s = clients[n];
      assert.equal(await s.emitWithAck("gen"), 1);
      before[n] = s.id;
      s.once("disconnect", (r) => (reasons[n] = r));
      s.io.once("reconnect", (attempt) => (reconnects[n] = attempt));
    }

    log("restart the server");
    const res = await control("restart");
    assert.deepEqual(
      Object.values(res.reasons).sort(),
      names.map(() => "server shutting down"),
      `the old server's disconnect reasons: ${JSON.stringify(res.reasons)}`,
    );
    assert.deepEqual(Object.keys(res.reasons).sort(), Object.values(before).sort());

    log("every client reconnects by itself");
    await until(() => names.every((n) => clients[n].connected && clients[n].id !== before[n]), 10000, "reconnections");
    for (const n of names) {
      // "transport close" when the close packet or frame arrived, "transport
      // error" when a poll found the old server gone first; never "io server
      // disconnect", which would forbid reconnecting.
      assert.ok(["transport close", "transport error"].includes(reasons[n]), `${n}: reason ${reasons[n]}`);
      assert.ok(reconnects[n] >= 1, `${n}: manager emitted reconnect`);
      assert.equal(await clients[n].emitWithAck("gen"), 2, `${n} talks to the new server`);
      assert.ok(!clients[n].recovered, "no connection state recovery");
    }
    for (const n of names) clients[n].disconnect();
  },
});
