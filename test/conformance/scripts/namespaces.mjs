// Several namespaces multiplexed on one Engine.IO connection.
import assert from "node:assert/strict";
import { io, Manager, SERVER_URL, run, log, connected, connectError, once, control } from "./lib.mjs";

const TRANSPORT = process.env.TRANSPORT;

await run({
  async [`namespaces multiplexed over ${TRANSPORT}`]() {
    const m = new Manager(SERVER_URL, { transports: [TRANSPORT], reconnection: false });
    const root = m.socket("/");
    const chat = m.socket("/chat");
    const admin = m.socket("/admin", { auth: { role: "admin" } });
    const all = { "/": root, "/chat": chat, "/admin": admin };
    await Promise.all(Object.values(all).map((s) => connected(s)));
    const engineId = m.engine.id;

    log("one engine connection, one socket per namespace");
    const who = {};
    for (const [nsp, s] of Object.entries(all)) {
      who[nsp] = await s.emitWithAck("whoami");
      assert.equal(who[nsp].nsp, nsp);
      assert.equal(who[nsp].id, s.id);
      assert.equal(who[nsp].conn, engineId, `${nsp} shares the engine connection`);
      assert.equal(who[nsp].transport, TRANSPORT);
    }
    assert.equal(new Set(Object.values(all).map((s) => s.id)).size, 3, "distinct socket ids");
    assert.deepEqual(who["/admin"].auth, { role: "admin" }, "per-namespace auth");
    assert.deepEqual(who["/chat"].auth, {});

    log("a namespace broadcast reaches only that namespace");
    const heard = { "/": 0, "/chat": 0, "/admin": 0 };
    for (const [nsp, s] of Object.entries(all)) s.on("shout", () => heard[nsp]++);
    const got = once(chat, "shout");
    await chat.emitWithAck("shout", "hi");
    assert.deepEqual(await got, ["hi"]);
    // One connection keeps its order: after these round trips a stray
    // shout would have arrived.
    await root.emitWithAck("whoami");
    await admin.emitWithAck("whoami");
    assert.deepEqual(heard, { "/": 0, "/chat": 1, "/admin": 0 });

    log("io() shares a manager per URL: same connection");
    const a = io(SERVER_URL, { transports: [TRANSPORT], reconnection: false });
    const b = io(`${SERVER_URL}/chat`, { transports: [TRANSPORT], reconnection: false });
    await Promise.all([connected(a), connected(b)]);
    assert.equal(a.io, b.io);
    assert.equal((await a.emitWithAck("whoami")).conn, (await b.emitWithAck("whoami")).conn);
    assert.notEqual((await a.emitWithAck("whoami")).conn, engineId, "another manager, another connection");
    a.disconnect();
    b.disconnect();

    log("an unknown namespace is refused, the others stay");
    const nope = m.socket("/nope");
    const err = await connectError(nope);
    assert.equal(err.message, "Invalid namespace");
    nope.close();
    assert.ok(root.connected && chat.connected && admin.connected);

    log("leaving one namespace keeps the connection for the others");
    const chatId = chat.id;
    chat.disconnect();
    assert.deepEqual(await control("reasons", [chatId]), { [chatId]: "client namespace disconnect" });
    assert.equal((await root.emitWithAck("whoami")).conn, engineId);
    assert.equal(m.engine.id, engineId);

    log("and joining it again reuses the connection");
    chat.connect();
    await connected(chat);
    assert.equal((await chat.emitWithAck("whoami")).conn, engineId);
    for (const s of Object.values(all)) s.disconnect();
  },
});
