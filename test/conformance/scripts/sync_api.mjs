// API streaming and cancellation with the official client: apiStream-<i>
// chunks in order before the one apiResponse-<i>, apiCancel (numeric and
// string index) and disconnect cancelling the handler's context, and no
// reply after a cancel.
import assert from "node:assert/strict";
import { run, once, control, until } from "./lib.mjs";
import { user, ask, next } from "./sync_lib.mjs";

const u = await user("a1");

// slow starts api/chat/slow/v1 and waits until its handler runs.
async function slow(s) {
  const i = next();
  let running = false;
  s.once(`apiStream-${i}`, (f) => (running = f.running === true));
  let replied = false;
  s.once(`apiResponse-${i}`, () => (replied = true));
  s.emit("apiRequest", { name: "api/chat/slow/v1", data: {}, responseIndex: i });
  await until(() => running, 5000, "the handler to run");
  return { i, replied: () => replied };
}

await run({
  async "streaming"() {
    const i = next();
    const chunks = [];
    const done = once(u.s, `apiResponse-${i}`);
    u.s.on(`apiStream-${i}`, (c) => chunks.push(JSON.stringify(c)));
    u.s.emit("apiRequest", { name: "api/chat/stream/v1", data: {}, responseIndex: i });
    const [reply] = await done;
    assert.deepEqual(chunks, ['{"i":0}', '{"i":1}', '{"i":2}'], "every chunk before the reply, in order");
    assert.equal(JSON.stringify(reply), '{"done":true,"status":"success","httpStatus":200}');
  },

  async "apiCancel with a numeric index"() {
    const r = await slow(u.s);
    u.s.emit("apiCancel", { responseIndex: r.i });
    assert.equal(await control("cancelled"), "api: request cancelled by the client");
    // A later request is answered; the cancelled one never is.
    const echo = await ask(u.s, "apiRequest", { name: "api/system/echo/v1", data: { x: 1 } }, "apiResponse");
    assert.equal(echo.text, '{"x":1,"status":"success","httpStatus":200}');
    assert.equal(r.replied(), false);
  },

  async "apiCancel with a string index"() {
    const r = await slow(u.s);
    u.s.emit("apiCancel", { responseIndex: String(r.i) });
    assert.equal(await control("cancelled"), "api: request cancelled by the client");
  },

  async "disconnect cancels"() {
    const other = await user("a2");
    await slow(other.s);
    other.s.close();
    assert.equal(await control("cancelled"), "context canceled");
  },
});
