/**
 * 20.7: `inventory` shows what the render applies, not what cluster.yaml says: a patch in the cluster's own layer
 * that sets an instance type or the control plane's replicas shows (marked), and an empty render is not a cluster.
 * Pure (fleet/applied.ts + fleet/inventory.ts on render objects), then the real command on a repository (kustomize).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import { inventoryCommand } from "../src/commands/inventory.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { buildInventory, formatInventory } from "../src/fleet/inventory.js";
import type { K8sObject } from "../src/k8s/object.js";
import { versions } from "../src/pins/versions.js";
import { tempDir } from "./helpers.js";

const spec = parseSpecObject({
  apiVersion: "capi-gitops.io/v1alpha1",
  kind: "ClusterSpec",
  name: "demo",
  region: "ap-northeast-2",
}).spec!;
const MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
const MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
const o = (
  apiVersion: string,
  kind: string,
  name: string,
  rest: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): K8sObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: "demo", ...(annotations ? { annotations } : {}) },
  ...rest,
});
/** demo's render as kustomize builds it (the objects inventory reads), with the control plane and pool as given. */
const render = (cp: { replicas: number; instanceType: string }, poolType: string): K8sObject[] => [
  o("cluster.x-k8s.io/v1beta2", "Cluster", "demo"),
  o("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster", "demo", {
    spec: { region: "ap-northeast-2", network: { vpc: { cidrBlock: spec.network.vpcCidr } } },
  }),
  o("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "demo-control-plane", {
    spec: {
      replicas: cp.replicas,
      version: spec.kubernetesVersion,
      machineTemplate: { spec: { infrastructureRef: { name: "demo-control-plane-0123abcd" } } },
    },
  }),
  o("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachineTemplate", "demo-control-plane-0123abcd", {
    spec: { template: { spec: { instanceType: cp.instanceType } } },
  }),
  o(
    "cluster.x-k8s.io/v1beta2",
    "MachinePool",
    "demo-default",
    {
      spec: {
        template: {
          metadata: { labels: { "capi-gitops.io/node-pool": "default" } },
          spec: { version: spec.kubernetesVersion, infrastructureRef: { name: "demo-default" } },
        },
      },
    },
    { [MIN]: "1", [MAX]: "3" },
  ),
  o("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachinePool", "demo-default", {
    spec: {
      minSize: 1,
      maxSize: 3,
      availabilityZones: spec.nodePools[0]!.availabilityZones,
      awsLaunchTemplate: { instanceType: poolType },
    },
  }),
];

describe("20.7: inventory reads the render", () => {
  it("a render equal to the spec: no patched field, nothing missing", () => {
    const inv = buildInventory(
      [spec],
      versions(),
      [],
      [],
      new Map([["demo", render({ replicas: 1, instanceType: "t3.large" }, "t3.large")]]),
    );
    expect(inv.clusters[0]!.render).toEqual({ objects: 6, missing: [], patched: [] });
    expect(inv.clusters[0]!.controlPlane).toEqual({
      version: spec.kubernetesVersion,
      replicas: 1,
      instanceType: "t3.large",
    });
  });
  it("patched instanceType and KCP replicas: the applied values, marked, with the spec's beside them", () => {
    const inv = buildInventory(
      [spec],
      versions(),
      [],
      [],
      new Map([["demo", render({ replicas: 3, instanceType: "m6i.xlarge" }, "m6i.large")]]),
    );
    const c = inv.clusters[0]!;
    expect(c.controlPlane).toEqual({ version: spec.kubernetesVersion, replicas: 3, instanceType: "m6i.xlarge" });
    expect(c.pools[0]).toMatchObject({ name: "default", instanceType: "m6i.large", minSize: 1, maxSize: 3 });
    expect(c.render!.patched).toEqual([
      { field: "controlPlane.replicas", spec: 1, applied: 3 },
      { field: "controlPlane.instanceType", spec: "t3.large", applied: "m6i.xlarge" },
      { field: "nodePools[default].instanceType", spec: "t3.large", applied: "m6i.large" },
    ]);
    const text = formatInventory(inv, "text");
    expect(text).toContain(`control plane   ${spec.kubernetesVersion}  3 × m6i.xlarge*`);
    expect(text).toMatch(/pool default .* m6i\.large, .*\*/);
    expect(text).toContain(
      "controlPlane.replicas 3 (cluster.yaml: 1), set by a patch in clusters/demo/kustomization.yaml",
    );
    expect(formatInventory(inv, "markdown")).toContain("3 × m6i.xlarge*");
  });
  it("an empty render (resources: []) is not shown as the full cluster", () => {
    const inv = buildInventory([spec], versions(), [], [], new Map([["demo", []]]));
    const c = inv.clusters[0]!;
    expect(c.controlPlane).toBeNull();
    expect(c.pools).toEqual([]);
    expect(c.render!.missing).toEqual(["Cluster", "AWSCluster", "KubeadmControlPlane", "pool default"]);
    const text = formatInventory(inv, "text");
    expect(text).toContain("control plane   not rendered");
    expect(text).not.toMatch(/^  pool default/m);
    expect(text).toContain("the render (0 objects) lacks Cluster, AWSCluster, KubeadmControlPlane, pool default");
  });
});

describe("20.7: npm run inventory on a repository (real kustomize)", () => {
  const CONFIG =
    "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
    "repoURL: https://git.example.com/p/c.git\nbranch: main\ngitops: argocd\n";
  it(`a patch on the control plane's replicas and instance type shows; resources: \
[] shows an empty render`, async () => {
    const t = await tempDir("capi-gitops-inventory-");
    try {
      await writeFile(path.join(t.dir, "capi-gitops.yaml"), CONFIG);
      await newClusterCommand({
        cwd: t.dir,
        flags: { name: "demo", region: "ap-northeast-2", profile: "dev", workers: "MachinePool" },
        log: () => {},
        render: false,
      });
      const k = path.join(t.dir, "clusters/demo/kustomization.yaml");
      const text = await readFile(k, "utf8");
      const patch = (kind: string, p: string, v: string) =>
        `  - target:\n      kind: ${kind}\n    patch: |\n      - op: replace\n        path: ${p}\n` +
        `        value: ${v}\n`;
      await writeFile(
        k,
        text.replace(
          "patches: []",
          `patches:\n${patch("KubeadmControlPlane", "/spec/replicas", "3")}` +
            `${patch("AWSMachinePool", "/spec/awsLaunchTemplate/instanceType", "m6i.large")}`,
        ),
      );
      const patched = await inventoryCommand({ cwd: t.dir, format: "json" });
      const c = patched.inventory.clusters[0]!;
      expect(c.controlPlane?.replicas).toBe(3);
      expect(c.pools[0]?.instanceType).toBe("m6i.large");
      expect(c.render?.patched.map((p) => p.field)).toEqual([
        "controlPlane.replicas",
        "nodePools[default].instanceType",
      ]);
      await writeFile(k, text.replace(/resources:\n(\s+- .*\n)+/, "resources: []\n"));
      const empty = await inventoryCommand({ cwd: t.dir, format: "text" });
      expect(empty.inventory.clusters[0]!.render?.missing).toContain("KubeadmControlPlane");
      expect(empty.output).toContain("control plane   not rendered");
    } finally {
      await t.cleanup();
    }
  });
  it(`a MachineDeployment pool whose zones are not in name order is not reported as patched \
(kustomize sorts by name)`, async () => {
    const t = await tempDir("capi-gitops-inventory-");
    try {
      await writeFile(path.join(t.dir, "capi-gitops.yaml"), CONFIG);
      const zones = ["ap-northeast-2c", "ap-northeast-2a"];
      await newClusterCommand({
        cwd: t.dir,
        flags: { name: "demo", region: "ap-northeast-2", zones: zones.join(","), workers: "MachineDeployment" },
        log: () => {},
        render: false,
      });
      const c = (await inventoryCommand({ cwd: t.dir, format: "json" })).inventory.clusters[0]!;
      expect(c.pools[0]?.availabilityZones).toEqual(zones);
      expect(c.render?.patched).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});
