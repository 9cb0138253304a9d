/**
 * Parity with the upstream admission (issue #12 item 4): planted faults, each a kustomize patch in a cluster's own
 * kustomization.yaml (as a user would write it) of a freshly generated cluster, across every CAPI/CAPA kind the
 * project generates, each drawn from an upstream webhook or CRD source (cited per case; CAPI v1.13.4, CAPA v2.13.0
 * in the Go module cache). Every fault goes through capi-gitops-admission directly AND through `validate`:
 * upstream denies it; validate reports it as an error (exit 1) naming the cluster, the patch file and the field.
 * The clean clusters pass both. With the admission layer switched off, the faults only upstream catches are
 * missed — the layer is what finds them.
 *
 * Needs the admission binary: .tools/bin (npm run setup) or CAPI_GITOPS_CAPI_GITOPS_ADMISSION.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateCommand } from "../src/commands/validate.js";
import type { ValidateResult } from "../src/validate/pipeline.js";
import { hasErrors, type Finding } from "../src/core/findings.js";
import { admit, type AdmissionResult } from "../src/tools/admission.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { tempDir } from "./helpers.js";
import { CLEAN, clusterName, type Fault, FAULTS, writeFaultRepo } from "./admission-faults.js";

let repo: string;
let cleanup: () => Promise<void>;
let upstream: AdmissionResult[];
let withLayer: ValidateResult;
let withoutLayer: ValidateResult;

beforeAll(async () => {
  const t = await tempDir("capi-gitops-parity-");
  repo = t.dir;
  cleanup = t.cleanup;
  await writeFaultRepo(repo);
  const names = [...CLEAN, ...FAULTS.map((_, i) => clusterName(i))];
  const rendered = await Promise.all(names.map((n) => kustomizeBuild(repo, `clusters/${n}`)));
  upstream = await admit(rendered.join("\n---\n"), { cwd: repo });
  withLayer = await validateCommand({ cwd: repo, cache: false });
  withoutLayer = await validateCommand({ cwd: repo, cache: false, skipAdmission: true });
}, 600_000);
afterAll(async () => cleanup?.());

/**
 * A finding or denial names the fault's field: in its path, or (decode errors, kubeconform's parent path) its message.
 */
const names = (f: Fault, where: string, message: string): boolean => {
  const dots = (x: string) => x.replace(/\[(\d+)\]/g, ".$1");
  return (
    dots(where).includes(dots(f.field)) ||
    message.includes(
      f.field
        .split(".")
        .pop()!
        .replace(/\[\d+\]$/, ""),
    )
  );
};
const errorsOf = (r: ValidateResult, cluster: string): Finding[] =>
  r.findings.filter((f) => f.cluster === cluster && f.severity === "error");

describe("the planted-fault corpus", () => {
  it(`has at least 30 faults across every CAPI/CAPA kind the project generates, \
each citing its upstream source`, () => {
    expect(FAULTS.length).toBeGreaterThanOrEqual(30);
    const kinds = new Set(FAULTS.map((f) => f.kind));
    for (const k of [
      "Cluster",
      "AWSCluster",
      "KubeadmControlPlane",
      "AWSMachineTemplate",
      "MachinePool",
      "AWSMachinePool",
      "KubeadmConfig",
      "MachineHealthCheck",
      "MachineDeployment",
      "KubeadmConfigTemplate",
    ])
      expect(kinds).toContain(k);
    for (const f of FAULTS)
      expect(f.source).toMatch(/^sigs\.k8s\.io\/cluster-api(-provider-aws\/v2)?@v[\d.]+\/\S+\.(go|yaml) /);
  });
});

describe("clean clusters pass both", () => {
  it.each(CLEAN)("%s: every object admitted upstream, no validate error", (c) => {
    const mine = upstream.filter((r) => r.namespace === c || (r.kind === "Namespace" && r.name === c));
    expect(mine.length).toBeGreaterThan(5);
    expect(mine.filter((r) => !r.allowed)).toEqual([]);
    expect(errorsOf(withLayer, c)).toEqual([]);
  });
});

describe.each(FAULTS.map((f, i) => [clusterName(i), f] as const))("%s", (cluster, f) => {
  it(`${f.name} (${f.kind}): upstream denies it`, () => {
    const denied = upstream.filter((r) => r.namespace === cluster && !r.allowed);
    expect(denied.map((r) => r.kind)).toContain(f.kind);
    expect(
      denied.some((r) => r.kind === f.kind && r.messages.some((m) => names(f, m.field, m.message))),
      JSON.stringify(denied),
    ).toBe(true);
  });
  it(`${f.name}: validate reports it (exit 1) naming cluster, file and field`, () => {
    const errors = errorsOf(withLayer, cluster);
    expect(hasErrors(errors)).toBe(true);
    // The file: the cluster's patch when the named field is one the patch sets, else the file the object comes from
    // (validate/attribution.ts), e.g. upstream names rootVolume.iops where the patch set rootVolume.type.
    const hit = errors.find(
      (e) =>
        (e.file === `clusters/${cluster}/kustomization.yaml` || /^base\/.+\.yaml$/.test(e.file ?? "")) &&
        e.path?.startsWith(`${f.kind}/`) &&
        names(f, e.path, e.message),
    );
    expect(hit, JSON.stringify(errors, null, 1)).toBeDefined();
  });
  if (f.upstreamOnly)
    it(`${f.name}: missed with the admission layer switched off (only upstream catches it)`, () => {
      expect(errorsOf(withoutLayer, cluster)).toEqual([]);
      expect(errorsOf(withLayer, cluster).some((e) => e.rule.startsWith("admission/"))).toBe(true);
    });
});

describe("the admission layer is needed", () => {
  it("the three faults of issue #12 are caught only by it", () => {
    for (const n of [
      "subnet with an invalid CIDR",
      "non-root volume without a device name",
      "selector not matching the template labels",
    ])
      expect(FAULTS.find((f) => f.name === n)?.upstreamOnly).toBe(true);
    const missed = FAULTS.filter((_, i) => errorsOf(withoutLayer, clusterName(i)).length === 0).map((f) => f.name);
    expect(missed).toEqual(FAULTS.filter((f) => f.upstreamOnly).map((f) => f.name));
  });
});
