/**
 * Each hand-written check removed from validate/rules.ts for the upstream admission layer (the table in
 * validate/upstream-replaced.ts) is reported by that layer: the admission program denies the same edit of the demo
 * render (admission/testdata), naming the listed field. The checks are gone from rules.ts: clusterRules stays silent
 * on every one of these edits (so nothing is reported twice).
 * Needs the admission binary: .tools/bin (npm run setup) or CAPI_GITOPS_CAPI_GITOPS_ADMISSION.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { admit, type AdmissionResult } from "../src/tools/admission.js";
import type { RenderedCluster } from "../src/render/render.js";
import type { K8sObject } from "../src/k8s/object.js";
import { clusterRules } from "../src/validate/rules.js";
import { UPSTREAM_REPLACED } from "../src/validate/upstream-replaced.js";
import { ROOT } from "./helpers.js";

type Obj = Record<string, any>;
const load = (f: string): Obj[] =>
  parseAllDocuments(readFileSync(path.join(ROOT, "admission", "testdata", f), "utf8"))
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);

/** The edit that breaks each check (same order as UPSTREAM_REPLACED): kind, name prefix, mutation. */
const EDITS: Record<string, [string, string, (o: Obj) => void]> = {
  "KCP replicas even with stacked etcd": ["KubeadmControlPlane", "demo", (o) => (o.spec.replicas = 2)],
  "KCP replicas 0 or less": ["KubeadmControlPlane", "demo", (o) => (o.spec.replicas = 0)],
  "KCP maxSurge other than 0 or 1": [
    "KubeadmControlPlane",
    "demo",
    (o) => (o.spec.rollout = { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 2 } } }),
  ],
  "KCP maxSurge 0 with fewer than 3 replicas": [
    "KubeadmControlPlane",
    "demo",
    (o) => (o.spec.rollout = { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0 } } }),
  ],
  "KCP version not semantic": ["KubeadmControlPlane", "demo", (o) => (o.spec.version = "1.34")],
  "MachineDeployment version not semantic": [
    "MachineDeployment",
    "demo",
    (o) => (o.spec.template.spec.version = "latest"),
  ],
  "MachinePool version not semantic": ["MachinePool", "demo", (o) => (o.spec.template.spec.version = "1.34.x")],
  "MachinePool taints": [
    "MachinePool",
    "demo",
    (o) => (o.spec.taints = [{ key: "k", value: "v", effect: "NoSchedule", propagation: "Always" }]),
  ],
  "nodeStartupTimeoutSeconds under 30": [
    "MachineHealthCheck",
    "demo-default",
    (o) => (o.spec.checks.nodeStartupTimeoutSeconds = 10),
  ],
  "providerID in an AWSMachineTemplate": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.providerID = "aws:///us-east-1a/i-1"),
  ],
  "cloudInit.secretPrefix in an AWSMachineTemplate": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.cloudInit = { secretPrefix: "x" }),
  ],
  "cloudInit.secretCount in an AWSMachineTemplate": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.cloudInit = { secretCount: 3 }),
  ],
  "AWSMachineTemplate without instanceType": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => delete o.spec.template.spec.instanceType,
  ],
  "security group by id and filters (AWSMachineTemplate)": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) =>
      (o.spec.template.spec.additionalSecurityGroups = [
        { id: "sg-1", filters: [{ name: "vpc-id", values: ["vpc-1"] }] },
      ]),
  ],
  "io1/io2 volume without iops (AWSMachineTemplate)": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.rootVolume = { size: 80, type: "io1" }),
  ],
  "io1/io2 non-root volume without iops (AWSMachineTemplate)": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.nonRootVolumes = [{ deviceName: "/dev/sdb", size: 50, type: "io2" }]),
  ],
  "throughput on a non-gp3 volume (AWSMachineTemplate)": [
    "AWSMachineTemplate",
    "demo-control-plane",
    (o) => (o.spec.template.spec.rootVolume = { size: 80, type: "gp2", throughput: 250 }),
  ],
  "io1/io2 volume without iops (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) => (o.spec.awsLaunchTemplate.rootVolume = { size: 80, type: "io1" }),
  ],
  "throughput on a non-gp3 volume (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) => (o.spec.awsLaunchTemplate.rootVolume = { size: 80, type: "gp2", throughput: 200 }),
  ],
  "security group by id and filters (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) =>
      (o.spec.awsLaunchTemplate.additionalSecurityGroups = [
        { id: "sg-1", filters: [{ name: "vpc-id", values: ["vpc-1"] }] },
      ]),
  ],
  "subnet by id and filters (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) => (o.spec.subnets = [{ id: "subnet-1", filters: [{ name: "tag:Name", values: ["x"] }] }]),
  ],
  "more than 50 tags (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) => (o.spec.additionalTags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, "x"]))),
  ],
  "a tag key with the aws: prefix (AWSMachinePool)": [
    "AWSMachinePool",
    "demo",
    (o) => (o.spec.additionalTags = { "aws:owner": "me" }),
  ],
  "VPC CIDR not a CIDR": ["AWSCluster", "demo", (o) => (o.spec.network.vpc.cidrBlock = "10.0.0.0/40")],
  "pod CIDR not a CIDR": [
    "Cluster",
    "demo",
    (o) => (o.spec.clusterNetwork = { ...o.spec.clusterNetwork, pods: { cidrBlocks: ["192.168.0.0/33"] } }),
  ],
  "service CIDR not a CIDR": [
    "Cluster",
    "demo",
    (o) => (o.spec.clusterNetwork = { ...o.spec.clusterNetwork, services: { cidrBlocks: ["services"] } }),
  ],
  "Cluster name over 63 characters": ["Cluster", "demo", (o) => (o.metadata.name = "a".repeat(64))],
  "Cluster name not a DNS name": ["Cluster", "demo", (o) => (o.metadata.name = "Demo_Cluster")],
  "MachineDeployment name over 63 characters": [
    "MachineDeployment",
    "demo",
    (o) => (o.metadata.name = `demo-${"x".repeat(59)}`),
  ],
  "load balancer name over 32 characters": [
    "AWSCluster",
    "demo",
    (o) =>
      (o.spec.controlPlaneLoadBalancer = {
        ...o.spec.controlPlaneLoadBalancer,
        name: "demo-apiserver-load-balancer-0001",
      }),
  ],
};

let results: AdmissionResult[][];
/** Each edit's whole render (the demo cluster with the edited object), for our rules. */
const renders: RenderedCluster[] = [];
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
    renders.push({ cluster: "demo", objects: objs as K8sObject[], origins: objs.map(() => undefined) });
  }
  const flat = await admit(`${input.join("\n")}\n`, { cwd: ROOT });
  results = flat.map((r) => [r]);
});

describe("rules the upstream admission layer now covers", () => {
  it("every entry has an edit in this test", () => {
    for (const r of UPSTREAM_REPLACED) expect(EDITS[r.check], r.check).toBeDefined();
  });
  it.each(UPSTREAM_REPLACED.map((r, i) => [r.rule, r.check, i] as const))(
    "%s — %s: denied upstream",
    (_rule, _check, i) => {
      const r = UPSTREAM_REPLACED[i]!;
      const [res] = results[i]!;
      expect(res?.allowed, JSON.stringify(res)).toBe(false);
      expect(
        res!.messages.some((m) => m.field.includes(r.field) || (r.field.includes(m.field) && m.field !== "")),
        JSON.stringify(res),
      ).toBe(true);
      expect(r.upstream).toMatch(
        /^(sigs\.k8s\.io\/cluster-api(-provider-aws\/v2)?|k8s\.io\/apiextensions-apiserver)@v[\d.]+\/.+\.(go|yaml)$/,
      );
    },
  );
  it.each(UPSTREAM_REPLACED.map((r, i) => [r.rule, r.check, i] as const))(
    "%s — %s: not reported twice (gone from our rules)",
    (_rule, _check, i) => {
      const r = UPSTREAM_REPLACED[i]!;
      expect(clusterRules(renders[i]!, "clusters/demo/kustomization.yaml").filter((f) => f.rule === r.rule)).toEqual(
        [],
      );
    },
  );
});
