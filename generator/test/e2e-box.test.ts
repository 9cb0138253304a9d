/**
 * The box part of `npm run e2e` (generator/src/e2e/box.ts): the clusters handed to the Go suite's box (pools, add-on
 * objects, what an upgrade rolls, the render with a pool removed), the planted faults, the health checks read from
 * management/sync, the box's outcome and the README health table. The box itself runs in `npm run e2e`;
 * e2e-fault.test.ts runs it with the faults planted.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  addonsOf,
  BOX_FAULTS,
  boxCluster,
  boxOutcome,
  boxPools,
  cannotPlant,
  fixtureTable,
  healthChecksOf,
  plantFault,
  plantFaults,
  readmeTable,
  removeLastPool,
  tableDiff,
  tableMismatches,
  TABLE_BEGIN,
  TABLE_END,
  upgradeExpect,
  withReadmeTable,
  zoneWithoutSubnet,
  type BoxCluster,
} from "../src/e2e/box.js";
import { parseSpecText } from "../src/cluster-spec/parse.js";
import { CNIS, DEFAULTS } from "../src/cluster-spec/types.js";
import { FIXTURES, parsePlant } from "../src/commands/e2e.js";
import { toYaml } from "../src/core/yaml.js";
import { recAt, strAt, type K8sObject } from "../src/k8s/object.js";
import type { GoTestEvent } from "../src/tools/go.js";

const SPEC = `apiVersion: capi-gitops.io/v1alpha1
kind: ClusterSpec
name: demo
namespace: team
region: us-east-1
availabilityZones: [us-east-1a, us-east-1b]
kubernetesVersion: v1.33.4
profile: prod
nodePools:
  - name: general
    instanceType: m5.large
    minSize: 3
    maxSize: 6
  - name: batch
    instanceType: c5.xlarge
    autoscaling: false
    replicas: 2
    availabilityZones: [us-east-1b]
`;

const specOf = (text: string) => {
  const r = parseSpecText(text);
  if (!r.spec) throw new Error(r.findings.map((f) => f.message).join("; "));
  return r.spec;
};

const obj = (kind: string, name: string, rest: Record<string, unknown> = {}, apiVersion = "v1"): K8sObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: "team" },
  ...rest,
});

const payload = toYaml({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "cni", namespace: "kube-system" },
});
const crdPayload = `${toYaml({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "things.example.com" },
})}---\n# a comment-only document\n---\n`;

const md = (pool: string, zone: string, template: string, version = "v1.33.4") =>
  obj(
    "MachineDeployment",
    `demo-${pool}-${zone}`,
    {
      spec: {
        clusterName: "demo",
        template: {
          metadata: { labels: { "capi-gitops.io/node-pool": pool } },
          spec: {
            version,
            infrastructureRef: { kind: "AWSMachineTemplate", name: template },
            bootstrap: { configRef: { kind: "KubeadmConfigTemplate", name: `demo-${pool}` } },
          },
        },
      },
    },
    "cluster.x-k8s.io/v1beta2",
  );
const kcp = (version: string, template: string) =>
  obj(
    "KubeadmControlPlane",
    "demo-control-plane",
    { spec: { version, machineTemplate: { spec: { infrastructureRef: { name: template } } } } },
    "controlplane.cluster.x-k8s.io/v1beta2",
  );
const crs = (name: string, configMaps: string[]) =>
  obj(
    "ClusterResourceSet",
    name,
    {
      spec: {
        clusterSelector: { matchLabels: { "cluster.x-k8s.io/cluster-name": "demo" } },
        resources: configMaps.map((n) => ({ kind: "ConfigMap", name: n })),
        strategy: "Reconcile",
      },
    },
    "addons.cluster.x-k8s.io/v1beta2",
  );

const RENDER: K8sObject[] = [
  obj("ConfigMap", "demo-addon-cni-crds", { data: { "cni-crds.yaml": crdPayload } }),
  obj("ConfigMap", "demo-addon-cni", { data: { "cni.yaml": payload } }),
  crs("demo-cni", ["demo-addon-cni-crds", "demo-addon-cni"]),
  kcp("v1.33.4", "demo-control-plane-aaaa"),
  md("general", "a", "demo-general-1111"),
  md("general", "b", "demo-general-1111"),
  md("batch", "b", "demo-batch-2222"),
];

describe("the box's clusters", () => {
  it("starts each pool with its fixed replicas or the autoscaler's minimum, in its zones", () => {
    expect(boxPools(specOf(SPEC))).toEqual([
      {
        name: "general",
        kind: "MachineDeployment",
        zones: ["us-east-1a", "us-east-1b"],
        instanceType: "m5.large",
        replicas: 3,
      },
      { name: "batch", kind: "MachineDeployment", zones: ["us-east-1b"], instanceType: "c5.xlarge", replicas: 2 },
    ]);
  });

  it("lists each ClusterResourceSet's payload objects, in its resources' order, from ConfigMaps and Secrets", () => {
    expect(addonsOf(RENDER)).toEqual([
      {
        clusterResourceSet: "demo-cni",
        objects: [
          { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: "things.example.com" },
          { apiVersion: "apps/v1", kind: "DaemonSet", namespace: "kube-system", name: "cni" },
        ],
      },
    ]);
    const secret = obj("Secret", "demo-addon-cni", {
      type: "addons.cluster.x-k8s.io/resource-set",
      data: { "b.yaml": Buffer.from(payload).toString("base64"), "a.yaml": Buffer.from(crdPayload).toString("base64") },
    });
    const withSecret = [
      secret,
      { ...crs("demo-cni", []), spec: { resources: [{ kind: "Secret", name: "demo-addon-cni" }] } },
    ];
    expect(addonsOf(withSecret)[0]?.objects.map((o) => o.kind)).toEqual(["CustomResourceDefinition", "DaemonSet"]);
    expect(() => addonsOf([crs("demo-cni", ["missing"])])).toThrow(/ConfigMap missing is not in the render/);
  });

  it("says what an upgrade rolls: the control plane on a new version or template, pools on a new template", () => {
    const after = [
      kcp("v1.34.0", "demo-control-plane-aaaa"),
      md("general", "b", "demo-general-3333"),
      md("general", "a", "demo-general-3333"),
      md("batch", "b", "demo-batch-2222"),
      md("general-added", "a", "demo-general-added-4444"),
    ];
    expect(upgradeExpect(RENDER, after)).toEqual({
      controlPlane: true,
      poolsRolled: ["general"],
      poolsAdded: ["general-added"],
    });
    // Zones reordered (the MachineDeployments in another order) roll nothing; a new CP template rolls the CP.
    const reordered = [kcp("v1.33.4", "demo-control-plane-bbbb"), ...RENDER.slice(4).reverse()];
    expect(upgradeExpect(RENDER, reordered)).toEqual({ controlPlane: true, poolsRolled: [], poolsAdded: [] });
    expect(upgradeExpect(RENDER, RENDER)).toEqual({ controlPlane: false, poolsRolled: [], poolsAdded: [] });
  });

  it("rolls a MachinePool when its AWSMachinePool's launch template changes, not when its zones do", () => {
    const mp = (instanceType: string, zones: string[]) => [
      obj(
        "MachinePool",
        "demo-small",
        {
          spec: {
            template: {
              metadata: { labels: { "capi-gitops.io/node-pool": "small" } },
              spec: { version: "v1.34.8", infrastructureRef: { name: "demo-small" } },
            },
          },
        },
        "cluster.x-k8s.io/v1beta2",
      ),
      obj("AWSMachinePool", "demo-small", { spec: { availabilityZones: zones, awsLaunchTemplate: { instanceType } } }),
    ];
    expect(upgradeExpect(mp("t3.medium", ["a", "b"]), mp("t3.large", ["a", "b"])).poolsRolled).toEqual(["small"]);
    expect(upgradeExpect(mp("t3.medium", ["a", "b"]), mp("t3.medium", ["b", "a"])).poolsRolled).toEqual([]);
  });

  it("removes the last pool of a spec with two or more, comments kept", () => {
    const out = removeLastPool(`# mine\n${SPEC}`);
    expect(out).toContain("# mine");
    expect(specOf(out ?? "").nodePools.map((p) => p.name)).toEqual(["general"]);
    expect(removeLastPool(out ?? "")).toBeUndefined();
    expect(removeLastPool("name: x\n")).toBeUndefined();
  });

  it("makes a box cluster from the spec and renders, with upgrade and pool removal only when there are some", () => {
    const spec = specOf(SPEC);
    const c = boxCluster({ spec, origin: "fixture", create: RENDER, upgrade: RENDER, poolRemoved: [] });
    expect(c).toMatchObject({
      name: "demo",
      namespace: "team",
      fixture: "fixture, prod, MachineDeployment, cilium, 2 pools, 2 zones, namespace team",
      kubernetesVersion: "v1.33.4",
      controlPlaneReplicas: 3,
      zones: ["us-east-1a", "us-east-1b"],
      upgradeExpect: { controlPlane: false, poolsRolled: [], poolsAdded: [] },
    });
    expect(c.poolRemoved).toBeUndefined();
    // The JSON keys are e2e/box_input_test.go's.
    const goKeys = (struct: string) =>
      [...readGo().matchAll(new RegExp(`type ${struct} struct \\{([\\s\\S]*?)\\n\\}`, "g"))]
        .flatMap((m) => [...(m[1] ?? "").matchAll(/json:"([^,"]+)/g)].map((k) => k[1]))
        .sort();
    expect(Object.keys({ ...c, poolRemoved: [], faults: [] }).sort()).toEqual(goKeys("boxCluster"));
    expect(Object.keys(c.pools[0] ?? {}).sort()).toEqual(goKeys("boxPool"));
    expect(Object.keys(c.addons[0] ?? {}).sort()).toEqual(goKeys("boxAddon"));
    expect(Object.keys(c.upgradeExpect ?? {}).sort()).toEqual(goKeys("boxUpgradeExpect"));
    expect(Object.keys(plantFault(c, "crs-no-cluster").faults?.[0] ?? {}).sort()).toEqual(goKeys("boxFault"));
    expect(["apiVersion", "kind", "name", "namespace"]).toEqual(goKeys("boxObjRef"));
    expect(["checks", "clusters", "healthBinary", "tablePath"]).toEqual(goKeys("boxInput"));
  });
});

const readGo = () => readFileSync(path.resolve(import.meta.dirname, "../../e2e/box_input_test.go"), "utf8");

describe("the fixtures of the box", () => {
  it("cover every CNI, both kinds of workers, dev and prod, several pools and a custom namespace", () => {
    const flags = FIXTURES.map((f) => f.flags);
    expect(new Set(flags.map((f) => f.cni ?? DEFAULTS.cni))).toEqual(new Set(CNIS));
    expect(new Set(flags.map((f) => f.workers ?? DEFAULTS.workers))).toEqual(
      new Set(["MachineDeployment", "MachinePool"]),
    );
    expect(new Set(flags.map((f) => f.profile ?? DEFAULTS.profile))).toEqual(new Set(["dev", "prod"]));
    expect(flags.some((f) => (f.pool?.length ?? 1) > 2)).toBe(true);
    expect(flags.some((f) => f.namespace !== undefined && f.namespace !== f.name)).toBe(true);
  });
});

describe("planted faults", () => {
  const clean = (): BoxCluster =>
    boxCluster({ spec: specOf(SPEC), origin: "fixture", create: RENDER, upgrade: RENDER, poolRemoved: RENDER });

  it("failure-domain: the first MachineDeployment goes to a zone the cluster has no subnet in", () => {
    const c = clean();
    const p = plantFault(c, "failure-domain");
    expect(p.faults).toEqual([{ kind: "failure-domain", object: "MachineDeployment/demo-general-a" }]);
    const planted = p.create.find((o) => o.metadata.name === "demo-general-a");
    expect(planted?.spec).toMatchObject({ template: { spec: { failureDomain: "us-east-1c", version: "v1.33.4" } } });
    // A copy: the clean cluster is untouched, and the copy stops at the fault.
    expect(JSON.stringify(c.create)).not.toContain("failureDomain");
    expect(p.upgrade).toBeUndefined();
    expect(p.poolRemoved).toBeUndefined();
    expect(
      zoneWithoutSubnet(["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]),
    ).toBe("us-east-1z");
  });

  it("addon-invalid: the CRS's last ConfigMap also carries a Deployment whose selector misses its labels", () => {
    const p = plantFault(clean(), "addon-invalid");
    expect(p.faults).toEqual([{ kind: "addon-invalid", object: "Deployment/demo-planted-invalid" }]);
    const cm = p.create.find((o) => o.metadata.name === "demo-addon-cni");
    const docs: unknown[] = String(recAt(cm, "data")?.["cni.yaml"])
      .split(/^---$/m)
      .map((d): unknown => parse(d));
    expect(docs.map((d) => strAt(d, "kind"))).toEqual(["DaemonSet", "Deployment"]);
    expect(recAt(docs[1], "spec")).toMatchObject({
      selector: { matchLabels: { app: "planted" } },
      template: { metadata: { labels: { app: "something-else" } } },
    });
    // The add-on objects the box must find applied include it, so the refusal is what fails.
    expect(addonsOf(p.create)).toEqual(p.addons);
  });

  it("crs-no-cluster: a copy of the first ClusterResourceSet selecting no Cluster, after it", () => {
    const p = plantFault(clean(), "crs-no-cluster");
    expect(p.faults).toEqual([{ kind: "crs-no-cluster", object: "ClusterResourceSet/demo-planted-orphan" }]);
    const i = p.create.findIndex((o) => o.metadata.name === "demo-planted-orphan");
    expect(p.create[i - 1]?.metadata.name).toBe("demo-cni");
    expect(p.create[i]?.spec).toMatchObject({
      clusterSelector: { matchLabels: { "cluster.x-k8s.io/cluster-name": "demo-absent" } },
      resources: [{ name: "demo-addon-cni-crds" }, { name: "demo-addon-cni" }],
    });
  });

  it("puts each fault in its own cluster while one is free, and refuses one no cluster can carry", () => {
    const a = clean();
    const b = { ...clean(), name: "other" };
    const noMd = { ...clean(), name: "pools", create: RENDER.filter((o) => o.kind !== "MachineDeployment") };
    expect(cannotPlant(noMd, "failure-domain")).toBe("it has no MachineDeployment");
    const out = plantFaults([noMd, a, b], [...BOX_FAULTS]);
    expect(out.map((c) => (c.faults ?? []).map((f) => f.kind))).toEqual([
      ["addon-invalid"],
      ["failure-domain"],
      ["crs-no-cluster"],
    ]);
    expect(plantFaults([a], [...BOX_FAULTS])[0]?.faults?.length).toBe(3);
    expect(() => plantFaults([noMd], ["failure-domain"])).toThrow(/no cluster of the box can carry/);
    expect(plantFaults([a], [])).toEqual([a]);
  });

  it("--plant takes the fault names only", () => {
    expect(parsePlant(["crs-no-cluster", "failure-domain"])).toEqual(["crs-no-cluster", "failure-domain"]);
    expect(() => parsePlant(["subnet"])).toThrow(/--plant subnet: not a fault the box plants/);
  });
});

describe("health checks from the render of management/sync", () => {
  it("reads Argo CD's health customizations and Flux's healthCheckExprs, empty when there are none", () => {
    expect(healthChecksOf([obj("ConfigMap", "x", { data: { a: "b" } })])).toEqual({ argo: {}, flux: [] });
    const checks = healthChecksOf([
      obj("ConfigMap", "argocd-cm", {
        data: { "resource.customizations.health.cluster.x-k8s.io_Cluster": "hs = {}\nreturn hs", url: "x" },
      }),
      obj(
        "Kustomization",
        "demo",
        {
          spec: {
            healthCheckExprs: [
              { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", current: "a", failed: "b" },
              { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", current: "other" },
            ],
          },
        },
        "kustomize.toolkit.fluxcd.io/v1",
      ),
      obj("Kustomization", "not-flux", { spec: { healthCheckExprs: [{ apiVersion: "v", kind: "K", current: "c" }] } }),
    ]);
    expect(checks).toEqual({
      argo: { "cluster.x-k8s.io_Cluster": "hs = {}\nreturn hs" },
      flux: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", current: "a", failed: "b" }],
    });
  });
});

describe("the box's outcome", () => {
  const out = (Test: string | undefined, Output: string): GoTestEvent => ({ Action: "output", Test, Output });
  it("reads the box's lines and its per-cluster results", () => {
    const events: GoTestEvent[] = [
      { Action: "run", Test: "TestBox" },
      out("TestBox/e2e-dev", "    box_test.go:88: box: cluster e2e-dev/e2e-dev: Available in 41 s\n"),
      { Action: "pass", Test: "TestBox/e2e-dev" },
      out("TestBox/e2e-prod", "    box_test.go:91: box: cluster e2e-team/e2e-prod: MachineDeployment/x: no subnet\n"),
      { Action: "fail", Test: "TestBox/e2e-prod/create" },
      { Action: "fail", Test: "TestBox/e2e-prod" },
      out(undefined, "box: 1 of 2 clusters came up\n"),
      out("TestOther", "not a box line\n"),
      { Action: "fail", Test: "TestBox" },
    ];
    expect(boxOutcome(events)).toEqual({
      ran: true,
      lines: [
        "box: cluster e2e-dev/e2e-dev: Available in 41 s",
        "box: cluster e2e-team/e2e-prod: MachineDeployment/x: no subnet",
        "box: 1 of 2 clusters came up",
      ],
      passed: ["e2e-dev"],
      failed: ["e2e-prod"],
    });
    expect(boxOutcome([{ Action: "pass", Test: "TestApply" }]).ran).toBe(false);
  });
});

describe("the README health table", () => {
  const readme = `# x\n\n${TABLE_BEGIN}\n| step | Argo CD | Flux |\n| a | Healthy | Current |\n${TABLE_END}\nrest\n`;
  it("is read between its markers, replaced there, and compared line by line", () => {
    expect(readmeTable(readme)).toBe("| step | Argo CD | Flux |\n| a | Healthy | Current |");
    expect(readmeTable("no markers")).toBeUndefined();
    const next = withReadmeTable(readme, "| step | Argo CD | Flux |\n| a | Progressing | InProgress |\n");
    expect(next).toBe(
      `# x\n\n${TABLE_BEGIN}\n| step | Argo CD | Flux |\n| a | Progressing | InProgress |\n${TABLE_END}\nrest\n`,
    );
    expect(withReadmeTable("none", "t")).toBeUndefined();
    expect(tableDiff(readmeTable(readme) ?? "", readmeTable(next ?? "") ?? "")).toEqual([
      "- | a | Healthy | Current |",
      "+ | a | Progressing | InProgress |",
    ]);
  });

  it("is in README", () => {
    const text = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    expect(readmeTable(text)).toBeDefined();
  });
});

describe("fixtureTable", () => {
  it("keeps the header and the fixtures' rows, drops the repository's clusters", () => {
    const table = [
      "| Step | Cluster | Cluster in Argo CD | Cluster in Flux | Argo CD Application | Flux Kustomization |",
      "| --- | --- | --- | --- | --- | --- |",
      "| available | e2e-dev/e2e-dev | Healthy | Current | Healthy | Ready |",
      "| available | team/mine | Healthy | Current | Healthy | Ready |",
    ].join("\n");
    expect(fixtureTable(table, new Set(["e2e-dev/e2e-dev"])).split("\n")).toEqual([
      "| Step | Cluster | Cluster in Argo CD | Cluster in Flux | Argo CD Application | Flux Kustomization |",
      "| --- | --- | --- | --- | --- | --- |",
      "| available | e2e-dev/e2e-dev | Healthy | Current | Healthy | Ready |",
    ]);
  });
});

describe("tableMismatches", () => {
  const head = "| Step | Cluster | A | F | App | K |\n| --- | --- | --- | --- | --- | --- |\n";
  const row = (step: string, app = "Healthy") => `| ${step} | a/b | ${app} | Current | ${app} | Ready |`;
  it("lets a transient step be missing on either side, never differ; a settled step must be on both", () => {
    const readme = head + [row("control plane initializing", "Progressing"), row("available")].join("\n");
    expect(tableMismatches(readme, head + row("available"))).toEqual([]);
    expect(tableMismatches(readme, `${head}${row("workers joining", "Progressing")}\n${row("available")}`)).toEqual([]);
    expect(tableMismatches(readme, `${head}${row("control plane initializing")}\n${row("available")}`)).toEqual([
      `- ${row("control plane initializing", "Progressing")}`,
      `+ ${row("control plane initializing")}`,
    ]);
    expect(tableMismatches(readme, head + row("control plane initializing", "Progressing"))).toEqual([
      `- ${row("available")}`,
    ]);
    expect(tableMismatches(readme, `${head}${row("available")}\n${row("paused", "Suspended")}`)).toEqual([
      `+ ${row("paused", "Suspended")}`,
    ]);
  });
});
