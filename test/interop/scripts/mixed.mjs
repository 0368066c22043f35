// A mixed cluster: this script runs a Node socket.io server with
// @socket.io/redis-adapter next to the Go server of interop_test.go, both on
// REDIS_URL, and checks each cross-server feature in both directions with
// official socket.io-client sockets on both servers: g1, n1 in room "room",
// g2, n2 in no room. What the Go server must do, it is asked through
// control().
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as connect } from "socket.io-client";
import { log, control, run, until, withTimeout } from "./lib.mjs";

const { REDIS_URL, GO_URL } = process.env;
if (!REDIS_URL || !GO_URL) {
  console.error("REDIS_URL and GO_URL must be set: run through go test ./test/interop/");
  process.exit(2);
}
const specific = process.env.SPECIFIC_RESPONSE_CHANNEL === "1";

// --- the Node server ---------------------------------------------------------

const pub = createClient({ url: REDIS_URL });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (err) => console.error("redis:", err.message));
await Promise.all([pub.connect(), sub.connect()]);
const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pub, sub, { requestsTimeout: 2000, publishOnSpecificResponseChannel: specific }),
});
const sseSeen = [];
io.on("connection", (socket) => {
  socket.data.server = "node";
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack();
  });
});
io.on("hello", (...args) => sseSeen.push(["hello", ...args]));
io.on("ask", (...args) => {
  const cb = args.pop();
  sseSeen.push(["ask", ...args]);
  cb("node-answer");
});
await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const NODE_URL = `http://127.0.0.1:${httpServer.address().port}`;
log(`node server at ${NODE_URL}, go server at ${GO_URL}, specific response channel: ${specific}`);

// --- clients -----------------------------------------------------------------

/** client connects a socket that records every event it receives. */
async function client(url, name) {
  const socket = connect(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  const got = [];
  let wake = () => {};
  socket.onAny((event, ...args) => {
    if (typeof args.at(-1) === "function") args.pop();
    got.push({ event, args });
    wake();
  });
  // Broadcasts with acks: answer with our id.
  socket.on("ack-me", (...args) => args.at(-1)(socket.id));
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    5000,
    `${name} connect`,
  );
  return {
    name,
    socket,
    get id() {
      return socket.id;
    },
    /** next removes and returns the args of the oldest `event`, waiting. */
    async next(event, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const i = got.findIndex((e) => e.event === event);
        if (i >= 0) return got.splice(i, 1)[0].args;
        const left = end - Date.now();
        if (left <= 0) throw new Error(`${name}: no "${event}" within ${ms}ms (got ${JSON.stringify(got.map((e) => e.event))})`);
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 50));
        });
      }
    },
    count(event) {
      return got.filter((e) => e.event === event).length;
    },
    async join(room) {
      await socket.timeout(5000).emitWithAck("join", room);
    },
  };
}

const g1 = await client(GO_URL, "g1");
const g2 = await client(GO_URL, "g2");
const n1 = await client(NODE_URL, "n1");
const n2 = await client(NODE_URL, "n2");
const all = [g1, g2, n1, n2];
await g1.join("room");
await n1.join("room");

const sorted = (a) => [...a].sort();
const bytes = (...b) => Buffer.from(b);

/** markers: both servers broadcast `name` to everyone; wait until all got both. */
async function markers(name) {
  await control("emit", { event: name });
  io.emit(name);
  for (const c of all) {
    await c.next(name);
    await c.next(name);
  }
}

// --- scenarios ---------------------------------------------------------------

await run({
  "both servers see a cluster of two": async () => {
    await until(
      async () => (await io.of("/").adapter.serverCount()) === 2 && (await control("serverCount")) === 2,
      5000,
      "serverCount 2 on both sides",
    );
  },

  "room broadcast Go → Node and Node → Go": async () => {
    await control("emit", { rooms: ["room"], event: "r-go", args: ["from-go", 1] });
    io.to("room").emit("r-node", "from-node", 2);
    for (const c of [g1, n1]) {
      assert.deepEqual(await c.next("r-go"), ["from-go", 1], c.name);
      assert.deepEqual(await c.next("r-node"), ["from-node", 2], c.name);
    }
  },

  "broadcast to all, both ways": async () => {
    await control("emit", { event: "all-go", args: [{ a: 1 }] });
    io.emit("all-node", { b: 2 });
    for (const c of all) {
      assert.deepEqual(await c.next("all-go"), [{ a: 1 }], c.name);
      assert.deepEqual(await c.next("all-node"), [{ b: 2 }], c.name);
    }
  },

  "except, both ways": async () => {
    await control("emit", { except: ["room"], event: "ex-go" });
    io.except("room").emit("ex-node");
    for (const c of [g2, n2]) {
      await c.next("ex-go");
      await c.next("ex-node");
    }
    // Everything sent before the markers has arrived once they have.
    await markers("mark-except");
    for (const c of [g1, n1]) assert.equal(c.count("ex-go") + c.count("ex-node"), 0, `${c.name} got an except broadcast`);
    for (const c of [g2, n2]) assert.equal(c.count("r-go") + c.count("r-node"), 0, `${c.name} got a room broadcast`);
  },

  "binary payloads, both ways": async () => {
    await control("emit", { rooms: ["room"], event: "bin-go", args: [{ $bin: "AQID" }, { nested: { $bin: "BA==" } }] });
    io.to("room").emit("bin-node", bytes(5, 6), { x: [bytes(7)] });
    for (const c of [g1, n1]) {
      const [b, o] = await c.next("bin-go");
      assert.ok(Buffer.isBuffer(b), `${c.name}: Go binary arrives as a Buffer`);
      assert.deepEqual(b, bytes(1, 2, 3));
      assert.deepEqual(o.nested, bytes(4));
      const [b2, o2] = await c.next("bin-node");
      assert.ok(Buffer.isBuffer(b2), `${c.name}: Node binary arrives as a Buffer`);
      assert.deepEqual(b2, bytes(5, 6));
      assert.deepEqual(o2.x[0], bytes(7));
    }
  },

  "fetch sockets from Go sees Node's sockets": async () => {
    const socks = await control("fetch", { rooms: ["room"] });
    assert.deepEqual(sorted(socks.map((s) => s.id)), sorted([g1.id, n1.id]));
    const n = socks.find((s) => s.id === n1.id);
    assert.deepEqual(n.data, { server: "node" });
    assert.deepEqual(sorted(n.rooms), sorted([n1.id, "room"]));
    assert.equal(n.transport, "websocket", "query parsed from Node's handshake");
    assert.equal((await control("fetch", {})).length, 4);
    await control("remoteEmit", { id: n1.id, event: "direct-go", args: ["hi"] });
    assert.deepEqual(await n1.next("direct-go"), ["hi"]);
  },

  "fetch sockets from Node sees Go's sockets": async () => {
    const socks = await io.in("room").fetchSockets();
    assert.deepEqual(sorted(socks.map((s) => s.id)), sorted([g1.id, n1.id]));
    const g = socks.find((s) => s.id === g1.id);
    assert.deepEqual(g.data, { server: "go" });
    assert.deepEqual(sorted([...g.rooms]), sorted([g1.id, "room"]));
    assert.equal(g.handshake.query.transport, "websocket");
    assert.equal(g.handshake.headers.upgrade, "websocket", "headers in Node's shape");
    assert.equal(typeof g.handshake.issued, "number");
    assert.equal((await io.fetchSockets()).length, 4);
    g.emit("direct-node", "hey");
    assert.deepEqual(await g1.next("direct-node"), ["hey"]);
  },

  "server-side emit, both ways": async () => {
    await control("sse", { event: "hello", args: ["from-go", 1] });
    await until(() => sseSeen.some((e) => JSON.stringify(e) === JSON.stringify(["hello", "from-go", 1])), 5000, "Node handler");
    io.serverSideEmit("hello", "from-node", 2);
    await until(
      async () => (await control("sseReceived")).some((e) => e.event === "hello" && JSON.stringify(e.args) === '["from-node",2]'),
      5000,
      "Go handler",
    );
  },

  "server-side emit with ack, both ways": async () => {
    const r = await control("sseAck", { event: "ask", args: ["q"] });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.replies, ["node-answer"]);
    assert.deepEqual(await io.serverSideEmitWithAck("ask", "q2"), ["go-answer"]);
  },

  "server-side emit with ack times out without a handler": async () => {
    const r = await control("sseAck", { event: "nobody", timeoutMs: 1000 });
    assert.match(r.error ?? "", /0 of 1 servers answered/);
    assert.deepEqual(r.replies, []);
    await assert.rejects(io.serverSideEmitWithAck("nobody"), /timeout reached: only 0 responses received out of 1/);
  },

  "remote join and leave, Go → Node": async () => {
    const has = () => io.of("/").adapter.rooms.get("joined-go")?.has(n2.id) ?? false;
    await control("join", { rooms: [n2.id], add: ["joined-go"] });
    await until(has, 5000, "n2 in joined-go");
    await control("leave", { rooms: ["joined-go"], add: ["joined-go"] });
    await until(() => !has(), 5000, "n2 out of joined-go");
  },

  "remote join and leave, Node → Go": async () => {
    const has = async () => ((await control("rooms", { id: g2.id })) ?? []).includes("joined-node");
    io.in(g2.id).socketsJoin("joined-node");
    await until(has, 5000, "g2 in joined-node");
    io.in("joined-node").socketsLeave("joined-node");
    await until(async () => !(await has()), 5000, "g2 out of joined-node");
  },

  "broadcast with acks from Go collects acks on both servers": async () => {
    const replies = await control("emitWithAck", { rooms: ["room"], event: "ack-me", timeoutMs: 3000 });
    assert.deepEqual(sorted(replies), sorted([g1.id, n1.id]));
    const everyone = await control("emitWithAck", { event: "ack-me", timeoutMs: 3000 });
    assert.deepEqual(sorted(everyone), sorted(all.map((c) => c.id)));
  },

  "broadcast with acks from Node collects acks on both servers": async () => {
    const replies = await io.to("room").timeout(3000).emitWithAck("ack-me");
    assert.deepEqual(sorted(replies), sorted([g1.id, n1.id]));
    const everyone = await io.timeout(3000).emitWithAck("ack-me");
    assert.deepEqual(sorted(everyone), sorted(all.map((c) => c.id)));
  },

  "remote disconnect, both ways": async () => {
    const gone = (c) =>
      withTimeout(new Promise((resolve) => c.socket.once("disconnect", resolve)), 5000, `${c.name} disconnect`);
    const nGone = gone(n2);
    await control("disconnect", { rooms: [n2.id] });
    assert.equal(await nGone, "io server disconnect");
    const gGone = gone(g2);
    io.in(g2.id).disconnectSockets();
    assert.equal(await gGone, "io server disconnect");
    assert.ok(g1.socket.connected && n1.socket.connected, "only the targeted sockets left");
  },

  "close": async () => {
    for (const c of all) c.socket.close();
    io.close();
    await Promise.all([pub.quit(), sub.quit()]);
  },
});
