/**
 * Issue 20 item 9: `npm run e2e` stays green on every cluster shape `new-cluster` writes — the shape matrix of
 * e2e/plan.ts (MachinePool and MachineDeployment workers × one, two, three zones × the default pool, one of 0–3, a
 * fixed one of 2, one of 4–7) and the reported cluster (`new-cluster --workers MachineDeployment --zones
 * us-east-2a,us-east-2b`, default pool), each created and then updated with the accepted change (zones reordered, a
 * pool added, instance type, minor +1) against a real kube-apiserver with the upstream webhooks. Before the fix the
 * update step failed with "spec.replicas defaulted to 1, expected 0" (the per-zone split followed the zone order, and
 * the expectation ignored CAPI's defaulting on update).
 *
 * Needs the control plane `npm run e2e` builds and the admission program: skipped without them.
 */
import { readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eCommand, SUITE_TMP_PREFIX, type E2eResult } from "../src/commands/e2e.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { shapeMatrix } from "../src/e2e/plan.js";
import { controlPlaneInstalled } from "../src/tools/control-plane.js";
import { tempDir } from "./helpers.js";

const built = controlPlaneInstalled();
const SHAPES = [
  { name: "fd", region: "us-east-2", workers: "MachineDeployment", zones: "us-east-2a,us-east-2b" },
  ...shapeMatrix(),
];

let result: E2eResult;
let cleanup: () => Promise<void>;
/** The Go suite's temporary folders the run left behind. */
let leftSuiteTmp: string[];

describe.skipIf(!built)("20.9: the shapes new-cluster writes against a real kube-apiserver", () => {
  beforeAll(async () => {
    const t = await tempDir("capi-gitops-e2e-shapes-");
    cleanup = t.cleanup;
    await writeFile(
      path.join(t.dir, "capi-gitops.yaml"),
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/p/c.git\n",
    );
    for (const flags of SHAPES) await newClusterCommand({ cwd: t.dir, flags, log: () => {}, render: false });
    const suiteTmps = async () => (await readdir(os.tmpdir())).filter((f) => f.startsWith(SUITE_TMP_PREFIX));
    const before = new Set(await suiteTmps());
    result = await e2eCommand({ cwd: t.dir, log: () => {}, fixtures: false, box: false });
    leftSuiteTmp = (await suiteTmps()).filter((f) => !before.has(f));
  }, 1_500_000);
  afterAll(async () => cleanup?.());

  it("covers workers × 1–3 zones × pool sizes", () => {
    expect(new Set(SHAPES.map((s) => `${s.workers} ${s.zones?.split(",").length}`)).size).toBe(6);
  });
  it.each(SHAPES.map((s) => s.name))("%s: created and updated (zones reordered) as the tool expects", (name) => {
    expect(
      result.failures.filter((f) => f.output.includes(`cluster ${name}: `)).map((f) => f.output.slice(0, 400)),
    ).toEqual([]);
  });
  it("nothing else fails", () => {
    expect(result.failures.map((f) => f.output.slice(0, 400))).toEqual([]);
    expect(result.passed).toBeGreaterThan(0);
  });
  it("a run that passes leaves no folder of the Go suite's temporary files", () => {
    expect(leftSuiteTmp).toEqual([]);
  });
});
