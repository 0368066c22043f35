// Payloads above MaxHTTPBufferSize (10,000 bytes here): the offending
// connection is closed, over either transport, and the server keeps serving
// the others.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, control } from "./lib.mjs";

const opts = { forceNew: true, reconnection: false };

async function tooBig(label, transport, payload) {
  log(`${label}: over ${transport}`);
  const s = io(SERVER_URL, { ...opts, transports: [transport] });
  await connected(s);
  const id = s.id;
  const gone = once(s, "disconnect", 5000);
  s.emit("big", payload);
  const [reason] = await gone;
  log(`${label}: client saw "${reason}"`);
  assert.ok(["transport close", "transport error"].includes(reason), `client reason ${reason}`);
  assert.deepEqual(await control("reasons", [id]), { [id]: "transport error" }, "server reason");
}

await run({
  async "oversize payloads close only their connection"() {
    const bystander = io(SERVER_URL, { ...opts, transports: ["websocket"] });
    const bystanderPoll = io(SERVER_URL, { ...opts, transports: ["polling"] });
    await Promise.all([connected(bystander), connected(bystanderPoll)]);

    log("the handshake announces maxPayload");
    const res = await fetch(`${SERVER_URL}/socket.io/?EIO=4&transport=polling`);
    assert.equal(JSON.parse((await res.text()).slice(1)).maxPayload, 10000);

    log("just below the limit is fine on both transports");
    const almost = "y".repeat(9_900);
    for (const transport of ["websocket", "polling"]) {
      const s = io(SERVER_URL, { ...opts, transports: [transport] });
      await connected(s);
      assert.equal(await s.emitWithAck("big", almost), almost.length);
      s.disconnect();
    }

    await tooBig("20 KB string", "websocket", "x".repeat(20_000));
    await tooBig("20 KB string", "polling", "x".repeat(20_000));
    await tooBig("20 KB buffer", "websocket", Buffer.alloc(20_000, 1));
    await tooBig("20 KB buffer", "polling", Buffer.alloc(20_000, 1));

    log("the other clients are still served");
    assert.ok(bystander.connected && bystanderPoll.connected);
    assert.equal(await bystander.emitWithAck("big", "small"), 5);
    assert.equal(await bystanderPoll.emitWithAck("big", "small"), 5);
    const late = io(SERVER_URL, { ...opts });
    await connected(late);
    assert.equal(await late.emitWithAck("big", "new"), 3);
    for (const s of [bystander, bystanderPoll, late]) s.disconnect();
  },
});
