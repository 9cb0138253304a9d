/**
 * Each hand-written rule listed in validate/upstream-replaced.ts is reported by the upstream admission layer: the
 * admission program denies the same edit of the demo render (admission/testdata), naming the listed field.
 * Needs the admission binary: .tools/bin (npm run setup) or CAPI_GITOPS_CAPI_GITOPS_ADMISSION.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { admit, type AdmissionResult } from "../src/tools/admission.js";
import { UPSTREAM_REPLACED } from "../src/validate/upstream-replaced.js";
import { ROOT } from "./helpers.js";

type Obj = Record<string, any>;
const load = (f: string): Obj[] => parseAllDocuments(readFileSync(path.join(ROOT, "admission", "testdata", f), "utf8")).map((d) => d.toJS() as Obj).filter(Boolean);

/** The edit that breaks each check (same order as UPSTREAM_REPLACED): kind, name prefix, mutation. */
const EDITS: Record<string, [string, string, (o: Obj) => void]> = {
  "KCP replicas even with stacked etcd": ["KubeadmControlPlane", "demo", (o) => (o.spec.replicas = 2)],
  "KCP maxSurge 0 with fewer than 3 replicas": ["KubeadmControlPlane", "demo", (o) => (o.spec.rollout = { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0 } } })],
  "KCP version not semantic": ["KubeadmControlPlane", "demo", (o) => (o.spec.version = "1.34")],
  "MachineDeployment version not semantic": ["MachineDeployment", "demo", (o) => (o.spec.template.spec.version = "latest")],
  "MachinePool version not semantic": ["MachinePool", "demo", (o) => (o.spec.template.spec.version = "1.34.x")],
  "MachinePool taints": ["MachinePool", "demo", (o) => (o.spec.taints = [{ key: "k", value: "v", effect: "NoSchedule", propagation: "Always" }])],
  "nodeStartupTimeoutSeconds under 30": ["MachineHealthCheck", "demo-default", (o) => (o.spec.checks.nodeStartupTimeoutSeconds = 10)],
  "providerID in an AWSMachineTemplate": ["AWSMachineTemplate", "demo-control-plane", (o) => (o.spec.template.spec.providerID = "aws:///us-east-1a/i-1")],
  "cloudInit.secretPrefix in an AWSMachineTemplate": ["AWSMachineTemplate", "demo-control-plane", (o) => (o.spec.template.spec.cloudInit = { secretPrefix: "x" })],
  "io1/io2 volume without iops (AWSMachineTemplate)": ["AWSMachineTemplate", "demo-control-plane", (o) => (o.spec.template.spec.rootVolume = { size: 80, type: "io1" })],
  "throughput on a non-gp3 volume (AWSMachineTemplate)": ["AWSMachineTemplate", "demo-control-plane", (o) => (o.spec.template.spec.rootVolume = { size: 80, type: "gp2", throughput: 250 })],
  "io1/io2 volume without iops (AWSMachinePool)": ["AWSMachinePool", "demo", (o) => (o.spec.awsLaunchTemplate.rootVolume = { size: 80, type: "io1" })],
  "VPC CIDR not a CIDR": ["AWSCluster", "demo", (o) => (o.spec.network.vpc.cidrBlock = "10.0.0.0/40")],
};

let results: AdmissionResult[][];
beforeAll(async () => {
  const base = [...load("demo.yaml"), ...load("workers.yaml")];
  // One process: every edited object in its own copy of the render, tagged by its index.
  const input: string[] = [];
  for (const r of UPSTREAM_REPLACED) {
    const [kind, prefix, edit] = EDITS[r.check]!;
    const objs = structuredClone(base);
    const target = objs.find((o) => o.kind === kind && String(o.metadata?.name).startsWith(prefix));
    if (!target) throw new Error(`no ${kind} ${prefix}* in the demo render`);
    edit(target);
    input.push(JSON.stringify(target));
  }
  const flat = await admit(`${input.join("\n")}\n`, { cwd: ROOT });
  results = flat.map((r) => [r]);
}, 300_000);

describe("rules the upstream admission layer now covers", () => {
  it("every entry has an edit in this test", () => {
    for (const r of UPSTREAM_REPLACED) expect(EDITS[r.check], r.check).toBeDefined();
  });
  it.each(UPSTREAM_REPLACED.map((r, i) => [r.rule, r.check, i] as const))("%s — %s: denied upstream", (_rule, _check, i) => {
    const r = UPSTREAM_REPLACED[i]!;
    const [res] = results[i]!;
    expect(res?.allowed, JSON.stringify(res)).toBe(false);
    expect(res!.messages.some((m) => m.field.includes(r.field) || r.field.includes(m.field) && m.field !== ""), JSON.stringify(res)).toBe(true);
    expect(r.upstream).toMatch(/^sigs\.k8s\.io\/cluster-api(-provider-aws\/v2)?@v[\d.]+\/.+\.go$/);
  });
});
