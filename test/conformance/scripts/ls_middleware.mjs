// LuckyStack socket middlewares with the official client: a rejection is a
// connect_error carrying the middleware's message; accepted connections ran
// the middlewares in registration order, a name registered twice once.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, connected, connectError, control } from "./lib.mjs";

const opts = { forceNew: true, reconnection: false };

await run({
  async "rejection reaches the client as connect_error"() {
    for (const transports of [["polling"], ["websocket"]]) {
      const s = io(SERVER_URL, { ...opts, transports, auth: { pass: "wrong" } });
      const err = await connectError(s);
      assert.equal(err.message, "nope, not today");
      s.close();
    }
    assert.equal(await control("connects"), 0);
  },
  async "accepted connections ran the middlewares in order, once per name"() {
    const s = io(SERVER_URL, { ...opts, transports: ["websocket"], auth: { pass: "open sesame" } });
    await connected(s);
    // The two rejected connections ran "first" and stopped at the gate;
    // "first-again" shares the name "first" and never runs.
    assert.deepEqual(await control("mwOrder"), ["first", "first", "first", "last"]);
    s.disconnect();
  },
});
