/** Which clusters a change affects: the pure dependency walk (in memory) and real git repositories. */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { generateCommand } from "../src/commands/generate.js";
import { affectedBy, affectedClusters, clustersInPaths } from "../src/repo/affected.js";
import {
  dependencies,
  dependsOn,
  isRemote,
  kustomizationRefs,
  parseKustomization,
  resolveRef,
  type ReadFile,
} from "../src/kustomize/walk.js";
import { tempDir } from "./helpers.js";
import { commitAll, git, initRepo } from "./helpers/repo.js";

const memory =
  (files: Record<string, string>): ReadFile =>
  (p) =>
    files[p];

describe("resolveRef / isRemote", () => {
  it.each([
    ["clusters/a", "generated", "clusters/a/generated"],
    ["clusters/a/generated", "../../../base/cluster", "base/cluster"],
    ["clusters/a/generated", "../../../base/cluster/", "base/cluster"],
    ["clusters/a/generated", "./namespace.yaml", "clusters/a/generated/namespace.yaml"],
    ["clusters/a", "../../..", undefined],
    ["clusters/a", "/etc/passwd", undefined],
    ["", "base", "base"],
    ["base", "..", ""],
  ])("%s + %s → %s", (dir, ref, expected) => expect(resolveRef(dir, ref)).toBe(expected));

  it.each([
    ["https://github.com/org/repo//deploy?ref=v1", true],
    ["git@github.com:org/repo.git", true],
    ["github.com/org/repo/deploy?ref=main", true],
    ["ssh://git@host/repo", true],
    ["git::https://example.com/org/repo//deploy", true],
    ["gh:org/repo//deploy", true],
    ["deploy@git.example.com:org/repo.git", true],
    ["../../base/cluster", false],
    ["my-patch.yaml", false],
    ["namespace.yaml", false],
  ])("isRemote(%s) = %s", (ref, expected) => expect(isRemote(ref)).toBe(expected));
});

describe("kustomizationRefs", () => {
  it.each([
    [
      "resources and bases",
      { resources: ["a.yaml", "../b"], bases: ["../c"] },
      { dirsOrFiles: ["a.yaml", "../b", "../c"], files: [], remotes: [] },
    ],
    ["components", { components: ["../comp"] }, { dirsOrFiles: ["../comp"], files: [], remotes: [] }],
    [
      "patch paths, not inline patches",
      { patches: [{ path: "p.yaml" }, { patch: "- op: add\n" }] },
      { dirsOrFiles: [], files: ["p.yaml"], remotes: [] },
    ],
    [
      "strategic-merge paths, not inline documents",
      { patchesStrategicMerge: ["sm.yaml", "kind: X\nmetadata:\n  name: y\n"] },
      { dirsOrFiles: [], files: ["sm.yaml"], remotes: [] },
    ],
    [
      "json6902, replacements, configurations, crds, openapi",
      {
        patchesJson6902: [{ path: "j.yaml" }],
        replacements: [{ path: "r.yaml" }, { source: {} }],
        configurations: ["kc.yaml"],
        crds: ["crd.yaml"],
        openapi: { path: "o.json" },
      },
      { dirsOrFiles: [], files: ["j.yaml", "r.yaml", "kc.yaml", "crd.yaml", "o.json"], remotes: [] },
    ],
    [
      "generator files (key=path), envs",
      { configMapGenerator: [{ files: ["a.txt", "k=b.txt"], envs: ["e.env"] }], secretGenerator: [{ env: "s.env" }] },
      { dirsOrFiles: [], files: ["a.txt", "b.txt", "e.env", "s.env"], remotes: [] },
    ],
    [
      "remote resources are skipped",
      { resources: ["https://example.com/x.yaml", "github.com/o/r?ref=v1", "local.yaml"] },
      { dirsOrFiles: ["local.yaml"], files: [], remotes: ["https://example.com/x.yaml", "github.com/o/r?ref=v1"] },
    ],
    [
      "remote components, patches and an inline transformer's path",
      {
        components: ["gh:o/r//c"],
        patches: [{ path: "https://example.com/p.yaml" }],
        transformers: [
          "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: t\n" +
            "path: git::https://example.com/r//p.yaml\n",
        ],
      },
      {
        dirsOrFiles: [],
        files: [],
        remotes: ["gh:o/r//c", "https://example.com/p.yaml", "git::https://example.com/r//p.yaml"],
      },
    ],
    ["not a mapping", ["a"], { dirsOrFiles: [], files: [], remotes: [] }],
    ["null", null, { dirsOrFiles: [], files: [], remotes: [] }],
  ])("%s", (_l, doc, expected) => expect(kustomizationRefs(doc)).toEqual(expected));
});

const REPO: Record<string, string> = {
  "clusters/a/kustomization.yaml": "resources:\n  - generated\npatches:\n  - path: my-patch.yaml\n",
  "clusters/a/my-patch.yaml": "kind: X\n",
  "clusters/a/generated/kustomization.yaml":
    "resources:\n  - namespace.yaml\n  - ../../../base/cluster\n  - pools/default\ncomponents:\n" +
    "  - ../../../overlays/components/cluster-references\n",
  "clusters/a/generated/namespace.yaml": "kind: Namespace\n",
  "clusters/a/generated/pools/default/kustomization.yaml": "resources:\n  - ../../../../../base/machinepool\n",
  "clusters/md/kustomization.yml": "resources:\n  - generated\n",
  "clusters/md/generated/kustomization.yaml": "resources:\n  - ../../../base/cluster\n  - pools/default\n",
  "clusters/md/generated/pools/default/kustomization.yaml":
    "components:\n  - ../../../../../overlays/components/machinedeployment\n",
  "base/cluster/kustomization.yaml": "resources:\n  - cluster.yaml\n  - awscluster.yaml\n",
  "base/cluster/cluster.yaml": "kind: Cluster\n",
  "base/cluster/awscluster.yaml": "kind: AWSCluster\n",
  "base/machinepool/kustomization.yaml": "resources:\n  - machinepool.yaml\n",
  "base/machinepool/machinepool.yaml": "kind: MachinePool\n",
  "base/machinedeployment/templates/kustomization.yaml": "resources:\n  - awsmachinetemplate.yaml\n",
  "base/machinedeployment/templates/awsmachinetemplate.yaml": "kind: AWSMachineTemplate\n",
  "overlays/components/cluster-references/kustomization.yaml":
    "kind: Component\nconfigurations:\n  - kustomizeconfig.yaml\n",
  "overlays/components/cluster-references/kustomizeconfig.yaml": "nameReference: []\n",
  "overlays/components/machinedeployment/kustomization.yaml":
    "kind: Component\nresources:\n  - ../../../base/machinedeployment/templates\n",
  // A cycle must not loop forever.
  "loop/x/kustomization.yaml": "resources:\n  - ../y\n",
  "loop/y/kustomization.yaml": "resources:\n  - ../x\n  - missing.yaml\n",
  "broken/kustomization.yaml": "resources: [unclosed\n",
};

describe("parseKustomization", () => {
  it("parses a text once: the same frozen document for the same text, another one for an edited text", () => {
    const text = "resources:\n  - ../../base/cluster\n";
    const first = parseKustomization(text);
    expect(first?.doc).toEqual({ resources: ["../../base/cluster"] });
    expect(parseKustomization(`${text}`)?.doc).toBe(first?.doc);
    expect(Object.isFrozen(first?.doc)).toBe(true);
    expect(Object.isFrozen((first?.doc as { resources: string[] }).resources)).toBe(true);
    expect(parseKustomization(`${text}  - extra\n`)?.doc).not.toBe(first?.doc);
    expect(parseKustomization("resources: [")).toBeUndefined();
  });
});

describe("dependencies", () => {
  it("follows resources, components, patch paths and configurations into base/ and overlays/", () => {
    const deps = dependencies("clusters/a", memory(REPO));
    expect(deps.dirs).toEqual([
      "base/cluster",
      "base/machinepool",
      "clusters/a",
      "clusters/a/generated",
      "clusters/a/generated/pools/default",
      "overlays/components/cluster-references",
    ]);
    expect(deps.files).toEqual([
      "base/cluster/awscluster.yaml",
      "base/cluster/cluster.yaml",
      "base/cluster/kustomization.yaml",
      "base/machinepool/kustomization.yaml",
      "base/machinepool/machinepool.yaml",
      "clusters/a/generated/kustomization.yaml",
      "clusters/a/generated/namespace.yaml",
      "clusters/a/generated/pools/default/kustomization.yaml",
      "clusters/a/kustomization.yaml",
      "clusters/a/my-patch.yaml",
      "overlays/components/cluster-references/kustomization.yaml",
      "overlays/components/cluster-references/kustomizeconfig.yaml",
    ]);
  });

  it("finds kustomization.yml and reaches base/machinedeployment through a component", () => {
    const deps = dependencies("clusters/md", memory(REPO));
    expect(deps.files).toContain("clusters/md/kustomization.yml");
    expect(deps.files).toContain("base/machinedeployment/templates/awsmachinetemplate.yaml");
    expect(deps.files).not.toContain("base/machinepool/machinepool.yaml");
  });

  it(`survives cycles, keeps missing files (a deleted file changes the build), \
and counts an unparseable kustomization`, () => {
    expect(dependencies("loop/x", memory(REPO))).toEqual({
      dirs: ["loop/x", "loop/y"],
      files: ["loop/x/kustomization.yaml", "loop/y/kustomization.yaml", "loop/y/missing.yaml"],
      escapes: [],
      remotes: [],
    });
    expect(dependencies("broken", memory(REPO))).toEqual({
      dirs: ["broken"],
      files: ["broken/kustomization.yaml"],
      escapes: [],
      remotes: [],
    });
    expect(dependencies("nothing", memory(REPO))).toEqual({
      dirs: [],
      files: ["nothing/kustomization.yaml"],
      escapes: [],
      remotes: [],
    });
  });

  it(`reads generator/transformer configs listed by path: their files are dependencies, \
their remotes named on them`, () => {
    const repo = {
      "clusters/g/kustomization.yaml":
        "generators:\n  - gen.yaml\ntransformers:\n  - t.yaml\nhelmCharts:\n  - name: c\n" +
        "    repo: oci://registry.example.com/charts\n",
      "clusters/g/gen.yaml":
        "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: x\nfiles:\n  - k=local.txt\n" +
        "  - https://example.com/x\n",
      "clusters/g/t.yaml":
        "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\n" +
        "path: https://example.com/p.yaml\n---\napiVersion: builtin\nkind: PatchTransformer\nmetadata:\n" +
        "  name: q\npath: q.yaml\n",
    };
    const deps = dependencies("clusters/g", memory(repo));
    expect(deps.files).toEqual([
      "clusters/g/gen.yaml",
      "clusters/g/kustomization.yaml",
      "clusters/g/local.txt",
      "clusters/g/q.yaml",
      "clusters/g/t.yaml",
    ]);
    expect(deps.remotes).toEqual([
      { file: "clusters/g/kustomization.yaml", ref: "oci://registry.example.com/charts" },
      { file: "clusters/g/gen.yaml", ref: "https://example.com/x" },
      { file: "clusters/g/t.yaml", ref: "https://example.com/p.yaml" },
    ]);
  });

  it("records references that leave the repository (validate's no-path-escape)", () => {
    const repo = {
      "clusters/e/kustomization.yaml":
        "resources:\n  - ../../../outside\n  - /etc/x\npatches:\n  - path: ../../../p.yaml\n",
    };
    expect(dependencies("clusters/e", memory(repo)).escapes).toEqual([
      { file: "clusters/e/kustomization.yaml", ref: "../../../outside" },
      { file: "clusters/e/kustomization.yaml", ref: "/etc/x" },
      { file: "clusters/e/kustomization.yaml", ref: "../../../p.yaml" },
    ]);
  });

  it.each([
    ["base/machinepool/machinepool.yaml", true],
    ["base/machinepool/kustomization.yml", true], // a second kustomization file in a root breaks the build
    ["base/machinepool/sub/other.yaml", false],
    ["base/machinedeployment/templates/awsmachinetemplate.yaml", false],
    ["overlays/components/cluster-references/kustomizeconfig.yaml", true],
    ["README.md", false],
  ])("dependsOn(clusters/a, %s) = %s", (changed, expected) =>
    expect(dependsOn(dependencies("clusters/a", memory(REPO)), changed)).toBe(expected),
  );
});

describe("affectedBy / clustersInPaths", () => {
  const depsOf = (c: string) => dependencies(`clusters/${c}`, memory(REPO));
  it.each([
    ["own files", ["clusters/a/cluster.yaml", "clusters/a/generated/kustomization.yaml"], ["a"]],
    ["shared MachinePool base", ["base/machinepool/machinepool.yaml"], ["a"]],
    ["shared MachineDeployment base", ["base/machinedeployment/templates/awsmachinetemplate.yaml"], ["md"]],
    ["shared cluster base", ["base/cluster/awscluster.yaml"], ["a", "md"]],
    ["an unreferenced file", ["docs/readme.md", "base/unused.yaml"], []],
    ["a cluster that is gone", ["clusters/zz/cluster.yaml"], []],
  ])("%s", (_l, changed, expected) => expect(affectedBy(changed, ["a", "md"], depsOf)).toEqual(expected));

  it("names directories that hold a cluster.yaml", () => {
    expect(
      clustersInPaths([
        "clusters/b/cluster.yaml",
        "clusters/a/cluster.yaml",
        "clusters/a/kustomization.yaml",
        "clusters/x/generated/cluster.yaml",
        "base/cluster.yaml",
      ]),
    ).toEqual(["a", "b"]);
  });
});

// --- real git -------------------------------------------------------------------------------------------------

const quiet = () => undefined;

let template: string;
let cleanupTemplate: () => Promise<void>;
const copies: (() => Promise<void>)[] = [];

/** A fresh copy of the committed three-cluster repository (two MachinePool clusters, one MachineDeployment). */
async function repoCopy(): Promise<string> {
  const t = await tempDir("capi-gitops-affected-");
  copies.push(t.cleanup);
  await cp(template, t.dir, { recursive: true });
  return t.dir;
}

beforeAll(async () => {
  const t = await tempDir("capi-gitops-affected-template-");
  template = t.dir;
  cleanupTemplate = t.cleanup;
  await initRepo(template);
  await writeFile(path.join(template, ".gitignore"), "*.tmp\n");
  for (const flags of [
    { name: "a", region: "ap-northeast-2", workers: "MachinePool" },
    { name: "b", region: "eu-west-1", workers: "MachinePool" },
    { name: "md", region: "us-east-1", workers: "MachineDeployment" },
  ])
    await newClusterCommand({ cwd: template, flags, render: false, log: quiet });
  await commitAll(template, "three clusters");
});
afterAll(async () => {
  for (const c of copies) await c();
  await cleanupTemplate?.();
});

describe("affectedClusters (real git)", () => {
  it("(a) an edit of clusters/a/cluster.yaml and its generated files affects only a", async () => {
    const repo = await repoCopy();
    const spec = path.join(repo, "clusters/a/cluster.yaml");
    await writeFile(spec, (await readFile(spec, "utf8")).replace("maxSize: 3", "maxSize: 5"));
    await generateCommand({ cwd: repo, log: quiet });
    const r = await affectedClusters(repo, "HEAD");
    expect(r.changedFiles).toEqual([
      "clusters/a/cluster.yaml",
      "clusters/a/generated/pools/default/kustomization.yaml",
    ]);
    expect(r).toMatchObject({ clusters: ["a"], removed: [] });
  });

  it(`(b) a committed edit under base/machinepool affects every MachinePool cluster, \
not the MachineDeployment one`, async () => {
    const repo = await repoCopy();
    const f = path.join(repo, "base/machinepool/machinepool.yaml");
    await writeFile(
      f,
      (await readFile(f, "utf8")).replace(
        "capi-gitops.io/node-pool: pool",
        "capi-gitops.io/node-pool: pool\n        team: platform",
      ),
    );
    await commitAll(repo, "label pools");
    expect(await affectedClusters(repo, "HEAD~1")).toEqual({
      clusters: ["a", "b"],
      removed: [],
      changedFiles: ["base/machinepool/machinepool.yaml"],
    });
    // Against the new commit nothing is left.
    expect(await affectedClusters(repo, "HEAD")).toEqual({ clusters: [], removed: [], changedFiles: [] });
  });

  it("(b') a staged rename under base/machinedeployment affects only the MachineDeployment cluster", async () => {
    const repo = await repoCopy();
    await git(
      repo,
      "mv",
      "base/machinedeployment/templates/machinehealthcheck.yaml",
      "base/machinedeployment/templates/mhc.yaml",
    );
    const k = path.join(repo, "base/machinedeployment/templates/kustomization.yaml");
    await writeFile(k, (await readFile(k, "utf8")).replace("machinehealthcheck.yaml", "mhc.yaml"));
    const r = await affectedClusters(repo, "HEAD");
    expect(r.changedFiles).toEqual([
      "base/machinedeployment/templates/kustomization.yaml",
      "base/machinedeployment/templates/machinehealthcheck.yaml",
      "base/machinedeployment/templates/mhc.yaml",
    ]);
    expect(r.clusters).toEqual(["md"]);
  });

  it("(c) an untracked new cluster is affected; ignored files are not changes", async () => {
    const repo = await repoCopy();
    await newClusterCommand({ cwd: repo, flags: { name: "c", region: "eu-central-1" }, render: false, log: quiet });
    await writeFile(path.join(repo, "clusters/a/scratch.tmp"), "ignored\n");
    const r = await affectedClusters(repo, "HEAD");
    expect(r).toMatchObject({ clusters: ["c"], removed: [] });
    expect(r.changedFiles.every((p) => p.startsWith("clusters/c/"))).toBe(true);
  });

  it("(d) a deleted cluster is removed, not affected", async () => {
    const repo = await repoCopy();
    await rm(path.join(repo, "clusters/b"), { recursive: true });
    const r = await affectedClusters(repo, "HEAD");
    expect(r.clusters).toEqual([]);
    expect(r.removed).toEqual(["b"]);
    expect(r.changedFiles).toContain("clusters/b/cluster.yaml");
  });

  it(`an unreferenced new file under base/ affects nothing; \
a new file in a kustomization root affects its users`, async () => {
    const repo = await repoCopy();
    await mkdir(path.join(repo, "docs"));
    await writeFile(path.join(repo, "docs/notes.md"), "# notes\n");
    await writeFile(path.join(repo, "base/README.md"), "shared bases\n");
    expect((await affectedClusters(repo, "HEAD")).clusters).toEqual([]);
    await writeFile(path.join(repo, "base/machinepool/kustomization.yml"), "resources: []\n");
    expect((await affectedClusters(repo, "HEAD")).clusters).toEqual(["a", "b"]);
  });

  it("an unknown base revision is a typed error", async () => {
    const repo = await repoCopy();
    await expect(affectedClusters(repo, "no-such-branch")).rejects.toThrow(/git diff/);
    await expect(affectedClusters(repo, "--output=/tmp/x")).rejects.toThrow(/not a git revision/);
  });
});
