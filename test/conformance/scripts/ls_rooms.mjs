// LuckyStack rooms with the official client: joinRoom / leaveRoom /
// getJoinedRooms replies compared as exact JSON text, every error reply a
// client can provoke, rejoin of the session's rooms after a reconnect
// (complete before the first event is handled), and the session's identity
// room kept apart from content rooms (spec 14.1 item 1).
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, control, sleep } from "./lib.mjs";

const base = { forceNew: true, transports: ["websocket"] };
const tab = (token, extra = {}) =>
  io(SERVER_URL, { ...base, reconnection: false, extraHeaders: token ? { Cookie: `token=${token}` } : {}, ...extra });

let idx = 0;
// call sends event with payload plus a fresh responseIndex and returns the
// reply's exact JSON text.
async function call(s, event, payload = {}) {
  const i = ++idx;
  const reply = once(s, `${event}-${i}`);
  s.emit(event, { ...payload, responseIndex: i });
  return JSON.stringify((await reply)[0]);
}

const err = (code) => `{"status":"error","message":"${code}","errorCode":"${code}","httpStatus":400}`;

await run({
  async "replies byte-for-byte"() {
    const token = await control("session", { id: "u1" });
    const s = tab(token);
    await connected(s);
    assert.equal(await call(s, "getJoinedRooms"), '{"rooms":[]}');
    assert.equal(await call(s, "joinRoom", { group: "lobby" }), '{"rooms":["lobby"]}');
    assert.equal(await call(s, "joinRoom", { group: "  game-1  " }), '{"rooms":["lobby","game-1"]}', "trimmed, join order");
    assert.equal(await call(s, "joinRoom", { group: "lobby" }), '{"rooms":["lobby","game-1"]}', "twice is once");
    assert.equal(await call(s, "leaveRoom", { group: "lobby" }), '{"rooms":["game-1"]}');
    assert.equal(await call(s, "leaveRoom", { group: "never" }), '{"rooms":["game-1"]}');
    assert.equal(await call(s, "getJoinedRooms"), '{"rooms":["game-1"]}');
    log("errors");
    assert.equal(await call(s, "joinRoom", { group: "" }), err("room.invalid"));
    assert.equal(await call(s, "joinRoom", { group: "x".repeat(257) }), err("room.invalid"));
    assert.equal(await call(s, "joinRoom", { group: 42 }), err("room.invalid"), "a non-string group is empty");
    assert.equal(await call(s, "joinRoom", { group: "closed" }), err("room.joinBlocked"));
    assert.equal(await call(s, "joinRoom", { group: "sticky" }), '{"rooms":["game-1","sticky"]}');
    assert.equal(await call(s, "leaveRoom", { group: "sticky" }), err("room.leaveBlocked"));
    assert.deepEqual(await control("roomCodes", { token }), ["game-1", "sticky"], "blocked operations persist nothing");

    log("anonymous");
    const anon = tab(null);
    await connected(anon);
    assert.equal(await call(anon, "joinRoom", { group: "lobby" }), err("auth.required"));
    assert.equal(await call(anon, "leaveRoom", { group: "lobby" }), err("auth.required"));
    assert.equal(
      await call(anon, "getJoinedRooms"),
      '{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":400,"rooms":[]}',
    );
    log("no numeric responseIndex: no reply at all");
    const stray = [];
    anon.onAny((ev) => stray.push(ev));
    anon.emit("joinRoom", { group: "lobby", responseIndex: "one" });
    anon.emit("joinRoom", { group: "lobby", responseIndex: 1.5 });
    anon.emit("getJoinedRooms", {});
    anon.emit("leaveRoom", "not an object");
    await call(anon, "getJoinedRooms");
    assert.deepEqual(stray, [`getJoinedRooms-${idx}`]);
    s.disconnect();
    anon.disconnect();
  },

  async "rooms are rejoined after a reconnect, before the first event"() {
    const token = await control("session", { id: "u2" });
    const s = io(SERVER_URL, { ...base, reconnectionDelay: 50, reconnectionDelayMax: 50, extraHeaders: { Cookie: `token=${token}` } });
    await connected(s);
    assert.equal(await call(s, "joinRoom", { group: "r1" }), '{"rooms":["r1"]}');
    assert.equal(await call(s, "joinRoom", { group: "r2" }), '{"rooms":["r1","r2"]}');
    log("kill the transport; the client reconnects by itself");
    const back = new Promise((resolve) => {
      s.io.once("reconnect", () => {
        // The very first event after the reconnect already sees the rooms.
        const i = ++idx;
        s.once(`getJoinedRooms-${i}`, (r) => resolve(JSON.stringify(r)));
        s.emit("getJoinedRooms", { responseIndex: i });
      });
    });
    s.io.engine.close();
    assert.equal(await back, '{"rooms":["r1","r2"]}');
    log("a room emit reaches the rejoined socket");
    const got = once(s, "probe");
    await control("emitRoom", { room: "r2", event: "probe", data: { n: 1 } });
    assert.deepEqual(await got, [{ n: 1 }]);
    log("a second tab of the session gets the rooms at connect too");
    const t2 = tab(token);
    await connected(t2);
    assert.equal(await call(t2, "getJoinedRooms"), '{"rooms":["r1","r2"]}');
    s.disconnect();
    t2.disconnect();
  },

  async "a token equal to a room name does not enter that room"() {
    const owner = await control("session", { id: "u3" });
    const member = tab(owner);
    await connected(member);
    assert.equal(await call(member, "joinRoom", { group: "shared" }), '{"rooms":["shared"]}');
    log("a client whose token is the room's name");
    const intruder = tab("shared");
    await connected(intruder);
    const intruderGot = [];
    intruder.onAny((ev, ...args) => intruderGot.push([ev, args]));
    const got = once(member, "probe");
    await control("emitRoom", { room: "shared", event: "probe", data: "room" });
    assert.deepEqual(await got, ["room"]);
    assert.equal(await call(intruder, "getJoinedRooms"), '{"rooms":[]}', "the intruder is in no content room");
    assert.deepEqual(intruderGot.filter(([ev]) => ev === "probe"), [], "the intruder heard nothing of the room");

    log("a room named like a session's token does not receive that session's pushes");
    const spy = tab(await control("session", { id: "u4" }));
    await connected(spy);
    assert.equal(await call(spy, "joinRoom", { group: owner }), `{"rooms":["${owner}"]}`);
    const spyGot = [];
    spy.on("updateSession", (p) => spyGot.push(p));
    const push = once(member, "updateSession");
    await control("update", { token: owner, name: "renamed" });
    assert.equal(JSON.parse((await push)[0]).name, "renamed");
    await call(spy, "getJoinedRooms");
    await sleep(50);
    assert.deepEqual(spyGot, []);
    for (const c of [member, intruder, spy]) c.disconnect();
  },
});
