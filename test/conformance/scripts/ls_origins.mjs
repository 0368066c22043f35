// The LuckyStack origin gate with the official client: a refused origin is
// turned away at the handshake, over polling and over websocket, and the
// connect handler never runs for it; an allowed origin connects.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, connectError, control, sleep } from "./lib.mjs";

const opts = { forceNew: true, reconnection: false };

await run({
  async "a refused origin never reaches the connect handler"() {
    const before = await control("connects");
    for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
      log(`refused over ${transports}`);
      const s = io(SERVER_URL, { ...opts, transports, extraHeaders: { Origin: "http://evil.example" } });
      const err = await connectError(s);
      assert.match(err.message, /xhr poll error|websocket error/);
      s.close();
    }
    await sleep(100);
    assert.equal(await control("connects"), before, "no connect handler ran");
  },
  async "an allowed origin and a client without Origin connect"() {
    const before = await control("connects");
    for (const [label, extra] of [
      ["allowed polling", { transports: ["polling"], extraHeaders: { Origin: "http://allowed.example" } }],
      ["allowed websocket", { transports: ["websocket"], extraHeaders: { Origin: "http://ALLOWED.example:80" } }],
      ["no Origin", { transports: ["websocket"] }],
    ]) {
      log(label);
      const s = io(SERVER_URL, { ...opts, ...extra });
      await connected(s);
      const reply = new Promise((r) => s.once("getJoinedRooms-1", r));
      s.emit("getJoinedRooms", { responseIndex: 1 });
      await reply;
      s.disconnect();
    }
    assert.equal(await control("connects"), before + 3);
  },
});
