// Polling→websocket upgrade with traffic in flight both ways: the transport
// becomes websocket and no packet is lost, duplicated or reordered across it.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, until, withTimeout } from "./lib.mjs";

// The upgrade normally completes a few milliseconds after the handshake; to
// be sure that traffic crosses it, the probe is delayed a little (engine.io
// client internals, pinned version). Everything else is the stock client.
function delayProbe(socket, ms) {
  const engine = socket.io.engine;
  assert.equal(typeof engine._probe, "function", "engine.io-client still has _probe (update delayProbe)");
  const probe = engine._probe.bind(engine);
  engine._probe = (name) => setTimeout(() => probe(name), ms);
}

async function upgradeWithTraffic(label, probeDelay) {
  const socket = io(SERVER_URL, { forceNew: true, reconnection: false });
  if (probeDelay > 0) delayProbe(socket, probeDelay);
  const engine = socket.io.engine;
  assert.equal(engine.transport.name, "polling", "starts on polling");

  let upgraded = false;
  const upgrade = withTimeout(
    new Promise((resolve) => engine.once("upgrade", (t) => resolve(t))),
    5000,
    "engine upgrade",
  );
  upgrade.then(() => (upgraded = true));

  // Server → client: "tick" n with a binary attachment every 7th, streamed
  // by the server from connection until "stop".
  let expected = 0;
  let ticksBefore = 0;
  let ticksAfter = 0;
  const errors = [];
  socket.on("tick", (n, bin) => {
    if (n !== expected) errors.push(`tick ${n}, want ${expected}`);
    if (n % 7 === 0 && !(Buffer.isBuffer(bin) && bin.length === 3 && bin[0] === (n & 255))) {
      errors.push(`tick ${n}: bad attachment ${JSON.stringify(bin)}`);
    }
    expected = n + 1;
    if (upgraded) ticksAfter++;
    else ticksBefore++;
  });

  await connected(socket);
  log(`${label}: connected on ${engine.transport.name}, streaming both ways`);

  // Client → server: "up" i every 2ms, a binary attachment every 5th.
  let sent = 0;
  let upsBefore = 0;
  let upsAfter = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 3; k++) {
      const i = sent++;
      socket.emit("up", i, i % 5 === 0 ? Buffer.from([i & 255, 1, 2]) : null);
      if (upgraded) upsAfter++;
      else upsBefore++;
    }
  }, 2);

  const transport = await upgrade;
  log(`${label}: upgraded after ${ticksBefore} ticks and ${upsBefore} ups`);
  assert.equal(transport.name, "websocket");
  assert.equal(engine.transport.name, "websocket", "socket.io.engine.transport.name after upgrade");

  await until(() => ticksAfter >= 50 && upsAfter >= 50, 5000, "50 ticks and ups after the upgrade");
  clearInterval(timer);
  const res = await socket.emitWithAck("stop", sent);
  log(`${label}: server sent ${res.ticks} ticks and got ${res.ups} ups`);
  await until(() => expected >= res.ticks, 5000, `all ${res.ticks} ticks`);
  assert.deepEqual(errors, [], "client saw ticks in order");
  assert.equal(expected, res.ticks, "no extra tick");
  assert.deepEqual(res.errors, [], "server saw ups in order");
  assert.equal(res.ups, sent, "server got every up");
  assert.equal(res.transportAtConnect, "polling");
  assert.equal(res.transportNow, "websocket");
  if (probeDelay > 0) {
    assert.ok(ticksBefore > 0 && upsBefore > 0, "traffic before the upgrade");
  }
  socket.disconnect();
}

await run({
  async "upgrade with traffic in flight (probe delayed 300ms)"() {
    await upgradeWithTraffic("delayed", 300);
  },
  async "upgrade with traffic in flight (stock timing)"() {
    await upgradeWithTraffic("stock", 0);
  },
  async "upgraded connection carries a 100 KB echo"() {
    const socket = io(SERVER_URL, { forceNew: true, reconnection: false });
    const upgrade = once(socket.io.engine, "upgrade");
    await connected(socket);
    await upgrade;
    assert.equal(socket.io.engine.transport.name, "websocket");
    const big = "x".repeat(100_000);
    assert.equal(await socket.emitWithAck("echo", big), big);
    socket.disconnect();
  },
});
