// Heartbeat: with a short PingInterval/PingTimeout, a client that stops
// answering is dropped by the server ("ping timeout"), a client that stops
// hearing the server gives up too ("ping timeout"), and healthy clients on
// both transports stay connected through many ping cycles.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, sleep, control, withTimeout } from "./lib.mjs";

const opts = { forceNew: true, reconnection: false };

await run({
  async "ping timeout on both sides"() {
    const healthyWS = io(SERVER_URL, { ...opts, transports: ["websocket"] });
    const healthyPoll = io(SERVER_URL, { ...opts, transports: ["polling"] });
    const deaf = io(SERVER_URL, { ...opts, transports: ["websocket"] });
    const mute = io(SERVER_URL, { ...opts, transports: ["polling"] });
    const all = [healthyWS, healthyPoll, deaf, mute];
    await Promise.all(all.map((s) => connected(s)));
    const ids = all.map((s) => s.id);
    const pings = { ws: 0, poll: 0 };
    healthyWS.io.engine.on("ping", () => pings.ws++);
    healthyPoll.io.engine.on("ping", () => pings.poll++);
    const reasons = all.map((s) => once(s, "disconnect", 8000).then(([r]) => r));
    reasons.forEach((p) => p.catch(() => {}));

    log("deaf: its network goes silent both ways (a paused and corked TCP socket)");
    // Corked too, so that its own close frame, once it gives up, cannot
    // reach the server before the server's timer does.
    const t0 = Date.now();
    const tcp = deaf.io.engine.transport.ws._socket;
    tcp.pause();
    tcp.cork();

    log("mute: drops its pongs (engine.io-client internals)");
    const engine = mute.io.engine;
    assert.equal(typeof engine._sendPacket, "function");
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));

    log("the server drops both with ping timeout");
    const server = await control("reasons", [ids[2], ids[3]]);
    assert.deepEqual(server, { [ids[2]]: "ping timeout", [ids[3]]: "ping timeout" });

    log("the deaf client times out by itself");
    assert.equal(await reasons[2], "ping timeout");
    const elapsed = Date.now() - t0;
    // Its timer runs pingInterval+pingTimeout (1150ms) from the last ping.
    assert.ok(elapsed >= 800, `client ping timeout after ${elapsed}ms only`);
    const muteReason = await reasons[3];
    assert.ok(["transport close", "ping timeout"].includes(muteReason), `mute client: ${muteReason}`);

    log("healthy clients are still there after many pings");
    await sleep(Math.max(0, 2000 - (Date.now() - t0)));
    assert.ok(healthyWS.connected && healthyPoll.connected);
    assert.ok(pings.ws >= 5 && pings.poll >= 5, `pings: ${JSON.stringify(pings)}`);
    assert.equal(healthyWS.id, ids[0]);
    assert.equal(healthyPoll.id, ids[1]);
    assert.deepEqual(await control("reasons-now", [ids[0], ids[1]]), {}, "server kept the healthy ones");
    assert.equal(await healthyWS.emitWithAck("ping"), "pong");
    assert.equal(await healthyPoll.emitWithAck("ping"), "pong");
    healthyWS.disconnect();
    healthyPoll.disconnect();
  },
});
