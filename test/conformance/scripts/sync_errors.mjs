// Every error envelope of the catalogue that a client can provoke, on
// apiRequest and sync (socket) and on /api and /sync (HTTP), compared as
// exact JSON text. Per-recipient client-handler error frames are in
// sync_rooms.mjs.
import assert from "node:assert/strict";
import { run, log, once, connected, SERVER_URL } from "./lib.mjs";
import { user, tab, ask, syncMsg, join, err } from "./sync_lib.mjs";

const u = await user("e1");
const admin = await user("e2", { admin: true });
await join(u, "r");
const anon = tab(null);
await connected(anon);

const apiCall = async (s, name, data = {}) => (await ask(s, "apiRequest", { name, data }, "apiResponse")).text;
const apiRaw = async (s, payload) => (await ask(s, "apiRequest", payload, "apiResponse")).text;
const syncCall = async (s, key, data = {}, receiver = "r", more = {}) => (await ask(s, "sync", syncMsg(key, data, receiver, more), "sync")).text;
const syncRaw = async (s, payload) => (await ask(s, "sync", payload, "sync")).text;
const name = (v) => [{ key: "name", value: v }];
const key = (v) => [{ key: "key", value: v }];

async function http(method, path, body, headers = {}) {
  const res = await fetch(SERVER_URL + path, {
    method,
    headers: { Origin: SERVER_URL, Authorization: `Bearer ${u.token}`, ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

await run({
  async "apiRequest errors"() {
    assert.equal(await apiRaw(u.s, { data: {} }), err("api.invalidRequest", 400));
    assert.equal(await apiRaw(u.s, { name: "api/system/echo/v1", data: [1] }), err("api.invalidRequest", 400));
    assert.equal(await apiCall(u.s, "api/chat"), err("routing.invalidServiceRouteName", 400, name("api/chat")));
    assert.equal(await apiCall(u.s, "api/chat/none/v1"), err("api.notFound", 404, name("api/chat/none/v1")));
    assert.equal(await apiCall(anon, "api/chat/login/v1"), err("auth.required", 401));
    assert.equal(await apiCall(u.s, "api/chat/admin/v1"), err("auth.forbidden", 403, key("admin")));
    assert.equal(await apiCall(u.s, "api/chat/bad/v1"), err("auth.invalidCondition", 500, key("nope")));
    assert.equal(await apiCall(u.s, "api/chat/typed/v1", { text: 5 }), err("api.invalidInputType", 400));
    assert.equal(await apiCall(u.s, "api/chat/typed/v1", { extra: 1 }), err("api.invalidInputType", 400));
    assert.equal(await apiCall(u.s, "api/chat/sleepy/v1"), err("api.timeout", 504));
    assert.equal(await apiCall(u.s, "api/chat/fail/v1", { mode: "plain" }), err("api.internalServerError", 500));
    assert.equal(await apiCall(u.s, "api/chat/fail/v1", { mode: "panic" }), err("api.internalServerError", 500));
    assert.equal(await apiCall(u.s, "api/chat/fail/v1", { mode: "null" }), err("api.emptyResponse", 500));
    assert.equal(await apiCall(u.s, "api/chat/fail/v1", { mode: "status" }), err("api.invalidResponseStatus", 500));
    assert.equal(await apiCall(u.s, "api/chat/fail/v1", { mode: "apierr" }), err("chat.tooLong", 422, [{ key: "max", value: 10 }]));
    assert.equal(await apiCall(u.s, "api/chat/gated/v1"), err("chat.closed", 423));
    assert.equal(await apiCall(u.s, "api/chat/door/v1"), '{"status":"error","errorCode":"chat.door","httpStatus":403}', "the gate's reply has no message");
    assert.equal(await apiCall(u.s, "api/chat/limited/v1"), '{"status":"success","httpStatus":200}');
    assert.match(await apiCall(u.s, "api/chat/limited/v1"), /^\{"status":"error","message":"api.rateLimitExceeded","errorCode":"api.rateLimitExceeded","errorParams":\[\{"key":"seconds","value":(59|60)\}\],"httpStatus":429\}$/);
    assert.equal(await apiCall(admin.s, "api/chat/admin/v1", { ok: 1 }), '{"ok":1,"status":"success","httpStatus":200}', "an admin passes");
  },

  async "sync errors"() {
    const notObject = once(u.s, "sync");
    u.s.emit("sync", "not an object");
    assert.equal(JSON.stringify((await notObject)[0]), err("sync.invalidRequest", 400), "answered on the sync event itself");
    assert.equal(await syncRaw(u.s, { name: "sync/chat/say/v1", data: [1], cb: "chat/say/v1", receiver: "r" }), err("sync.invalidRequest", 400));
    assert.equal(await syncRaw(u.s, { data: {}, cb: "x", receiver: "r" }), err("sync.invalidRequest", 400));
    assert.equal(await syncCall(u.s, "chat"), err("routing.invalidServiceRouteName", 400, name("sync/chat")));
    assert.equal(await syncRaw(u.s, { name: "sync/chat/say/v1", data: {}, cb: "", receiver: "r" }), err("sync.invalidCallback", 400));
    assert.equal(await syncRaw(u.s, { name: "sync/chat/say/v1", data: {}, cb: "chat/say/v1", receiver: "  " }), err("sync.missingReceiver", 400));
    assert.equal(await syncCall(u.s, "chat/none/v1"), err("sync.notFound", 400, name("sync/chat/none/v1")));
    assert.equal(await syncCall(anon, "chat/login/v1"), err("auth.required", 401));
    assert.equal(await syncCall(anon, "chat/admin/v1"), err("auth.required", 401), "predicates need a session first");
    assert.equal(await syncCall(u.s, "chat/admin/v1"), err("auth.forbidden", 403, key("admin")));
    assert.equal(await syncCall(u.s, "chat/bad/v1"), err("auth.invalidCondition", 500, key("nope")));
    assert.equal(await syncCall(u.s, "chat/say/v1", {}, "all"), err("sync.receiverNotAllowed", 403));
    assert.equal(await syncCall(u.s, "chat/say/v1", {}, "elsewhere"), err("sync.notRoomMember", 403));
    assert.equal(await syncCall(u.s, "chat/say/v1", { text: 5 }), err("sync.invalidInputType", 400));
    assert.equal(await syncCall(u.s, "chat/fail/v1", { mode: "plain" }), err("sync.serverExecutionFailed", 400));
    assert.equal(await syncCall(u.s, "chat/fail/v1", { mode: "panic" }), err("sync.serverExecutionFailed", 400));
    assert.equal(await syncCall(u.s, "chat/fail/v1", { mode: "status" }), err("sync.invalidServerResponse", 400));
    assert.equal(await syncCall(u.s, "chat/fail/v1", { mode: "null" }), err("sync.invalidServerResponse", 400));
    assert.equal(await syncCall(u.s, "chat/fail/v1", { mode: "apierr" }), err("chat.tooLong", 422, [{ key: "max", value: 10 }]));
    assert.equal(await syncCall(u.s, "chat/gated/v1"), err("chat.closed", 423));
    assert.equal(await syncCall(u.s, "chat/door/v1"), err("chat.door", 403));
    assert.equal(await syncCall(u.s, "chat/limited/v1"), '{"status":"success","message":"sync sync/chat/limited/v1 success","result":{}}');
    assert.match(await syncCall(u.s, "chat/limited/v1"), /^\{"status":"error","message":"sync.rateLimitExceeded","errorCode":"sync.rateLimitExceeded","errorParams":\[\{"key":"seconds","value":(59|60)\}\],"httpStatus":429\}$/);
  },

  async "HTTP errors"() {
    log("api");
    assert.deepEqual(await http("GET", "/api/chat/stream/v1"), { status: 405, text: err("api.methodNotAllowed", 405, [{ key: "method", value: "GET" }]) });
    assert.deepEqual(await http("POST", "/api/", "{}", { "Content-Type": "application/json" }), { status: 400, text: err("api.invalidName", 400) });
    assert.deepEqual(await http("POST", "/api/system/echo/v1", "[1]", { "Content-Type": "application/json" }), { status: 400, text: err("api.invalidDataObject", 400) });
    assert.deepEqual(await http("POST", "/api/system/echo/v1", "{nope", { "Content-Type": "application/json" }), { status: 400, text: err("api.invalidRequestFormat", 400) });
    assert.deepEqual(await http("POST", "/api/system/echo/v1", "x", { "Content-Type": "text/plain" }), { status: 415, text: err("api.unsupportedMediaType", 415) });
    const big = await http("POST", "/api/system/echo/v1", JSON.stringify({ x: "y".repeat(2 << 20) }), { "Content-Type": "application/json" });
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.text).errorCode, "api.payloadTooLarge");
    log("sync");
    assert.deepEqual(await http("GET", "/sync/chat/say/v1"), { status: 405, text: err("sync.methodNotAllowed", 405, [{ key: "method", value: "GET" }]) });
    assert.deepEqual(await http("POST", "/sync/", "{}"), { status: 400, text: err("sync.invalidName", 400) });
    assert.deepEqual(await http("POST", "/sync/chat/say/v1", "{nope"), { status: 500, text: err("sync.invalidRequestFormat", 500) });
    assert.deepEqual(await http("POST", "/sync/chat/say/v1", '{"receiver":"elsewhere"}'), { status: 403, text: err("sync.notRoomMember", 403) });
    assert.deepEqual(await http("POST", "/sync/chat/say/v1", '{"receiver":"r","data":{"text":"web"}}'), {
      status: 200,
      text: '{"status":"success","message":"sync/chat/say/v1 sync success","result":{"text":"web"}}',
    });
  },
});
