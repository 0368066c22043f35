// Polling-only and websocket-only clients, and servers that disable one
// transport: the connection works and stays on the expected transport.
import assert from "node:assert/strict";
import { io, SERVER_URL, run, log, connected, connectError, once, sleep, until } from "./lib.mjs";

const NO_WS_URL = process.env.NO_WS_URL; // DisableWebSocket
const NO_POLL_URL = process.env.NO_POLL_URL; // DisablePolling

// exchange checks the basics on a connected socket: welcome event, acks,
// order of many events both ways, and that the transport is `want`.
async function exchange(socket, want) {
  assert.equal(socket.io.engine.transport.name, want, "engine transport");

  log(`${want}: echo ack with mixed arguments`);
  const args = [1, "héllo <&> \u2028 😀", { a: [1, 2, { b: null }], t: true }, null, 3.5];
  const got = await new Promise((resolve) => socket.emit("echo", ...args, (...r) => resolve(r)));
  assert.deepEqual(got, args);

  log(`${want}: server reports the transport`);
  assert.equal(await socket.emitWithAck("transport"), want);

  log(`${want}: 200 events each way keep their order`);
  const back = [];
  socket.on("seq", (n) => back.push(n));
  for (let i = 0; i < 200; i++) socket.emit("seq", i);
  const ticks = [];
  socket.on("tick", (n) => ticks.push(n));
  await socket.emitWithAck("ticks", 200);
  await until(() => back.length === 200 && ticks.length === 200, 5000, "200 seq echoes and 200 ticks");
  assert.deepEqual(back, [...Array(200).keys()]);
  assert.deepEqual(ticks, [...Array(200).keys()]);
  socket.off("seq");
  socket.off("tick");

  log(`${want}: still on ${want} after a while`);
  await sleep(150);
  assert.equal(socket.io.engine.transport.name, want, "engine transport after a while");
}

async function open(url, opts, want) {
  const socket = io(url, { forceNew: true, reconnection: false, ...opts });
  let upgraded = false;
  socket.io.on("open", () => socket.io.engine.on("upgrading", () => (upgraded = true)));
  const welcome = once(socket, "welcome");
  await connected(socket);
  const [w] = await welcome;
  assert.equal(w.id, socket.id, "welcome carries the socket id");
  assert.equal(w.transport, want, "transport seen by the server on connection");
  await exchange(socket, want);
  assert.equal(upgraded, false, "no upgrade attempted");
  socket.disconnect();
}

await run({
  async "polling only (client transports: [polling])"() {
    await open(SERVER_URL, { transports: ["polling"] }, "polling");
  },
  async "websocket only (client transports: [websocket])"() {
    await open(SERVER_URL, { transports: ["websocket"] }, "websocket");
  },
  async "server without websocket: default client stays on polling"() {
    const res = await fetch(`${NO_WS_URL}/socket.io/?EIO=4&transport=polling`);
    const open = JSON.parse((await res.text()).slice(1));
    assert.deepEqual(open.upgrades, [], "no upgrades advertised");
    const socket = io(NO_WS_URL, { forceNew: true, reconnection: false });
    await connected(socket);
    await exchange(socket, "polling");
    socket.disconnect();
  },
  async "server without websocket refuses a websocket client"() {
    const socket = io(NO_WS_URL, { forceNew: true, reconnection: false, transports: ["websocket"] });
    const err = await connectError(socket);
    assert.equal(err.message, "websocket error");
    socket.close();
  },
  async "server without polling: websocket client works"() {
    await open(NO_POLL_URL, { transports: ["websocket"] }, "websocket");
  },
  async "server without polling refuses a polling client"() {
    const socket = io(NO_POLL_URL, { forceNew: true, reconnection: false, transports: ["polling"] });
    const err = await connectError(socket);
    assert.equal(err.message, "xhr poll error");
    assert.equal(err.description, 400);
    socket.close();
  },
  async "server without polling: tryAllTransports falls back to websocket"() {
    const socket = io(NO_POLL_URL, { forceNew: true, reconnection: false, tryAllTransports: true });
    await connected(socket);
    await exchange(socket, "websocket");
    socket.disconnect();
  },
});
