// Binary values nested in objects and arrays, both ways, over polling
// (base64 "b" packets) and websocket (binary frames).
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, once } from "./lib.mjs";

const bytes = (...b) => Buffer.from(b);

// isBinary: what the client hands to handlers (a Buffer in Node).
function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function sum(b) {
  let s = 0;
  for (const x of b) s += x;
  return s;
}

async function scenarios(transport) {
  const socket = io(SERVER_URL, { forceNew: true, reconnection: false, transports: [transport] });
  await connected(socket);

  log(`${transport}: client → server nested binary, echoed back`);
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  const payload = {
    name: "pic",
    img: bytes(0, 1, 2, 255),
    parts: [bytes(10), { deep: [bytes(20, 21)], n: 1 }, "text", bytes()],
    nested: { a: { b: { c: bytes(99) } } },
    u8: new Uint8Array([5, 6, 7]),
    ab: new Uint8Array([8, 9]).buffer,
    big,
  };
  // 10 attachments in all: socket.io-parser 4.2.7 (client and Node server)
  // refuses packets announcing more (Decoder maxAttachments).
  const echoed = await new Promise((resolve) =>
    socket.emit("bin-echo", payload, bytes(42, 43), [bytes(1)], (...args) => resolve(args)),
  );
  assert.equal(echoed.length, 3);
  const [obj, top, arr] = echoed;
  assert.ok(Buffer.isBuffer(obj.img), "img is a Buffer");
  assert.deepEqual(obj.img, payload.img);
  assert.deepEqual(obj.parts[0], bytes(10));
  assert.deepEqual(obj.parts[1].deep[0], bytes(20, 21));
  assert.equal(obj.parts[1].n, 1);
  assert.equal(obj.parts[2], "text");
  assert.ok(isBinary(obj.parts[3]) && obj.parts[3].length === 0, "empty buffer stays binary");
  assert.deepEqual(obj.nested.a.b.c, bytes(99));
  assert.deepEqual(obj.u8, bytes(5, 6, 7));
  assert.deepEqual(obj.ab, bytes(8, 9));
  assert.ok(obj.big.equals(big), "200 KB buffer round-trips");
  assert.deepEqual(top, bytes(42, 43));
  assert.deepEqual(arr, [bytes(1)]);

  log(`${transport}: server decodes binary into Go []byte fields`);
  const check = await socket.emitWithAck("bin-check", payload);
  assert.deepEqual(check, {
    name: "pic",
    img: [4, sum(payload.img)],
    parts0: [1, 10],
    deep: [2, 41],
    c: [1, 99],
    big: [big.length, sum(big)],
  });

  log(`${transport}: server → client nested binary in an event, binary ack back`);
  const pushed = once(socket, "bin-push");
  socket.emit("send-push");
  const [p, top2, ackFn] = await pushed;
  assert.ok(Buffer.isBuffer(p.img));
  assert.deepEqual(p.img, bytes(0, 1, 2, 255));
  assert.deepEqual(p.list[0], Buffer.from("a"));
  assert.deepEqual(p.list[1].deep, bytes(9));
  assert.ok(isBinary(p.empty) && p.empty.length === 0, "empty []byte arrives as empty binary");
  assert.equal(p.n, 5);
  assert.equal(p.nilBytes, null, "nil []byte is null");
  assert.deepEqual(p.structBytes, { B: "AQ==" }, "[]byte inside a struct travels as base64 (documented)");
  assert.deepEqual(top2, bytes(7, 7, 7));
  assert.equal(typeof ackFn, "function");
  ackFn({ got: bytes(1, 2, 3) });
  const [res] = await once(socket, "push-acked");
  assert.deepEqual(res, { len: 3, sum: 6 });

  socket.disconnect();
}

await run({
  async "nested binary over polling"() {
    await scenarios("polling");
  },
  async "nested binary over websocket"() {
    await scenarios("websocket");
  },
});
