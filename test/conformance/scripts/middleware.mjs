// Namespace middlewares: a rejection reaches connect_error with its message
// and data, the client does not retry on its own, and a later connect with
// better credentials succeeds.
import assert from "node:assert/strict";
import { io, Manager, SERVER_URL, run, log, connected, connectError, once, sleep } from "./lib.mjs";

const TRANSPORT = process.env.TRANSPORT;
const base = { forceNew: true, transports: [TRANSPORT], reconnectionDelay: 50, reconnectionDelayMax: 100 };

await run({
  async [`middleware rejection with data over ${TRANSPORT}`]() {
    log("wrong token: ConnectError message and data");
    const s1 = io(`${SERVER_URL}/private`, { ...base, auth: { token: "wrong" } });
    const err = await connectError(s1);
    assert.ok(err instanceof Error);
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: 4001, reason: "bad token", retry: false });

    log("no automatic retry after a middleware rejection");
    let attempts = 0;
    s1.io.on("reconnect_attempt", () => attempts++);
    s1.on("connect_error", () => attempts++);
    await sleep(300);
    assert.equal(attempts, 0);
    assert.equal(s1.connected, false);
    assert.equal(s1.active, false, "socket.active is false after a middleware error");

    log("retry by hand with the right token");
    s1.auth = { token: "secret" };
    const hello = once(s1, "hello");
    s1.connect();
    await connected(s1);
    assert.deepEqual((await hello)[0], { user: "alice", token: "secret" }, "data set by the middleware");
    assert.equal(await s1.emitWithAck("whoami"), "alice");
    s1.disconnect();

    log("plain error: message, no data");
    const s2 = io(`${SERVER_URL}/private`, { ...base });
    const err2 = await connectError(s2);
    assert.equal(err2.message, "no token");
    assert.equal(err2.data, undefined);
    s2.close();

    log("second middleware sees the handshake query; array data");
    const s3 = io(`${SERVER_URL}/private`, { ...base, auth: { token: "secret" }, query: { room: "forbidden" } });
    const err3 = await connectError(s3);
    assert.equal(err3.message, "room forbidden");
    assert.deepEqual(err3.data, ["x", 1]);
    s3.close();

    log("a rejected namespace does not affect the other namespaces of the connection");
    const m = new Manager(SERVER_URL, { ...base, forceNew: undefined });
    const main = m.socket("/");
    await connected(main);
    const closed = m.socket("/closed");
    const err4 = await connectError(closed);
    assert.equal(err4.message, "closed for maintenance");
    assert.equal(err4.data, undefined);
    assert.ok(main.connected, "/ still connected");
    assert.equal(await main.emitWithAck("ping"), "pong");
    closed.close();
    main.disconnect();
  },
});
