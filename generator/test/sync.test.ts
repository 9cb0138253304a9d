/** Sync manifests: complete for Argo CD and for Flux, validated against their real schemas, and CAPI-safe. */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { argoObjects, fluxObjects, planSync, RING_LABEL } from "../src/plan/sync.js";
import { rollingSyncStep, fluxWaitsFor } from "../src/validate/ring-order.js";
import type { K8sObject } from "../src/k8s/object.js";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { generatedApplications } from "../src/validate/sync-check.js";
import { parseSpecText } from "../src/cluster-spec/parse.js";
import { fixtureSpecs, readTree, tempDir } from "./helpers.js";

const configText = (gitops: "argocd" | "flux", extra = "") =>
  `apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n` +
  `repoURL: https://git.example.com/platform/capi.git\nbranch: main\ngitops: ${gitops}\n${extra}`;
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
      expect(
        parseRepoConfig(configText("argocd").replace("https://git.example.com/platform/capi.git", url)).findings,
      ).toEqual([]);
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
    expect(appset.spec.generators[0]!.git.files).toEqual([{ path: "clusters/*/cluster.yaml" }]);
    expect(appset.spec.goTemplate).toBe(true);
    expect(appset.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
    expect((appset.spec.template.metadata as { finalizers?: string[] }).finalizers).toBeUndefined();
    expect(appset.spec.template.spec.syncPolicy.syncOptions).toEqual(
      expect.arrayContaining(["ServerSideApply=true", "RespectIgnoreDifferences=true"]),
    );
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
    expect(source.spec).toMatchObject({
      url: "https://git.example.com/platform/capi.git",
      ref: { branch: "main" },
      secretRef: { name: "git-credentials" },
    });
    expect(kustomizations.map((k) => k.spec.path)).toEqual([
      "./clusters/demo",
      "./clusters/edge-md",
      "./clusters/payments-prod",
    ]);
    for (const k of kustomizations)
      expect(k.spec).toMatchObject({
        prune: true,
        deletionPolicy: "Orphan",
        sourceRef: { kind: "GitRepository", name: "capi-gitops" },
      });
  });
});

describe.each(["argocd", "flux"] as const)("a %s repository", (engine) => {
  it(`validates (sync manifests and providers included) and removing a cluster directory has no path to deleting its \
objects`, async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), configText(engine));
    const log = () => {};
    await newClusterCommand({
      cwd: t.dir,
      log,
      flags: { name: "keep", region: "eu-west-1", imageLookupOrg: "123456789012" },
    });
    await newClusterCommand({
      cwd: t.dir,
      log,
      flags: { name: "gone", region: "eu-west-1", imageLookupOrg: "123456789012" },
    });
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
    for (const o of goneObjects.filter((x) =>
      ["AWSCluster", "AWSMachinePool", "AWSMachineTemplate", "Cluster", "KubeadmControlPlane", "MachinePool"].includes(
        x.kind,
      ),
    )) {
      expect(o.metadata.annotations["argocd.argoproj.io/sync-options"]).toBe("Prune=false,Delete=false");
      expect(o.metadata.annotations["kustomize.toolkit.fluxcd.io/prune"]).toBe("disabled");
    }
    if (engine === "argocd") {
      // The ApplicationSet drops the Application and preserves its resources; no finalizer cascades.
      const appset = syncAfter.find((o) => o.kind === "ApplicationSet");
      expect(appset.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
      expect(appset.spec.template.metadata.finalizers).toBeUndefined();
      expect(syncAfter.find((o) => o.kind === "AppProject").spec.destinations.map((d: any) => d.namespace)).toEqual([
        "keep",
      ]);
    } else {
      // The removed cluster's Flux Kustomization disappears; it orphans (does not delete) what it applied.
      const names = (objs: any[]) =>
        objs
          .filter((o) => o.kind === "Kustomization" && o.metadata.name.startsWith("cluster-"))
          .map((o) => o.metadata.name);
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
    await newClusterCommand({
      cwd: t.dir,
      log: () => {},
      flags: { name: "one", region: "eu-west-1", imageLookupOrg: "123456789012" },
    });
    await generateCommand({ cwd: t.dir, log: () => {} });
    const file = engine === "argocd" ? "management/sync/applicationset.yaml" : "management/sync/clusters/one.yaml";
    const text = await readFile(path.join(t.dir, file), "utf8");
    await writeFile(
      path.join(t.dir, file),
      engine === "argocd"
        ? text.replace("preserveResourcesOnDeletion: true", "preserveResourcesOnDeletion: false\n    typoField: 1")
        : text.replace("deletionPolicy: Orphan", "deletionPolicy: Delete\n  typoField: 1"),
    );
    const rules = (await validateCommand({ cwd: t.dir })).findings.map((f) => `${f.rule} ${f.file}`);
    expect(rules).toContain(`generated-drift ${file}`);
    expect(rules).toContain(`kubeconform management/sync/kustomization.yaml`);
    expect(rules).toContain("sync-safety management/sync/kustomization.yaml");
  });
});

describe("issue 9: what the sync engine would do", () => {
  const setup = async (engine: "argocd" | "flux", clusters: { name: string; namespace?: string }[]) => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), configText(engine));
    for (const c of clusters)
      await newClusterCommand({
        cwd: t.dir,
        log: () => {},
        flags: { name: c.name, namespace: c.namespace, region: "eu-west-1", imageLookupOrg: "123456789012" },
      });
    await generateCommand({ cwd: t.dir, log: () => {} });
    return t.dir;
  };
  const errors = async (dir: string) =>
    (await validateCommand({ cwd: dir, cache: false, skipCel: true })).findings.filter((f) => f.severity === "error");

  it(`1: a cluster whose namespace differs from its name gets an Application into its namespace, \
which its project permits`, async () => {
    const dir = await setup("argocd", [{ name: "bar", namespace: "team-a" }]);
    expect(await errors(dir)).toEqual([]);
    const objects = parseYamlStream(await kustomizeBuild(dir, "management/sync")) as any[];
    const { apps } = generatedApplications(
      objects,
      new Map([["clusters/bar/cluster.yaml", await readFile(path.join(dir, "clusters/bar/cluster.yaml"), "utf8")]]),
      "x",
    );
    expect(apps).toEqual([
      expect.objectContaining({
        name: "cluster-bar",
        namespace: "team-a",
        path: "clusters/bar",
        project: "capi-clusters",
      }),
    ]);
    // The fields the spec load read (ParseResult.data) serve instead of reading the file again: the same
    // Application (the text here is not even YAML, so only the fields can have made it).
    const specPath = "clusters/bar/cluster.yaml";
    const { data } = parseSpecText(await readFile(path.join(dir, specPath), "utf8"), specPath);
    expect(data?.namespace).toBe("team-a");
    const known = generatedApplications(
      objects,
      new Map([[specPath, "not: [yaml"]]),
      "x",
      new Map([[specPath, data!]]),
    );
    expect(known).toEqual({ apps, findings: [] });
    // A spec without the namespace field: the template falls back to its default, the name (= the directory).
    const { apps: dflt } = generatedApplications(
      objects,
      new Map([["clusters/baz/cluster.yaml", "name: baz\nregion: eu-west-1\n"]]),
      "x",
    );
    expect(dflt[0]?.namespace).toBe("baz");
  });

  it(`1: validate checks every Application against its AppProject as Argo CD would (destination, source, \
kinds)`, async () => {
    const dir = await setup("argocd", [{ name: "bar", namespace: "team-a" }]);
    const projectFile = path.join(dir, "management/sync/appproject.yaml");
    const text = await readFile(projectFile, "utf8");
    const edited = text
      .replace("namespace: team-a", "namespace: bar")
      .replace("https://git.example.com/platform/capi.git", "https://git.example.com/other/*");
    expect(edited).not.toBe(text);
    await writeFile(projectFile, edited);
    // An object of a kind the project does not allow, from the cluster's own overlay.
    await writeFile(
      path.join(dir, "clusters/bar/cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    );
    const k = path.join(dir, "clusters/bar/kustomization.yaml");
    const overlay = await readFile(k, "utf8");
    expect(overlay).toMatch(/resources:\n/);
    await writeFile(k, overlay.replace(/resources:\n/, "resources:\n  - cm.yaml\n"));
    const found = (await errors(dir)).filter((f) => f.rule === "argocd-project");
    expect(found.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "Application/cluster-bar:spec.destination",
        "Application/cluster-bar:spec.source.repoURL",
        "Application/cluster-bar:ConfigMap/extra",
      ]),
    );
    expect(found.every((f) => f.cluster === "bar" && f.file === "clusters/bar/cluster.yaml")).toBe(true);
  });

  it.each(["argocd", "flux"] as const)(
    "2: a %s repository: a directory under clusters/ without cluster.yaml is an error, not skipped",
    async (engine) => {
      const dir = await setup(engine, [{ name: "one" }, { name: "two" }]);
      // A raw kustomization and manifests; a cluster whose cluster.yaml was removed.
      await mkdir(path.join(dir, "clusters/raw"));
      await writeFile(path.join(dir, "clusters/raw/kustomization.yaml"), "resources:\n  - cm.yaml\n");
      await writeFile(
        path.join(dir, "clusters/raw/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: raw\n",
      );
      await rm(path.join(dir, "clusters/two/cluster.yaml"));
      // A staging folder of new-cluster is not a cluster.
      await mkdir(path.join(dir, "clusters/.new-three-abcd"));
      const found = (await errors(dir)).filter((f) => f.rule === "cluster-dir-unvalidated");
      expect(found.map((f) => f.file)).toEqual(["clusters/raw/", "clusters/two/"]);
      expect(found[0]!.message).toMatch(/cluster\.yaml/);
    },
  );

  it("2: the ApplicationSet makes Applications only from spec files; a directories generator is reported", async () => {
    const dir = await setup("argocd", [{ name: "one" }]);
    const objects = parseYamlStream(await kustomizeBuild(dir, "management/sync")) as any[];
    const { apps } = generatedApplications(
      objects,
      new Map([
        ["clusters/one/cluster.yaml", "name: one\n"],
        ["clusters/raw/kustomization.yaml", "resources: []\n"],
      ]),
      "x",
    );
    expect(apps.map((a) => a.name)).toEqual(["cluster-one"]);
    const appset = objects.find((o) => o.kind === "ApplicationSet");
    appset.spec.generators = [{ git: { repoURL: "x", revision: "main", directories: [{ path: "clusters/*" }] } }];
    expect(generatedApplications(objects, new Map(), "x").findings.map((f) => f.rule)).toEqual(["argocd-applications"]);
  });

  it("2: Flux: a Kustomization for a directory that is not a validated cluster is an error", async () => {
    const dir = await setup("flux", [{ name: "one" }]);
    await writeFile(
      path.join(dir, "management/sync/clusters/stray.yaml"),
      (await readFile(path.join(dir, "management/sync/clusters/one.yaml"), "utf8")).replaceAll("one", "stray"),
    );
    const k = path.join(dir, "management/sync/kustomization.yaml");
    const text = await readFile(k, "utf8");
    expect(text).toContain("  - clusters/one.yaml");
    await writeFile(k, text.replace("  - clusters/one.yaml", "  - clusters/one.yaml\n  - clusters/stray.yaml"));
    const found = (await errors(dir)).filter((f) => f.rule === "flux-kustomizations");
    expect(found).toEqual([expect.objectContaining({ path: "Kustomization/cluster-stray:spec.path" })]);
  });

  it(`3: Argo CD: the sync layer syncs itself with its own project, which permits it \
(and validate checks it)`, async () => {
    const dir = await setup("argocd", [{ name: "one" }]);
    const objects = parseYamlStream(await kustomizeBuild(dir, "management/sync")) as any[];
    const app = objects.find((o) => o.kind === "Application" && o.metadata.name === "capi-gitops-sync");
    expect(app.spec).toMatchObject({
      project: "capi-clusters-sync",
      source: { path: "management/sync", repoURL: "https://git.example.com/platform/capi.git" },
      destination: { namespace: "argocd" },
    });
    expect(app.metadata.finalizers).toBeUndefined();
    const syncProject = objects.find((o) => o.kind === "AppProject" && o.metadata.name === "capi-clusters-sync");
    expect(syncProject.spec.destinations).toEqual([{ server: "https://kubernetes.default.svc", namespace: "argocd" }]);
    // The clusters' project never gets Argo CD's namespace.
    expect(
      objects
        .find((o) => o.kind === "AppProject" && o.metadata.name === "capi-clusters")
        .spec.destinations.map((d: any) => d.namespace),
    ).toEqual(["one"]);
    expect(await errors(dir)).toEqual([]);
    // Put the bootstrap Application into the clusters' project: Argo CD would refuse it, and validate says so.
    const f = path.join(dir, "management/sync/sync-application.yaml");
    const text = await readFile(f, "utf8");
    expect(text).toContain("project: capi-clusters-sync");
    await writeFile(f, text.replace("project: capi-clusters-sync", "project: capi-clusters"));
    const found = (await errors(dir)).filter((x) => x.rule === "argocd-project");
    expect(found.map((x) => x.path)).toContain("Application/capi-gitops-sync:spec.destination");
    expect(
      found.some(
        (x) =>
          x.path?.startsWith("Application/capi-gitops-sync:AppProject/") &&
          /namespaceResourceWhitelist/.test(x.message),
      ),
    ).toBe(true);
  });

  it("3: Flux: a Kustomization syncs ./management/sync itself and orphans on deletion", async () => {
    const dir = await setup("flux", [{ name: "one" }]);
    const objects = parseYamlStream(await kustomizeBuild(dir, "management/sync")) as any[];
    const self = objects.find((o) => o.kind === "Kustomization" && o.metadata.name === "capi-gitops-sync");
    expect(self.spec).toMatchObject({
      path: "./management/sync",
      deletionPolicy: "Orphan",
      sourceRef: { kind: "GitRepository", name: "capi-gitops" },
    });
    expect(await errors(dir)).toEqual([]);
  });
});

describe("rings: a change reaches the rings one after the other", () => {
  const RINGS = "rollout:\n  rings:\n  - name: canary\n  - name: early\n    maxUpdate: 10%\n  - name: main\n";
  const ringOf: Record<string, string | undefined> = { "edge-md": "canary", "payments-prod": "early", demo: undefined };
  const specs = fixtureSpecs().map((s) => ({ ...s, rollout: ringOf[s.name] ? { ring: ringOf[s.name] } : undefined }));
  const specFiles = new Map(
    specs.map((s) => [
      `clusters/${s.name}/cluster.yaml`,
      `name: ${s.name}\nregion: ${s.region}\n${s.rollout?.ring ? `rollout:\n  ring: ${s.rollout.ring}\n` : ""}`,
    ]),
  );

  it("Argo CD: one RollingSync step per ring selecting the ring label, maxUpdate where declared", () => {
    const { appset, health } = argoObjects(config("argocd", RINGS), specs);
    expect(appset.spec.strategy).toEqual({
      type: "RollingSync",
      rollingSync: {
        steps: [
          { matchExpressions: [{ key: RING_LABEL, operator: "In", values: ["canary"] }] },
          { matchExpressions: [{ key: RING_LABEL, operator: "In", values: ["early"] }], maxUpdate: "10%" },
          { matchExpressions: [{ key: RING_LABEL, operator: "In", values: ["main"] }] },
        ],
      },
    });
    // The template labels each Application with its spec's ring, the last ring when the spec names none.
    expect(appset.spec.template.metadata.labels).toEqual({
      "app.kubernetes.io/part-of": "capi-gitops",
      [RING_LABEL]: '{{ dig "rollout" "ring" "main" . }}',
    });
    // The controller flag without which Argo CD ignores the strategy, merged into argocd-cmd-params-cm.
    expect(health.progressiveSyncs?.data).toEqual({ "applicationsetcontroller.enable.progressive.syncs": "true" });
    const { apps } = generatedApplications([appset], specFiles, "x");
    expect(apps.map((a) => [a.name, a.labels?.[RING_LABEL]])).toEqual([
      ["cluster-demo", "main"],
      ["cluster-edge-md", "canary"],
      ["cluster-payments-prod", "early"],
    ]);
    // Argo CD's step selection (progressive_sync.go buildAppDependencyList): canary first, then early, then main.
    expect(Object.fromEntries(rollingSyncStep(appset as unknown as K8sObject, apps) ?? [])).toEqual({
      "cluster-edge-md": 0,
      "cluster-payments-prod": 1,
      "cluster-demo": 2,
    });
  });

  it("Argo CD: one ring (the default) orders nothing: no strategy, no ring label, no controller flag", () => {
    const { appset, health } = argoObjects(config("argocd"), fixtureSpecs());
    expect(appset.spec.strategy).toBeUndefined();
    expect(appset.spec.template.metadata.labels).toEqual({ "app.kubernetes.io/part-of": "capi-gitops" });
    expect(health.progressiveSyncs).toBeUndefined();
    expect(planSync(config("argocd"), fixtureSpecs()).some((f) => f.path.includes("argocd-cmd-params-cm"))).toBe(false);
  });

  it("Argo CD: the step selection follows Argo CD's rules for absent labels and NotIn", () => {
    const appset = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "ApplicationSet",
      metadata: { name: "x" },
      spec: {
        strategy: {
          type: "RollingSync",
          rollingSync: {
            steps: [
              { matchExpressions: [{ key: "r", operator: "In", values: ["a"] }] },
              { matchExpressions: [{ key: "r", operator: "NotIn", values: ["a"] }] },
            ],
          },
        },
      },
    } as K8sObject;
    const steps = rollingSyncStep(appset, [
      { name: "a", labels: { r: "a" } },
      { name: "b", labels: { r: "b" } },
      { name: "none", labels: {} },
    ]);
    expect(Object.fromEntries(steps ?? [])).toEqual({ a: 0, b: 1, none: 1 });
  });

  it("Flux: each cluster waits for the previous ring's clusters (an empty ring is skipped)", () => {
    const withEmpty = config("flux", RINGS.replace("  - name: main\n", "  - name: empty\n  - name: main\n"));
    const { kustomizations } = fluxObjects(withEmpty, specs);
    const deps = Object.fromEntries(
      kustomizations.map((k) => [k.metadata.name, (k.spec.dependsOn ?? []).map((d) => d.name)]),
    );
    expect(deps).toEqual({
      "cluster-demo": ["capi-gitops-management-providers", "cluster-payments-prod"],
      "cluster-edge-md": ["capi-gitops-management-providers"],
      "cluster-payments-prod": ["capi-gitops-management-providers", "cluster-edge-md"],
    });
    // What kustomize-controller waits for through dependsOn: main waits for early and, through it, for canary.
    const waits = fluxWaitsFor(kustomizations);
    expect([...(waits.get("flux-system/cluster-demo") ?? [])].filter((n) => n.includes("/cluster-")).sort()).toEqual([
      "flux-system/cluster-edge-md",
      "flux-system/cluster-payments-prod",
    ]);
    // One ring: only the management layer.
    for (const k of fluxObjects(config("flux"), specs).kustomizations)
      expect(k.spec.dependsOn).toEqual([{ name: "capi-gitops-management-providers" }]);
  });

  describe.each(["argocd", "flux"] as const)("a %s repository with rings", (engine) => {
    it("validates against the pinned CRDs (CEL included); validate finds sync manifests off ring order", async () => {
      const t = await tempDir();
      cleanups.push(t.cleanup);
      await writeFile(path.join(t.dir, "capi-gitops.yaml"), configText(engine, RINGS));
      for (const [name, ring] of [
        ["first", "canary"],
        ["second", "early"],
        ["third", undefined],
      ] as const)
        await newClusterCommand({
          cwd: t.dir,
          log: () => {},
          flags: { name, region: "eu-west-1", imageLookupOrg: "123456789012", ring },
        });
      expect(await readFile(path.join(t.dir, "clusters/first/cluster.yaml"), "utf8")).toContain(
        "rollout:\n  ring: canary",
      );
      expect(await readFile(path.join(t.dir, "clusters/third/cluster.yaml"), "utf8")).not.toContain("rollout");
      await generateCommand({ cwd: t.dir, log: () => {} });
      // kubeconform and kubectl-validate (CEL) check management/sync against the pinned Argo CD / Flux CRDs.
      expect(
        (await validateCommand({ cwd: t.dir, cache: false })).findings.filter((f) => f.severity !== "info"),
      ).toEqual([]);
      const file = engine === "argocd" ? "management/sync/applicationset.yaml" : "management/sync/clusters/third.yaml";
      const text = await readFile(path.join(t.dir, file), "utf8");
      const swapped =
        engine === "argocd"
          ? text.replace("- canary", "- early-x").replace("- early\n", "- canary\n").replace("- early-x", "- early")
          : text.replace(/\n {4}- name: cluster-second/, "");
      expect(swapped).not.toBe(text);
      await writeFile(path.join(t.dir, file), swapped);
      const found = (await validateCommand({ cwd: t.dir, cache: false, skipCel: true })).findings.filter(
        (f) => f.rule === "sync-ring-order",
      );
      expect(found.map((f) => f.cluster).sort()).toEqual(
        engine === "argocd" ? ["first", "second"] : ["third", "third"],
      );
      expect(found.map((f) => f.message).join("\n")).toMatch(
        engine === "argocd"
          ? /step 2, not in its ring's step 1/
          : /does not wait for cluster-first of the earlier ring canary[^]*does not wait for cluster-second/,
      );
      // A misspelt field of the strategy is a schema finding: the sync manifests are checked against the CRDs.
      if (engine === "argocd") {
        await writeFile(path.join(t.dir, file), text.replace("rollingSync:", "rollingSynk:"));
        const rules = (await validateCommand({ cwd: t.dir, cache: false, skipCel: true })).findings.map((f) => f.rule);
        expect(rules).toContain("kubeconform");
      }
    });
  });
});
