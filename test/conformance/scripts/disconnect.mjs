// Server-side disconnects: the client sees "io server disconnect" and does
// not reconnect by itself. Also client-side disconnects, for the reasons the
// server reports.
import assert from "node:assert/strict";
import { io, Manager, SERVER_URL, run, log, connected, once, sleep, control } from "./lib.mjs";

const TRANSPORT = process.env.TRANSPORT;
const base = { transports: [TRANSPORT], reconnectionDelay: 50, reconnectionDelayMax: 100 };

function countAttempts(manager) {
  const c = { n: 0 };
  manager.on("reconnect_attempt", () => c.n++);
  manager.on("open", () => c.n++);
  return c;
}

await run({
  async [`server disconnect over ${TRANSPORT}`]() {
    log("socket.Disconnect(false): io server disconnect, no reconnection");
    const a = io(SERVER_URL, { ...base, forceNew: true });
    await connected(a);
    const id = a.id;
    const attempts = countAttempts(a.io);
    const gone = once(a, "disconnect");
    a.emit("kick");
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    await sleep(400);
    assert.equal(a.connected, false);
    assert.equal(a.active, false);
    assert.equal(attempts.n, 0, "no reconnection attempt");
    assert.deepEqual(await control("reasons", [id]), { [id]: "server namespace disconnect" });

    log("a manual connect() after it works");
    a.connect();
    await connected(a);
    assert.notEqual(a.id, id);
    a.disconnect();

    log("socket.Disconnect(true) closes every namespace of the connection");
    const m = new Manager(SERVER_URL, base);
    const root = m.socket("/");
    const chat = m.socket("/chat");
    await Promise.all([connected(root), connected(chat)]);
    assert.equal(await root.emitWithAck("conn-id"), await chat.emitWithAck("conn-id"), "one connection");
    const ids = [root.id, chat.id];
    const attempts2 = countAttempts(m);
    const g1 = once(root, "disconnect");
    const g2 = once(chat, "disconnect");
    root.emit("kick-all");
    assert.deepEqual([(await g1)[0], (await g2)[0]], ["io server disconnect", "io server disconnect"]);
    await sleep(400);
    assert.equal(attempts2.n, 0, "no reconnection attempt");
    assert.ok(!root.active && !chat.active);
    assert.deepEqual(await control("reasons", ids), {
      [ids[0]]: "server namespace disconnect",
      [ids[1]]: "server namespace disconnect",
    });

    log("client socket.disconnect(): server sees client namespace disconnect");
    const m2 = new Manager(SERVER_URL, base);
    const r2 = m2.socket("/");
    const c2 = m2.socket("/chat");
    await Promise.all([connected(r2), connected(c2)]);
    const [rid, cid] = [r2.id, c2.id];
    c2.disconnect(); // the connection stays: "/" still uses it
    assert.deepEqual(await control("reasons", [cid]), { [cid]: "client namespace disconnect" });
    assert.ok(r2.connected);
    assert.equal(await r2.emitWithAck("ping"), "pong");
    // The last socket of a manager: the client sends DISCONNECT, then closes
    // the connection at once.
    r2.disconnect();
    assert.deepEqual(await control("reasons", [rid]), { [rid]: "client namespace disconnect" });

    log("events emitted right before disconnect() are all handled");
    const m4 = new Manager(SERVER_URL, base);
    const r4 = m4.socket("/");
    await connected(r4);
    const id4 = r4.id;
    for (let i = 0; i < 20; i++) r4.emit("record", i);
    r4.disconnect();
    assert.deepEqual(await control("reasons", [id4]), { [id4]: "client namespace disconnect" });
    assert.deepEqual(await control("records", id4), [...Array(20).keys()]);

    log("disconnect() then connect() at once on a shared connection");
    const m5 = new Manager(SERVER_URL, base);
    const r5 = m5.socket("/");
    const c5 = m5.socket("/chat");
    await Promise.all([connected(r5), connected(c5)]);
    const conn5 = await r5.emitWithAck("conn-id");
    c5.disconnect();
    c5.connect();
    await connected(c5);
    assert.equal(await c5.emitWithAck("conn-id"), conn5, "same connection");
    assert.ok(r5.connected);
    m5.engine.close();

    log("client closes the connection: server sees transport close");
    const m3 = new Manager(SERVER_URL, base);
    const r3 = m3.socket("/");
    await connected(r3);
    const id3 = r3.id;
    m3.engine.close();
    assert.deepEqual(await control("reasons", [id3]), { [id3]: "transport close" });
  },
});
