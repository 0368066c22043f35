// Helpers shared by the sync_*.mjs scripts: users logged in through the Go
// side, requests with a fresh responseIndex, and a marker that proves a
// socket read every frame the server sent before it.
import { io, SERVER_URL, connected, once, control } from "./lib.mjs";

/** user logs id in (the Go side creates the session) and connects a tab. */
export async function user(id, extra = {}) {
  const token = await control("session", { id, ...extra });
  const s = tab(token);
  await connected(s);
  return { s, token, id, frames: record(s) };
}

/** tab connects one socket with the session token (anonymous when null). */
export function tab(token) {
  const s = io(SERVER_URL, { forceNew: true, transports: ["websocket"], reconnection: false, auth: token ? { token } : {} });
  return s;
}

/** record keeps every fan-out frame a socket gets on "sync". */
export function record(s) {
  const frames = [];
  s.on("sync", (f) => frames.push(f));
  return frames;
}

let idx = 0;
/** next returns a fresh responseIndex. */
export const next = () => ++idx;

/**
 * ask emits event with payload plus a fresh responseIndex and resolves
 * with the reply on `${reply}-<i>` as { text, body, i }.
 */
export async function ask(s, event, payload, reply) {
  const i = next();
  const p = once(s, `${reply}-${i}`);
  s.emit(event, { ...payload, responseIndex: i });
  const [body] = await p;
  return { text: JSON.stringify(body), body, i };
}

/** syncMsg is the request the browser client sends for route key. */
export const syncMsg = (key, data, receiver, more = {}) => ({ name: `sync/${key}`, cb: key, data, receiver, ...more });

/** join joins room and checks the reply. */
export async function join(u, room) {
  const r = await ask(u.s, "joinRoom", { group: room }, "joinRoom");
  if (!r.body.rooms || !r.body.rooms.includes(room)) throw new Error(`join ${room}: ${r.text}`);
}

/**
 * settle waits until the server finished `total` fan-outs, then sends a
 * marker to every socket and waits for it on each of sockets: every frame
 * of those fan-outs has been read by then.
 */
export async function settle(total, sockets) {
  await control("fanouts", { n: total });
  const waits = sockets.map((s) => once(s, "marker"));
  await control("mark");
  await Promise.all(waits);
}

/** err is the exact text of an error envelope. */
export function err(code, status, params) {
  const p = params ? `,"errorParams":${JSON.stringify(params)}` : "";
  return `{"status":"error","message":"${code}","errorCode":"${code}"${p},"httpStatus":${status}}`;
}
