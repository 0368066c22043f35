// Presence with the official client: page refresh inside the grace window
// (warm reconnect), browser closed (expiry), tab switch (userAfk, then the
// client reconnects). Bob, in the same room, hears alice's presence.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, until, sleep, control } from "./lib.mjs";

const WINDOW = Number(process.env.WINDOW_MS);

function tab(token, extra = {}) {
  return io(SERVER_URL, { forceNew: true, transports: ["websocket"], auth: { token }, ...extra });
}

// heard collects what bob receives, by event name.
const heard = { userAfk: [], userBack: [], userLeft: [] };
let bob;

// closeTransport drops the connection as a closing page or a network
// failure does: the server sees "transport close".
async function closeTransport(sock) {
  const before = await control("sockets");
  sock.io.engine.close();
  await until(() => sock.disconnected, 2000, "client side close");
  // The server has handled the close once the socket is gone there.
  for (let i = 0; i < 200 && (await control("sockets")) >= before; i++) await sleep(5);
  await sleep(50);
}

await run({
  async setup() {
    const tb = await control("login", { user: "bob", rooms: ["r"] });
    bob = tab(tb);
    for (const ev of Object.keys(heard)) bob.on(ev, (p) => heard[ev].push(p));
    await connected(bob);
  },

  async "page refresh inside the window is a warm reconnect"() {
    const ta = await control("login", { user: "alice", rooms: ["r"] });
    const first = tab(ta, { reconnection: false });
    await connected(first);
    log("the page unloads");
    await closeTransport(first);
    log("the new page connects with the same token");
    const second = tab(ta);
    await connected(second);
    await until(() => heard.userBack.length === 1, 3000, "userBack");
    assert.deepEqual(heard.userBack[0], { userId: "alice" });
    const hooks = await control("hooks");
    assert.ok(hooks.includes(`postSocketReconnect ${ta} alice`), hooks.join("\n"));
    assert.ok(hooks.includes(`onSocketDisconnect ${ta} transport close`), "the old socket's disconnect closed the window");
    log("past the window: nobody left");
    await sleep(WINDOW + 400);
    assert.equal(heard.userLeft.length, 0);
    assert.equal(await control("session", ta), true);
    second.disconnect();
    await until(() => heard.userLeft.length === 1, 3000, "userLeft after the last tab goes");
    heard.userBack.length = 0;
    heard.userLeft.length = 0;
  },

  async "browser closed: expiry, userLeft, session deleted"() {
    const ta = await control("login", { user: "carol", rooms: ["r"] });
    const s = tab(ta, { reconnection: false });
    await connected(s);
    const closedAt = Date.now();
    await closeTransport(s);
    await until(() => heard.userLeft.length === 1, 3000, "userLeft");
    assert.ok(Date.now() - closedAt >= WINDOW - 50, "not before the window ends");
    assert.deepEqual(heard.userLeft[0], { userId: "carol" });
    assert.equal(await control("session", ta), false, "session deleted");
    const hooks = await control("hooks");
    const expired = hooks.indexOf(`postDisconnectGraceExpired ${ta} carol transport close deleted=true`);
    const final = hooks.indexOf(`onSocketDisconnect ${ta} transport close`);
    assert.ok(expired >= 0 && final > expired, `expiry, then onSocketDisconnect last:\n${hooks.join("\n")}`);
    heard.userLeft.length = 0;
  },

  async "tab switch: userAfk, server disconnect, then the tab comes back"() {
    const ta = await control("login", { user: "dave", rooms: ["r"] });
    const s = tab(ta);
    await connected(s);
    log("the tab is hidden");
    const gone = once(s, "disconnect");
    const sentAt = Date.now();
    s.emit("intentionalDisconnect");
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect", "the server disconnects the tab");
    await until(() => heard.userAfk.length === 1, 3000, "userAfk");
    assert.equal(heard.userAfk[0].userId, "dave");
    const end = heard.userAfk[0].endTime;
    assert.ok(Math.abs(end - (sentAt + WINDOW)) < 500, `endTime ${end} ≈ now + tabSwitch`);
    await sleep(200);
    assert.equal(s.connected, false, "the client does not reconnect by itself");
    log("the tab is visible again: connect, then intentionalReconnect");
    s.connect();
    await connected(s);
    s.emit("intentionalReconnect");
    await until(() => heard.userBack.length === 1, 3000, "userBack");
    assert.deepEqual(heard.userBack[0], { userId: "dave" });
    await sleep(WINDOW + 300);
    assert.equal(heard.userLeft.length, 0, "no userLeft");
    assert.equal(await control("session", ta), true);
    log("a hidden tab that never comes back: no delete after a tab switch");
    s.emit("intentionalDisconnect");
    await until(() => heard.userLeft.length === 1, 3000, "userLeft");
    assert.equal(await control("session", ta), true, "a tab switch keeps the session");
  },
});
