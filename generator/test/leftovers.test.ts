/**
 * Issue 19 item 7: what a change leaves on the management cluster. Pure rules (table-driven) and `npm run leftovers`
 * on a repository with a real history (an instance-type change, a pool rename, a Kubernetes upgrade), rendered with
 * the real kustomize; IgnoreExtraneous on every object that history leaves behind.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { leftoversCommand } from "../src/commands/leftovers.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import {
  deleteCommand,
  findLeftovers,
  formatLeftovers,
  keptWhenDropped,
  type Snapshot,
} from "../src/fleet/leftovers.js";
import { SYNC_SAFE } from "../src/core/vocabulary.js";
import { syncSafetyRules } from "../src/validate/rules.js";
import type { K8sObject } from "../src/k8s/object.js";
import { runCli, tempDir } from "./helpers.js";
import { git, initRepo } from "./helpers/repo.js";

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  extra: Record<string, unknown> = {},
  annotations: Record<string, string> = { ...SYNC_SAFE },
): K8sObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: "ns", annotations },
  ...extra,
});
const commit = (n: number) => ({
  sha: `${n}`.repeat(40).slice(0, 40),
  date: `2026-12-0${n}T00:00:00Z`,
  subject: `change ${n}`,
});
const snap = (n: number, objects: K8sObject[]): Snapshot => ({
  commit: commit(n),
  clusters: new Map([["c", objects]]),
});

const AMT = (name: string) => obj("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachineTemplate", name);
const KCP = (template: string) =>
  obj("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "c", {
    spec: { machineTemplate: { spec: { infrastructureRef: { name: template } } } },
  });
const MD = (name: string, template: string) =>
  obj("cluster.x-k8s.io/v1beta2", "MachineDeployment", name, {
    spec: { template: { spec: { infrastructureRef: { name: template } } } },
  });

describe("findLeftovers (pure)", () => {
  it(`an object rendered once and no longer is listed with the commit that last rendered it and the one that dropped \
it`, () => {
    const r = findLeftovers([
      snap(1, [KCP("cp-aaaa"), AMT("cp-aaaa")]),
      snap(2, [KCP("cp-bbbb"), AMT("cp-bbbb")]),
      snap(3, [KCP("cp-bbbb"), AMT("cp-bbbb")]),
    ]);
    const [l] = r.clusters[0]!.leftovers;
    expect(r.clusters[0]!.leftovers).toHaveLength(1);
    expect([l!.name, l!.lastRendered.subject, l!.droppedBy.subject, l!.role]).toEqual([
      "cp-aaaa",
      "change 1",
      "change 2",
      "template",
    ]);
    expect(l!.unusedWhen).toMatch(/KubeadmControlPlane's roll-out started by 222222222222 \(change 2\)/);
    expect(l!.check).toContain("awsmachines.infrastructure.cluster.x-k8s.io -n ns");
    expect(l!.check).toContain("grep -cxF cp-aaaa");
    expect(l!.deleteCommand).toBe("kubectl delete awsmachinetemplate.infrastructure.cluster.x-k8s.io cp-aaaa -n ns");
    expect(l!.holdsAppOutOfSync).toBe(false);
  });

  it("an object the sync engine prunes itself (no Prune=false, no prune: disabled) is not a leftover", () => {
    const cm = (name: string, annotations: Record<string, string>) => obj("v1", "ConfigMap", name, {}, annotations);
    expect(keptWhenDropped(cm("a", {}))).toBe(false);
    expect(keptWhenDropped(cm("a", { "kustomize.toolkit.fluxcd.io/prune": "disabled" }))).toBe(true);
    expect(keptWhenDropped(cm("a", { "argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false" }))).toBe(
      true,
    );
    const r = findLeftovers([snap(1, [cm("pruned", {}), cm("kept", { ...SYNC_SAFE })]), snap(2, [])]);
    expect(r.clusters[0]!.leftovers.map((l) => l.name)).toEqual(["kept"]);
  });

  it(`an object dropped and rendered again is not a leftover; one dropped again is, \
dropped by the later commit`, () => {
    const a = AMT("t");
    expect(findLeftovers([snap(1, [a]), snap(2, []), snap(3, [a])]).clusters[0]!.leftovers).toEqual([]);
    expect(
      findLeftovers([snap(1, [a]), snap(2, []), snap(3, [a]), snap(4, [])]).clusters[0]!.leftovers[0]!.droppedBy
        .subject,
    ).toBe("change 4");
  });

  it(`a template of a MachineDeployment still in Git waits for its roll-out; of one Git dropped, \
for that deployment's deletion`, () => {
    const rolled = findLeftovers([snap(1, [MD("p", "p-1"), AMT("p-1")]), snap(2, [MD("p", "p-2"), AMT("p-2")])])
      .clusters[0]!.leftovers;
    expect(rolled[0]!.unusedWhen).toMatch(/MachineDeployment p's previous template: unused once its roll-out/);
    expect(rolled[0]!.check).toContain("-l cluster.x-k8s.io/deployment-name=p");
    const removed = findLeftovers([snap(1, [MD("p", "p-1"), AMT("p-1")]), snap(2, [])]).clusters[0]!.leftovers;
    expect(removed.map((l) => [l.kind, l.role])).toEqual([
      ["MachineDeployment", "pool"],
      ["AWSMachineTemplate", "template"],
    ]);
    expect(removed[1]!.unusedWhen).toMatch(/which Git no longer has .*: unused once that MachineDeployment is deleted/);
  });

  it("the delete lines come pools first, then their parts, bootstrap configs, templates, add-on payloads", () => {
    const crs = (names: string[]) =>
      obj("addons.cluster.x-k8s.io/v1beta2", "ClusterResourceSet", "c-ccm", {
        spec: { resources: names.map((name) => ({ kind: "ConfigMap", name })) },
      });
    const before = [
      obj("v1", "ConfigMap", "ccm-1"),
      crs(["ccm-1"]),
      AMT("cp-1"),
      KCP("cp-1"),
      obj("cluster.x-k8s.io/v1beta2", "MachinePool", "old"),
      obj("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachinePool", "old"),
      obj("cluster.x-k8s.io/v1beta2", "MachineHealthCheck", "old"),
    ];
    const after = [obj("v1", "ConfigMap", "ccm-2"), crs(["ccm-2"]), AMT("cp-2"), KCP("cp-2")];
    const ls = findLeftovers([snap(1, before), snap(2, after)]).clusters[0]!.leftovers;
    expect(ls.map((l) => `${l.role} ${l.kind}`)).toEqual([
      "pool MachinePool",
      "pool-part AWSMachinePool",
      "pool-part MachineHealthCheck",
      "template AWSMachineTemplate",
      "addon-payload ConfigMap",
    ]);
    expect(ls[0]!.unusedWhen).toMatch(/cordon and drain its nodes first/);
    expect(ls.at(-1)!.unusedWhen).toMatch(/ClusterResourceSet c-ccm stopped listing/);
    const text = formatLeftovers({ clusters: [{ cluster: "c", leftovers: ls }], commits: 2 }, "text");
    expect(text.split("\n").filter((l) => l.startsWith("  kubectl delete"))).toEqual(
      ls.map((l) => `  ${l.deleteCommand}`),
    );
  });

  it.each([
    [{ apiVersion: "v1", kind: "ConfigMap", name: "x", namespace: "n" }, "kubectl delete configmap x -n n"],
    [
      { apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2", kind: "KubeadmConfig", name: "k", namespace: "n" },
      "kubectl delete kubeadmconfig.bootstrap.cluster.x-k8s.io k -n n",
    ],
  ])("deleteCommand %j", (o, want) => expect(deleteCommand(o)).toBe(want));

  it("a leftover without IgnoreExtraneous is said to hold its Application OutOfSync", () => {
    const bare = obj("v1", "ConfigMap", "x", {}, { "argocd.argoproj.io/sync-options": "Prune=false" });
    const [l] = findLeftovers([snap(1, [bare]), snap(2, [])]).clusters[0]!.leftovers;
    expect(l!.holdsAppOutOfSync).toBe(true);
    expect(formatLeftovers({ clusters: [{ cluster: "c", leftovers: [l!] }], commits: 2 }, "text")).toMatch(
      /keeps the Application OutOfSync until deleted/,
    );
  });
});

describe("sync-extraneous rule", () => {
  it("asks for IgnoreExtraneous on an object with Prune=false, and is silent with it or without Prune=false", () => {
    const rc = (annotations: Record<string, string>) => ({
      cluster: "c",
      objects: [obj("v1", "ConfigMap", "x", {}, annotations)],
      origins: ["f.yaml"],
    });
    const rules = (a: Record<string, string>) => syncSafetyRules(rc(a)).filter((f) => f.rule === "sync-extraneous");
    expect(rules({ ...SYNC_SAFE })).toEqual([]);
    expect(rules({})).toEqual([]);
    const [f] = rules({
      "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
      "argocd.argoproj.io/compare-options": "ServerSideDiff=true",
    });
    expect(f?.message).toContain("argocd.argoproj.io/compare-options: ServerSideDiff=true,IgnoreExtraneous");
  });
});

// --- a repository with a real history, real kustomize -------------------------------------------------------------

const quiet = () => undefined;
let repo: string;
const cleanups: (() => Promise<void>)[] = [];

async function edit(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`test setup: ${String(from)} not found in ${file}`);
  await writeFile(file, next);
}
async function step(message: string, change: () => Promise<void>): Promise<void> {
  await change();
  await generateCommand({ cwd: repo, log: quiet });
  await git(repo, "add", "--all");
  await git(repo, "commit", "--quiet", "-m", message);
}

beforeAll(async () => {
  const t = await tempDir("capi-gitops-leftovers-");
  cleanups.push(t.cleanup);
  repo = path.join(t.dir, "repo");
  await initRepo(repo);
  await step("two clusters", async () => {
    await newClusterCommand({
      cwd: repo,
      flags: { name: "demo", region: "us-east-2", workers: "MachinePool", kubernetesVersion: "v1.34.3" },
      render: false,
      log: quiet,
    });
    await newClusterCommand({
      cwd: repo,
      flags: { name: "md", region: "us-east-2", workers: "MachineDeployment", kubernetesVersion: "v1.34.3" },
      render: false,
      log: quiet,
    });
  });
  // An instance-type change: the control plane of demo, the pool of md (new hash-named templates).
  await step("instance types", async () => {
    await edit(
      path.join(repo, "clusters/demo/cluster.yaml"),
      /(controlPlane:\n(?:\s+.*\n)*?\s+instanceType: )t3\.large/,
      "$1m6i.large",
    );
    await edit(
      path.join(repo, "clusters/md/cluster.yaml"),
      /(nodePools:\n(?:\s+.*\n)*?\s+instanceType: )t3\.large/,
      "$1m6i.large",
    );
  });
  // A pool rename: demo's pool default → general.
  await step("rename demo's pool", () =>
    edit(path.join(repo, "clusters/demo/cluster.yaml"), /(nodePools:\n\s+- name: )default/, "$1general"),
  );
  // An upgrade (a minor up, as `upgrade` writes it for the control plane): the CCM payload moves.
  await step("upgrade demo to v1.35", () =>
    edit(path.join(repo, "clusters/demo/cluster.yaml"), "kubernetesVersion: v1.34.3", "kubernetesVersion: v1.35.0"),
  );
  await step("an unrelated change", () => writeFile(path.join(repo, "NOTES.md"), "notes\n"));
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("leftoversCommand (real git history, real kustomize)", () => {
  it("lists what each change left behind, and every leftover carries IgnoreExtraneous", async () => {
    const { report, findings } = await leftoversCommand({ cwd: repo });
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);
    // The commits that changed a render (the unrelated one is not rendered) and HEAD.
    expect(report.commits).toBe(5);
    const byCluster = Object.fromEntries(
      report.clusters.map((c) => [
        c.cluster,
        c.leftovers.map(
          (l) => `${l.role} ${l.kind} ${l.name.replace(/-[0-9a-f]{8}$/, "-<hash>")} dropped by ${l.droppedBy.subject}`,
        ),
      ]),
    );
    expect(byCluster.demo).toEqual([
      "pool MachinePool demo-default dropped by rename demo's pool",
      "pool-part AWSMachinePool demo-default dropped by rename demo's pool",
      "bootstrap-config KubeadmConfig demo-default-<hash> dropped by rename demo's pool",
      "template AWSMachineTemplate demo-control-plane-<hash> dropped by instance types",
      "addon-payload ConfigMap demo-addon-aws-ccm-v1.34.3 dropped by upgrade demo to v1.35",
    ]);
    expect(byCluster.md).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^template AWSMachineTemplate md-default-.*<hash> dropped by instance types$/),
      ]),
    );
    const all = report.clusters.flatMap((c) => c.leftovers);
    // Every object history leaves behind carries IgnoreExtraneous: none holds its Application OutOfSync.
    expect(all.filter((l) => l.holdsAppOutOfSync)).toEqual([]);
    for (const l of all) expect(l.deleteCommand).toMatch(new RegExp(`^kubectl delete \\S+ ${l.name} -n ${l.cluster}$`));
  });

  it("--since limits the history; the CLI prints the delete lines and exits 0", async () => {
    const since = await git(repo, "rev-parse", "HEAD~2");
    const { report } = await leftoversCommand({ cwd: repo, since, clusters: ["demo"] });
    expect(report.clusters.map((c) => c.cluster)).toEqual(["demo"]);
    expect(report.clusters[0]!.leftovers.map((l) => l.droppedBy.subject)).toEqual(["upgrade demo to v1.35"]);
    const cli = await runCli(["leftovers", "demo", "--since", since, "--repo", repo]);
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toContain("kubectl delete configmap demo-addon-aws-ccm-v1.34.3 -n demo");
    expect(cli.stdout).toContain("nothing is deleted");
  });
});
