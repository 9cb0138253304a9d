/**
 * Pools that are bought otherwise (spot, mixed), tainted, or on GPUs: the spec fields, their flags, the render (real
 * kustomize) into CAPA's spotMarketOptions / mixedInstancesPolicy, kubeadm's nodeRegistration.taints and the
 * cluster-autoscaler's scale-from-zero annotations, the upstream admission program on the render, the render rules,
 * the diff flag, the inventory and the GPU add-on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import { parsePoolFlag } from "../src/cluster-spec/flags.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { gpuFamily } from "../src/cluster-spec/gpu.js";
import type { Finding } from "../src/core/findings.js";
import { toYaml } from "../src/core/yaml.js";
import { flagChanges } from "../src/diff/flags.js";
import { diffObjects } from "../src/diff/objects.js";
import { appliedOf } from "../src/fleet/applied.js";
import { buildInventory, formatInventory } from "../src/fleet/inventory.js";
import type { K8sObject } from "../src/k8s/object.js";
import { versions } from "../src/pins/versions.js";
import { clusterAddons } from "../src/plan/addons.js";
import type { RenderedCluster } from "../src/render/render.js";
import { admit } from "../src/tools/admission.js";
import { poolRules } from "../src/validate/pool-rules.js";
import { renderedRepo } from "./helpers.js";

const K8S = "v1.34.8";
const own = { id: "ami-0123456789abcdef0", kubernetesVersion: K8S };
const input = (o: Record<string, unknown>) => ({
  apiVersion: "capi-gitops.io/v1alpha1",
  kind: "ClusterSpec",
  region: "eu-west-1",
  kubernetesVersion: K8S,
  image: own,
  ...o,
});
function spec(o: Record<string, unknown>): ClusterSpec {
  const r = parseSpecObject(input(o));
  if (!r.spec || r.findings.some((f) => f.severity === "error")) throw new Error(JSON.stringify(r.findings));
  return r.spec;
}
const errors = (o: Record<string, unknown>): string[] =>
  parseSpecObject(input(o)).findings.map((f: Finding) => `${f.rule} ${f.path ?? ""}`);

const SPECS = {
  // MachinePools: a mixed pool with taints and labels, a multi-type spot pool, a GPU pool on CAPA's public image.
  mp: spec({
    name: "mp",
    workers: "MachinePool",
    nodePools: [
      {
        name: "web",
        instanceType: "m6i.xlarge",
        instanceTypes: ["m5.xlarge"],
        capacityType: "mixed",
        onDemandBase: 1,
        onDemandPercentageAboveBase: 25,
        labels: { tier: "web" },
        taints: [{ key: "dedicated", value: "web", effect: "NoSchedule" }],
      },
      { name: "batch", instanceType: "c6i.large", instanceTypes: ["c5.large"], capacityType: "spot", minSize: 0 },
      { name: "gpu", instanceType: "g5.xlarge", minSize: 0, maxSize: 2, image: { lookupBaseOS: "ubuntu-24.04" } },
    ],
  }),
  // MachineDeployments: a single-type spot pool with a price and a PreferNoSchedule taint.
  md: spec({
    name: "md",
    nodePools: [
      {
        name: "spot",
        capacityType: "spot",
        spotMaxPrice: "0.05",
        taints: [{ key: "example.com/spot", effect: "PreferNoSchedule" }],
      },
    ],
  }),
};
type Obj = K8sObject & { spec: any };
let rendered = new Map<string, Obj[]>();
let cleanup: () => Promise<void>;
let repo: string;

beforeAll(async () => {
  ({ dir: repo, rendered, cleanup } = await renderedRepo<Obj>(Object.values(SPECS)));
});
afterAll(() => cleanup?.());

const one = (cluster: string, kind: string, name: string): Obj => {
  const o = rendered.get(cluster)!.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in ${cluster}`);
  return o;
};
const byRef = (cluster: string, kind: string, owner: Obj, ref: string): Obj => {
  const name = ref.split(".").reduce<any>((v, k) => v?.[k], owner);
  return one(cluster, kind, String(name));
};
const rc = (objects: Obj[], cluster: string): RenderedCluster => ({
  cluster,
  objects,
  origins: objects.map(() => undefined),
});

describe("the spec: fields, defaults and what is refused (the field named)", () => {
  it("a GPU pool gets the nvidia.com/gpu taint by default; `taints: []` removes it; other pools get none", () => {
    expect(SPECS.mp.nodePools.find((p) => p.name === "gpu")!.taints).toEqual([
      { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
    ]);
    const open = spec({ name: "g", nodePools: [{ name: "gpu", instanceType: "p5.48xlarge", taints: [] }] });
    expect(open.nodePools[0]!.taints).toEqual([]);
    expect(spec({ name: "c" }).nodePools[0]!.taints).toBeUndefined();
    expect(["g4dn.xlarge", "g5.2xlarge", "g6e.xlarge", "p4d.24xlarge", "p5.48xlarge"].map(gpuFamily)).toEqual([
      "g4dn",
      "g5",
      "g6e",
      "p4d",
      "p5",
    ]);
    expect(["g4ad.xlarge", "m6i.large", "inf2.xlarge"].map(gpuFamily)).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    ["mixed on MachineDeployments", { nodePools: [{ name: "a", capacityType: "mixed" }] }, "nodePools.0.capacityType"],
    [
      "further types on MachineDeployments",
      { nodePools: [{ name: "a", capacityType: "spot", instanceTypes: ["m5.large"] }] },
      "nodePools.0.instanceTypes",
    ],
    [
      "further types on an on-demand pool",
      { workers: "MachinePool", nodePools: [{ name: "a", instanceTypes: ["m5.large"] }] },
      "nodePools.0.instanceTypes",
    ],
    ["a max price on on-demand", { nodePools: [{ name: "a", spotMaxPrice: "0.1" }] }, "nodePools.0.spotMaxPrice"],
    [
      "a max price on a multi-type spot pool",
      {
        workers: "MachinePool",
        nodePools: [{ name: "a", capacityType: "spot", instanceTypes: ["m5.large"], spotMaxPrice: "0.1" }],
      },
      "nodePools.0.spotMaxPrice",
    ],
    [
      "mixed without its on-demand share",
      { workers: "MachinePool", nodePools: [{ name: "a", capacityType: "mixed" }] },
      "nodePools.0.onDemandPercentageAboveBase",
    ],
    [
      "a base on a spot pool",
      { nodePools: [{ name: "a", capacityType: "spot", onDemandBase: 1 }] },
      "nodePools.0.onDemandBase",
    ],
    [
      "a taint key that is no qualified name",
      { nodePools: [{ name: "a", taints: [{ key: "bad key", effect: "NoSchedule" }] }] },
      "nodePools.0.taints.0.key",
    ],
    [
      "a taint value that is no label value",
      { nodePools: [{ name: "a", taints: [{ key: "k", value: "a b", effect: "NoSchedule" }] }] },
      "nodePools.0.taints.0.value",
    ],
    [
      "a taint given twice",
      {
        nodePools: [
          {
            name: "a",
            taints: [
              { key: "k", value: "1", effect: "NoSchedule" },
              { key: "k", value: "2", effect: "NoSchedule" },
            ],
          },
        ],
      },
      "nodePools.0.taints.1.effect",
    ],
    [
      "an unknown taint effect (schema)",
      { nodePools: [{ name: "a", taints: [{ key: "k", effect: "NoRun" }] }] },
      "nodePools.0.taints.0.effect",
    ],
    [
      "an unknown capacity type (schema)",
      { nodePools: [{ name: "a", capacityType: "reserved" }] },
      "nodePools.0.capacityType",
    ],
  ])("refuses %s", (_, o, field) => {
    expect(errors({ name: "x", ...o }).some((f) => f.endsWith(` ${field}`))).toBe(true);
  });

  it("--pool taints=…, capacity-type=…, instance-types=… become the pool's fields", () => {
    const findings: Finding[] = [];
    expect(
      parsePoolFlag(
        "name=a,taints=dedicated=web:NoSchedule+example.com/x:NoExecute,capacity-type=mixed," +
          "instance-types=m5.large+m7i.large,on-demand-base=1,on-demand-percentage=20," +
          "spot-allocation-strategy=capacity-optimized",
        findings,
      ),
    ).toEqual({
      name: "a",
      taints: [
        { key: "dedicated", value: "web", effect: "NoSchedule" },
        { key: "example.com/x", effect: "NoExecute" },
      ],
      capacityType: "mixed",
      instanceTypes: ["m5.large", "m7i.large"],
      onDemandBase: 1,
      onDemandPercentageAboveBase: 20,
      spotAllocationStrategy: "capacity-optimized",
    });
    expect(findings).toEqual([]);
    expect(parsePoolFlag("name=g,taints=", findings)).toEqual({ name: "g", taints: [] });
    parsePoolFlag("name=a,taints=dedicated", findings);
    expect(findings.map((f) => f.path)).toEqual(["--pool taints"]);
  });
});

describe("the render (real kustomize)", () => {
  it("a mixed MachinePool: mixedInstancesPolicy, the pool's types first, its distribution, no spot options", () => {
    const amp = one("mp", "AWSMachinePool", "mp-web");
    expect(amp.spec.mixedInstancesPolicy).toEqual({
      instancesDistribution: {
        spotAllocationStrategy: "price-capacity-optimized",
        onDemandBaseCapacity: 1,
        onDemandPercentageAboveBaseCapacity: 25,
      },
      overrides: [{ instanceType: "m6i.xlarge" }, { instanceType: "m5.xlarge" }],
    });
    expect(amp.spec.awsLaunchTemplate.spotMarketOptions).toBeUndefined();
    expect(one("mp", "AWSMachinePool", "mp-batch").spec.mixedInstancesPolicy.instancesDistribution).toMatchObject({
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: 0,
    });
  });

  it("taints in kubeadm's nodeRegistration and, for the autoscaler, labels and taints on the pool object", () => {
    const mp = one("mp", "MachinePool", "mp-web");
    const config = byRef("mp", "KubeadmConfig", mp, "spec.template.spec.bootstrap.configRef.name");
    expect(config.spec.joinConfiguration.nodeRegistration.taints).toEqual([
      { key: "dedicated", value: "web", effect: "NoSchedule" },
    ]);
    expect(mp.metadata?.annotations).toMatchObject({
      "capacity.cluster-autoscaler.kubernetes.io/labels": "tier=web",
      "capacity.cluster-autoscaler.kubernetes.io/taints": "dedicated=web:NoSchedule",
    });
    const gpu = one("mp", "MachinePool", "mp-gpu");
    expect(gpu.metadata?.annotations?.["capacity.cluster-autoscaler.kubernetes.io/taints"]).toBe(
      "nvidia.com/gpu=true:NoSchedule",
    );
  });

  it("a spot MachineDeployment pool: spotMarketOptions with its price on the (hash-named) template", () => {
    const mds = rendered.get("md")!.filter((o) => o.kind === "MachineDeployment");
    expect(mds).toHaveLength(3);
    for (const md of mds) {
      const t = byRef("md", "AWSMachineTemplate", md, "spec.template.spec.infrastructureRef.name");
      expect(t.spec.template.spec.spotMarketOptions).toEqual({ maxPrice: "0.05" });
      const c = byRef("md", "KubeadmConfigTemplate", md, "spec.template.spec.bootstrap.configRef.name");
      expect(c.spec.template.spec.joinConfiguration.nodeRegistration.taints).toEqual([
        { key: "example.com/spot", effect: "PreferNoSchedule" },
      ]);
      expect(md.metadata?.annotations?.["capacity.cluster-autoscaler.kubernetes.io/taints"]).toBe(
        "example.com/spot=:PreferNoSchedule",
      );
    }
  });

  it("the NVIDIA device plugin reaches only the cluster with a GPU pool", () => {
    const pins = versions().addons;
    expect(clusterAddons(SPECS.mp, pins).map((a) => a.name)).toContain("nvidia-device-plugin");
    expect(clusterAddons(SPECS.md, pins).map((a) => a.name)).not.toContain("nvidia-device-plugin");
    const cm = one("mp", "ConfigMap", "mp-addon-nvidia-device-plugin-v0.17.4");
    expect(String(Object.values(cm.data as Record<string, string>)[0])).toContain(
      "nvcr.io/nvidia/k8s-device-plugin:v0.17.4",
    );
    expect(rendered.get("md")!.some((o) => o.metadata?.name?.includes("nvidia"))).toBe(false);
  });

  it(`the upstream admission program admits every object; spotMarketOptions beside a mixedInstancesPolicy is \
denied`, async () => {
    const objs = [...rendered.values()].flat();
    const results = await admit(objs.map((o) => toYaml(o)).join("---\n"), { cwd: repo });
    expect(results.filter((r) => !r.allowed).map((r) => `${r.kind}/${r.name}: ${JSON.stringify(r.messages)}`)).toEqual(
      [],
    );
    expect(results.some((r) => r.kind === "AWSMachinePool" && r.name === "mp-web" && r.stage === "webhook")).toBe(true);
    // Negative control: the same pool with both (CAPA exp/webhooks/awsmachinepool_webhook.go validateSpotInstances).
    const both = structuredClone(one("mp", "AWSMachinePool", "mp-web"));
    both.spec.awsLaunchTemplate.spotMarketOptions = {};
    const denied = await admit(toYaml(both), { cwd: repo });
    expect(denied.some((r) => !r.allowed && JSON.stringify(r.messages).includes("spotMarketOptions"))).toBe(true);
  });
});

describe("the render rules (validate/pool-rules.ts)", () => {
  const rules = (cluster: string, objects = rendered.get(cluster)!, profile: "dev" | "prod" = "dev") =>
    poolRules(rc(objects, cluster), profile, "x").map((f) => `${f.rule}:${f.severity}:${f.path}`);
  it("spot pools warn (one type, interruptions); a GPU pool on the public image warns; on-demand ones do not", () => {
    expect(rules("mp").sort()).toEqual(
      [
        "gpu-image:warning:AWSMachinePool/mp-gpu:spec.awsLaunchTemplate",
        "spot-interruption:warning:AWSMachinePool/mp-batch:spec.mixedInstancesPolicy",
        "spot-interruption:warning:AWSMachinePool/mp-web:spec.mixedInstancesPolicy",
      ].sort(),
    );
    const md = rules("md");
    expect(md.filter((f) => f.startsWith("spot-one-type:warning:AWSMachineTemplate/md-spot-"))).toHaveLength(1);
    expect(md.filter((f) => f.startsWith("spot-interruption:warning:AWSMachineTemplate/md-spot-"))).toHaveLength(1);
  });
  it("a mixed pool of several sizes warns; a control plane on spot is an error on prod", () => {
    const objs = structuredClone(rendered.get("mp")!);
    const web = objs.find((o) => o.kind === "AWSMachinePool" && o.metadata?.name === "mp-web")!;
    web.spec.mixedInstancesPolicy.overrides.push({ instanceType: "m5.2xlarge" });
    const kcp = objs.find((o) => o.kind === "KubeadmControlPlane")!;
    const cpt = objs.find(
      (o) =>
        o.kind === "AWSMachineTemplate" && o.metadata?.name === kcp.spec.machineTemplate.spec.infrastructureRef.name,
    )!;
    cpt.spec.template.spec.spotMarketOptions = {};
    const found = rules("mp", objs, "prod");
    expect(found).toContain("mixed-sizes:warning:AWSMachinePool/mp-web:spec.mixedInstancesPolicy.overrides");
    expect(found).toContain(
      `control-plane-spot:error:AWSMachineTemplate/${String(cpt.metadata?.name)}:spec.template.spec.spotMarketOptions`,
    );
    const cpPath = `AWSMachineTemplate/${String(cpt.metadata?.name)}:spec.template.spec.spotMarketOptions`;
    expect(rules("mp", objs, "dev")).toContain(`control-plane-spot:warning:${cpPath}`);
  });
  it("a GPU pool with its own image does not warn", () => {
    const objs = structuredClone(rendered.get("mp")!);
    const gpu = objs.find((o) => o.kind === "AWSMachinePool" && o.metadata?.name === "mp-gpu")!;
    gpu.spec.awsLaunchTemplate.ami = { id: "ami-0123456789abcdef0" };
    delete gpu.spec.awsLaunchTemplate.imageLookupBaseOS;
    expect(rules("mp", objs).filter((f) => f.startsWith("gpu-image"))).toEqual([]);
  });
});

describe("diff and inventory", () => {
  it("a capacity type change is flagged (MachinePool: instance refresh; MachineDeployment: roll-out)", () => {
    const before = rendered.get("mp")!;
    const after = structuredClone(before);
    const web = after.find((o) => o.kind === "AWSMachinePool" && o.metadata?.name === "mp-web")!;
    delete web.spec.mixedInstancesPolicy;
    const flags = flagChanges("mp", diffObjects({ objects: before }, { objects: after }), before, after);
    expect(flags.filter((f) => f.rule === "capacity-changed").map((f) => f.message)).toEqual([
      expect.stringContaining("from mixed m6i.xlarge+m5.xlarge to on-demand m6i.xlarge"),
    ]);
    // Unchanged: no flag.
    expect(
      flagChanges("mp", diffObjects({ objects: before }, { objects: before }), before, before).filter(
        (f) => f.rule === "capacity-changed",
      ),
    ).toEqual([]);
  });
  it("a MachineDeployment pool moving off spot is flagged through its new template", () => {
    const onDemand = spec({
      name: "md",
      nodePools: [{ name: "spot", taints: [{ key: "example.com/spot", effect: "PreferNoSchedule" }] }],
    });
    const before = rendered.get("md")!;
    const swap = (o: Obj): Obj => {
      if (o.kind !== "AWSMachineTemplate" || !o.metadata?.name?.startsWith("md-spot-")) return o;
      const t = structuredClone(o);
      delete t.spec.template.spec.spotMarketOptions;
      t.metadata = { ...t.metadata, name: "md-spot-new" };
      return t;
    };
    const after = before.map(swap).map((o) => {
      if (o.kind !== "MachineDeployment") return o;
      const md = structuredClone(o);
      md.spec.template.spec.infrastructureRef.name = "md-spot-new";
      return md;
    });
    expect(onDemand.nodePools[0]!.capacityType).toBeUndefined();
    const flags = flagChanges("md", diffObjects({ objects: before }, { objects: after }), before, after);
    expect(flags.filter((f) => f.rule === "capacity-changed")).toHaveLength(3);
  });
  it("the inventory prints them, and the device plugin among the add-ons", () => {
    const inv = buildInventory([SPECS.mp], versions(), undefined, [], new Map([["mp", rendered.get("mp")!]]));
    const text = formatInventory(inv, "text");
    expect(text).toContain("mixed (+m5.xlarge), taints dedicated=web:NoSchedule");
    expect(text).toContain("nvidia-device-plugin v0.17.4");
    expect(inv.clusters[0]!.render?.patched).toEqual([]);
  });
  it("the inventory reads capacity, further types and taints from the render", () => {
    const a = appliedOf(SPECS.mp, rendered.get("mp")!);
    expect(a.pools.get("web")).toMatchObject({
      capacityType: "mixed",
      instanceTypes: ["m5.xlarge"],
      taints: ["dedicated=web:NoSchedule"],
    });
    expect(a.pools.get("batch")).toMatchObject({ capacityType: "spot", instanceTypes: ["c5.large"] });
    expect(appliedOf(SPECS.md, rendered.get("md")!).pools.get("spot")).toMatchObject({
      capacityType: "spot",
      taints: ["example.com/spot=:PreferNoSchedule"],
    });
  });
});
