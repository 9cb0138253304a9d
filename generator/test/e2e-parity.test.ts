/**
 * Issue #13 item 5: every fault of the admission parity corpus (admission-faults.ts) applied to a real kube-apiserver
 * with the upstream webhooks (`npm run e2e`, repository only): the server rejects each fault, the failure names the
 * fault's cluster and kind, and the clean clusters beside them pass.
 *
 * Needs the control plane `npm run e2e` builds and the admission program: skipped without them (`.ci/run` runs
 * `npm run e2e -- --build-only` before `npm run test:e2e`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eCommand, type E2eResult } from "../src/commands/e2e.js";
import { controlPlaneInstalled } from "../src/tools/control-plane.js";
import { CLEAN, clusterName, FAULTS, writeFaultRepo } from "./admission-faults.js";
import { tempDir } from "./helpers.js";

const built = controlPlaneInstalled();

let result: E2eResult;
let cleanup: () => Promise<void>;

describe.skipIf(!built)("the parity corpus against a real kube-apiserver", () => {
  beforeAll(async () => {
    const t = await tempDir("capi-gitops-e2e-parity-");
    cleanup = t.cleanup;
    await writeFaultRepo(t.dir);
    result = await e2eCommand({ cwd: t.dir, log: () => {}, fixtures: false, box: false });
  }, 1_500_000);
  afterAll(async () => cleanup?.());

  const failuresOf = (cluster: string) => result.failures.filter((f) => f.output.includes(`cluster ${cluster}: `));

  it.each(FAULTS.map((f, i) => [clusterName(i), f] as const))("%s: the server rejects it (%s)", (cluster, f) => {
    const mine = failuresOf(cluster);
    expect(
      mine.some(
        (x) =>
          x.output.includes(`cluster ${cluster}: ${f.kind} `) &&
          /the API server rejected it|denied as capi-gitops expects, but/.test(x.output),
      ),
      JSON.stringify(mine, null, 1),
    ).toBe(true);
  });

  it.each(CLEAN)("%s (clean) passes", (c) => {
    expect(failuresOf(c)).toEqual([]);
  });

  it("nothing else fails (management/, teardown)", () => {
    const named = new Set([...FAULTS.map((_, i) => clusterName(i))]);
    expect(result.failures.filter((f) => ![...named].some((c) => f.output.includes(`cluster ${c}: `)))).toEqual([]);
  });
});
