// LuckyStack sessions with the official client: cookie mode (the session
// cookie in the handshake) and token mode (handshake auth.token), the
// updateSession push to every tab of one session, and a new login of the
// same user replacing the old session (sessionReplaced, logout, disconnect).
// The Go side creates sessions through control("session"): the host logs in.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, control, until } from "./lib.mjs";

const MODE = process.env.MODE; // "cookie" | "token"
const base = { forceNew: true, reconnection: false, transports: ["websocket"] };

// withSession connects as the holder of token in this run's mode.
function withSession(token) {
  return MODE === "cookie"
    ? io(SERVER_URL, { ...base, extraHeaders: { Cookie: `token=${token}` } })
    : io(SERVER_URL, { ...base, auth: { token } });
}

// rooms asks getJoinedRooms and returns the reply's exact JSON text.
async function rooms(s, i) {
  const reply = once(s, `getJoinedRooms-${i}`);
  s.emit("getJoinedRooms", { responseIndex: i });
  return JSON.stringify((await reply)[0]);
}

async function join(s, group, i) {
  const reply = once(s, `joinRoom-${i}`);
  s.emit("joinRoom", { group, responseIndex: i });
  return JSON.stringify((await reply)[0]);
}

const AUTH_REQUIRED = '{"status":"error","message":"auth.required","errorCode":"auth.required","httpStatus":400}';

await run({
  async "the mode's credential identifies the session, the other one does not"() {
    const token = await control("session", { id: "ann", name: "Ann" });
    log(`${MODE} mode: the session's own credential`);
    const s = withSession(token);
    await connected(s);
    assert.equal(await join(s, "lobby", 1), '{"rooms":["lobby"]}');
    assert.deepEqual(await control("roomCodes", { token }), ["lobby"]);
    s.disconnect();

    if (MODE === "cookie") {
      log("cookie mode ignores handshake auth.token");
      const t = io(SERVER_URL, { ...base, auth: { token } });
      await connected(t);
      assert.equal(await join(t, "lobby", 2), AUTH_REQUIRED);
      t.disconnect();
    } else {
      log("token mode: auth.token wins over a cookie of another session");
      const other = await control("session", { id: "bob", name: "Bob" });
      const t = io(SERVER_URL, { ...base, auth: { token }, extraHeaders: { Cookie: `token=${other}` } });
      await connected(t);
      assert.equal(await rooms(t, 3), '{"rooms":["lobby"]}', "rejoined ann's rooms, not bob's");
      t.disconnect();
      log("token mode falls back to the cookie");
      const c = io(SERVER_URL, { ...base, extraHeaders: { Cookie: `token=${token}` } });
      await connected(c);
      assert.equal(await rooms(c, 4), '{"rooms":["lobby"]}');
      c.disconnect();
    }
    log("an unknown token is anonymous");
    const anon = withSession("f".repeat(64));
    await connected(anon);
    assert.equal(await join(anon, "lobby", 5), '{"status":"error","message":"session.notFound","errorCode":"session.notFound","httpStatus":400}');
    anon.disconnect();
  },

  async "updateSession reaches every tab of the session and nobody else"() {
    const token = await control("session", { id: "cy", name: "Cy" });
    const other = await control("session", { id: "di", name: "Di" });
    const tab1 = withSession(token);
    const tab2 = withSession(token);
    const stranger = withSession(other);
    await Promise.all([tab1, tab2, stranger].map((s) => connected(s)));
    // One round trip each: the connect handler has run for all three.
    for (const [i, s] of [tab1, tab2, stranger].entries()) await rooms(s, 10 + i);
    const strangerGot = [];
    stranger.on("updateSession", (p) => strangerGot.push(p));
    const pushes = [once(tab1, "updateSession"), once(tab2, "updateSession")];
    await control("update", { token, name: "Cyrus" });
    for (const p of await Promise.all(pushes)) {
      assert.equal(typeof p[0], "string", "the payload is a JSON string, as the original client parses it");
      const sess = JSON.parse(p[0]);
      assert.equal(sess.id, "cy");
      assert.equal(sess.name, "Cyrus");
      assert.equal(sess.token, undefined, "the token is never pushed");
    }
    await rooms(stranger, 20);
    assert.deepEqual(strangerGot, []);
    for (const s of [tab1, tab2, stranger]) s.disconnect();
  },

  async "a new login of the same user replaces the session"() {
    const old = await control("session", { id: "eve", name: "Eve" });
    const tab = withSession(old);
    await connected(tab);
    await rooms(tab, 30);
    const seen = [];
    for (const ev of ["sessionReplaced", "logout"]) tab.on(ev, (p) => seen.push([ev, p]));
    const gone = once(tab, "disconnect");
    const fresh = await control("session", { id: "eve", name: "Eve" });
    assert.notEqual(fresh, old);
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    assert.deepEqual(seen, [
      ["sessionReplaced", JSON.stringify({ reason: "session-replaced", userId: "eve" })],
      ["logout", "success"],
    ]);
    log("the new session works");
    const next = withSession(fresh);
    await connected(next);
    assert.equal(await join(next, "after", 31), '{"rooms":["after"]}');
    next.disconnect();
  },

  async "deleting a session logs its tabs out"() {
    const token = await control("session", { id: "fay", name: "Fay" });
    const tab = withSession(token);
    await connected(tab);
    await rooms(tab, 40);
    const logout = once(tab, "logout");
    const gone = once(tab, "disconnect");
    await control("delete", { token });
    assert.deepEqual(await logout, ["success"]);
    assert.equal((await gone)[0], "io server disconnect");
    await until(() => !tab.connected, 2000, "disconnected");
  },
});
