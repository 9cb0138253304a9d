/**
 * `diff`: object diff and flags (pure, table-driven), then the command on real git repositories with real kustomize.
 */
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffCommand } from "../src/commands/diff.js";
import { compareSides } from "../src/workflows/compare.js";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { flagChanges, gitopsEngineSwitched } from "../src/diff/flags.js";
import { formatMarkdown, formatText } from "../src/diff/format.js";
import { changedPaths, diffObjects, nameStem } from "../src/diff/objects.js";
import { withBaseCheckout } from "../src/workflows/render-sides.js";
import type { K8sObject } from "../src/k8s/object.js";
import { tempDir } from "./helpers.js";
import { git, initRepo } from "./helpers/repo.js";

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  spec: Record<string, unknown> = {},
  namespace = "ns",
): K8sObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  spec,
});
const AMT = (name: string, instanceType = "t3.large") =>
  obj("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachineTemplate", name, { template: { spec: { instanceType } } });
const KCP = (version: string) =>
  obj("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "cp", { version, replicas: 3 });
const AWSC = (spec: Record<string, unknown>) => obj("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster", "c", spec);
const CLUSTER = (name: string, namespace = "ns") => obj("cluster.x-k8s.io/v1beta2", "Cluster", name, {}, namespace);

const rulesOf = (before: K8sObject[], after: K8sObject[]) => {
  const changes = diffObjects({ objects: before }, { objects: after });
  return flagChanges("x", changes, before, after).map((f) => `${f.rule} ${f.path}`);
};

describe("diffObjects", () => {
  it(`identity is group + kind + namespace + name: an API version bump is a change, \
another group is another object`, () => {
    const c = diffObjects(
      { objects: [obj("apps/v1", "Thing", "t", { a: 1 }), obj("x.io/v1", "Thing", "t")] },
      { objects: [obj("apps/v2", "Thing", "t", { a: 1 }), obj("y.io/v1", "Thing", "t")] },
    );
    expect(c.map((x) => `${x.type} ${x.id.group}/${x.id.kind}/${x.id.name}`)).toEqual([
      "changed apps/Thing/t",
      "removed x.io/Thing/t",
      "added y.io/Thing/t",
    ]);
  });

  it("key order alone is no change; a value is", () => {
    const a = obj("v1", "ConfigMap", "m", { x: 1, y: 2 });
    const b = { ...a, spec: { y: 2, x: 1 } };
    expect(diffObjects({ objects: [a] }, { objects: [b] })).toEqual([]);
    const [ch] = diffObjects({ objects: [a] }, { objects: [{ ...a, spec: { x: 1, y: 3 } }] });
    // Serialized for YAML 1.1 readers (issue 9, item 14): the key y is quoted.
    expect(ch?.patch).toContain('-  "y": 2\n+  "y": 3');
  });

  it("pairs a renamed template with its predecessor by name stem, and shows what differs", () => {
    const c = diffObjects(
      { objects: [AMT("demo-cp-243c9948"), AMT("demo-pool-aaaaaaaa")] },
      { objects: [AMT("demo-cp-5e1b0c2d", "m6i.large"), AMT("demo-pool-aaaaaaaa")] },
    );
    expect(c.map((x) => [x.type, x.id.name, x.pairedWith?.name])).toEqual([
      ["removed", "demo-cp-243c9948", "demo-cp-5e1b0c2d"],
      ["added", "demo-cp-5e1b0c2d", "demo-cp-243c9948"],
    ]);
    expect(c[1]?.patch).toContain("-      instanceType: t3.large\n+      instanceType: m6i.large");
    expect(c[0]?.patch).toBe("");
  });

  it("an unpaired addition shows the whole object", () => {
    const [c] = diffObjects({ objects: [] }, { objects: [AMT("new")] });
    expect(c?.patch.split("\n").slice(0, 3)).toEqual([
      "--- /dev/null",
      "+++ AWSMachineTemplate ns/new",
      "@@ -0,0 +1,9 @@",
    ]);
  });

  it.each([
    ["demo-control-plane-243c9948", "demo-control-plane"],
    ["demo-default", "demo-default"],
    ["demo-default-a", "demo-default-a"],
  ])("nameStem(%s) = %s", (n, s) => expect(nameStem(n)).toBe(s));

  it("changedPaths names the differing leaves", () => {
    expect(changedPaths({ a: { b: 1, c: [1, 2] } }, { a: { b: 2, c: [1, 3] } }, "spec")).toEqual([
      "spec.a.b",
      "spec.a.c[1]",
    ]);
  });
});

describe("flags", () => {
  it.each([
    [
      "template spec edited in place",
      [AMT("t")],
      [AMT("t", "m6i.large")],
      ["template-changed-in-place AWSMachineTemplate/t:spec.template.spec.instanceType"],
    ],
    ["template renamed with the change", [AMT("t-243c9948")], [AMT("t-5e1b0c2d", "m6i.large")], []],
    [
      "template label change only",
      [AMT("t")],
      [{ ...AMT("t"), metadata: { name: "t", namespace: "ns", labels: { a: "b" } } }],
      [],
    ],
    [
      "KubeadmConfigTemplate in place",
      [obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfigTemplate", "k", { a: 1 })],
      [obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfigTemplate", "k", { a: 2 })],
      ["template-changed-in-place KubeadmConfigTemplate/k:spec.a"],
    ],
    [
      "KubeadmConfig in place",
      [obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfig", "k", { a: 1 })],
      [obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfig", "k", { a: 2 })],
      ["template-changed-in-place KubeadmConfig/k:spec.a"],
    ],
    [
      "a same-named kind of another group",
      [obj("example.io/v1", "AWSMachineTemplate", "t", { a: 1 })],
      [obj("example.io/v1", "AWSMachineTemplate", "t", { a: 2 })],
      [],
    ],
    [
      "AWSCluster region",
      [AWSC({ region: "us-east-1" })],
      [AWSC({ region: "eu-west-1" })],
      ["awscluster-immutable AWSCluster/c:spec.region"],
    ],
    [
      "AWSCluster scheme",
      [AWSC({ region: "r", controlPlaneLoadBalancer: { scheme: "internet-facing" } })],
      [AWSC({ region: "r", controlPlaneLoadBalancer: { scheme: "internal" } })],
      ["awscluster-immutable AWSCluster/c:spec.controlPlaneLoadBalancer.scheme"],
    ],
    [
      "AWSCluster scheme unset → its default",
      [AWSC({ region: "r" })],
      [AWSC({ region: "r", controlPlaneLoadBalancer: { scheme: "internet-facing" } })],
      [],
    ],
    ["AWSCluster other fields", [AWSC({ region: "r", sshKeyName: "a" })], [AWSC({ region: "r", sshKeyName: "b" })], []],
    ["KCP one minor up", [KCP("v1.32.4")], [KCP("v1.33.0")], []],
    ["KCP patch up", [KCP("v1.32.4")], [KCP("v1.32.9")], []],
    ["KCP two minors up", [KCP("v1.32.4")], [KCP("v1.34.2")], ["version-jump KubeadmControlPlane/cp:spec.version"]],
    ["KCP minor down", [KCP("v1.33.1")], [KCP("v1.32.4")], ["version-jump KubeadmControlPlane/cp:spec.version"]],
    ["KCP patch down", [KCP("v1.33.2")], [KCP("v1.33.1")], ["version-jump KubeadmControlPlane/cp:spec.version"]],
    ["KCP unparseable version", [KCP("v1.33.2")], [KCP("latest")], []],
    ["Cluster renamed", [CLUSTER("a")], [CLUSTER("b")], ["cluster-renamed Cluster/a:metadata"]],
    [
      "Cluster moved to another namespace",
      [CLUSTER("a", "one")],
      [CLUSTER("a", "two")],
      ["cluster-renamed Cluster/a:metadata"],
    ],
    ["Cluster unchanged", [CLUSTER("a")], [CLUSTER("a")], []],
    ["new cluster directory", [], [CLUSTER("a")], []],
  ])("%s", (_l, before, after, expected) => expect(rulesOf(before, after)).toEqual(expected));
});

describe("format", () => {
  it("nothing affected is one line in both formats", () => {
    expect(formatText({ base: "main", clusters: [] })).toBe("no cluster affected\n");
    expect(formatMarkdown({ base: "main", clusters: [] })).toBe("no cluster affected\n");
    expect(
      formatText({ base: "main", clusters: [{ cluster: "a", status: "unchanged", changes: [], findings: [] }] }),
    ).toBe("no cluster affected: the 1 cluster reading the changed files renders the same (a)\n");
  });

  it("fences a diff that contains backticks with a longer fence", () => {
    const after = obj("v1", "ConfigMap", "m", { text: "```sh\nls\n```" });
    const md = formatMarkdown({
      base: "main",
      clusters: [
        { cluster: "a", status: "changed", changes: diffObjects({ objects: [] }, { objects: [after] }), findings: [] },
      ],
    });
    expect(md).toContain("````diff\n");
  });
});

describe("issue 9: diff messages and day-2 flags", () => {
  it("7: a removed cluster's note says the sync deletes nothing and names the Cluster delete command", () => {
    const before = [CLUSTER("gone", "team-a"), AMT("gone-cp")];
    const changes = diffObjects({ objects: before }, { objects: [] });
    const report = { base: "main", clusters: [{ cluster: "gone", status: "removed" as const, changes, findings: [] }] };
    for (const out of [formatText(report), formatMarkdown(report)]) {
      expect(out).not.toMatch(/syncing deletes|which deletes the cluster/);
      expect(out).toContain("the sync deletes nothing");
      expect(out).toContain("kubectl delete cluster.cluster.x-k8s.io/gone -n team-a");
    }
  });

  const NET = (vpc: string, subnets: [string, string][]) =>
    AWSC({
      region: "r",
      network: {
        vpc: { cidrBlock: vpc },
        subnets: subnets.map(([id, cidrBlock]) => ({
          id,
          cidrBlock,
          availabilityZone: "r" + id.slice(-1),
          isPublic: false,
        })),
      },
    });
  const POOL = (kind: "MachinePool" | "MachineDeployment", name: string, version = "v1.33.4") =>
    obj("cluster.x-k8s.io/v1beta2", kind, name, { clusterName: "c", template: { spec: { version } } });
  const rulesSev = (before: K8sObject[], after: K8sObject[]) =>
    flagChanges("x", diffObjects({ objects: before }, { objects: after }), before, after).map(
      (f) => `${f.severity} ${f.rule} ${f.path}`,
    );

  it.each([
    [
      "8: a subnet's CIDR changes",
      [
        NET("10.0.0.0/16", [
          ["s-a", "10.0.0.0/20"],
          ["s-c", "10.0.32.0/20"],
        ]),
      ],
      [NET("10.0.0.0/16", [["s-c", "10.0.16.0/20"]])],
      ["error subnet-cidr-changed AWSCluster/c:spec.network.subnets[id=s-c].cidrBlock"],
    ],
    [
      "8: a zone removed, the others keep their CIDRs",
      [
        NET("10.0.0.0/16", [
          ["s-a", "10.0.0.0/20"],
          ["s-c", "10.0.32.0/20"],
        ]),
      ],
      [NET("10.0.0.0/16", [["s-c", "10.0.32.0/20"]])],
      [],
    ],
    [
      "8: a zone added",
      [NET("10.0.0.0/16", [["s-a", "10.0.0.0/20"]])],
      [
        NET("10.0.0.0/16", [
          ["s-a", "10.0.0.0/20"],
          ["s-d", "10.0.48.0/20"],
        ]),
      ],
      [],
    ],
    [
      "10: the VPC CIDR changes (and so the subnets)",
      [NET("10.0.0.0/16", [["s-a", "10.0.0.0/20"]])],
      [NET("10.1.0.0/16", [["s-a", "10.1.0.0/20"]])],
      [
        "error vpc-cidr-changed AWSCluster/c:spec.network.vpc.cidrBlock",
        "error subnet-cidr-changed AWSCluster/c:spec.network.subnets[id=s-a].cidrBlock",
      ],
    ],
    [
      "11: a MachinePool removed while the cluster stays",
      [CLUSTER("c"), POOL("MachinePool", "c-batch"), POOL("MachinePool", "c-web")],
      [CLUSTER("c"), POOL("MachinePool", "c-web")],
      ["warning pool-removed MachinePool/c-batch:metadata"],
    ],
    [
      "11: MachinePool switched to MachineDeployment",
      [CLUSTER("c"), POOL("MachinePool", "c-web")],
      [CLUSTER("c"), POOL("MachineDeployment", "c-web-a")],
      ["warning pool-removed MachinePool/c-web:metadata"],
    ],
    ["11: the whole cluster removed: no pool flag", [CLUSTER("c"), POOL("MachinePool", "c-web")], [], []],
    [
      "12: MachinePool minor rises with the control plane",
      [KCP("v1.33.4"), POOL("MachinePool", "p")],
      [KCP("v1.34.2"), POOL("MachinePool", "p", "v1.34.2")],
      ["error pool-upgraded-with-control-plane MachinePool/p:spec.template.spec.version"],
    ],
    [
      "12: MachineDeployment minor rises with the control plane",
      [KCP("v1.33.4"), POOL("MachineDeployment", "p")],
      [KCP("v1.34.2"), POOL("MachineDeployment", "p", "v1.34.2")],
      ["warning pool-upgraded-with-control-plane MachineDeployment/p:spec.template.spec.version"],
    ],
    [
      "12: control plane first, pool pinned",
      [KCP("v1.33.4"), POOL("MachinePool", "p")],
      [KCP("v1.34.2"), POOL("MachinePool", "p")],
      [],
    ],
    [
      "12: pool follows in a later change",
      [KCP("v1.34.2"), POOL("MachinePool", "p")],
      [KCP("v1.34.2"), POOL("MachinePool", "p", "v1.34.2")],
      [],
    ],
    [
      "12: patch upgrade of both",
      [KCP("v1.33.4"), POOL("MachinePool", "p")],
      [KCP("v1.33.5"), POOL("MachinePool", "p", "v1.33.5")],
      [],
    ],
  ])("%s", (_l, before, after, expected) => expect(rulesSev(before, after)).toEqual(expected));

  // fix-a (review of issue 20, item 4): a Secret volume added to a Deployment's pods is for a reviewer to see.
  const DEPLOY = (volumes: unknown[]) =>
    obj("apps/v1", "Deployment", "demo-cluster-autoscaler", {
      template: { spec: { containers: [{ name: "a", image: "x" }], volumes } },
    });
  const KUBECONFIG = { name: "kubeconfig", secret: { secretName: "demo-kubeconfig" } };
  it.each([
    [
      "a Secret volume added to a Deployment",
      [CLUSTER("c"), DEPLOY([KUBECONFIG])],
      [CLUSTER("c"), DEPLOY([KUBECONFIG, { name: "o", secret: { secretName: "other-kubeconfig" } }])],
      ["warning secret-mounted Deployment/demo-cluster-autoscaler:spec.template.spec.volumes.1.secret.secretName"],
    ],
    [
      "a Deployment's existing Secret volume kept",
      [CLUSTER("c"), DEPLOY([KUBECONFIG])],
      [CLUSTER("c"), DEPLOY([KUBECONFIG, { name: "e", emptyDir: {} }])],
      [],
    ],
  ])("fix-a: %s", (_l, before, after, expected) => expect(rulesSev(before, after)).toEqual(expected));

  it("11/12: the messages give the manual step", () => {
    const [removed] = flagChanges(
      "x",
      diffObjects({ objects: [CLUSTER("c"), POOL("MachinePool", "c-batch")] }, { objects: [CLUSTER("c")] }),
      [CLUSTER("c"), POOL("MachinePool", "c-batch")],
      [CLUSTER("c")],
    );
    expect(removed?.message).toContain("kubectl delete machinepool.cluster.x-k8s.io/c-batch -n ns");
    // The MachinePool's nodes go all at once, undrained: the drain comes first, with the way to name its nodes.
    expect(removed?.message).toContain(
      "kubectl get machinepool.cluster.x-k8s.io/c-batch -n ns -o jsonpath='{.status.nodeRefs[*].name}'",
    );
    expect(removed?.message).toContain("kubectl drain <nodes> --ignore-daemonsets --delete-emptydir-data");
    const b = [KCP("v1.33.4"), POOL("MachinePool", "p")];
    const a = [KCP("v1.34.2"), POOL("MachinePool", "p", "v1.34.2")];
    const [up] = flagChanges("x", diffObjects({ objects: b }, { objects: a }), b, a);
    expect(up?.message).toMatch(/first the control plane.*kubernetesVersion: v1\.33\.4/);
  });

  it("9: a removed and a new cluster with the same region and VPC CIDR is cluster-moved, on the new cluster", () => {
    const side = (m: Record<string, K8sObject[]>, names: string[]) => ({
      names,
      rendered: new Map(Object.entries(m).map(([c, objects]) => [c, { cluster: c, objects, origins: [] }])),
      findings: [],
    });
    const net = (vpc: string, region = "r") => AWSC({ region, network: { vpc: { cidrBlock: vpc } } });
    const before = side(
      { old: [CLUSTER("old", "old"), net("10.0.0.0/16")], other: [CLUSTER("other", "other"), net("10.5.0.0/16")] },
      ["old", "other"],
    );
    const after = side(
      {
        fresh: [CLUSTER("fresh", "fresh"), net("10.0.0.0/16")],
        unrelated: [CLUSTER("unrelated"), net("10.9.0.0/16")],
        far: [CLUSTER("far"), net("10.5.0.0/16", "r2")],
      },
      ["fresh", "unrelated", "far"],
    );
    const { report, findings } = compareSides("main", ["fresh", "unrelated", "far"], ["old", "other"], before, after);
    expect(findings.map((f) => [f.cluster, f.rule, f.severity, f.path])).toEqual([
      ["fresh", "cluster-moved", "error", "Cluster/fresh:metadata"],
    ]);
    expect(report.clusters.find((c) => c.cluster === "fresh")?.findings).toHaveLength(1);
    expect(findings[0]?.message).toMatch(/clusters\/fresh\/ looks like clusters\/old\/ moved/);
    expect(findings[0]?.message).toMatch(/cannot rename a Cluster/);
    expect(findings[0]?.message).toMatch(/old Cluster old\/old keeps running/);
    expect(findings[0]?.message).toContain("kubectl delete cluster.cluster.x-k8s.io/old -n old");
  });

  it("7: cluster-renamed says the old Cluster stays and a second cluster is created (no prune)", () => {
    const before = [CLUSTER("a")];
    const after = [CLUSTER("b")];
    const [f] = flagChanges("x", diffObjects({ objects: before }, { objects: after }), before, after);
    expect(f?.message).not.toMatch(/syncing deletes the old Cluster/);
    expect(f?.message).toMatch(/cannot rename/);
    expect(f?.message).toMatch(/old cluster keeps running/);
    expect(f?.message).toContain("kubectl delete cluster.cluster.x-k8s.io/a -n ns");
  });
});

// --- real git, real kustomize ----------------------------------------------------------------------------------

const quiet = () => undefined;

async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, "add", "--all");
  await git(dir, "commit", "--quiet", "-m", message);
}

async function edit(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`test setup: ${String(from)} not found in ${file}`);
  await writeFile(file, next);
}

let template: string;
let remote: string;
const cleanups: (() => Promise<void>)[] = [];

/**
 * A fresh clone-like copy of the committed repository: demo (MachinePool, ap-northeast-2), md (MachineDeployment),
 * old (Kubernetes v1.32.4); main is pushed to a bare remote, so `origin/main` names the base.
 */
async function repoCopy(): Promise<string> {
  const t = await tempDir("capi-gitops-diff-test-");
  cleanups.push(t.cleanup);
  await cp(template, t.dir, { recursive: true });
  return t.dir;
}

const worktrees = async (repo: string) =>
  (await git(repo, "worktree", "list", "--porcelain")).split("\n").filter((l) => l.startsWith("worktree "));

beforeAll(async () => {
  const t = await tempDir("capi-gitops-diff-template-");
  cleanups.push(t.cleanup);
  template = path.join(t.dir, "repo");
  remote = path.join(t.dir, "remote.git");
  await git(t.dir, "init", "--quiet", "--bare", "-b", "main", remote);
  await initRepo(template);
  for (const flags of [
    { name: "demo", region: "ap-northeast-2", workers: "MachinePool" },
    { name: "md", region: "eu-west-1", workers: "MachineDeployment" },
    { name: "old", region: "us-east-1", kubernetesVersion: "v1.32.4", workers: "MachinePool" },
  ])
    await newClusterCommand({ cwd: template, flags, render: false, log: quiet });
  await generateCommand({ cwd: template, log: quiet });
  await commitAll(template, "three clusters");
  await git(template, "remote", "add", "origin", remote);
  await git(template, "push", "--quiet", "origin", "main");
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("diffCommand (real git, real kustomize)", () => {
  it(`an instance-type change through cluster.yaml + generate shows the template renamed, \
and flags nothing`, async () => {
    const repo = await repoCopy();
    await edit(
      path.join(repo, "clusters/demo/cluster.yaml"),
      "  instanceType: t3.large\nnodePools",
      "  instanceType: m6i.large\nnodePools",
    );
    await generateCommand({ cwd: repo, log: quiet });
    const r = await diffCommand({ cwd: repo, base: "origin/main", format: "text" });
    expect(r.findings).toEqual([]);
    expect(r.report.clusters.map((c) => [c.cluster, c.status])).toEqual([["demo", "changed"]]);
    const changes = r.report.clusters[0]!.changes.map((c) => `${c.type} ${c.id.kind}`);
    expect(changes).toEqual(["removed AWSMachineTemplate", "added AWSMachineTemplate", "changed KubeadmControlPlane"]);
    const [removed, added] = r.report.clusters[0]!.changes;
    expect(removed!.id.name).not.toBe(added!.id.name);
    expect(added!.pairedWith?.name).toBe(removed!.id.name);
    expect(r.output).toContain(`removed AWSMachineTemplate demo/${removed!.id.name} (replaced by ${added!.id.name})`);
    expect(r.output).toContain("+      instanceType: m6i.large");
    expect(await worktrees(repo)).toHaveLength(1);
  });

  it(`a MachinePool cluster whose cluster.yaml leaves \`workers\` to the default (now MachineDeployment) \
is workers-switched, an error; written out, a warning`, async () => {
    const repo = await repoCopy();
    // As a spec written before MachineDeployment became the default: no `workers` line.
    await edit(path.join(repo, "clusters/demo/cluster.yaml"), /^workers: MachinePool\n/m, "");
    await generateCommand({ cwd: repo, log: quiet });
    const r = await diffCommand({ cwd: repo, base: "origin/main", format: "text" });
    expect(
      r.findings.filter((f) => f.rule === "workers-switched").map((f) => [f.cluster, f.severity, f.file, f.path]),
    ).toEqual([["demo", "error", "clusters/demo/cluster.yaml", "workers"]]);
    expect(r.findings.find((f) => f.rule === "workers-switched")!.message).toContain("add `workers: MachinePool`");
    await edit(path.join(repo, "clusters/demo/cluster.yaml"), /^region:/m, "workers: MachineDeployment\nregion:");
    const stated = await diffCommand({ cwd: repo, base: "origin/main", format: "text" });
    expect(stated.findings.filter((f) => f.rule === "workers-switched").map((f) => f.severity)).toEqual(["warning"]);
  });

  it(`an in-place edit of a generated pool kustomization that changes an AWSMachineTemplate spec is \
template-changed-in-place`, async () => {
    const repo = await repoCopy();
    const pool = path.join(repo, "clusters/md/generated/pools/default/kustomization.yaml");
    await edit(pool, /(kind: AWSMachineTemplate[\s\S]*?instanceType\n\s+value: )t3\.large/, "$1m6i.large");
    const r = await diffCommand({ cwd: repo, base: "main", format: "markdown" });
    expect(r.report.clusters.map((c) => c.cluster)).toEqual(["md"]);
    expect(r.findings.map((f) => [f.cluster, f.rule, f.path])).toEqual([
      [
        "md",
        "template-changed-in-place",
        expect.stringMatching(/^AWSMachineTemplate\/md-default-[0-9a-f]{8}:spec\.template\.spec\.instanceType$/),
      ],
    ]);
    expect(r.output).toContain("**Flagged**");
    expect(r.output.indexOf("template-changed-in-place")).toBeLessThan(r.output.indexOf("<details>"));
  });

  it("an AWSCluster region change (cluster.yaml + generate) is awscluster-immutable", async () => {
    const repo = await repoCopy();
    const spec = path.join(repo, "clusters/demo/cluster.yaml");
    await writeFile(spec, (await readFile(spec, "utf8")).replaceAll("ap-northeast-2", "eu-west-1"));
    await generateCommand({ cwd: repo, log: quiet });
    const r = await diffCommand({ cwd: repo, base: "main", format: "text" });
    expect(r.findings.filter((f) => f.rule === "awscluster-immutable").map((f) => f.path)).toEqual([
      "AWSCluster/demo:spec.region",
    ]);
    expect(r.output).toMatch(/error awscluster-immutable AWSCluster\/demo:spec\.region .*ap-northeast-2 to eu-west-1/);
  });

  it("a KubeadmControlPlane version jump v1.32.x → v1.34.x is version-jump; v1.32 → v1.33 is not", async () => {
    const repo = await repoCopy();
    const spec = path.join(repo, "clusters/old/cluster.yaml");
    await edit(spec, /v1\.32\.4/g, "v1.34.2");
    await generateCommand({ cwd: repo, log: quiet });
    const r = await diffCommand({ cwd: repo, base: "main", format: "text" });
    expect(r.findings.filter((f) => f.rule === "version-jump").map((f) => [f.cluster, f.path])).toEqual([
      ["old", "KubeadmControlPlane/old-control-plane:spec.version"],
    ]);
    await edit(spec, /v1\.34\.2/g, "v1.33.1");
    await generateCommand({ cwd: repo, log: quiet });
    const ok = await diffCommand({ cwd: repo, base: "main", format: "text" });
    expect(ok.findings.filter((f) => f.rule === "version-jump")).toEqual([]);
    expect(ok.report.clusters.map((c) => [c.cluster, c.status])).toEqual([["old", "changed"]]);
  });

  it(`a shared base change diffs every cluster that reads it; \
a removed cluster shows all its objects removed`, async () => {
    const repo = await repoCopy();
    await edit(
      path.join(repo, "base/machinepool/machinepool.yaml"),
      "capi-gitops.io/node-pool: pool",
      "capi-gitops.io/node-pool: pool\n        team: platform",
    );
    await rm(path.join(repo, "clusters/md"), { recursive: true });
    const r = await diffCommand({ cwd: repo, base: "main", format: "text" });
    expect(r.report.clusters.map((c) => [c.cluster, c.status])).toEqual([
      ["demo", "changed"],
      ["md", "removed"],
      ["old", "changed"],
    ]);
    expect(r.report.clusters[0]!.changes.map((c) => `${c.type} ${c.id.kind}`)).toEqual(["changed MachinePool"]);
    expect(r.report.clusters[1]!.changes.every((c) => c.type === "removed")).toBe(true);
    expect(r.report.clusters[1]!.changes.map((c) => c.id.kind)).toContain("Cluster");
    expect(r.findings).toEqual([]);
  });

  it(`rings: each changed cluster shows its ring; a base change reaching several rings at once is flagged with \
how to release it ring by ring`, async () => {
    const repo = await repoCopy();
    await writeFile(
      path.join(repo, "capi-gitops.yaml"),
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/x.git\n" +
        "rollout:\n  rings:\n  - name: canary\n  - name: main\n",
    );
    await edit(path.join(repo, "clusters/demo/cluster.yaml"), /^region:/m, "rollout:\n  ring: canary\nregion:");
    await generateCommand({ cwd: repo, log: quiet });
    await commitAll(repo, "rings");
    // A change of one cluster: its ring is named, nothing is flagged.
    await edit(path.join(repo, "clusters/old/cluster.yaml"), /v1\.32\.4/g, "v1.33.1");
    await generateCommand({ cwd: repo, log: quiet });
    const one = await diffCommand({ cwd: repo, base: "HEAD", format: "text" });
    expect(one.report.rings).toEqual({ reached: [{ ring: "main", clusters: ["old"] }], findings: [] });
    expect(one.output).toContain("rings: main (old)\n");
    expect(one.output).toContain("cluster old (ring main):");
    // With two rings the clusters build from their ring's release (releases/<ring>/, `npm run release`): a base/
    // edit reaches no cluster at all until it is released.
    await git(repo, "checkout", "--", "clusters");
    await git(repo, "clean", "-fdq", "--", "clusters");
    const pool = (dir: string) => path.join(repo, dir, "machinepool/machinepool.yaml");
    const teamLabel = ["capi-gitops.io/node-pool: pool", "capi-gitops.io/node-pool: pool\n        team: platform"];
    await edit(pool("base"), teamLabel[0]!, teamLabel[1]!);
    const unreleased = await diffCommand({ cwd: repo, base: "HEAD", format: "text" });
    expect(unreleased.report.rings?.reached).toEqual([]);
    expect(unreleased.output).toContain(
      "base/machinepool/machinepool.yaml changed: it reaches no cluster until released — " +
        "npm run release -- --ring canary, then each next ring (canary → main)",
    );
    // A change of a file both rings read (here both releases, by hand): both rings at once, flagged.
    await git(repo, "checkout", "--", "base");
    for (const ring of ["canary", "main"]) await edit(pool(`releases/${ring}/base`), teamLabel[0]!, teamLabel[1]!);
    const r = await diffCommand({ cwd: repo, base: "HEAD", format: "markdown" });
    expect(r.report.rings?.reached).toEqual([
      { ring: "canary", clusters: ["demo"] },
      { ring: "main", clusters: ["old"] },
    ]);
    const flagged = r.findings.filter((f) => f.rule === "change-reaches-all-rings");
    expect(flagged.map((f) => [f.severity, f.file])).toEqual([
      ["warning", "releases/canary/base/machinepool/machinepool.yaml"],
    ]);
    expect(r.report.rings?.findings).toEqual(flagged);
    expect(flagged[0]?.message).toContain("changes 2 rings in one change (canary: demo; main: old)");
    expect(flagged[0]?.message).toContain("`npm run release -- --ring canary`");
    expect(r.output).toContain("**Rings** canary (`demo`), main (`old`).");
    expect(r.output).toContain("### `demo` (ring canary)");
  });

  it(`9: renaming a cluster by moving its directory (same region and VPC CIDR) is cluster-moved, \
exit-worthy`, async () => {
    const repo = await repoCopy();
    const spec = await readFile(path.join(repo, "clusters/md/cluster.yaml"), "utf8");
    const vpc = /vpcCidr: (\S+)/.exec(spec)![1]!;
    await rm(path.join(repo, "clusters/md"), { recursive: true });
    await newClusterCommand({
      cwd: repo,
      flags: { name: "md2", region: "eu-west-1", workers: "MachineDeployment", vpcCidr: vpc },
      render: false,
      log: quiet,
    });
    await generateCommand({ cwd: repo, log: quiet });
    const r = await diffCommand({ cwd: repo, base: "main", format: "text" });
    expect(r.report.clusters.map((c) => [c.cluster, c.status])).toEqual([
      ["md", "removed"],
      ["md2", "new"],
    ]);
    // The new cluster's generated access (its autoscaler's ServiceAccount, Role, RoleBinding) is listed as info lines.
    expect(r.findings.filter((f) => f.cluster === "md2" && f.rule === "rbac-changed").map((f) => f.severity)).toEqual([
      "info",
      "info",
      "info",
    ]);
    expect(r.findings.filter((f) => f.severity !== "info").map((f) => [f.cluster, f.rule, f.severity])).toEqual([
      ["md2", "cluster-moved", "error"],
    ]);
    expect(r.output).toContain("1 flagged");
  });

  it("nothing affected: one line", async () => {
    const repo = await repoCopy();
    await writeFile(path.join(repo, "NOTES.md"), "hello\n");
    expect((await diffCommand({ cwd: repo, base: "main", format: "markdown" })).output).toBe("no cluster affected\n");
  });

  it("an unknown base is a usage error naming it; the worktree is removed even when rendering fails", async () => {
    const repo = await repoCopy();
    await expect(diffCommand({ cwd: repo, base: "origin/nope", format: "text" })).rejects.toThrow(
      /--base origin\/nope is not a commit/,
    );
    let seen = "";
    const commit = await git(repo, "rev-parse", "HEAD");
    await expect(
      withBaseCheckout(repo, commit, async (root) => {
        seen = root;
        expect(existsSync(path.join(root, "clusters/demo/cluster.yaml"))).toBe(true);
        expect(await worktrees(repo)).toHaveLength(2);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(existsSync(seen)).toBe(false);
    expect(await worktrees(repo)).toHaveLength(1);
  });

  it("golden: Markdown for a renamed control-plane template plus an in-place load-balancer scheme change", async () => {
    const repo = await repoCopy();
    await edit(
      path.join(repo, "clusters/demo/cluster.yaml"),
      "  instanceType: t3.large\nnodePools",
      "  instanceType: m6i.large\nnodePools",
    );
    await generateCommand({ cwd: repo, log: quiet });
    await edit(
      path.join(repo, "clusters/demo/kustomization.yaml"),
      "patches: []",
      "patches:\n  - target:\n      kind: AWSCluster\n    patch: |\n      - op: replace\n" +
        "        path: /spec/controlPlaneLoadBalancer/scheme\n        value: internal",
    );
    const r = await diffCommand({ cwd: repo, base: "origin/main", format: "markdown" });
    expect(r.findings.map((f) => f.rule)).toEqual(["awscluster-immutable"]);
    expect(r.output).not.toContain(repo);
    expect(r.output).not.toMatch(/\b[0-9a-f]{40}\b/);
    await expect(r.output).toMatchFileSnapshot("__golden__/diff/instance-type-and-scheme.md");
    // The same run twice gives the same bytes.
    expect((await diffCommand({ cwd: repo, base: "origin/main", format: "markdown" })).output).toBe(r.output);
  });
});

describe("issue 20: core objects removed and risky changes (items 2, 8)", () => {
  const CAPI = "cluster.x-k8s.io/v1beta2";
  const labelled = (labels: Record<string, string>) => ({
    ...CLUSTER("c"),
    metadata: { name: "c", namespace: "ns", labels },
  });
  const CP = (replicas: number) =>
    obj("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "cp", { version: "v1.34.2", replicas });
  const withRef = (o: K8sObject, at: string[], ref: Record<string, string>): K8sObject => {
    const spec: Record<string, unknown> = JSON.parse(JSON.stringify(o.spec ?? {}));
    let cur = spec;
    for (const k of at.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[at[at.length - 1]!] = ref;
    return { ...o, spec };
  };
  const cluster = withRef(
    withRef(CLUSTER("c"), ["infrastructureRef"], {
      apiGroup: "infrastructure.cluster.x-k8s.io",
      kind: "AWSCluster",
      name: "c",
    }),
    ["controlPlaneRef"],
    { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "cp" },
  );
  const kcp = withRef(CP(3), ["machineTemplate", "spec", "infrastructureRef"], {
    apiGroup: "infrastructure.cluster.x-k8s.io",
    kind: "AWSMachineTemplate",
    name: "cp-1",
  });
  const pool = withRef(
    obj(CAPI, "MachinePool", "c-web", { template: { spec: {} } }),
    ["template", "spec", "infrastructureRef"],
    { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "AWSMachinePool", name: "c-web" },
  );
  const amp = obj("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachinePool", "c-web");
  const whole = [cluster, AWSC({}), kcp, AMT("cp-1"), pool, amp];
  const flags = (before: K8sObject[], after: K8sObject[], opts?: Parameters<typeof flagChanges>[4]) =>
    flagChanges("x", diffObjects({ objects: before }, { objects: after }), before, after, opts).map(
      (f) => `${f.severity} ${f.rule} ${f.path}`,
    );

  it.each([
    [
      "2: an empty render of a cluster that stays flags its Cluster, AWSCluster, control plane and what they reference",
      whole,
      [],
      { stays: true },
      [
        "error core-object-removed AWSCluster/c:metadata",
        "error core-object-removed AWSMachineTemplate/cp-1:metadata",
        "error core-object-removed Cluster/c:metadata",
        "error core-object-removed KubeadmControlPlane/cp:metadata",
        "warning pool-removed MachinePool/c-web:metadata",
      ],
    ],
    ["2: a removed cluster directory flags nothing", whole, [], { stays: false }, []],
    [
      "2: a template renamed (paired) is no removal",
      whole,
      [
        cluster,
        AWSC({}),
        withRef(CP(3), ["machineTemplate", "spec", "infrastructureRef"], {
          apiGroup: "infrastructure.cluster.x-k8s.io",
          kind: "AWSMachineTemplate",
          name: "cp-2",
        }),
        AMT("cp-2"),
        pool,
        amp,
      ],
      { stays: true },
      [],
    ],
    [
      "2: a pool deleted by a patch while the cluster keeps it is an error, with the objects it references",
      whole,
      [cluster, AWSC({}), kcp, AMT("cp-1")],
      { stays: true, spec: { name: "c", namespace: "ns", workers: "MachinePool", nodePools: [{ name: "web" }] } },
      [
        "error core-object-removed AWSMachinePool/c-web:metadata",
        "error core-object-removed MachinePool/c-web:metadata",
      ],
    ],
    [
      "8: CNI cilium → calico",
      [labelled({ "addons.capi-gitops.io/cni": "cilium-v1.20.2" })],
      [labelled({ "addons.capi-gitops.io/cni": "calico-v3.28.5" })],
      undefined,
      ["error cni-switched network.cni"],
    ],
    [
      "8: CNI cilium → none",
      [labelled({ "addons.capi-gitops.io/cni": "cilium-v1.20.2" })],
      [labelled({})],
      undefined,
      ["error cni-switched network.cni"],
    ],
    [
      "8: a CNI version bump is no switch",
      [labelled({ "addons.capi-gitops.io/cni": "cilium-v1.20.2" })],
      [labelled({ "addons.capi-gitops.io/cni": "cilium-v1.21.0" })],
      undefined,
      [],
    ],
    [
      "8: storage ebs → none",
      [labelled({ "addons.capi-gitops.io/csi": "aws-ebs-csi-v2.13.0" })],
      [labelled({})],
      undefined,
      ["warning storage-removed storage"],
    ],
    [
      "8: storage none → ebs",
      [labelled({})],
      [labelled({ "addons.capi-gitops.io/csi": "aws-ebs-csi-v2.13.0" })],
      undefined,
      [],
    ],
    [
      "8: control plane 3 → 1",
      [CP(3)],
      [CP(1)],
      undefined,
      ["error control-plane-ha-lost KubeadmControlPlane/cp:spec.replicas"],
    ],
    ["8: control plane 5 → 3 keeps HA", [CP(5)], [CP(3)], undefined, []],
    ["8: control plane 1 → 3", [CP(1)], [CP(3)], undefined, []],
  ])("%s", (_l, before, after, opts, expected) =>
    expect(flags(before as K8sObject[], after as K8sObject[], opts as never).sort()).toEqual([...expected].sort()),
  );

  it("8: a GitOps engine switch in management/sync is flagged; the same engine is not", () => {
    const argo = [obj("argoproj.io/v1alpha1", "ApplicationSet", "capi-clusters")];
    const flux = [obj("source.toolkit.fluxcd.io/v1", "GitRepository", "capi-gitops")];
    expect(
      gitopsEngineSwitched("management/sync", argo, flux).map((f) => [f.rule, f.severity, f.file, f.path]),
    ).toEqual([["gitops-engine-switched", "error", "capi-gitops.yaml", "gitops"]]);
    expect(gitopsEngineSwitched("management/sync", argo, argo)).toEqual([]);
  });

  it("8: the report shows changed management folders and counts their flags", () => {
    const mgmt = {
      cluster: "management/sync",
      status: "changed" as const,
      changes: diffObjects({ objects: [] }, { objects: [obj("v1", "ConfigMap", "m")] }),
      findings: [],
    };
    const report = { base: "main", clusters: [], management: [mgmt] };
    expect(formatText(report)).toMatch(
      new RegExp(
        String.raw`^0 clusters, 1 management folder \(management/sync\) changed against main, 0 flagged\n\n` +
          String.raw`management/sync: 1 added`,
      ),
    );
    expect(formatMarkdown(report)).toContain("### `management/sync`");
    expect(
      formatText({ base: "main", clusters: [], management: [{ ...mgmt, status: "unchanged", changes: [] }] }),
    ).toBe("no cluster affected; the management folders render the same\n");
  });
});

describe("the PR summary's pictures (diff --format markdown, real kustomize)", () => {
  it("draws each touched cluster from its render and the rings the change reaches, in rollout order", async () => {
    const repo = await repoCopy();
    await writeFile(
      path.join(repo, "capi-gitops.yaml"),
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/fleet.git\n" +
        "rollout:\n  rings:\n    - name: canary\n    - name: early\n    - name: main\n",
    );
    await writeFile(
      path.join(repo, "clusters/demo/cluster.yaml"),
      (await readFile(path.join(repo, "clusters/demo/cluster.yaml"), "utf8")) + "rollout:\n  ring: canary\n",
    );
    await commitAll(repo, "rings");
    // A base change every MachinePool cluster reads: demo (canary) and old (main, the default).
    await edit(
      path.join(repo, "base/machinepool/machinepool.yaml"),
      "capi-gitops.io/node-pool: pool",
      "capi-gitops.io/node-pool: pool\n        team: platform",
    );
    const r = await diffCommand({ cwd: repo, base: "HEAD", format: "markdown" });
    expect(r.report.clusters.map((c) => [c.cluster, c.status])).toEqual([
      ["demo", "changed"],
      ["old", "changed"],
    ]);
    expect(r.output).toContain(
      "```mermaid\nflowchart LR\n" +
        '  r1["ring canary<br/>1 touched cluster<br/>demo"]\n' +
        '  r2["ring early<br/>not reached"]\n' +
        '  r3["ring main<br/>1 touched cluster<br/>old"]\n' +
        "  r1 --> r2\n  r2 --> r3\n",
    );
    expect(r.output.match(/```mermaid\nflowchart LR\n {2}cl\["cluster (\w+)/g)).toEqual([
      '```mermaid\nflowchart LR\n  cl["cluster demo',
      '```mermaid\nflowchart LR\n  cl["cluster old',
    ]);
    // A label the template change leaves as it was: no node is marked changed.
    expect(r.output).not.toContain("class cp");
    // The text format stays without pictures.
    expect((await diffCommand({ cwd: repo, base: "HEAD", format: "text" })).output).not.toContain("mermaid");
  });
});

describe("account identities and the bastion (CAPA AWSCluster identityRef, bastion)", () => {
  const ROLE = (name: string) => ({ kind: "AWSClusterRoleIdentity", name });
  const withIdentity = (ref?: { kind: string; name: string }, account?: string, bastion?: boolean): K8sObject => ({
    ...AWSC({
      region: "us-east-2",
      ...(ref ? { identityRef: ref } : {}),
      ...(bastion === undefined ? {} : { bastion: { enabled: bastion, allowedCIDRBlocks: ["203.0.113.0/24"] } }),
    }),
    metadata: {
      name: "c",
      namespace: "ns",
      ...(account ? { annotations: { "capi-gitops.io/aws-account": account } } : {}),
    },
  });
  const severities = (before: K8sObject[], after: K8sObject[]) =>
    flagChanges("x", diffObjects({ objects: before }, { objects: after }), before, after).map(
      (f) => `${f.rule} ${f.severity} ${f.path}`,
    );
  it.each([
    ["unchanged", withIdentity(ROLE("a"), "111122223333"), withIdentity(ROLE("a"), "111122223333"), []],
    [
      "removed: CAPA refuses it",
      withIdentity(ROLE("a"), "111122223333"),
      withIdentity(),
      ["identity-changed error AWSCluster/c:spec.identityRef"],
    ],
    [
      "to another account: the cluster's resources stay in the old one",
      withIdentity(ROLE("a"), "111122223333"),
      withIdentity(ROLE("b"), "444455556666"),
      ["identity-changed error AWSCluster/c:spec.identityRef"],
    ],
    [
      "another role of the same account",
      withIdentity(ROLE("a"), "111122223333"),
      withIdentity(ROLE("b"), "111122223333"),
      ["identity-changed warning AWSCluster/c:spec.identityRef"],
    ],
    [
      "added to a cluster of the controller's account",
      withIdentity(),
      withIdentity(ROLE("a"), "111122223333"),
      ["identity-changed warning AWSCluster/c:spec.identityRef"],
    ],
    [
      "bastion turned on",
      withIdentity(undefined, undefined, false),
      withIdentity(undefined, undefined, true),
      ["bastion-toggled warning AWSCluster/c:spec.bastion.enabled"],
    ],
    [
      "bastion turned off (field dropped)",
      withIdentity(undefined, undefined, true),
      withIdentity(),
      ["bastion-toggled warning AWSCluster/c:spec.bastion.enabled"],
    ],
  ])("%s", (_, before, after, expected) => {
    expect(severities([before], [after])).toEqual(expected);
  });
});
