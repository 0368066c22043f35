// Node socket.io peer server for the luckystack-go benchmarks.
//
// It implements the bench server contract written in ../README.md; the Go
// bench server (../server) implements the same one, so a single load
// generator drives both. Start it with:
//
//   PORT=3000 [REDIS_URL=redis://127.0.0.1:6379] node --expose-gc server.mjs
//
// Tuning follows the socket.io "Performance tuning" guide so the peer is
// measured at its best: websocket-only transport, bufferutil and
// utf-8-validate installed (ws picks them up by itself), and the first HTTP
// request dropped from every Engine.IO socket.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { Server } from "socket.io";

const require = createRequire(import.meta.url);
const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

// Upper bounds for bcast so a wrong argument cannot make the server loop for
// hours or allocate gigabytes: benchmarks run on shared machines.
const MAX_BCAST_N = 10_000_000;
const MAX_PAD = 1 << 20;

// nativeAddons reports whether ws will use the native helpers; a silent
// fallback to the JS versions would make the peer look slower than it is.
function nativeAddons() {
  const out = {};
  for (const name of ["bufferutil", "utf-8-validate"]) {
    try {
      require(name);
      out[name] = true;
    } catch {
      out[name] = false;
    }
  }
  return out;
}

// nowMicros is wall-clock microseconds: the load generator runs on the same
// host clock and subtracts this from its own time.Now().UnixMicro().
function nowMicros() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

let io;

const httpServer = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    // A forced GC first, so heap numbers are live data, not garbage that
    // happens not to be collected yet (the socket.io memory methodology).
    if (typeof global.gc === "function") global.gc();
    const m = process.memoryUsage();
    const body = JSON.stringify({
      server: "node",
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      clients: io ? io.engine.clientsCount : 0,
      gc: typeof global.gc === "function",
      native: nativeAddons(),
      versions: { node: process.version, socketio: require("socket.io/package.json").version },
      redis: Boolean(process.env.REDIS_URL),
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
    return;
  }
  res.writeHead(404);
  res.end();
});

const pingInterval = Number(process.env.PING_INTERVAL_MS || 25000);
io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  pingInterval,
});

// Dropping the upgrade request cuts the retained size of each Engine.IO
// socket from ~6.8 KB to ~2.5 KB (socket.io "Performance tuning" doc).
io.engine.on("connection", (rawSocket) => {
  rawSocket.request = null;
});

let pub = null; // the adapter's publishing client, when REDIS_URL is set
if (process.env.REDIS_URL) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("redis pub:", err.message));
  sub.on("error", (err) => console.error("redis sub:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  // ping: the ack echoes every argument back, so the caller's timestamp
  // returns unchanged and latency is measured by the caller.
  socket.on("ping", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });

  socket.on("join", (room, cb) => {
    socket.join(String(room));
    if (typeof cb === "function") cb(String(room));
  });

  socket.on("bcast", (opts, cb) => startBroadcast(opts || {}, cb));
  socket.on("publish", (opts, cb) => publish(opts || {}, cb));
});

// publish sends n broadcasts to a room no socket of any instance holds, so
// each costs the encode and the Redis PUBLISH only, and acks {sent, ms} once
// Redis answered a PING sent after them (one connection answers in order, so
// every PUBLISH was accepted by then). It yields to the event loop every
// 10,000 emits so the client can write while the loop produces, as the Go
// server's publisher does.
async function publish(opts, cb) {
  if (typeof cb !== "function") return;
  if (!pub) return cb({ error: "publish needs REDIS_URL" });
  const n = Math.max(0, Math.min(MAX_BCAST_N, Math.floor(Number(opts.n) || 0)));
  const pad = "x".repeat(Math.max(0, Math.min(MAX_PAD, Math.floor(Number(opts.size) || 0))));
  const start = performance.now();
  for (let seq = 0; seq < n; seq++) {
    io.to("bench-publish-nobody").emit("p", seq, pad);
    if (seq % 10000 === 9999) await new Promise((r) => setImmediate(r));
  }
  await pub.ping();
  cb({ sent: n, ms: performance.now() - start });
}

// startBroadcast emits n messages ["b", seq, tsMicros, pad] to a room at one
// message per intervalMs. Each tick emits every message that is due since the
// start, so a late timer catches up instead of silently lowering the rate;
// when the server cannot keep up, latency grows and the achieved rate drops,
// which is what the benchmark wants to see.
function startBroadcast(opts, cb) {
  const room = String(opts.room ?? "");
  const n = Math.max(0, Math.min(MAX_BCAST_N, Math.floor(Number(opts.n) || 0)));
  const intervalMs = Math.max(0, Number(opts.intervalMs) || 0);
  const pad = "x".repeat(Math.max(0, Math.min(MAX_PAD, Math.floor(Number(opts.size) || 0))));
  const start = performance.now();
  let seq = 0;
  const done = () => {
    if (typeof cb === "function") cb({ sent: seq, ms: performance.now() - start });
  };
  if (intervalMs === 0) {
    for (; seq < n; seq++) io.to(room).emit("b", seq, nowMicros(), pad);
    done();
    return;
  }
  const tick = () => {
    const due = Math.min(n, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; seq < due; seq++) io.to(room).emit("b", seq, nowMicros(), pad);
    if (seq >= n) {
      clearInterval(timer);
      done();
    }
  };
  const timer = setInterval(tick, Math.max(1, intervalMs));
  tick();
}

httpServer.listen(port, host, () => {
  console.log(`bench node server listening on ${host}:${port} redis=${Boolean(process.env.REDIS_URL)}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
