/**
 * Stage 1 of validate: which clusters a run checks. Named clusters, `--changed-since <ref>` (the clusters a change
 * touches, repo/affected.ts, as `diff` uses it) and `--shard i/n` (a stable split of the selection).
 *
 * Sharding (`shard: {index, count}`, 1-based): cluster c belongs to shard
 * (first 4 bytes of sha256(c) as an unsigned integer mod n) + 1 — stable when clusters are added or removed, so
 * each shard keeps its cache. A shard validates its own clusters completely; the repository-wide work (management
 * manifests, drift of the shared generated files, findings that belong to no cluster) is done by shard 1 only.
 * Fleet rules see the whole selection (validate/rule-stage.ts), and each finding is reported by the shard of the
 * cluster it names, so the shards' findings together are the unsharded run's.
 */
import { createHash } from "node:crypto";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { ToolError, UsageError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { clusterNames, loadRepo, symlinkFindings, type LoadedRepo } from "../repo/load.js";
import { ADDONS_DIR } from "../core/layout.js";
import type { SpecMemo } from "../render/cache.js";

/** One shard of a fleet split n ways: index 1..count. */
export interface Shard {
  index: number;
  count: number;
}

/** "i/n" → {index: i, count: n}; a UsageError for anything else. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard must be i/n, e.g. 2/4 (shard 2 of 4); got "${text}"`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard);
  return shard;
}

export function checkShard(shard: Shard): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000)
    throw new UsageError(`--shard: the shard count must be 1..10000; got ${count}`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count)
    throw new UsageError(`--shard: the shard index must be 1..${count}; got ${index}`);
}

/** The shard (1..count) cluster `name` belongs to: a stable hash of the name, independent of the other clusters. */
export function shardOf(name: string, count: number): number {
  return (createHash("sha256").update(name).digest().readUInt32BE(0) % count) + 1;
}

/** The repository reads validate starts first (each awaited when needed, so their waits overlap other work). */
export interface Reading {
  repo: Promise<LoadedRepo>;
  symlinks: Promise<Finding[]>;
  names: Promise<string[]>;
}
export function startReading(
  root: string,
  only?: string[],
  symlinks = symlinkFindings(root, only),
  specs?: SpecMemo,
  names: Promise<string[]> = clusterNames(root),
): Reading {
  // clusters/ is listed once (a cluster.yaml looked for in each folder) for the run's every reader.
  const repo = loadRepo(root, only, specs, names).then((loaded) => {
    specs?.save();
    return loaded;
  });
  const r = { repo, symlinks, names };
  // Awaited later (or never, when --changed-since finds nothing): a failure must not be an unhandled rejection.
  for (const p of Object.values(r)) p.catch(() => undefined);
  return r;
}

/** What a run covers: its clusters (named or affected; undefined = all), whether management/ is in it, the reads. */
export interface Selection {
  clusters?: string[];
  /** Named (or affected) clusters only: repository-wide checks are left out unless `withManagement`. */
  only: boolean;
  withManagement: boolean;
  reading: Reading;
}

/**
 * The clusters to check. With `changedSince`: the affected ones (git runs while every spec is read; loading all of
 * them also gives the fleet-wide spec checks every namespace), intersected with `clusters` when named; undefined when
 * the change touches nothing to validate. repo/affected.ts is loaded only then: it brings simple-git.
 */
export async function select(
  root: string,
  opts: { clusters?: string[]; changedSince?: string },
  specs?: SpecMemo,
): Promise<Selection | undefined> {
  if (opts.changedSince === undefined) {
    const named = opts.clusters?.length ? opts.clusters : undefined;
    return {
      clusters: named,
      only: named !== undefined,
      withManagement: named === undefined,
      reading: startReading(root, opts.clusters, undefined, specs),
    };
  }
  const { affectedClusters } = await import("../repo/affected.js");
  // Handled where it is read (affectedClusters waits for it with git's answers; startReading catches it too).
  const names = clusterNames(root);
  const affecting = affectedClusters(root, opts.changedSince, names).catch((e: unknown) => {
    if (!(e instanceof ToolError)) throw e;
    // Say which flag needed git; git's first line says why (no repository, unknown revision).
    throw new ToolError(`--changed-since ${opts.changedSince}: ${e.message.split("\n")[0]}`, e.command, e.stderr);
  });
  const chosen = (a: { clusters: string[] }) =>
    a.clusters.filter((c) => !opts.clusters?.length || opts.clusters.includes(c));
  // Every spec is read while git runs; symbolic links are looked for in the affected clusters' folders only.
  const reading = startReading(
    root,
    undefined,
    affecting.then((a) => symlinkFindings(root, chosen(a))),
    specs,
    names,
  );
  const affected = await affecting;
  const clusters = chosen(affected);
  const management = affected.changedFiles.some((f) => f.startsWith("management/") || f === CONFIG_FILE);
  // A changed add-on payload no cluster uses still runs validate: its integrity check (validate/drift.ts) is repo-wide.
  const addons = affected.changedFiles.some((f) => f.startsWith(`${ADDONS_DIR}/`));
  if (clusters.length === 0 && !management && !addons) return undefined;
  return { clusters, only: true, withManagement: management, reading };
}

/** Which clusters are in the selection and in this shard; which findings this run reports. */
export interface Scope {
  inSelection: (cluster: string) => boolean;
  inScope: (cluster: string) => boolean;
  /** Repository-wide work and findings of no cluster: every unsharded run, and shard 1 of a sharded one. */
  shared: boolean;
  keep: (f: Finding) => boolean;
}

export function scopeOf(selection: Pick<Selection, "clusters" | "only">, shard: Shard | undefined): Scope {
  const inSelection = (c: string) => !selection.only || (selection.clusters ?? []).includes(c);
  const inScope = (c: string) => inSelection(c) && (!shard || shardOf(c, shard.count) === shard.index);
  const shared = !shard || shard.index === 1;
  return { inSelection, inScope, shared, keep: (f) => (f.cluster !== undefined ? inScope(f.cluster) : shared) };
}
