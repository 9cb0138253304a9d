/**
 * validate --shard i/n: the partition is deterministic, disjoint and covering; the shards' findings together are
 * exactly the unsharded run's (fleet rules across shards, repository-wide findings once); the CLI rejects bad values.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterName, writeFleetSpecs } from "../bench/fleet.js";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import { parseShard, shardOf } from "../src/validate/selection.js";
import type { ValidateResult } from "../src/validate/pipeline.js";
import { UsageError } from "../src/core/errors.js";
import type { Finding } from "../src/core/findings.js";
import { ROOT, runCli, tempDir } from "./helpers.js";

const names = Array.from({ length: 1000 }, (_, i) => `cluster-${i}`);

describe("the partition", () => {
  it.each([1, 2, 3, 4, 7, 16])(
    "n=%i: every cluster in exactly one shard, the same one every time, whatever the other clusters",
    (n) => {
      const shards = Array.from({ length: n }, (_, i) => names.filter((c) => shardOf(c, n) === i + 1));
      expect(shards.flat().sort()).toEqual([...names].sort()); // covering, and disjoint (no name twice)
      expect(new Set(shards.flat()).size).toBe(names.length);
      for (const c of names.slice(0, 50)) expect(shardOf(c, n)).toBe(shardOf(c, n));
      // A cluster's shard depends on its name only: adding or removing other clusters moves nobody.
      const fewer = names.slice(0, 500);
      for (const c of fewer.slice(0, 40)) expect(fewer.filter((x) => shardOf(x, n) === shardOf(c, n))).toContain(c);
      // Balanced enough for a CI matrix: each shard within 25% of N/n (a hash, not a round-robin).
      for (const s of shards) expect(Math.abs(s.length - names.length / n)).toBeLessThan(0.25 * (names.length / n) + 5);
    },
  );

  it(`is pinned: the same names land in the same shards on every machine and release \
(sha256 of the name mod n)`, () => {
    expect(["alpha", "beta", "payments-prod", "c00000", "c00001", "c00002"].map((c) => shardOf(c, 4))).toEqual([
      2, 4, 4, 4, 4, 1,
    ]);
  });
});

describe("parseShard", () => {
  it.each([
    ["1/1", { index: 1, count: 1 }],
    ["2/4", { index: 2, count: 4 }],
    ["4/4", { index: 4, count: 4 }],
    [" 3/10 ", { index: 3, count: 10 }],
  ])("%s", (text, expected) => expect(parseShard(text)).toEqual(expected));
  it.each(["0/4", "5/4", "1/0", "0/0", "a/b", "1", "1/2/3", "-1/2", "1.5/2", "", "2/-4", "1/10001"])(
    "rejects %j",
    (text) => {
      expect(() => parseShard(text)).toThrow(UsageError);
    },
  );
  it("validateCommand rejects a bad shard too", async () => {
    await expect(validateCommand({ cwd: ROOT, shard: { index: 3, count: 2 } })).rejects.toThrow(UsageError);
  });
});

const sortFindings = (fs: readonly Finding[]) => fs.map((f) => JSON.stringify(f)).sort();

describe("sharded runs together equal the unsharded run", () => {
  let repo: string;
  let cleanup: () => Promise<void>;
  let cacheDir: Awaited<ReturnType<typeof tempDir>>;
  const n = 2;
  let unsharded: ValidateResult;
  beforeAll(async () => {
    const t = await tempDir();
    repo = t.dir;
    cleanup = t.cleanup;
    cacheDir = await tempDir();
    process.env.CAPI_GITOPS_CACHE_DIR = cacheDir.dir;
    const fleet = await writeFleetSpecs(repo, 8);
    const inShard = (s: number) => fleet.filter((c) => shardOf(c, n) === s);
    expect(inShard(1).length, "the fixture needs clusters in both shards").toBeGreaterThanOrEqual(2);
    expect(inShard(2).length, "the fixture needs clusters in both shards").toBeGreaterThanOrEqual(2);
    const [a1, b1] = inShard(1) as [string, string];
    const [a2, b2] = inShard(2) as [string, string];
    // Cross-shard fleet defects: a2's spec reuses a1's VPC CIDR; b1's own layer renames its Cluster to b2's name.
    const spec = (c: string) => path.join(repo, "clusters", c, "cluster.yaml");
    const cidrOf = async (c: string) => /vpcCidr: (\S+)/.exec(await readFile(spec(c), "utf8"))![1]!;
    await writeFile(
      spec(a2),
      (await readFile(spec(a2), "utf8")).replace(/vpcCidr: \S+/, `vpcCidr: ${await cidrOf(a1)}`),
    );
    await generateCommand({ cwd: repo, log: () => {} });
    await writeFile(
      path.join(repo, "clusters", b1, "kustomization.yaml"),
      JSON.stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: ["generated"],
        patches: [
          {
            target: { kind: "Cluster" },
            patch: JSON.stringify([{ op: "replace", path: "/metadata/name", value: b2 }]),
          },
        ],
      }),
    );
    // Drift in a shared file (shard 1 only) and in one cluster's generated overlay (its shard only).
    const shared = path.join(repo, "base/machinepool/awsmachinepool.yaml");
    await writeFile(shared, `${await readFile(shared, "utf8")}# edited\n`);
    const own = path.join(repo, "clusters", a2, "generated", "namespace.yaml");
    await writeFile(own, `${await readFile(own, "utf8")}# edited\n`);
    unsharded = await validateCommand({ cwd: repo, skipCel: true, cache: false });
    expect(unsharded.findings.map((f) => `${f.rule} ${f.cluster ?? ""}`)).toEqual(
      expect.arrayContaining([
        "fleet-unique-vpc-cidr " + [a1, a2].sort()[1],
        "fleet-unique-name " + [b1, b2].sort()[1],
        "generated-drift ",
        `generated-drift ${a2}`,
      ]),
    );
  });
  afterAll(async () => {
    delete process.env.CAPI_GITOPS_CACHE_DIR;
    await cleanup?.();
    await cacheDir?.cleanup();
  });

  it.each([
    [2, false],
    [3, true],
  ])(
    "n=%i (cache %s): the union of the shards' findings and counts is the unsharded result",
    async (count, cache) => {
      const parts = [];
      for (let i = 1; i <= count; i++)
        parts.push(await validateCommand({ cwd: repo, skipCel: true, cache, shard: { index: i, count } }));
      expect(sortFindings(parts.flatMap((p) => p.findings))).toEqual(sortFindings(unsharded.findings));
      for (const k of ["clusters", "errors", "warnings"] as const)
        expect(parts.reduce((s, p) => s + p.summary[k], 0)).toBe(unsharded.summary[k]);
      // Findings of no cluster (the shared drift) come from shard 1 only.
      expect(
        parts
          .slice(1)
          .flatMap((p) => p.findings)
          .filter((f) => f.cluster === undefined),
      ).toEqual([]);
      // Each shard reports only its own clusters.
      parts.forEach((p, i) =>
        expect(p.findings.filter((f) => f.cluster !== undefined && shardOf(f.cluster, count) !== i + 1)).toEqual([]),
      );
    },
    240_000,
  );
});

describe("the CLI", () => {
  const cli = (...args: string[]) => runCli(["validate", ...args]);
  it.each(["0/2", "3/2", "x", "1/0", "1/2/3"])(
    "rejects --shard %s with exit 2 and says what it expects",
    async (bad) => {
      const t = await tempDir();
      try {
        const r = await cli("--repo", t.dir, "--shard", bad);
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(/--shard/);
        expect(r.stdout).toBe("");
      } finally {
        await t.cleanup();
      }
    },
  );
  it("validates one shard of a valid fleet: exit 0, that shard's cluster count", async () => {
    const t = await tempDir();
    try {
      const fleet = await writeFleetSpecs(t.dir, 3);
      await generateCommand({ cwd: t.dir, log: () => {} });
      const r = await cli("--repo", t.dir, "--shard", "2/2", "--skip-cel");
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`${fleet.filter((c) => shardOf(c, 2) === 2).length} cluster(s)`);
      expect(clusterName(0)).toBe(fleet[0]);
    } finally {
      await t.cleanup();
    }
  });
});
