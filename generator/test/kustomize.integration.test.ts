/** The real kustomize binary builds every fixture cluster into the full, consistent resource set. */
import { addonKubernetesVersion } from "../src/plan/addon-version.js";
import { versions } from "../src/pins/versions.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { checkReferences } from "../src/validate/references.js";
import { parseYamlStream } from "../src/core/yaml.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { specFile } from "../src/plan/cluster.js";
import { fixtureSpecs, tempDir, YAML11_FIXTURES } from "./helpers.js";

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: any;
};

const specs = fixtureSpecs();
const rendered = new Map<string, Obj[]>();
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  await writeTree(t.dir, planRepo({ specs }, versions()));
  for (const s of specs)
    rendered.set(s.name, parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Obj[]);
});
afterAll(() => cleanup?.());

const of = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);

const healthChecks = (spec: ClusterSpec) =>
  (spec.workers === "MachineDeployment" ? spec.nodePools.length : 0) + (spec.controlPlane.replicas > 1 ? 1 : 0);

describe.each(specs.map((s) => [s.name, s] as [string, ClusterSpec]))("kustomize build clusters/%s", (name, spec) => {
  it("renders the full resource set with current API versions", () => {
    const objs = rendered.get(name)!;
    const kinds = new Set(objs.map((o) => `${o.apiVersion} ${o.kind}`));
    const expected = [
      "v1 Namespace",
      "cluster.x-k8s.io/v1beta2 Cluster",
      "infrastructure.cluster.x-k8s.io/v1beta2 AWSCluster",
      "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane",
      "infrastructure.cluster.x-k8s.io/v1beta2 AWSMachineTemplate",
      // Health checks only where an owner remediates: MachineDeployment pools, a control plane of > 1 replica.
      ...(healthChecks(spec) ? ["cluster.x-k8s.io/v1beta2 MachineHealthCheck"] : []),
      ...(spec.workers === "MachinePool"
        ? [
            "cluster.x-k8s.io/v1beta2 MachinePool",
            "infrastructure.cluster.x-k8s.io/v1beta2 AWSMachinePool",
            "bootstrap.cluster.x-k8s.io/v1beta2 KubeadmConfig",
          ]
        : ["cluster.x-k8s.io/v1beta2 MachineDeployment", "bootstrap.cluster.x-k8s.io/v1beta2 KubeadmConfigTemplate"]),
      // The cluster-autoscaler (autoscaler.integration.test.ts checks it in detail).
      ...(spec.nodePools.some((p) => p.autoscaling)
        ? [
            "apps/v1 Deployment",
            "v1 ServiceAccount",
            "rbac.authorization.k8s.io/v1 Role",
            "rbac.authorization.k8s.io/v1 RoleBinding",
          ]
        : []),
      "addons.cluster.x-k8s.io/v1beta2 ClusterResourceSet",
      "v1 ConfigMap",
    ];
    expect([...kinds].sort()).toEqual(expected.sort());
    expect(of(objs, "MachineHealthCheck")).toHaveLength(healthChecks(spec));
  });

  it("every reference resolves inside the build; the Cluster is named exactly after the directory", () => {
    const objs = rendered.get(name)!;
    expect(checkReferences(objs, { cluster: name })).toEqual([]);
    expect(of(objs, "Cluster").map((c) => c.metadata.name)).toEqual([name]);
    for (const o of objs.filter((x) => x.kind !== "Namespace")) expect(o.metadata.namespace).toBe(spec.namespace);
  });

  it("AWSCluster uses an NLB and has a private and a public subnet in each zone", () => {
    const aws = of(rendered.get(name)!, "AWSCluster")[0]!;
    expect(aws.spec.region).toBe(spec.region);
    expect(aws.spec.controlPlaneLoadBalancer.loadBalancerType).toBe("nlb");
    const subnets = aws.spec.network.subnets as { availabilityZone: string; isPublic: boolean }[];
    for (const z of spec.availabilityZones) {
      expect(
        subnets
          .filter((s) => s.availabilityZone === z)
          .map((s) => s.isPublic)
          .sort(),
      ).toEqual([false, true]);
    }
  });

  it("workers spread over each pool's zones, autoscaled pools carry no replicas", () => {
    const objs = rendered.get(name)!;
    for (const pool of spec.nodePools) {
      if (spec.workers === "MachinePool") {
        const amp = of(objs, "AWSMachinePool").find((o) => o.metadata.name === `${name}-${pool.name}`)!;
        expect(amp.spec.availabilityZones).toEqual(pool.availabilityZones);
        expect(amp.spec.availabilityZoneSubnetType).toBe("private");
        expect(amp.spec.awsLaunchTemplate.instanceType).toBe(pool.instanceType);
        const mp = of(objs, "MachinePool").find((o) => o.metadata.name === `${name}-${pool.name}`)!;
        if (pool.autoscaling) {
          expect(mp.spec.replicas).toBeUndefined();
          expect(mp.metadata.annotations?.["cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"]).toBe(
            String(pool.maxSize),
          );
        } else expect(mp.spec.replicas).toBe(pool.replicas);
      } else {
        const mds = of(objs, "MachineDeployment").filter((o) => o.metadata.name.startsWith(`${name}-${pool.name}-`));
        expect(mds.map((m) => m.spec.template.spec.failureDomain).sort()).toEqual([...pool.availabilityZones].sort());
        if (pool.autoscaling) expect(mds.every((m) => m.spec.replicas === undefined)).toBe(true);
        else expect(mds.reduce((n, m) => n + m.spec.replicas, 0)).toBe(pool.replicas);
      }
    }
  });

  it(`hash-named templates carry a content hash; no CAPI object (nor the namespace) \
can be pruned or deleted by Argo CD or Flux`, () => {
    const objs = rendered.get(name)!;
    for (const o of objs.filter((x) =>
      ["AWSMachineTemplate", "KubeadmConfig", "KubeadmConfigTemplate"].includes(x.kind),
    ))
      expect(o.metadata.name).toMatch(/-[0-9a-f]{8}$/);
    // The cluster-autoscaler's objects are not CAPI's: they are pruned when no pool autoscales any more.
    for (const o of objs.filter((x) => x.kind === "Namespace" || x.apiVersion.includes("cluster.x-k8s.io/"))) {
      expect(o.metadata.annotations?.["argocd.argoproj.io/sync-options"], `${o.kind}/${o.metadata.name}`).toBe(
        "Prune=false,Delete=false",
      );
      expect(o.metadata.annotations?.["kustomize.toolkit.fluxcd.io/prune"], `${o.kind}/${o.metadata.name}`).toBe(
        "disabled",
      );
    }
  });
});

describe.each(specs.map((s) => [s.name, s] as [string, ClusterSpec]))(
  "add-ons of clusters/%s (issue 11, item 2)",
  (name, spec) => {
    const matches = (labels: Record<string, string>, sel: Record<string, string>) =>
      Object.entries(sel).every(([k, v]) => labels[k] === v);
    /** The manifests the cluster's ClusterResourceSets apply, by CRS role (cni/ccm/csi). */
    const applied = () => {
      const objs = rendered.get(name)!;
      const cluster = of(objs, "Cluster")[0]!;
      const byRole: Record<string, any[]> = {};
      for (const crs of of(objs, "ClusterResourceSet")) {
        expect(crs.metadata.namespace).toBe(spec.namespace);
        expect(crs.spec.strategy).toBe("Reconcile");
        expect(matches(cluster.metadata.labels ?? {}, crs.spec.clusterSelector.matchLabels)).toBe(true);
        const docs = (crs.spec.resources as { kind: string; name: string }[]).flatMap((r) => {
          const cm = objs.find((o) => o.kind === r.kind && o.metadata.name === r.name) as any;
          expect(cm, `${r.kind} ${r.name}`).toBeDefined();
          expect(cm.metadata.namespace).toBe(spec.namespace);
          return Object.values(cm.data as Record<string, string>).flatMap((t) => parseYamlStream(t) as any[]);
        });
        byRole[crs.metadata.name.slice(name.length + 1)] = docs;
      }
      return byRole;
    };
    it(`Cluster labels → ClusterResourceSets in its namespace → ConfigMaps with the CNI, \
the CCM at the cluster's minor, the EBS CSI driver and a StorageClass`, () => {
      const byRole = applied();
      expect(Object.keys(byRole).sort()).toEqual(["ccm", "cni", "csi"]);
      expect(byRole.cni!.some((o) => o.kind === "DaemonSet" && o.metadata.name === "cilium")).toBe(true);
      expect(byRole.cni!.some((o) => o.kind === "Secret")).toBe(false);
      // The CCM runs the add-on minor: the control plane's, or one behind while a pool lags (issue 19 item 6).
      const minor = addonKubernetesVersion(spec).split(".").slice(0, 2).join(".");
      const ccm = byRole.ccm!.find((o) => o.kind === "DaemonSet");
      expect(ccm.spec.template.spec.containers[0].image).toMatch(
        new RegExp(`cloud-controller-manager:${minor.replace(".", "\\.")}\\.\\d+$`),
      );
      expect(byRole.csi!.some((o) => o.kind === "CSIDriver" && o.metadata.name === "ebs.csi.aws.com")).toBe(true);
      expect(
        byRole.csi!.find((o) => o.kind === "StorageClass")?.metadata.annotations[
          "storageclass.kubernetes.io/is-default-class"
        ],
      ).toBe("true");
      for (const cm of of(rendered.get(name)!, "ConfigMap"))
        expect(JSON.stringify((cm as any).data).length).toBeLessThan(1024 * 1024);
    });
    it("AWSCluster opens Cilium's ports instead of CAPA's Calico defaults", () => {
      const aws = of(rendered.get(name)!, "AWSCluster")[0]!;
      expect(aws.spec.network.cni.cniIngressRules.map((r: any) => `${r.protocol}/${r.fromPort}`)).toEqual([
        "udp/8472",
        "tcp/4240",
        "icmp/-1",
      ]);
    });
  },
);

describe("checkReferences catches what it should", () => {
  it("a dangling reference, a wrong clusterName and an MHC that selects nothing", () => {
    const objs = structuredClone(rendered.get("demo")!);
    of(objs, "KubeadmControlPlane")[0]!.spec.machineTemplate.spec.infrastructureRef.name = "missing";
    of(objs, "MachinePool")[0]!.spec.clusterName = "other";
    objs.push({
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "MachineHealthCheck",
      metadata: { name: "demo-x", namespace: "demo" },
      spec: { clusterName: "demo", selector: { matchLabels: { x: "y" } } },
    });
    const rules = checkReferences(objs, { cluster: "demo" }).map((f) => `${f.rule} ${f.path}`);
    expect(rules).toContain(
      "reference-resolves KubeadmControlPlane/demo-control-plane:spec.machineTemplate.spec.infrastructureRef.name",
    );
    expect(rules).toContain("cluster-name-consistent MachinePool/demo-default:spec.clusterName");
    expect(rules.some((r) => r.startsWith("mhc-selects"))).toBe(true);
  });
});

describe("names that are YAML 1.1 booleans (issue 9, item 14)", () => {
  it("14: the real kustomize reads clusters, namespaces and pools named off/on/y/n/yes/no as strings", async () => {
    const odd = fixtureSpecs(YAML11_FIXTURES);
    const t = await tempDir();
    try {
      await writeTree(t.dir, {
        files: [...planRepo({ specs: odd }, versions()).files, ...odd.map(specFile)],
        roots: [],
      });
      for (const s of odd) {
        const objs = parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Obj[];
        expect(of(objs, "Cluster").map((c) => c.metadata.name)).toEqual([s.name]);
        expect(of(objs, "Namespace").map((n) => n.metadata.name)).toEqual([s.namespace]);
        for (const o of objs.filter((x) => x.kind !== "Namespace")) expect(o.metadata.namespace).toBe(s.namespace);
        const pools = of(objs, s.workers);
        for (const p of s.nodePools)
          expect(pools.some((o) => o.metadata.name.startsWith(`${s.name}-${p.name}`))).toBe(true);
        expect(checkReferences(objs, { cluster: s.name })).toEqual([]);
      }
    } finally {
      await t.cleanup();
    }
  });
});

describe("add-ons follow the spec in the same render (issue 11)", () => {
  const build = async (edit: Partial<ClusterSpec>) => {
    const s = { ...specs[0]!, ...edit } as ClusterSpec;
    const t = await tempDir();
    try {
      await writeTree(t.dir, planRepo({ specs: [s] }, versions()));
      return parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Obj[];
    } finally {
      await t.cleanup();
    }
  };
  const ccmImage = (objs: Obj[]) => {
    const cm = of(objs, "ConfigMap").find((c) => c.metadata.name.includes("aws-ccm")) as any;
    const ds = Object.values(cm.data as Record<string, string>)
      .flatMap((t) => parseYamlStream(t) as any[])
      .find((o) => o.kind === "DaemonSet");
    return ds.spec.template.spec.containers[0].image as string;
  };
  it("a Kubernetes minor upgrade moves the CCM with it", async () => {
    expect(ccmImage(await build({ kubernetesVersion: "v1.34.2" }))).toMatch(/:v1\.34\.\d+$/);
    const up = await build({ kubernetesVersion: "v1.35.1" });
    expect(ccmImage(up)).toMatch(/:v1\.35\.\d+$/);
    expect(of(up, "Cluster")[0]!.metadata.labels!["addons.capi-gitops.io/ccm"]).toMatch(/^aws-ccm-v1\.35\./);
    expect(of(up, "ConfigMap").filter((c) => c.metadata.name.includes("aws-ccm"))).toHaveLength(1);
  });
  it("network.cni: none and storage: none leave only the CCM, and CAPA's default ingress rules", async () => {
    const objs = await build({ network: { ...specs[0]!.network, cni: "none" }, storage: "none" });
    expect(of(objs, "ClusterResourceSet").map((c) => c.metadata.name)).toEqual([`${specs[0]!.name}-ccm`]);
    expect(of(objs, "ConfigMap")).toHaveLength(1);
    expect(of(objs, "AWSCluster")[0]!.spec.network.cni).toBeUndefined();
  });
  it("network.cni: calico applies Calico's CRDs first, then calico-node, and opens BGP and IP-in-IP", async () => {
    const name = specs[0]!.name;
    const objs = await build({ network: { ...specs[0]!.network, cni: "calico" } });
    const crs = of(objs, "ClusterResourceSet").find((c) => c.metadata.name === `${name}-cni`) as any;
    const parts = (crs.spec.resources as { name: string }[]).map((r) => {
      const cm = of(objs, "ConfigMap").find((c) => c.metadata.name === r.name) as any;
      expect(JSON.stringify(cm.data).length).toBeLessThan(256 * 1024);
      return Object.values(cm.data as Record<string, string>).flatMap((t) => parseYamlStream(t) as any[]);
    });
    expect(parts).toHaveLength(2);
    expect(parts[0]!.every((o) => o.kind === "CustomResourceDefinition")).toBe(true);
    expect(parts[0]!.map((o) => o.metadata.name)).toContain("ippools.crd.projectcalico.org");
    const node = parts[1]!.find((o) => o.kind === "DaemonSet" && o.metadata.name === "calico-node");
    expect(node.spec.template.spec.containers[0].image).toMatch(/calico\/node:v3\.\d+\.\d+$/);
    expect(parts[1]!.some((o) => o.kind === "Secret")).toBe(false);
    expect(of(objs, "Cluster")[0]!.metadata.labels!["addons.capi-gitops.io/cni"]).toMatch(/^calico-v3\./);
    expect(
      of(objs, "AWSCluster")[0]!.spec.network.cni.cniIngressRules.map((r: any) => `${r.protocol}/${r.fromPort}`),
    ).toEqual(["tcp/179", "4/-1"]);
  });
});
