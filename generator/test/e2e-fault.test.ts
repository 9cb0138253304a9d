/**
 * `npm run e2e` on a repository with a planted fault that only an upstream webhook denies (CAPA's AWSMachineTemplate
 * webhook: a non-root volume without a device name; kubeconform, kubectl-validate and the CRD schema accept it):
 * the run fails, and the failure names the cluster, the object, the file and the webhook's message. The clean
 * cluster beside it passes.
 *
 * And `npm run e2e -- --plant …` with the three controller-level faults the webhooks admit (a MachineDeployment in a
 * zone without subnet, an add-on Deployment the workload's API server refuses, a ClusterResourceSet selecting no
 * Cluster), each planted in a copy of its own box cluster: the run fails, and the box names each cluster and object.
 *
 * Needs the control plane `npm run e2e` builds (.tools/bin/etcd, kube-apiserver at their pins) and the admission
 * program (`npm run setup`): skipped without them — `.ci/run` runs `npm run e2e -- --build-only` before
 * `npm run test:e2e`, so CI has them.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eCommand, SUITE_TMP_PREFIX, type E2eResult } from "../src/commands/e2e.js";
import { BOX_FAULTS } from "../src/e2e/box.js";
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
    // Every failure of the API server's steps is the planted cluster's (its create, and the update that still carries
    // the fault); the box cannot create that cluster either, and only that one.
    const isBox = (test: string) => test === "box" || test.startsWith("TestBox");
    for (const x of result.failures.filter((y) => !isBox(y.test)))
      expect(x.output).toContain("cluster planted: AWSMachineTemplate");
    for (const x of result.failures.filter((y) => y.test.startsWith("TestBox")))
      expect(x.output).toContain("box: cluster planted/planted:");
    expect(result.box.failed).not.toContain("clean");
    // The clean cluster's health passes too (an Argo CD repository: Flux, which it does not use, is not judged).
    for (const x of result.failures) expect(x.output).not.toContain("box: health: cluster clean/clean");
    const f = result.failures.find((y) => !isBox(y.test));
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

  it("keeps the suite's temporary files, the box's controller log among them, and names their folder", async () => {
    const kept = logged.flatMap((l) => /^e2e: the suite's temporary files .* are kept in (\S+)$/.exec(l)?.[1] ?? []);
    expect(kept).toHaveLength(1);
    expect(path.basename(kept[0]!)).toMatch(new RegExp(`^${SUITE_TMP_PREFIX}`));
    expect((await readdir(kept[0]!)).some((f) => /^box-controllers-.*\.log$/.test(f))).toBe(true);
    await rm(kept[0]!, { recursive: true, force: true });
  });
});

let planted: E2eResult;
let plantedLog: string[];
let plantedCleanup: () => Promise<void>;

describe.skipIf(!built)("npm run e2e --plant: the faults the webhooks admit fail the box", () => {
  beforeAll(async () => {
    const t = await tempDir("capi-gitops-e2e-plant-");
    plantedCleanup = t.cleanup;
    // One cluster per fault (a fault goes to a cluster that carries none yet), so one cannot hide another.
    for (const name of ["f1", "f2", "f3"])
      await newClusterCommand({ cwd: t.dir, log: () => {}, render: false, flags: { name, region: "us-east-1" } });
    plantedLog = [];
    planted = await e2eCommand({
      cwd: t.dir,
      log: (l) => plantedLog.push(l),
      fixtures: false,
      plant: [...BOX_FAULTS],
    });
  }, 1_500_000);
  afterAll(async () => {
    for (const l of plantedLog ?? []) {
      const kept = /^e2e: the suite's temporary files .* are kept in (\S+)$/.exec(l)?.[1];
      if (kept) await rm(kept, { recursive: true, force: true });
    }
    await plantedCleanup?.();
  });

  it("plants each fault in a copy of its own cluster", () => {
    const lines = plantedLog.filter((l) => l.startsWith("box: planted "));
    expect(lines.map((l) => l.split(" ")[2])).toEqual([...BOX_FAULTS]);
    expect(new Set(lines.map((l) => l.split(" ")[4])).size).toBe(3);
  });

  it("fails, naming each planted cluster and object", () => {
    expect(planted.failed).toBeGreaterThanOrEqual(3);
    expect(planted.box.failed.sort()).toEqual(["f1", "f2", "f3"]);
    const text = planted.failures.map((f) => f.output).join("\n");
    for (const l of plantedLog.filter((x) => x.startsWith("box: planted "))) {
      // "box: planted <kind> in <namespace>/<name>: <Kind>/<name>"
      const [, cluster, object] = /^box: planted \S+ in (\S+): (\S+)$/.exec(l) ?? [];
      expect(text).toContain(`box: cluster ${cluster}: ${object}: `);
    }
    // Each fault is found in what the controllers report, not by its phase running out of time.
    expect(text).not.toContain("was not reported by the controllers");
    // The API server's steps accept every planted object (the webhooks admit them): only the box fails.
    expect(planted.failures.filter((f) => !f.test.startsWith("TestBox"))).toEqual([]);
  });
});
