/** Sync manifests: complete for Argo CD and for Flux, validated against their real schemas, and CAPI-safe. */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { argoObjects, fluxObjects } from "../src/plan/sync.js";
import { parseRepoConfig, type RepoConfig } from "../src/spec/config.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { parseYamlStream } from "../src/yaml.js";
import { fixtureSpecs, readTree, tempDir } from "./helpers.js";

const configText = (gitops: "argocd" | "flux", extra = "") =>
  `apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/platform/capi.git\nbranch: main\ngitops: ${gitops}\n${extra}`;
const config = (gitops: "argocd" | "flux", extra = ""): RepoConfig => {
  const r = parseRepoConfig(configText(gitops, extra));
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("repository config", () => {
  it.each([
    ["missing repoURL", "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n", ""],
    ["unknown engine", configText("argocd").replace("gitops: argocd", "gitops: fleet"), "gitops"],
    ["unknown field", configText("argocd", "typo: 1\n"), ""],
    ["bad URL", configText("argocd").replace("https://git.example.com/platform/capi.git", "not a url"), "repoURL"],
  ])("%s is a finding", (_l, text, p) => {
    const r = parseRepoConfig(text);
    expect(r.config).toBeUndefined();
    expect(r.findings[0]?.file).toBe("capi-gitops.yaml");
    if (p) expect(r.findings.map((f) => f.path)).toContain(p);
  });
});

describe("repository config: what the engines would accept but must not be in Git", () => {
  it.each([
    ["https://user:token@git.example.com/platform/capi.git"],
    ["https://ghp_abc123@github.com/platform/capi.git"],
    ["ssh://git:secret@git.example.com/platform/capi.git"],
  ])("6: a repoURL with credentials (%s) is refused and says where to put them", (url) => {
    const r = parseRepoConfig(configText("argocd").replace("https://git.example.com/platform/capi.git", url));
    expect(r.config).toBeUndefined();
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ file: "capi-gitops.yaml", path: "repoURL", severity: "error" });
    expect(r.findings[0]!.message).toMatch(/credentials.*Secret.*secretRef/s);
  });
  it("6: SSH URLs naming only the user are accepted", () => {
    for (const url of ["ssh://git@git.example.com/platform/capi.git", "git@github.com:platform/capi.git"])
      expect(parseRepoConfig(configText("argocd").replace("https://git.example.com/platform/capi.git", url)).findings).toEqual([]);
  });
  it("5: argocd.project default (Argo CD's built-in project) is refused", () => {
    const r = parseRepoConfig(configText("argocd", "argocd:\n  project: default\n"));
    expect(r.config).toBeUndefined();
    expect(r.findings[0]).toMatchObject({ file: "capi-gitops.yaml", path: "argocd.project", severity: "error" });
    expect(r.findings[0]!.message).toMatch(/built-in project/);
  });
});

describe("Argo CD objects", () => {
  const specs = fixtureSpecs();
  const { project, appset } = argoObjects(config("argocd"), specs);
  it("one Application per clusters/* directory, never cascading", () => {
    expect(appset.spec.generators[0]!.git.directories).toEqual([{ path: "clusters/*" }]);
    expect(appset.spec.goTemplate).toBe(true);
    expect(appset.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
    expect((appset.spec.template.metadata as { finalizers?: string[] }).finalizers).toBeUndefined();
    expect(appset.spec.template.spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(["ServerSideApply=true", "RespectIgnoreDifferences=true"]));
    expect(appset.spec.template.spec.ignoreDifferences).toEqual([
      { group: "cluster.x-k8s.io", kind: "MachinePool", jsonPointers: ["/spec/replicas"] },
      { group: "cluster.x-k8s.io", kind: "MachineDeployment", jsonPointers: ["/spec/replicas"] },
    ]);
  });
  it("the project allows exactly the clusters' namespaces and the CAPI groups", () => {
    expect(project.spec.destinations.map((d) => d.namespace)).toEqual(["demo", "edge-md", "payments"]);
    expect(project.spec.sourceRepos).toEqual(["https://git.example.com/platform/capi.git"]);
    expect(project.spec.clusterResourceWhitelist).toEqual([{ group: "", kind: "Namespace" }]);
  });
});

describe("Flux objects", () => {
  const specs = fixtureSpecs();
  it("a GitRepository and one Kustomization per cluster that orphans on deletion", () => {
    const { source, kustomizations } = fluxObjects(config("flux", "flux:\n  secretRef: git-credentials\n"), specs);
    expect(source.spec).toMatchObject({ url: "https://git.example.com/platform/capi.git", ref: { branch: "main" }, secretRef: { name: "git-credentials" } });
    expect(kustomizations.map((k) => k.spec.path)).toEqual(["./clusters/demo", "./clusters/edge-md", "./clusters/payments-prod"]);
    for (const k of kustomizations) expect(k.spec).toMatchObject({ prune: true, deletionPolicy: "Orphan", sourceRef: { kind: "GitRepository", name: "capi-gitops" } });
  });
});

describe.each(["argocd", "flux"] as const)("a %s repository", (engine) => {
  it("validates (sync manifests and providers included) and removing a cluster directory has no path to deleting its objects", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), configText(engine));
    const log = () => {};
    await newClusterCommand({ cwd: t.dir, log, flags: { name: "keep", region: "eu-west-1" } });
    await newClusterCommand({ cwd: t.dir, log, flags: { name: "gone", region: "eu-west-1" } });
    await generateCommand({ cwd: t.dir, log });
    const v = await validateCommand({ cwd: t.dir });
    expect(v.findings).toEqual([]);

    const syncBefore = parseYamlStream(await kustomizeBuild(t.dir, "management/sync")) as any[];
    const providers = parseYamlStream(await kustomizeBuild(t.dir, "management/providers")) as any[];
    expect(providers.find((p) => p.kind === "InfrastructureProvider").spec.manager.featureGates.MachinePool).toBe(true);
    const goneObjects = parseYamlStream(await kustomizeBuild(t.dir, "clusters/gone")) as any[];

    await rm(path.join(t.dir, "clusters/gone"), { recursive: true });
    await generateCommand({ cwd: t.dir, log });
    const syncAfter = parseYamlStream(await kustomizeBuild(t.dir, "management/sync")) as any[];
    expect(Object.keys(await readTree(t.dir)).some((p) => p.includes("gone"))).toBe(false);

    // Every object of the removed cluster is exempt from pruning and deletion by both engines.
    for (const o of goneObjects.filter((x) => ["AWSCluster", "AWSMachinePool", "AWSMachineTemplate", "Cluster", "KubeadmControlPlane", "MachinePool"].includes(x.kind))) {
      expect(o.metadata.annotations["argocd.argoproj.io/sync-options"]).toBe("Prune=false,Delete=false");
      expect(o.metadata.annotations["kustomize.toolkit.fluxcd.io/prune"]).toBe("disabled");
    }
    if (engine === "argocd") {
      // The ApplicationSet drops the Application and preserves its resources; no finalizer cascades.
      const appset = syncAfter.find((o) => o.kind === "ApplicationSet");
      expect(appset.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
      expect(appset.spec.template.metadata.finalizers).toBeUndefined();
      expect(syncAfter.find((o) => o.kind === "AppProject").spec.destinations.map((d: any) => d.namespace)).toEqual(["keep"]);
    } else {
      // The removed cluster's Flux Kustomization disappears; it orphans (does not delete) what it applied.
      const names = (objs: any[]) => objs.filter((o) => o.kind === "Kustomization").map((o) => o.metadata.name);
      expect(names(syncBefore)).toEqual(["cluster-gone", "cluster-keep"]);
      expect(names(syncAfter)).toEqual(["cluster-keep"]);
      expect(syncBefore.find((o) => o.metadata.name === "cluster-gone").spec.deletionPolicy).toBe("Orphan");
    }
    expect((await validateCommand({ cwd: t.dir })).summary.errors).toBe(0);
  });

  it("validate rejects an unsafe or mistyped sync manifest", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), configText(engine));
    await newClusterCommand({ cwd: t.dir, log: () => {}, flags: { name: "one", region: "eu-west-1" } });
    await generateCommand({ cwd: t.dir, log: () => {} });
    const file = engine === "argocd" ? "management/sync/applicationset.yaml" : "management/sync/clusters/one.yaml";
    const text = await readFile(path.join(t.dir, file), "utf8");
    await writeFile(path.join(t.dir, file), engine === "argocd" ? text.replace("preserveResourcesOnDeletion: true", "preserveResourcesOnDeletion: false\n    typoField: 1") : text.replace("deletionPolicy: Orphan", "deletionPolicy: Delete\n  typoField: 1"));
    const rules = (await validateCommand({ cwd: t.dir })).findings.map((f) => `${f.rule} ${f.file}`);
    expect(rules).toContain(`generated-drift ${file}`);
    expect(rules).toContain(`kubeconform management/sync/kustomization.yaml`);
    expect(rules).toContain("sync-safety management/sync/kustomization.yaml");
  });
});
