// Sync with the official client: fan-out to two and three clients of a
// room with and without a client handler (each member exactly once, the
// resolved key in cb and fullName), ignoreSelf, a non-member refused,
// streams, and cancellation by syncCancel and by disconnect.
import assert from "node:assert/strict";
import { run, once, control, until } from "./lib.mjs";
import { user, tab, ask, next, syncMsg, join, settle, err } from "./sync_lib.mjs";
import { connected } from "./lib.mjs";

const frame = (key, server, client = {}, message = `sync/${key} sync success`) =>
  JSON.stringify({ cb: key, fullName: `sync/${key}`, serverOutput: server, clientOutput: client, message, status: "success" });

let fanouts = 0;
const [u1, u2, u3] = [await user("u1"), await user("u2"), await user("u3")];

await run({
  async "two clients, no client handler"() {
    await join(u1, "pair");
    await join(u2, "pair");
    const progress = [];
    const i = next();
    u1.s.on(`sync-progress-${i}`, (f) => progress.push(f));
    const ack = once(u1.s, `sync-${i}`);
    // A spoofed cb never reaches the recipients (spec 14.1 item 3).
    u1.s.emit("sync", { ...syncMsg("chat/say/v1", { text: "hi" }, "pair"), cb: "other/route/v1", responseIndex: i });
    assert.equal(JSON.stringify((await ack)[0]), '{"status":"success","message":"sync sync/chat/say/v1 success","result":{"text":"hi"}}');
    assert.equal(progress.length, 1);
    assert.match(progress[0].__cancelId, /^[0-9a-f-]{36}$/);
    await settle(++fanouts, [u1.s, u2.s, u3.s]);
    for (const u of [u1, u2]) {
      assert.deepEqual(u.frames.map((f) => JSON.stringify(f)), [frame("chat/say/v1", { text: "hi" })], u.id);
    }
    assert.equal(u3.frames.length, 0, "not in the room");
  },

  async "three clients with a client handler"() {
    for (const u of [u1, u2, u3]) u.frames.length = 0;
    await join(u1, "trio");
    await join(u2, "trio");
    await join(u3, "trio");
    const r = await ask(u2.s, "sync", syncMsg("chat/tagged/v1", { text: "all of you" }, "trio"), "sync");
    assert.equal(r.body.status, "success");
    await settle(++fanouts, [u1.s, u2.s, u3.s]);
    for (const u of [u1, u2, u3]) {
      assert.deepEqual(u.frames.map((f) => JSON.stringify(f)), [frame("chat/tagged/v1", { text: "all of you" }, { for: u.id, message: `hi ${u.id}` }, `hi ${u.id}`)], u.id);
    }
  },

  async "client handler failures are per-recipient error frames"() {
    for (const u of [u1, u2, u3]) u.frames.length = 0;
    const r = await ask(u1.s, "sync", syncMsg("chat/clientfail/v1", {}, "trio"), "sync");
    assert.equal(r.body.status, "success", "the sender is acknowledged regardless");
    await settle(++fanouts, [u1.s, u2.s, u3.s]);
    const withKey = (e) => JSON.stringify({ cb: "chat/clientfail/v1", fullName: "sync/chat/clientfail/v1", ...JSON.parse(e) });
    assert.equal(JSON.stringify(u1.frames[0]), withKey(err("sync.invalidClientResponse", 400)));
    assert.equal(JSON.stringify(u2.frames[0]), withKey(err("sync.clientRejected", 400)));
    assert.equal(JSON.stringify(u3.frames[0]), withKey(err("sync.clientExecutionFailed", 400)));
  },

  async "ignoreSelf skips every tab of the sender's session"() {
    for (const u of [u1, u2, u3]) u.frames.length = 0;
    const second = tab(u1.token);
    await connected(second);
    const secondFrames = [];
    second.on("sync", (f) => secondFrames.push(f));
    for (const withHandler of [false, true]) {
      const key = withHandler ? "chat/tagged/v1" : "chat/say/v1";
      const r = await ask(u1.s, "sync", syncMsg(key, { text: "not me" }, "trio", { ignoreSelf: true }), "sync");
      assert.equal(r.body.status, "success");
      await settle(++fanouts, [u1.s, u2.s, u3.s, second]);
    }
    assert.equal(u1.frames.length, 0);
    assert.equal(secondFrames.length, 0);
    assert.equal(u2.frames.length, 2);
    assert.equal(u3.frames.length, 2);
    second.close();
  },

  async "a non-member is refused"() {
    for (const u of [u1, u2, u3]) u.frames.length = 0;
    const outsider = await user("u4");
    const r = await ask(outsider.s, "sync", syncMsg("chat/say/v1", { text: "let me in" }, "trio"), "sync");
    assert.equal(r.text, err("sync.notRoomMember", 403));
    const anon = tab(null);
    await connected(anon);
    const a = await ask(anon, "sync", syncMsg("chat/say/v1", {}, "trio"), "sync");
    assert.equal(a.text, err("sync.notRoomMember", 403));
    const all = await ask(u1.s, "sync", syncMsg("chat/say/v1", {}, "all"), "sync");
    assert.equal(all.text, err("sync.receiverNotAllowed", 403));
    await ask(u1.s, "sync", syncMsg("chat/say/v1", { text: "barrier" }, "trio"), "sync");
    await settle(++fanouts, [u1.s, u2.s, u3.s, outsider.s]);
    for (const u of [u1, u2, u3]) assert.deepEqual(u.frames.map((f) => f.serverOutput.text), ["barrier"], u.id);
    assert.equal(outsider.frames.length, 0);
    outsider.s.close();
    anon.close();
  },

  async "streams"() {
    for (const u of [u1, u2, u3]) u.frames.length = 0;
    const direct = await user("u5");
    const i = next();
    const progress = [];
    u1.s.on(`sync-progress-${i}`, (f) => progress.push(f));
    const ack = once(u1.s, `sync-${i}`);
    u1.s.emit("sync", { ...syncMsg("chat/stream/v1", { to: [direct.token] }, "pair"), responseIndex: i });
    assert.equal((await ack)[0].status, "success");
    await settle(++fanouts, [u1.s, u2.s, u3.s, direct.s]);
    assert.equal(progress.length, 3);
    assert.ok(progress[0].__cancelId);
    assert.deepEqual(progress.slice(1), [{ step: 1 }, { step: 2 }]);
    const stream = (chunk) => ({ cb: "chat/stream/v1", chunk, fullName: "sync/chat/stream/v1", status: "stream" });
    for (const u of [u1, u2]) {
      assert.deepEqual(u.frames[0], stream("room"), u.id);
      assert.equal(u.frames[1].status, "success", u.id);
      assert.equal(u.frames.length, 2, u.id);
    }
    assert.equal(u3.frames.length, 0, "u3 is not in the pair room");
    assert.deepEqual(direct.frames, [stream("direct")]);
    direct.s.close();
  },

  async "syncCancel with the cancel id"() {
    const i = next();
    const progress = [];
    u1.s.on(`sync-progress-${i}`, (f) => progress.push(f));
    let acked = false;
    u1.s.once(`sync-${i}`, () => (acked = true));
    u1.s.emit("sync", { ...syncMsg("chat/slow/v1", {}, "pair"), responseIndex: i });
    await until(() => progress.length === 2, 5000, "the handler to run");
    assert.deepEqual(progress[1], { running: true });
    u1.s.emit("syncCancel", { cb: progress[0].__cancelId });
    assert.equal(await control("cancelled"), "sync: request cancelled by the client");
    const r = await ask(u1.s, "sync", syncMsg("chat/say/v1", { text: "after" }, "pair"), "sync");
    assert.equal(r.body.status, "success");
    await settle(++fanouts, [u1.s]);
    assert.equal(acked, false, "a cancelled request is never acknowledged");
  },

  async "syncCancel with the cb (the client's fallback)"() {
    const i = next();
    let frames = 0;
    u1.s.on(`sync-progress-${i}`, () => frames++);
    u1.s.emit("sync", { ...syncMsg("chat/slow/v1", {}, "pair"), responseIndex: i });
    await until(() => frames === 2, 5000, "the handler to run");
    u1.s.emit("syncCancel", { cb: "chat/slow/v1" });
    assert.equal(await control("cancelled"), "sync: request cancelled by the client");
  },

  async "disconnect cancels"() {
    const i = next();
    let frames = 0;
    u2.s.on(`sync-progress-${i}`, () => frames++);
    u2.s.emit("sync", { ...syncMsg("chat/slow/v1", {}, "pair"), responseIndex: i });
    await until(() => frames === 2, 5000, "the handler to run");
    u2.s.close();
    assert.equal(await control("cancelled"), "context canceled");
  },
});
