// Acknowledgements both ways, with timeouts on both sides.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, sleep, control } from "./lib.mjs";

const TRANSPORT = process.env.TRANSPORT;

async function scenarios(transport) {
  const socket = io(SERVER_URL, { forceNew: true, reconnection: false, transports: [transport] });
  await connected(socket);

  log(`${transport}: emitWithAck resolves with the first ack argument`);
  assert.deepEqual(await socket.emitWithAck("echo", { a: 1 }, "ignored"), { a: 1 });

  log(`${transport}: callback ack gets every argument`);
  const multi = await new Promise((resolve) => socket.emit("multi", (...args) => resolve(args)));
  assert.deepEqual(multi, [1, "two", { three: 3 }, null]);

  log(`${transport}: ack without arguments`);
  assert.equal(await socket.emitWithAck("empty"), undefined);

  log(`${transport}: client timeout rejects when the server never acks`);
  let t0 = Date.now();
  await assert.rejects(socket.timeout(300).emitWithAck("never"), { message: "operation has timed out" });
  assert.ok(Date.now() - t0 >= 280, "rejected before the timeout");

  log(`${transport}: client timeout callback, ack in time`);
  const [err1, v1] = await new Promise((resolve) =>
    socket.timeout(3000).emit("slow", 50, (...a) => resolve(a)),
  );
  assert.equal(err1, null);
  assert.equal(v1, "slow 50");

  log(`${transport}: client timeout callback, ack too late (then ignored)`);
  const [err2] = await new Promise((resolve) => socket.timeout(100).emit("slow", 600, (...a) => resolve(a)));
  assert.ok(err2 instanceof Error, "late ack gives an error");
  await sleep(650); // the late ack arrives now and must be ignored
  assert.ok(socket.connected);
  assert.deepEqual(await socket.emitWithAck("echo", "after late"), "after late");

  log(`${transport}: server EmitWithAck, client acks (server handler blocks on it)`);
  socket.on("question", (n, cb) => cb(n * 2, "extra"));
  assert.deepEqual(await socket.emitWithAck("ask"), { answer: 42, extra: "extra" });

  log(`${transport}: server EmitWithAck, client acks with nested binary`);
  socket.on("give-binary", (cb) => cb({ data: Buffer.from([1, 2, 3, 250]), list: [Buffer.alloc(0)] }));
  assert.deepEqual(await socket.emitWithAck("ask-binary"), { len: 4, sum: 256, emptyLen: 0 });

  log(`${transport}: server EmitWithAck with a ctx timeout, client never acks`);
  let called = false;
  socket.on("ignored", (cb) => {
    called = typeof cb === "function";
  });
  t0 = Date.now();
  const res = await socket.emitWithAck("ask-timeout", 300);
  assert.ok(called, "client handler got an ack callback");
  assert.equal(res.timeout, true, `server error wraps ErrAckTimeout: ${res.error}`);
  assert.equal(res.deadline, true, `server error wraps context.DeadlineExceeded: ${res.error}`);
  assert.ok(res.elapsedMs >= 290, `server waited ${res.elapsedMs}ms`);

  log(`${transport}: server timeout, client acks late (ignored by the server)`);
  socket.on("late", (cb) => setTimeout(() => cb("too late"), 600));
  const late = await socket.emitWithAck("ask-late", 100);
  assert.equal(late.timeout, true);
  await sleep(650);
  assert.ok(socket.connected);
  assert.deepEqual(await socket.emitWithAck("ask"), { answer: 42, extra: "extra" });

  log(`${transport}: pending server EmitWithAck fails when the client disconnects`);
  socket.on("bye", () => socket.disconnect());
  socket.emit("ask-bye");
  const id = socket.id;
  const r = await control("ask-bye-result", id);
  assert.equal(r.disconnected, true, `server error: ${r.error}`);
}

await run({
  async [`acks over ${TRANSPORT}`]() {
    await scenarios(TRANSPORT);
  },
});
