/**
 * Which clusters a change touches. The changed files (git, against a base revision, working tree included) are
 * matched against each cluster's dependency set: what its kustomize build reads, found by walking its
 * kustomization.yaml (the walk of kustomize/walk.ts). Only `affectedClusters` reads the disk and git.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { changedSince, filesAt, untrackedPaths } from "../tools/git.js";
import { BUILD_DIR_PREFIX } from "../kustomize/build-dir.js";
import { dependencies, dependsOn, type Dependencies, type ReadFile } from "../kustomize/walk.js";
import { clusterDir, clusterOfPath, clusterOfSpecPath, CLUSTERS_DIR } from "../core/layout.js";
import { clusterNames } from "./load.js";

/**
 * Pure core of `affectedClusters`: changed paths → clusters. A change under clusters/<name>/ affects <name>; any
 * other change affects the clusters whose dependency set holds it.
 */
export function affectedBy(
  changed: readonly string[],
  clusters: readonly string[],
  depsOf: (cluster: string) => Dependencies,
): string[] {
  const hit = new Set<string>();
  const shared: string[] = [];
  for (const p of changed) {
    const c = clusterOfPath(p);
    if (c !== undefined) {
      if (clusters.includes(c)) hit.add(c);
    } else shared.push(p);
  }
  if (shared.length)
    for (const c of clusters) {
      if (hit.has(c)) continue;
      const deps = depsOf(c);
      if (shared.some((p) => dependsOn(deps, p))) hit.add(c);
    }
  return [...hit].sort();
}

/** Cluster names (directories with a cluster.yaml) among repository paths. */
export function clustersInPaths(paths: readonly string[]): string[] {
  const names = new Set<string>();
  for (const p of paths) {
    const c = clusterOfSpecPath(p);
    if (c !== undefined) names.add(c);
  }
  return [...names].sort();
}

/** A file reader over a directory on disk, relative paths only. */
export function diskReader(root: string): ReadFile {
  return (rel) => {
    try {
      return readFileSync(path.join(root, rel), "utf8");
    } catch {
      return undefined;
    }
  };
}

export interface Affected {
  /** Clusters of the working tree whose build may differ from `baseRef`'s, sorted. */
  clusters: string[];
  /** Clusters that exist at `baseRef` but not in the working tree, sorted. */
  removed: string[];
  /** Paths (relative to root) that differ between `baseRef` and the working tree, sorted. */
  changedFiles: string[];
}

/**
 * The clusters a change since `baseRef` affects: committed, staged, unstaged and untracked (not ignored) changes,
 * renames and deletions. `root` is the repository root of the GitOps layout (it may sit below the git top level).
 */
export async function affectedClusters(
  root: string,
  baseRef: string,
  listed: Promise<string[]> = clusterNames(root),
): Promise<Affected> {
  // git's three questions and the listing of clusters/ side by side (the untracked scan walks every folder: the
  // longest of them on a large fleet); a failure is reported in this order, whichever ends first.
  const [diffed, untracked, current, atBase] = await settledInOrder([
    changedSince(root, baseRef),
    untrackedPaths(root),
    listed,
    filesAt(root, baseRef, CLUSTERS_DIR),
  ]);
  const changed = new Set<string>([...diffed, ...untracked]);
  const changedFiles = [...changed].filter((p) => !p.startsWith(BUILD_DIR_PREFIX)).sort();
  const now = new Set(current);
  const removed = clustersInPaths(atBase).filter((c) => !now.has(c));
  const read = diskReader(root);
  const clusters = affectedBy(changedFiles, current, (c) => dependencies(clusterDir(c), read));
  return { clusters, removed, changedFiles };
}

type Values<T extends readonly unknown[]> = { -readonly [P in keyof T]: Awaited<T[P]> };

/** Every promise's value, once all have settled; else the first rejection in the list's order (not in time). */
async function settledInOrder<T extends readonly unknown[] | []>(promises: T): Promise<Values<T>> {
  const settled = await Promise.allSettled(promises);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as Values<T>;
}
