// Helpers of the interop scripts, started by interop_test.go: the shared
// script harness (internal/testutil/noderun/harness.mjs) with this suite's
// longer overall deadline. A script runs its checks with node:assert and
// exits 0 on success; a failure prints the step it was at and exits 1.
import { run as runAll } from "../../../internal/testutil/noderun/harness.mjs";

export { sleep, log, withTimeout, until, control } from "../../../internal/testutil/noderun/harness.mjs";

/** run executes the scenarios in order and exits: 0 if all passed. */
export const run = (scenarios, totalMs = 75000) => runAll(scenarios, totalMs);
