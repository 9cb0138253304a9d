/**
 * The validate cache and the batched render it stores: a hit is really used (a poisoned entry shows through, also a
 * program's result kept for every repository, from a copy of the repository elsewhere), and
 * no hit survives a changed input — a base file, a spec, a cluster's own layer, a kustomization file appearing,
 * each program's binary. The closure walk refuses builds it cannot see through. Batched renders equal the plain
 * per-cluster `kustomize build`. Real kustomize, kubeconform, capi-gitops-admission and kubectl-validate (the latter
 * for the management folders: the clusters' CRD CEL rules are the admission layer's).
 */
import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { runInThisContext } from "node:vm";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFleetSpecs } from "../bench/fleet.js";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { ADMISSION } from "../src/tools/admission.js";
import { envVarFor, resolveTool } from "../src/tools/resolve.js";
import { pinnedVersions } from "../src/pins/versions.js";
import {
  Blobs,
  buildClosure,
  contentSha,
  repoCacheDir,
  RepoFiles,
  sharedResultsDir,
  ValidateCache,
} from "../src/render/cache.js";
import { renderClusters } from "../src/render/render.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { tempDir } from "./helpers.js";
import type { K8sObject } from "../src/k8s/object.js";
import type { Finding } from "../src/core/findings.js";

const cleanups: (() => Promise<void>)[] = [];
const temp = async () => {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
};
let wrappers: string;
beforeAll(async () => {
  process.env.CAPI_GITOPS_CACHE_DIR = await temp();
  wrappers = await temp();
});
afterAll(async () => {
  for (const name of ["kustomize", "kubeconform", "kubectl-validate", ADMISSION]) delete process.env[envVarFor(name)];
  delete process.env.CAPI_GITOPS_CACHE_DIR;
  for (const c of cleanups) await c();
});

describe("buildClosure", () => {
  const repoWith = async (files: Record<string, string>) => {
    const dir = await temp();
    for (const [p, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
      await writeFile(path.join(dir, p), content);
    }
    return dir;
  };
  const K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

  it("lists every file the build reads and every directory it enters", async () => {
    const dir = await repoWith({
      "clusters/x/kustomization.yaml":
        `${K}resources: [generated, extra.yaml]\ncomponents: [../../comp]\npatches:\n  - path: p.yaml\n` +
        `configMapGenerator:\n  - name: c\n    files: [key=v.txt]\n`,
      "clusters/x/generated/kustomization.yaml": `${K}resources: [../../../base]\n`,
      "clusters/x/extra.yaml": "a: 1\n",
      "clusters/x/p.yaml": "b: 2\n",
      "clusters/x/v.txt": "v\n",
      "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
      "base/kustomization.yaml": `${K}resources: [o.yaml]\n`,
      "base/o.yaml": "c: 3\n",
      "unrelated/file.yaml": "d: 4\n",
    });
    const c = buildClosure("clusters/x", new RepoFiles(dir))!;
    expect(c.files.map(([p]) => p)).toEqual(
      [
        "base/kustomization.yaml",
        "base/o.yaml",
        "clusters/x/extra.yaml",
        "clusters/x/generated/kustomization.yaml",
        "clusters/x/kustomization.yaml",
        "clusters/x/p.yaml",
        "clusters/x/v.txt",
        "comp/kustomization.yaml",
      ].sort(),
    );
    expect(c.dirs).toEqual([
      ["base", ["kustomization.yaml"]],
      ["clusters/x", ["kustomization.yaml"]],
      ["clusters/x/generated", ["kustomization.yaml"]],
      ["comp", ["kustomization.yaml"]],
    ]);
    expect(c.files.every(([, h]) => typeof h === "string")).toBe(true);
  });

  it.each([
    ["a remote resource", `resources: [https://github.com/example/repo//deploy?ref=v1]\n`],
    ["a resource outside the repository", `resources: [../../../outside]\n`],
    ["an absolute path", `resources: [/etc/passwd]\n`],
    ["a transformer (may read any file)", `transformers: [t.yaml]\n`],
    ["a generator", `generators: [g.yaml]\n`],
    ["Helm", `helmCharts:\n  - name: x\n`],
    ["a field the walk does not know", `somethingNew: [a.yaml]\n`],
    ["an unparseable kustomization", `resources: [a\n  b: :\n`],
  ])("%s: not cacheable", async (_label, body) => {
    const dir = await repoWith({ "clusters/x/kustomization.yaml": `${K}${body}` });
    expect(buildClosure("clusters/x", new RepoFiles(dir))).toBeUndefined();
  });
});

describe("batched render", () => {
  it("each cluster's objects equal its plain `kustomize build`, in order; origins on request", async () => {
    const repo = await temp();
    const names = await writeFleetSpecs(repo, 5);
    await generateCommand({ cwd: repo, log: () => {} });
    const plain = await Promise.all(
      names.map(async (c) => parseYamlStream(await kustomizeBuild(repo, `clusters/${c}`))),
    );
    const fast = await renderClusters(
      repo,
      names.map((name) => ({ name })),
      { workers: 2, chunkSize: 2, origins: false },
    );
    expect(fast.findings).toEqual([]);
    expect(fast.rendered.map((r) => r.objects)).toEqual(plain);
    expect(fast.rendered.every((r) => r.origins.every((o) => o === undefined))).toBe(true);
    const withOrigins = await renderClusters(
      repo,
      names.map((name) => ({ name })),
      { workers: 2, chunkSize: 3 },
    );
    expect(withOrigins.rendered.map((r) => r.objects)).toEqual(plain);
    for (const r of withOrigins.rendered)
      for (const o of r.origins)
        expect(o).toMatch(/^(base|clusters|overlays\/components)\/|^addons\/[^/]+\/[^/]+\/kustomization\.yaml$/);
    // Taking the render's marker (and the origin annotations) off an object leaves its metadata and annotations
    // V8 objects of the fast kind, not dictionaries several times their size (`delete` made them so).
    setFlagsFromString("--allow-natives-syntax");
    const fastProperties: unknown = runInThisContext("(o) => %HasFastProperties(o)");
    if (typeof fastProperties !== "function") throw new Error("V8's natives syntax is not available");
    const slow = [...fast.rendered, ...withOrigins.rendered]
      .flatMap((r) => r.objects)
      .flatMap((o) => [o.metadata, o.metadata.annotations ?? {}].filter((m) => !fastProperties(m)));
    expect(slow).toEqual([]);
  });
});

describe("RepoFiles and the stored render", () => {
  it("release lets go of the texts read, keeps paths, hashes and seeded texts; a read reads the disk", async () => {
    const dir = await temp();
    await writeFile(path.join(dir, "a.yaml"), "a: 1\n");
    const files = new RepoFiles(dir);
    expect(files.read("a.yaml")).toBe("a: 1\n");
    files.seed(new Map([["b.yaml", "b: seeded\n"]]));
    const hash = files.hash("a.yaml");
    await writeFile(path.join(dir, "a.yaml"), "a: 2\n");
    expect(files.read("a.yaml")).toBe("a: 1\n");
    files.release();
    expect(files.readPaths()).toEqual(["a.yaml", "b.yaml"]);
    expect(files.hash("a.yaml")).toBe(hash);
    expect(files.read("b.yaml")).toBe("b: seeded\n");
    expect(files.read("a.yaml")).toBe("a: 2\n");
  });

  it("the stored render is the one the stages read, frozen (no copy): changing it throws; saved as is", async () => {
    const dir = await temp();
    await mkdir(path.join(dir, "clusters", "x"), { recursive: true });
    await writeFile(path.join(dir, "clusters", "x", "kustomization.yaml"), "resources:\n  - cm.yaml\n");
    await writeFile(path.join(dir, "clusters", "x", "cm.yaml"), "kind: ConfigMap\n");
    const identity = { render: () => "r", kubeconform: () => "k", cel: () => "c", plan: () => "p" };
    const files = new RepoFiles(dir);
    const cache = new ValidateCache(files, identity, process.env);
    const objects: K8sObject[] = [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", annotations: { a: "b" } }, data: { k: "v" } },
    ];
    const closure = buildClosure("clusters/x", files);
    cache.storeRendered("x", "clusters/x", closure, objects);
    expect(() => {
      objects[0]!.metadata.name = "changed";
    }).toThrow(TypeError);
    expect(() => {
      objects[0]!.metadata.annotations!.a = "changed";
    }).toThrow(TypeError);
    expect(() => objects.push(objects[0]!)).toThrow(TypeError);
    cache.save();
    const again = new ValidateCache(new RepoFiles(dir), identity, process.env);
    expect(again.rendered("x", "clusters/x")).toEqual([
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", annotations: { a: "b" } }, data: { k: "v" } },
    ]);
  });
});

/**
 * A wrapper script standing in for a tool's binary; rewriting it is "a new binary". Like a release build of the pin,
 * it answers the version probe an override gets (tools/resolve.ts) with the pinned version: the binaries `npm run
 * setup` builds from source say "development" there.
 */
async function wrapper(name: string, version: string): Promise<void> {
  const real = resolveTool(name, { PATH: process.env.PATH });
  const file = path.join(wrappers, name);
  const pin = pinnedVersions().tools[name]?.version;
  const probe = pin ? `case "$*" in -v|version) echo "${pin}"; exit 0;; esac\n` : "";
  await writeFile(file, `#!/bin/sh\n# ${name} wrapper ${version}\n${probe}exec "${real}" "$@"\n`);
  await chmod(file, 0o755);
  process.env[envVarFor(name)] = file;
}

type Layer = "render" | "kubeconform" | "admission" | "cel";
/** The rule of the finding a poisoned entry of each layer produces (a poisoned render: kubeconform sees the field). */
const RULE: Record<Layer, string> = {
  render: "kubeconform",
  kubeconform: "kubeconform",
  admission: "admission/webhook",
  cel: "cel",
};
/** The cache entry a layer is poisoned in: the cluster's, or the sync manifests' for CEL (management CRDs only). */
const entryOf = (layer: Layer, cluster: string) => (layer === "cel" ? "@management-sync" : cluster);
/** A kubeconform result no real run gives: the cluster's Cluster invalid at spec.poisonField. */
const poisonedVerdicts = (cluster: string) => [
  {
    kind: "Cluster",
    name: cluster,
    apiVersion: "cluster.x-k8s.io/v1beta2",
    verdict: "invalid",
    message: "poisoned",
    errors: [{ field: "spec.poisonField", message: "poisoned" }],
  },
];
/** Rewrites a cache entry so that a hit produces a finding no real run can: the entry keeps its key. */
async function poison(repo: string, cluster: string, layer: Layer): Promise<void> {
  const file = path.join(repoCacheDir(repo), `${encodeURIComponent(entryOf(layer, cluster))}.json`);
  const entry = JSON.parse(await readFile(file, "utf8"));
  if (layer === "render") entry.render.value.find((o: any) => o.kind === "Cluster").spec.poisonField = 1;
  if (layer === "kubeconform") entry.kubeconform.value = poisonedVerdicts(cluster);
  if (layer === "admission")
    entry.admission.value = entry.admission.value.map((r: object) => ({
      ...r,
      allowed: false,
      stage: "webhook",
      messages: [{ field: "spec.poisonField", message: "poisoned" }],
    }));
  if (layer === "cel")
    entry.cel.value = entry.cel.value.map(() => ({
      status: "Failure",
      message: "poisoned",
      details: { causes: [{ field: "spec.poisonField", message: "poisoned" }] },
    }));
  await writeFile(file, JSON.stringify(entry));
}
const poisoned = (r: Awaited<ReturnType<typeof validateCommand>>) =>
  r.findings.filter((f) => /poison/.test(`${f.path} ${f.message}`));

async function fleet(): Promise<{ repo: string; cluster: string }> {
  const repo = await temp();
  const [cluster] = await writeFleetSpecs(repo, 2);
  await generateCommand({ cwd: repo, log: () => {} });
  return { repo, cluster: cluster! };
}
const edit = async (file: string, fn: (s: string) => string) => writeFile(file, fn(await readFile(file, "utf8")));
/** The shared results' file of a key (render/cache.ts: one file per key under results/). */
const sharedFile = (key: string) => path.join(sharedResultsDir(process.env), key.slice(0, 2), `${key}.json`);
/** A copy of the repository whose cluster's own layer adds a label: that cluster's build input changes. */
async function labelledCopy(repo: string, cluster: string): Promise<string> {
  const copy = path.join(await temp(), "copy");
  await cp(repo, copy, { recursive: true });
  await edit(path.join(copy, "clusters", cluster, "kustomization.yaml"), (t) => `${t}labels:\n  - pairs: {team: a}\n`);
  return copy;
}

describe("validate with the cache", () => {
  it("a clean run equals an uncached run, and a hit is really used (a poisoned entry shows through)", async () => {
    const { repo, cluster } = await fleet();
    const uncached = await validateCommand({ cwd: repo, cache: false });
    expect(uncached.findings).toEqual([]);
    expect(await validateCommand({ cwd: repo })).toMatchObject({ findings: [], summary: uncached.summary });
    expect(await validateCommand({ cwd: repo })).toMatchObject({ findings: [], summary: uncached.summary });
    for (const layer of ["render", "kubeconform", "admission", "cel"] as const) {
      await poison(repo, cluster, layer);
      const r = await validateCommand({ cwd: repo });
      expect(
        poisoned(r).map((f) => `${f.cluster} ${f.rule}`),
        layer,
      ).toContain(`${layer === "cel" ? undefined : cluster} ${RULE[layer]}`);
      expect((await validateCommand({ cwd: repo, cache: false })).findings).toEqual([]);
      // Repair: a run after the poisoned layer's entry is dropped.
      await writeFile(path.join(repoCacheDir(repo), `${encodeURIComponent(entryOf(layer, cluster))}.json`), "{}");
      expect((await validateCommand({ cwd: repo })).findings).toEqual([]);
    }
  });

  it("a program result is kept for every repository: a copy elsewhere uses it, a changed input does not", async () => {
    const { repo, cluster } = await fleet();
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    const copy = path.join(await temp(), "copy");
    await cp(repo, copy, { recursive: true });
    // Poison the shared kubeconform result of the cluster's render (under the key its entry names).
    const entry = JSON.parse(await readFile(path.join(repoCacheDir(repo), `${cluster}.json`), "utf8"));
    const key: string = entry.kubeconform.key;
    const shared = sharedFile(key);
    expect(JSON.parse(await readFile(shared, "utf8"))).toEqual(entry.kubeconform.value);
    const clean = await readFile(shared, "utf8");
    await writeFile(shared, JSON.stringify(poisonedVerdicts(cluster)));
    try {
      // The copy has no entries of its own: the shared result is what it uses.
      expect(poisoned(await validateCommand({ cwd: copy, skipCel: true })).map((f) => f.cluster)).toEqual([cluster]);
      // The repository's own entry comes first.
      expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
      // A changed input (one more label on the cluster's objects) has another key.
      const copy2 = await labelledCopy(repo, cluster);
      expect(poisoned(await validateCommand({ cwd: copy2, skipCel: true }))).toEqual([]);
    } finally {
      // The other tests' fleets are the same clusters: they must find the real result.
      await writeFile(shared, clean);
    }
  });

  it("a render is kept for every repository: a copy elsewhere uses it, a changed input does not", async () => {
    const { repo, cluster } = await fleet();
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    // Poison the shared render of the cluster (under the key its entry names): its objects in another namespace.
    const entry = JSON.parse(await readFile(path.join(repoCacheDir(repo), `${cluster}.json`), "utf8"));
    const key: string = entry.render.key;
    const shared = sharedFile(key);
    const clean = await readFile(shared, "utf8");
    const objects: K8sObject[] = JSON.parse(clean);
    expect(objects).toEqual(entry.render.value);
    const moved = (list: readonly K8sObject[]) =>
      list.map((o) =>
        o.metadata.namespace === cluster ? { ...o, metadata: { ...o.metadata, namespace: "elsewhere" } } : o,
      );
    await writeFile(shared, JSON.stringify(moved(objects)));
    const strays = (r: { findings: readonly Finding[] }) => r.findings.filter((f) => f.message.includes('"elsewhere"'));
    try {
      // The copy has no entries of its own: the shared render is what it checks (kustomize does not run).
      const copy = path.join(await temp(), "copy");
      await cp(repo, copy, { recursive: true });
      expect(strays(await validateCommand({ cwd: copy, skipCel: true })).length).toBeGreaterThan(0);
      // The repository's own entry comes first.
      expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
      // A changed input (one more label on the cluster's objects) has another key: kustomize builds it.
      const copy2 = await labelledCopy(repo, cluster);
      expect((await validateCommand({ cwd: copy2, skipCel: true })).findings).toEqual([]);
    } finally {
      // The other tests' fleets are the same clusters: they must find the real render.
      await writeFile(shared, clean);
    }
  });

  it("a render keeps each long ConfigMap value once, as a blob; a damaged or missing blob is a miss", async () => {
    const { repo, cluster } = await fleet();
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    const refsIn = async (id: string) => {
      const text = await readFile(path.join(repoCacheDir(repo), `${id}.json`), "utf8");
      return [...new Set([...text.matchAll(/\\u0000blob:([0-9a-f]{64})/g)].map((m) => m[1]!))].sort();
    };
    const refs = await refsIn(cluster);
    // The add-on payloads: the same blobs for both clusters of the fleet (kept once, not in each entry).
    expect(refs.length).toBeGreaterThanOrEqual(3);
    const other = (await readdir(repoCacheDir(repo))).find((f) => /^c\d+\.json$/.test(f) && f !== `${cluster}.json`)!;
    expect(await refsIn(other.slice(0, -5))).toEqual(refs);
    const blob = (d: string) => path.join(sharedResultsDir(process.env), d.slice(0, 2), `${d}.blob`);
    for (const d of refs) expect(contentSha(await readFile(blob(d), "utf8"))).toBe(d);
    // A damaged blob is not used (its payload would differ from addons/: a finding), and is written again.
    const [first] = refs;
    await writeFile(blob(first!), "poisoned");
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    expect(contentSha(await readFile(blob(first!), "utf8"))).toBe(first);
    // A missing one: the render is built again, and the blob written again.
    await rm(blob(first!));
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    expect(contentSha(await readFile(blob(first!), "utf8"))).toBe(first);
  });

  it("Blobs: a stored value comes back as it was, long values by reference, NUL-led strings escaped", () => {
    const dir = path.join(tmpdir(), `blobs-${process.pid}-${Date.now()}`);
    const blobs = new Blobs(dir);
    const long = "x".repeat(5000);
    const objects: K8sObject[] = [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a" },
        data: { long, nul: "\u0000blob:abc", s: "short" },
      },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "b" }, data: { long } },
    ];
    const packed = blobs.pack(objects);
    expect(packed[0]!.data).toEqual({
      long: `\u0000blob:${contentSha(long)}`,
      nul: "\u0000\u0000blob:abc",
      s: "short",
    });
    expect(packed[1]).toBe(objects[1]);
    blobs.flush();
    expect(new Blobs(dir).unpack(JSON.parse(JSON.stringify(packed)))).toEqual(objects);
  });

  it("the specs' parse results are kept: a poisoned one shows through, a changed spec is parsed again", async () => {
    const { repo, cluster } = await fleet();
    expect((await validateCommand({ cwd: repo, skipCel: true })).findings).toEqual([]);
    const file = path.join(repoCacheDir(repo), "specs.memo");
    const memo: Record<string, { findings: object[] }> = JSON.parse(await readFile(file, "utf8"));
    expect(Object.keys(memo)).toHaveLength(2);
    for (const v of Object.values(memo))
      v.findings.push({ path: "poisonField", rule: "spec-yaml", severity: "error", message: "poisoned" });
    await writeFile(file, JSON.stringify(memo));
    // Not a kept verdict (a comment in the cluster's own layer): every spec is loaded, through the memo.
    await edit(path.join(repo, "clusters", cluster, "kustomization.yaml"), (t) => `${t}# reviewed\n`);
    expect(poisoned(await validateCommand({ cwd: repo, skipCel: true }))).toHaveLength(2);
    // The changed spec is parsed again; the other still comes from the memo.
    await edit(path.join(repo, "clusters", cluster, "cluster.yaml"), (t) => `${t}# reviewed\n`);
    const r = await validateCommand({ cwd: repo, skipCel: true });
    expect(poisoned(r).map((f) => f.cluster)).toEqual([expect.not.stringMatching(new RegExp(`^${cluster}$`))]);
  });

  it("a build that reads outside the repository is reported on every run: it is never cached", async () => {
    const { repo, cluster } = await fleet();
    const outside = await temp();
    await writeFile(path.join(outside, "kustomization.yaml"), "resources: [svc.yaml]\n");
    await writeFile(
      path.join(outside, "svc.yaml"),
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: smuggled\n  namespace: ${cluster}\nspec:\n` +
        `  ports:\n    - port: 80\n`,
    );
    const ref = path.relative(path.join(repo, "clusters", cluster), outside);
    await writeFile(
      path.join(repo, "clusters", cluster, "kustomization.yaml"),
      JSON.stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: ["generated", ref],
      }),
    );
    for (let i = 0; i < 2; i++) {
      const r = await validateCommand({ cwd: repo, skipCel: true });
      // The smuggled Service is also a kind the cluster's AppProject does not allow (issue 9, item 1; ConfigMap is
      // allowed since the add-ons' ClusterResourceSets, so the smuggled object is a Service).
      expect(r.findings.map((f) => `${f.cluster} ${f.rule} ${f.file}`)).toEqual([
        `${cluster} no-path-escape clusters/${cluster}/kustomization.yaml`,
        `${cluster} argocd-project clusters/${cluster}/cluster.yaml`,
      ]);
    }
  });

  const cases: [
    string,
    Layer,
    (repo: string, cluster: string) => Promise<void>,
    ((r: Awaited<ReturnType<typeof validateCommand>>) => void)?,
  ][] = [
    [
      "a base file",
      "render",
      (repo) => edit(path.join(repo, "base/cluster/cluster.yaml"), (s) => `${s}# reviewed\n`),
      (r) => expect(r.findings.map((f) => f.rule)).toEqual(["generated-drift"]),
    ],
    [
      "the spec (and generate)",
      "render",
      async (repo, c) => {
        const spec = path.join(repo, "clusters", c, "cluster.yaml");
        await edit(spec, (s) => s.replace(/(controlPlane:\n  replicas: \d+\n  instanceType: )\S+/, "$1m6i.4xlarge"));
        expect(await readFile(spec, "utf8")).toContain("instanceType: m6i.4xlarge");
        await generateCommand({ cwd: repo, log: () => {} });
      },
    ],
    [
      "the cluster's own kustomization.yaml",
      "render",
      (repo, c) => edit(path.join(repo, "clusters", c, "kustomization.yaml"), (s) => `${s}# mine\n`),
    ],
    [
      "a second kustomization file in a directory of the build",
      "render",
      (repo, c) => writeFile(path.join(repo, "clusters", c, "generated", "kustomization.yml"), "resources: []\n"),
      (r) => expect(r.findings.map((f) => f.rule)).toContain("kustomize-build"),
    ],
    ["the kustomize binary", "render", () => wrapper("kustomize", "v2")],
    ["the kubeconform binary", "kubeconform", () => wrapper("kubeconform", "v2")],
    ["the kubectl-validate binary", "cel", () => wrapper("kubectl-validate", "v2")],
    [`the ${ADMISSION} binary`, "admission", () => wrapper(ADMISSION, "v2")],
  ];
  it.each(cases)(
    "a changed input is never hidden: %s",
    async (_label, layer, change, check) => {
      const { repo, cluster } = await fleet();
      const tool = /the (\S+) binary/.exec(_label)?.[1];
      if (tool) await wrapper(tool, "v1");
      const skipCel = layer !== "cel";
      try {
        await validateCommand({ cwd: repo, skipCel });
        await poison(repo, cluster, layer);
        expect(
          poisoned(await validateCommand({ cwd: repo, skipCel })).length,
          "the poisoned entry is used before the change",
        ).toBeGreaterThan(0);
        await poison(repo, cluster, layer);
        await change(repo, cluster);
        const r = await validateCommand({ cwd: repo, skipCel });
        expect(poisoned(r)).toEqual([]);
        check?.(r);
      } finally {
        if (tool) delete process.env[envVarFor(tool)];
      }
    },
    240_000,
  );
});
