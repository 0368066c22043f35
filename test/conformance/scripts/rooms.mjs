// Rooms with To / Except / socket.Broadcast / server-level operators.
// Four websocket clients: A in r1, B in r1 and r2, C in r2, D in none.
// Every operation is followed by a "sync" broadcast to all; since one
// connection keeps its order, once everybody saw the sync the operation's
// recipients are known.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, until } from "./lib.mjs";

const names = ["A", "B", "C", "D"];
const clients = {};
const got = {};
const synced = {};

async function setup() {
  for (const name of names) {
    const s = io(SERVER_URL, { forceNew: true, reconnection: false, transports: ["websocket"] });
    clients[name] = s;
    got[name] = [];
    s.on("msg", (tag) => got[name].push(tag));
    s.on("msg-ack", (tag, cb) => {
      got[name].push(tag);
      cb(name);
    });
    s.on("sync", (step) => (synced[name] = step));
  }
  await Promise.all(names.map((n) => connected(clients[n])));
  const rooms = { A: ["r1"], B: ["r1", "r2"], C: ["r2"], D: [] };
  for (const n of names) {
    assert.deepEqual(await clients[n].emitWithAck("join", rooms[n]), [...rooms[n], clients[n].id].sort());
  }
}

let step = 0;
// op makes `from` ask the server for operation kind, then checks which
// clients received the tag, each exactly once.
async function op(from, kind, want, extra = {}) {
  step++;
  const tag = `${kind}#${step}`;
  log(`${from}: ${kind} → ${want.join(",") || "nobody"}`);
  for (const n of names) got[n] = [];
  const res = await clients[from].emitWithAck("op", { step, kind, tag, ...extra });
  const live = names.filter((n) => clients[n].connected);
  await until(() => live.every((n) => synced[n] === step), 5000, `sync ${step} on ${live}`);
  const receivers = names.filter((n) => got[n].length > 0);
  assert.deepEqual(receivers, want, `${kind}: receivers`);
  for (const n of receivers) assert.deepEqual(got[n], [tag], `${kind}: ${n} got it once`);
  return res;
}

await run({
  async "rooms, except and broadcast"() {
    await setup();
    await op("A", "socket.to(r1)", ["B"]); // the sender is never included
    await op("B", "socket.to(r1)", ["A"]);
    await op("A", "socket.to(r1,r2)", ["B", "C"]); // union, B once
    await op("B", "socket.to(r1,r2)", ["A", "C"]);
    await op("A", "socket.broadcast", ["B", "C", "D"]);
    await op("D", "socket.broadcast.except(r2)", ["A"]);
    await op("A", "socket.to(r1,r2).except(r1)", ["C"]);
    await op("D", "server.emit", ["A", "B", "C", "D"]);
    await op("D", "server.to(r1)", ["A", "B"]);
    await op("D", "server.to(r1,r2).except(r2)", ["A"]);
    await op("D", "server.except(r1)", ["C", "D"]);
    await op("D", "server.except(r1,r2)", ["D"]);
    await op("D", "server.to(nobody)", []);
    await op("D", "server.to(id)", ["C"], { id: clients.C.id });
    await op("D", "server.except(id)", ["A", "B", "C"], { id: clients.D.id });
    await op("A", "socket.to(own id)", [], { id: clients.A.id });

    const acks = await op("D", "server.to(r2).emitWithAck", ["B", "C"]);
    assert.deepEqual(acks.sort(), ["B", "C"]);

    log("B leaves r1");
    assert.deepEqual(await clients.B.emitWithAck("leave", "r1"), ["r2", clients.B.id].sort());
    await op("D", "server.to(r1)", ["A"]);

    log("C disconnects: it leaves its rooms");
    clients.C.disconnect();
    await until(() => false === clients.C.connected, 1000, "C disconnected");
    await op("D", "server.to(r2)", ["B"]);
    const acks2 = await op("D", "server.to(r2).emitWithAck", ["B"]);
    assert.deepEqual(acks2, ["B"]);
    for (const n of names) clients[n].disconnect();
  },
});
