// Helpers shared by the conformance scripts. Each script is started by
// conformance_test.go with the Go server's address in SERVER_URL, runs its
// checks with node:assert and exits 0 on success; any failure prints the
// step it was at and exits 1, which fails the Go test with this output.
//
// The step log, timeouts, polling, control() (ask the Go side to act or
// report, e.g. restart the server) and run() come from the shared script
// harness, internal/testutil/noderun/harness.mjs.
import { io, Manager } from "socket.io-client";
import { withTimeout } from "../../../internal/testutil/noderun/harness.mjs";

export { io, Manager };
export { sleep, log, withTimeout, until, control, run } from "../../../internal/testutil/noderun/harness.mjs";

export const SERVER_URL = process.env.SERVER_URL;
if (!SERVER_URL) {
  console.error("SERVER_URL is not set: run the scripts through go test ./test/conformance/");
  process.exit(2);
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
