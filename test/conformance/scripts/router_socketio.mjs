// The official client through luckystack-go's router to two LuckyStack
// backends sharing Redis (router_test.go): every transport mode lands on
// one backend per connection and stays there, sessions spread across both
// backends, room broadcasts cross backends through the Redis adapter, and
// backends see the client's address rather than the router's or a forged
// one.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once, control } from "./lib.mjs";

const spoof = { "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "X-Forwarded-Host": "evil.example" };
const open = [];
const client = (transports, extra = {}) => {
  const s = io(SERVER_URL, { forceNew: true, reconnection: false, transports, extraHeaders: spoof, ...extra });
  open.push(s);
  return s;
};

async function whoami(s) {
  const reply = once(s, "rtWhoami");
  s.emit("rtWhoami");
  return (await reply)[0];
}

// session checks that s keeps talking to one backend with one socket for
// `rounds` round trips and never disconnects; it returns that backend.
async function session(s, rounds, transport) {
  const disconnects = [];
  s.on("disconnect", (r) => disconnects.push(r));
  await connected(s);
  const first = await whoami(s);
  for (let i = 0; i < rounds; i++) {
    const w = await whoami(s);
    assert.equal(w.backend, first.backend, `round ${i}: same backend`);
    assert.equal(w.socketId, first.socketId, `round ${i}: same socket`);
  }
  if (transport) assert.equal((await whoami(s)).transport, transport);
  assert.deepEqual(disconnects, [], "no disconnect");
  return first.backend;
}

function assertForwarded(w, what) {
  assert.equal(w.peer, "127.0.0.2", `${what}: the backend's peer is the router`);
  assert.equal(w.ip, "127.0.0.1", `${what}: the backend resolves the real client through the router`);
  assert.equal(w.xff, "127.0.0.1", `${what}: a forged X-Forwarded-For is replaced`);
  assert.equal(w.realIP, "", `${what}: a forged X-Real-IP is dropped`);
  assert.equal(w.xfHost, new URL(SERVER_URL).host, `${what}: X-Forwarded-Host is the router's`);
  assert.equal(w.xfProto, "http", `${what}: X-Forwarded-Proto`);
}

await run({
  async "websocket-only"() {
    const seen = new Set();
    for (let i = 0; i < 4; i++) {
      const s = client(["websocket"]);
      seen.add(await session(s, 5, "websocket"));
      assertForwarded(await whoami(s), "websocket");
    }
    assert.deepEqual([...seen].sort(), ["a", "b"], "new sessions spread across backends");
  },

  async "polling-only"() {
    const seen = new Set();
    for (let i = 0; i < 4; i++) {
      const s = client(["polling"]);
      seen.add(await session(s, 10, "polling"));
      assertForwarded(await whoami(s), "polling");
    }
    assert.deepEqual([...seen].sort(), ["a", "b"], "polling sessions spread and each sticks to its backend");
  },

  async "polling then websocket upgrade"() {
    const seen = new Set();
    for (let i = 0; i < 4; i++) {
      const s = client(["polling", "websocket"]);
      const upgraded = once(s.io, "open", 5000).then(() => once(s.io.engine, "upgrade", 5000));
      await connected(s);
      const before = await whoami(s); // over polling or already upgraded
      await upgraded;
      assert.equal(s.io.engine.transport.name, "websocket");
      const backend = await session(s, 5, "websocket");
      assert.equal(backend, before.backend, "the upgrade reached the backend holding the polling session");
      assert.equal((await whoami(s)).socketId, before.socketId, "same socket across the upgrade");
      seen.add(backend);
    }
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  },

  async "room broadcast crosses backends"() {
    // One member per backend, mixing transports.
    const members = {};
    for (let i = 0; i < 8 && Object.keys(members).length < 2; i++) {
      const s = client(i % 2 ? ["polling"] : ["websocket"]);
      await connected(s);
      const w = await whoami(s);
      if (!members[w.backend]) members[w.backend] = s;
      else s.disconnect();
    }
    assert.deepEqual(Object.keys(members).sort(), ["a", "b"]);
    for (const s of Object.values(members)) {
      const joined = once(s, "rtJoined");
      s.emit("rtJoin", "router-room");
      await joined;
    }
    log("server-side emit on backend a");
    let got = Object.values(members).map((s) => once(s, "rtSaid"));
    await control("broadcast", { Backend: "a", Room: "router-room", Text: "from a" });
    for (const [args] of await Promise.all(got)) assert.deepEqual(args, { text: "from a", via: "a" });
    log("client on b says something to the room");
    got = Object.values(members).map((s) => once(s, "rtSaid"));
    members.b.emit("rtSay", { Room: "router-room", Text: "hello from b" });
    for (const [args] of await Promise.all(got)) assert.deepEqual(args, { text: "hello from b", via: "b" });
  },

  async "HTTP forwarded headers"() {
    const seen = new Set();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(new URL("/whoami", SERVER_URL), { headers: spoof });
      assert.equal(res.status, 200);
      const w = await res.json();
      assertForwarded(w, "HTTP");
      seen.add(w.backend);
    }
    assert.deepEqual([...seen].sort(), ["a", "b"]);
    for (const s of open) s.disconnect();
  },
});
