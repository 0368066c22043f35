// The script side of noderun: step logging, timeouts, polling, the control
// channel and the scenario runner. Every Node test folder's lib.mjs
// re-exports it; it imports nothing but Node itself, so it works from any
// folder whatever its node_modules pin.
//
// control() asks the Go side to act or report: it writes "@@ctl <json>" on
// stdout and reads the JSON reply as one line from stdin (see noderun.go).
import { createInterface } from "node:readline";

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

/** until polls cond (which may be async) every 10ms. */
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await sleep(10);
  }
}

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
