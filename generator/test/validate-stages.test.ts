/**
 * validate's stages with stand-in programs (ValidateOptions.runners; no kustomize, kubeconform, kubectl-validate or
 * admission binary runs): which clusters reach each program for named clusters and for each shard, what the cache
 * spares on a second run and what it re-runs after a cluster's own layer or a program's identity changes, and which
 * units go to kubectl-validate (the management CRDs' CEL; the clusters too only when the admission layer is off).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterName, writeFleetSpecs } from "../bench/fleet.js";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import { shardOf } from "../src/validate/selection.js";
import { ONE_PROGRAM_AT_A_TIME, type ValidateOptions } from "../src/validate/pipeline.js";
import type { K8sObject } from "../src/k8s/object.js";
import type { Runners } from "../src/render/runners.js";
import { tempDir } from "./helpers.js";
import { admittedUnchanged } from "./helpers/runners.js";

const N = 6;
const names = Array.from({ length: N }, (_, i) => clusterName(i));
let repo: string;
const cleanups: (() => Promise<void>)[] = [];

/** What each stand-in was given in one run. */
interface Calls {
  rendered: string[][];
  origins: string[][];
  built: string[];
  /** Per kubeconform call: the units (by the first object's namespace or name) of its files. */
  kubeconform: string[][];
  cel: string[][];
  admitted: string[][];
}
const ids = { render: "r1", kubeconform: "k1", cel: "c1", admission: "a1" };

/** One stand-in object per cluster; its annotation carries the hash of the cluster's own kustomization.yaml. */
async function objectsOf(root: string, cluster: string): Promise<K8sObject[]> {
  const own = await readFile(path.join(root, "clusters", cluster, "kustomization.yaml"), "utf8");
  const sha = createHash("sha256").update(own).digest("hex").slice(0, 12);
  return [
    {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: cluster, namespace: cluster, annotations: { "test/own": sha } },
    },
  ];
}
/** The unit a file written for kubeconform/kubectl-validate holds: its first object's namespace, else its name. */
const unitIn = async (file: string) => {
  const first = JSON.parse((await readFile(file, "utf8")).split("\n---\n")[0]!) as K8sObject;
  return first.metadata.namespace ?? `@${first.kind}`;
};

function standIns(): { runners: Partial<Runners>; calls: Calls } {
  const calls: Calls = { rendered: [], origins: [], built: [], kubeconform: [], cel: [], admitted: [] };
  const runners: Partial<Runners> = {
    renderClusters: async (root, clusters, opts) => {
      (opts.origins ? calls.origins : calls.rendered).push(clusters.map((c) => c.name));
      const rendered = await Promise.all(
        clusters.map(async ({ name }) => {
          const objects = await objectsOf(root, name);
          return {
            cluster: name,
            objects,
            origins: objects.map(() => (opts.origins ? `clusters/${name}/kustomization.yaml` : undefined)),
          };
        }),
      );
      return { rendered, findings: [] };
    },
    kustomizeBuild: (_root, dir) => {
      calls.built.push(dir);
      return Promise.resolve(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${dir.replace(/\//g, "-")}\n` +
          `  namespace: capi-system\n`,
      );
    },
    kubeconform: async (files) => {
      calls.kubeconform.push(await Promise.all(files.map(unitIn)));
      return [];
    },
    kubectlValidate: async (files) => {
      calls.cel.push(await Promise.all(files.map(unitIn)));
      const out: Record<string, { status: "Success" }[]> = {};
      for (const f of files) out[f] = (await readFile(f, "utf8")).split("\n---\n").map(() => ({ status: "Success" }));
      return out;
    },
    admit: (input) => {
      const results = input.trim().split("\n").map(admittedUnchanged);
      calls.admitted.push(results.map((r) => r.namespace || r.name));
      return Promise.resolve(results);
    },
    schemaLocation: "unused/{{.ResourceKind}}.json",
    identity: {
      render: () => ids.render,
      kubeconform: () => ids.kubeconform,
      cel: () => ids.cel,
      admission: () => ids.admission,
    },
  };
  return { runners, calls };
}

async function validate(opts: Partial<ValidateOptions> = {}): Promise<Calls> {
  const { runners, calls } = standIns();
  await validateCommand({ cwd: repo, workers: 2, runners, ...opts });
  return calls;
}
const sorted = (xs: string[][]) => xs.flat().sort();
/** The fleet's clusters among the units (the others: management folders and add-on payload files). */
const clustersIn = (xs: string[][]) => sorted(xs).filter((u) => names.includes(u));

beforeAll(async () => {
  const t = await tempDir("capi-gitops-stages-");
  const c = await tempDir("capi-gitops-stages-cache-");
  cleanups.push(t.cleanup, c.cleanup);
  repo = t.dir;
  process.env.CAPI_GITOPS_CACHE_DIR = c.dir;
  await writeFleetSpecs(repo, N);
  await generateCommand({ cwd: repo, log: () => {} });
});
afterAll(async () => {
  delete process.env.CAPI_GITOPS_CACHE_DIR;
  for (const c of cleanups) await c();
});

describe("selection", () => {
  it(`named clusters: only they are rendered, checked and admitted; \
of management/ only the sync manifests`, async () => {
    const calls = await validate({ clusters: [names[1]!, names[4]!], cache: false });
    expect(sorted(calls.rendered)).toEqual([names[1], names[4]]);
    expect(clustersIn(calls.kubeconform)).toEqual([names[1], names[4]]);
    expect(sorted(calls.admitted)).toEqual([names[1], names[4]]);
    // The sync manifests, for what the sync engine would do with these clusters (rule stage), and nothing else.
    expect(calls.built).toEqual(["management/sync"]);
  });
});

describe("sharding", () => {
  it(`each shard renders, checks and admits exactly its clusters; \
only shard 1 checks the repository-wide units`, async () => {
    const shards = [];
    for (const index of [1, 2, 3]) shards.push(await validate({ shard: { index, count: 3 }, cache: false }));
    for (const [i, calls] of shards.entries()) {
      const own = names.filter((n) => shardOf(n, 3) === i + 1);
      expect(sorted(calls.rendered)).toEqual(own);
      expect(sorted(calls.admitted)).toEqual(own);
      expect(clustersIn(calls.kubeconform)).toEqual(own);
      // Repository-wide units (management folders, add-on payloads): shard 1 only.
      expect(calls.built.includes("management/providers")).toBe(i === 0);
      expect(sorted(calls.kubeconform).length > own.length).toBe(i === 0);
    }
    expect(shards.flatMap((c) => sorted(c.rendered)).sort()).toEqual(names);
  });
});

describe("caching", () => {
  it(`a second run starts no program; a changed cluster layer re-runs exactly that cluster; \
a new identity re-runs its program`, async () => {
    const first = await validate();
    expect(sorted(first.rendered)).toEqual(names);
    expect(sorted(first.admitted)).toEqual(names);

    // (The stand-in objects have findings, so their clusters are built again with origins on every run.)
    const { origins: _, ...second } = await validate();
    expect(second).toEqual({ rendered: [], built: [], kubeconform: [], cel: [], admitted: [] });

    const own = path.join(repo, "clusters", names[2]!, "kustomization.yaml");
    await writeFile(own, `${await readFile(own, "utf8")}# reviewed\n`);
    const third = await validate();
    expect(sorted(third.rendered)).toEqual([names[2]]);
    expect(sorted(third.kubeconform)).toEqual([names[2]]);
    expect(sorted(third.admitted)).toEqual([names[2]]);

    ids.kubeconform = "k2";
    const fourth = await validate();
    expect(fourth.rendered).toEqual([]);
    expect(clustersIn(fourth.kubeconform)).toEqual(names);
    expect(fourth.admitted).toEqual([]);
    ids.admission = "a2";
    expect(sorted((await validate()).admitted)).toEqual(names);
  });
});

describe("which units go to kubectl-validate", () => {
  it("the management folders; the clusters too when the admission layer is off; none with --skip-cel", async () => {
    const on = await validate({ cache: false });
    expect(sorted(on.cel)).toEqual(on.built.map(() => "capi-system"));
    expect(on.built.length).toBeGreaterThan(0);
    const off = await validate({ cache: false, skipAdmission: true });
    expect(sorted(off.cel).filter((u) => u !== "capi-system")).toEqual(names);
    expect(off.admitted).toEqual([]);
    expect((await validate({ cache: false, skipCel: true })).cel).toEqual([]);
  });

  it("on a large run kubeconform and kubectl-validate start once the admission program finished", async () => {
    /** Whether the admission program had finished when each of the other programs started. */
    const order = async (oneProgramAtATime?: boolean) => {
      const { runners } = standIns();
      const { admit, kubectlValidate, kubeconform } = runners;
      let admitted = false;
      const seen: boolean[] = [];
      // The admission stand-in finishes once another program started — side by side, that is at once — or after a
      // while: 300 ms when they must wait for it (time enough to start early if they did not), else a bound that only
      // guards against a hang (no race with a slow machine either way).
      let started = () => {};
      const anotherStarted = new Promise<void>((r) => (started = r));
      await validateCommand({
        cwd: repo,
        workers: 2,
        cache: false,
        oneProgramAtATime,
        runners: {
          ...runners,
          admit: async (...args: Parameters<NonNullable<typeof admit>>) => {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([
              anotherStarted,
              new Promise((r) => (timer = setTimeout(r, oneProgramAtATime ? 300 : 30_000))),
            ]);
            clearTimeout(timer);
            const results = await admit!(...args);
            admitted = true;
            return results;
          },
          kubectlValidate: (...args: Parameters<NonNullable<typeof kubectlValidate>>) => {
            seen.push(admitted);
            started();
            return kubectlValidate!(...args);
          },
          kubeconform: (...args: Parameters<NonNullable<typeof kubeconform>>) => {
            seen.push(admitted);
            started();
            return kubeconform!(...args);
          },
        },
      });
      return seen;
    };
    const large = await order(true);
    expect(large.length).toBeGreaterThan(0);
    expect(large.every(Boolean)).toBe(true);
    // A run of fewer than ONE_PROGRAM_AT_A_TIME clusters (this one has N) keeps them side by side.
    expect(N).toBeLessThan(ONE_PROGRAM_AT_A_TIME);
    expect(await order()).toContain(false);
  });
});

describe("what kubeconform is given of a ConfigMap", () => {
  /** The text of each file kubeconform was given, in a run whose clusters each carry a ConfigMap with a payload. */
  async function kubeconformTexts(dataSchema: object, skipAdmission = false): Promise<string> {
    const dir = await tempDir("capi-gitops-stages-schemas-");
    cleanups.push(dir.cleanup);
    await mkdir(path.join(dir.dir, "v1"));
    await writeFile(
      path.join(dir.dir, "v1", "configmap_v1.json"),
      JSON.stringify({ type: "object", properties: { data: { type: "object", additionalProperties: dataSchema } } }),
    );
    const texts: string[] = [];
    const { runners } = standIns();
    await validateCommand({
      cwd: repo,
      workers: 2,
      cache: false,
      skipAdmission,
      runners: {
        ...runners,
        schemaLocation: path.join(dir.dir, "{{.Group}}", "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"),
        renderClusters: (_root, clusters) =>
          Promise.resolve({
            rendered: clusters.map(({ name }) => ({
              cluster: name,
              objects: [
                {
                  apiVersion: "v1",
                  kind: "ConfigMap",
                  metadata: { name: "payload", namespace: name },
                  data: { "payload.yaml": PAYLOAD, short: "kept" },
                },
              ],
              origins: [undefined],
            })),
            findings: [],
          }),
        kubeconform: async (files) => {
          for (const f of files) texts.push(await readFile(f, "utf8"));
          return [];
        },
      },
    });
    return texts.join("\n");
  }
  const PAYLOAD = `kind: List\nitems: []\n# ${"x".repeat(2000)}\n`;
  const digest = createHash("sha256").update(PAYLOAD).digest("hex");
  const STAND_IN = `capi-gitops stand-in: ${PAYLOAD.length} characters, sha256 ${digest}`;

  it("a long data value is a stand-in naming its length and digest if the pinned schema takes any string", async () => {
    const text = await kubeconformTexts({ type: "string", default: "" });
    expect(text.split(STAND_IN).length - 1).toBe(N);
    expect(text).not.toContain("x".repeat(2000));
    expect(text).toContain('"short":"kept"');
  });

  it("the value itself when the schema constrains values, or when kubectl-validate reads the file too", async () => {
    for (const text of [
      await kubeconformTexts({ type: "string", maxLength: 100 }),
      await kubeconformTexts({ type: "string" }, true),
    ]) {
      expect(text).not.toContain(STAND_IN);
      expect(text.split(JSON.stringify(PAYLOAD)).length - 1).toBe(N);
    }
  });
});
