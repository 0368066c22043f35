// Allowed and refused origins: AllowRequest checks the Origin header on the
// handshake of both transports, CORS headers answer allowed origins only.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, connectError, once, sleep } from "./lib.mjs";

const ALLOWED = "http://allowed.example";
const REFUSED = "http://evil.example";
const opts = { forceNew: true, reconnection: false };
const handshake = `${SERVER_URL}/socket.io/?EIO=4&transport=polling`;

await run({
  async "allowed origin connects over polling, websocket and upgrade"() {
    for (const [label, transports] of [
      ["polling", ["polling"]],
      ["websocket", ["websocket"]],
      ["upgrade", ["polling", "websocket"]],
    ]) {
      log(`allowed origin, ${label}`);
      const s = io(SERVER_URL, { ...opts, transports, extraHeaders: { Origin: ALLOWED } });
      const upgraded = label === "upgrade" ? once(s.io.engine, "upgrade") : null;
      await connected(s);
      if (upgraded) await upgraded;
      const who = await s.emitWithAck("whoami");
      assert.equal(who.origin, ALLOWED);
      assert.equal(who.xdomain, true);
      assert.equal(who.transport, label === "polling" ? "polling" : "websocket");
      s.disconnect();
    }
  },
  async "no Origin header (non-browser client) connects"() {
    const s = io(SERVER_URL, { ...opts });
    await connected(s);
    const who = await s.emitWithAck("whoami");
    assert.equal(who.origin, "");
    assert.equal(who.xdomain, false);
    s.disconnect();
  },
  async "refused origin gets connect_error over polling"() {
    const s = io(SERVER_URL, { ...opts, transports: ["polling"], extraHeaders: { Origin: REFUSED } });
    const err = await connectError(s);
    assert.equal(err.message, "xhr poll error");
    assert.equal(err.description, 403);
    await sleep(100);
    assert.equal(s.connected, false);
    s.close();
  },
  async "refused origin gets connect_error over websocket"() {
    const s = io(SERVER_URL, { ...opts, transports: ["websocket"], extraHeaders: { Origin: REFUSED } });
    const err = await connectError(s);
    assert.equal(err.message, "websocket error");
    assert.match(String(err.description?.message ?? err.description), /403/);
    s.close();
  },
  async "refused origin: tryAllTransports finds no way in"() {
    const s = io(SERVER_URL, { ...opts, transports: ["polling", "websocket"], tryAllTransports: true, extraHeaders: { Origin: REFUSED } });
    await connectError(s);
    assert.equal(s.connected, false);
    s.close();
  },
  async "CORS headers over raw HTTP"() {
    log("allowed origin: handshake with CORS headers");
    let res = await fetch(handshake, { headers: { Origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.match(res.headers.get("vary") ?? "", /Origin/);
    assert.equal((await res.text())[0], "0", "an open packet");

    log("allowed origin: preflight");
    res = await fetch(handshake, {
      method: "OPTIONS",
      headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-custom" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.equal(res.headers.get("access-control-allow-headers"), "x-custom");

    log("refused origin: 403 Forbidden with engine.io's error body, no CORS headers");
    res = await fetch(handshake, { headers: { Origin: REFUSED } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.deepEqual(await res.json(), { code: 4, message: "origin not allowed" });

    log("refused origin: preflight gets no CORS headers");
    res = await fetch(handshake, { method: "OPTIONS", headers: { Origin: REFUSED, "Access-Control-Request-Method": "POST" } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  },
});
