/**
 * `npm run e2e` on a repository with a planted fault that only an upstream webhook denies (CAPA's AWSMachineTemplate
 * webhook: a non-root volume without a device name; kubeconform, kubectl-validate and the CRD schema accept it):
 * the run fails, and the failure names the cluster, the object, the file and the webhook's message. The clean
 * cluster beside it passes.
 *
 * Needs the control plane `npm run e2e` builds (.tools/bin/etcd, kube-apiserver at their pins) and the admission
 * program (`npm run setup`): skipped without them — `.ci/run` runs `npm run e2e` before `npm test`, so CI has them.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eCommand, type E2eResult } from "../src/commands/e2e.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { controlPlaneInstalled } from "../src/tools/control-plane.js";
import { tempDir } from "./helpers.js";

const built = controlPlaneInstalled();

let result: E2eResult;
let logged: string[];
let cleanup: () => Promise<void>;

describe.skipIf(!built)("npm run e2e with a fault only an upstream webhook denies", () => {
  beforeAll(async () => {
    const t = await tempDir("capi-gitops-e2e-fault-");
    cleanup = t.cleanup;
    const log = () => {};
    await newClusterCommand({ cwd: t.dir, log, render: false, flags: { name: "clean", region: "us-east-1" } });
    await newClusterCommand({ cwd: t.dir, log, render: false, flags: { name: "planted", region: "us-east-1" } });
    const k = path.join(t.dir, "clusters/planted/kustomization.yaml");
    const text = await readFile(k, "utf8");
    const patch = {
      target: { kind: "AWSMachineTemplate", name: "planted-control-plane.*" },
      patch: JSON.stringify([
        { op: "add", path: "/spec/template/spec/nonRootVolumes", value: [{ size: 50, type: "gp3" }] },
      ]),
    };
    await writeFile(k, text.replace(/^patches: \[\]$/m, `patches:\n  - ${JSON.stringify(patch)}`));
    logged = [];
    result = await e2eCommand({ cwd: t.dir, log: (l) => logged.push(l), fixtures: false });
  }, 1_500_000);
  afterAll(async () => cleanup?.());

  it("fails, naming the cluster, the object, its file and the webhook's message", () => {
    expect(result.failed).toBeGreaterThanOrEqual(1);
    // Every failure is the planted cluster's (its create, and the update that still carries the fault).
    for (const x of result.failures) expect(x.output).toContain("cluster planted: AWSMachineTemplate");
    const [f] = result.failures;
    expect(f!.output).toContain("cluster planted: AWSMachineTemplate planted/planted-control-plane-");
    // The file the object comes from (kustomize's origin annotation) and the cluster's own patch that touched it.
    expect(f!.output).toContain(
      "(base/cluster/awsmachinetemplate.yaml; patched by clusters/planted/kustomization.yaml)",
    );
    expect(f!.output).toContain("the API server rejected it");
    expect(f!.output).toContain("non root volume should have device name");
    expect(f!.output).toMatch(
      /admission webhook "validation\.awsmachinetemplate\.infrastructure\.cluster\.x-k8s\.io" denied the request/,
    );
  });

  it(`applies everything else (the clean cluster, the planted one's other objects, management/), \
and tears down`, () => {
    expect(result.passed).toBeGreaterThan(40);
    expect(logged.some((l) => l.includes("teardown left no process and no port behind"))).toBe(true);
  });
});
