/**
 * Rendering both sides of a diff: the base revision in a temporary `git worktree` (removed afterwards, also on
 * failure) and the working tree, each through the batched `renderClusters`; the management folders (management/sync,
 * management/providers) with one build each when the change touches them.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../core/findings.js";
import { clusterNames, readSpec } from "../repo/load.js";
import { clusterSpecPath } from "../core/layout.js";
import { addWorktree, pruneWorktrees, removeWorktree, showPrefix } from "../tools/git.js";
import { renderClusters, type RenderedCluster } from "../render/render.js";
import type { K8sObject } from "../k8s/object.js";
import { RepoFiles } from "../render/cache.js";
import { toolRunners } from "../render/runners.js";
import { renderManagement } from "../render/units.js";

export interface RenderedSide {
  /** Clusters (directories with a cluster.yaml) on this side. */
  names: string[];
  rendered: Map<string, RenderedCluster>;
  findings: Finding[];
  /** The specs that load on this side (only when asked for: the working tree's, for what a render must hold). */
  specs?: Map<string, ClusterSpec>;
  /** With `specs`: the clusters whose cluster.yaml writes `workers` out (not left to the default). */
  workersStated?: Set<string>;
  /** Management folders (repository-relative) that exist on this side, rendered. */
  folders?: Map<string, K8sObject[]>;
}

/** Builds each management folder that exists exactly as validate does (render/units.ts renderManagement, uncached). */
async function renderFolders(
  root: string,
  dirs: readonly string[],
  workers: number,
): Promise<{ folders: Map<string, K8sObject[]>; findings: Finding[] }> {
  const { units, findings } = await renderManagement(
    { root, workers, runners: toolRunners(), files: new RepoFiles(root) },
    dirs,
  );
  return {
    folders: new Map(units.map((u) => [u.fallbackFile.slice(0, -"/kustomization.yaml".length), u.objects])),
    findings,
  };
}

/**
 * Renders `wanted` clusters of `root` (those that exist there), batched like validate (see render/render.ts), and
 * the management `folders`; `specs`: also read the clusters' specs.
 */
export async function renderSide(
  root: string,
  wanted: readonly string[],
  workers: number,
  opts: { folders?: readonly string[]; specs?: boolean } = {},
): Promise<RenderedSide> {
  const names = await clusterNames(root);
  const targets = wanted.filter((c) => names.includes(c));
  const r = await renderClusters(
    root,
    targets.map((name) => ({ name })),
    { workers },
  );
  const f = opts.folders?.length ? await renderFolders(root, opts.folders, workers) : undefined;
  const specs = opts.specs ? new Map<string, ClusterSpec>() : undefined;
  const workersStated = opts.specs ? new Set<string>() : undefined;
  if (specs)
    for (const n of targets) {
      const s = (await readSpec(root, n).catch(() => undefined))?.spec;
      if (s) specs.set(n, s);
      const text = await readFile(path.join(root, clusterSpecPath(n)), "utf8").catch(() => "");
      if (/^workers\s*:/m.test(text)) workersStated?.add(n);
    }
  return {
    names,
    rendered: new Map(r.rendered.map((rc) => [rc.cluster, rc])),
    findings: [...r.findings, ...(f?.findings ?? [])],
    specs,
    workersStated,
    folders: f?.folders,
  };
}

/** Runs `fn` with the root of a detached checkout of `commit` (same sub-directory as `root`), then removes it. */
export async function withBaseCheckout<T>(
  root: string,
  commit: string,
  fn: (baseRoot: string) => Promise<T>,
): Promise<T> {
  const prefix = await showPrefix(root);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-diff-"));
  const dir = path.join(tmp, "base");
  try {
    await addWorktree(root, dir, commit);
    return await fn(path.join(dir, prefix));
  } finally {
    await removeWorktree(root, dir).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    await pruneWorktrees(root).catch(() => undefined);
  }
}
