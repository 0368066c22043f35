// Helpers shared by the conformance scripts. Each script is started by
// conformance_test.go with the Go server's address in SERVER_URL, runs its
// checks with node:assert and exits 0 on success; any failure prints the
// step it was at and exits 1, which fails the Go test with this output.
//
// control() asks the Go side to act or report (restart the server, read
// what handlers recorded): it writes "@@ctl <json>" on stdout and reads the
// JSON reply as one line from stdin.
import { createInterface } from "node:readline";
import { io, Manager } from "socket.io-client";

export { io, Manager };

export const SERVER_URL = process.env.SERVER_URL;
if (!SERVER_URL) {
  console.error("SERVER_URL is not set: run the scripts through go test ./test/conformance/");
  process.exit(2);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let step = "start";
/** log records the current step, so a failure says where it happened. */
export function log(msg) {
  step = msg;
  console.log(`[${(performance.now() / 1000).toFixed(3)}s] ${msg}`);
}

/** withTimeout rejects when p does not settle within ms. */
export function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** once resolves with the arguments of emitter's next `event`. */
export function once(emitter, event, ms = 5000) {
  return withTimeout(
    new Promise((resolve) => emitter.once(event, (...args) => resolve(args))),
    ms,
    `event "${event}"`,
  );
}

/** connected waits for socket's "connect", failing on "connect_error". */
export function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off("connect_error", onError);
        resolve();
      };
      const onError = (err) => {
        socket.off("connect", onConnect);
        reject(new Error(`connect_error on ${socket.nsp}: ${err.message} (${err.description ?? ""})`));
      };
      socket.once("connect", onConnect);
      socket.once("connect_error", onError);
    }),
    ms,
    `connect of ${socket.nsp}`,
  );
}

/** connectError waits for socket's "connect_error", failing on "connect". */
export function connectError(socket, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect_error", (err) => resolve(err));
      socket.once("connect", () => reject(new Error(`${socket.nsp} connected but should have been refused`)));
    }),
    ms,
    `connect_error of ${socket.nsp}`,
  );
}

/** until polls cond every 10ms. */
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await sleep(10);
  }
}

// --- control channel with the Go test ---------------------------------------

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (line) => {
  const w = waiting.shift();
  if (w) w(line);
});

/** control sends cmd (and arg) to the Go test and returns its reply. */
export async function control(cmd, arg = null, ms = 15000) {
  const reply = new Promise((resolve) => waiting.push(resolve));
  process.stdout.write(`@@ctl ${JSON.stringify({ cmd, arg })}\n`);
  const line = await withTimeout(reply, ms, `control reply to ${cmd}`);
  const r = JSON.parse(line);
  if (r.error) throw new Error(`control ${cmd}: ${r.error}`);
  return r.result;
}

/**
 * run executes the scenario functions one after another (in the order given)
 * and exits the process: 0 when all passed, 1 at the first failure.
 */
export async function run(scenarios, totalMs = 60000) {
  const killer = setTimeout(() => {
    console.error(`FAIL: script did not finish within ${totalMs}ms (last step: ${step})`);
    process.exit(1);
  }, totalMs);
  for (const [name, fn] of Object.entries(scenarios)) {
    log(`== ${name}`);
    try {
      await fn();
    } catch (err) {
      console.error(`FAIL ${name} at step "${step}":`);
      console.error(err && err.stack ? err.stack : err);
      process.exit(1);
    }
    console.log(`ok ${name}`);
  }
  clearTimeout(killer);
  // Exit at once: socket.io-client timers (reconnection, heartbeats) of
  // closed managers must not keep the process alive.
  process.exit(0);
}
