// AFK with the official client: an idle user's peers get userAfk, and
// userBack when the user is active again. Bob sends activity like the
// stock client (more often than the AFK timeout), alice idles.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, until, sleep, control } from "./lib.mjs";

const AFK = Number(process.env.AFK_MS);

await run({
  async "idle, AFK, back"() {
    const ta = await control("login", { user: "alice", rooms: ["r"] });
    const tb = await control("login", { user: "bob", rooms: ["r"] });
    const bob = io(SERVER_URL, { forceNew: true, transports: ["websocket"], auth: { token: tb } });
    const heard = { userAfk: [], userBack: [] };
    for (const ev of Object.keys(heard)) bob.on(ev, (p) => heard[ev].push(p));
    await connected(bob);
    const keepAlive = setInterval(() => bob.emit("activity"), AFK / 4);
    const alice = io(SERVER_URL, { forceNew: true, transports: ["websocket"], auth: { token: ta } });
    const aliceHeard = [];
    alice.on("userAfk", (p) => aliceHeard.push(p));
    await connected(alice);
    const since = Date.now();
    log("alice idles");
    await until(() => heard.userAfk.length === 1, AFK * 5, "userAfk");
    assert.ok(Date.now() - since >= AFK - 50, "not before the timeout");
    assert.equal(heard.userAfk[0].userId, "alice");
    assert.ok(Math.abs(heard.userAfk[0].endTime - Date.now()) < 1000, "an idle AFK ends now");
    await sleep(AFK);
    assert.equal(heard.userAfk.length, 1, "announced once");
    assert.equal(aliceHeard.length, 0, "bob stays active");
    log("alice moves the mouse");
    alice.emit("activity");
    await until(() => heard.userBack.length === 1, 3000, "userBack");
    assert.deepEqual(heard.userBack[0], { userId: "alice" });
    clearInterval(keepAlive);
  },
});
