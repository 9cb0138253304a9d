/**
 * Rendering both sides of a diff: the base revision in a temporary `git worktree` (removed afterwards, also on
 * failure) and the working tree, each through the batched `renderClusters`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../findings.js";
import { clusterNames } from "../repo/load.js";
import { addWorktree, pruneWorktrees, removeWorktree, showPrefix } from "../tools/git.js";
import { renderClusters, type RenderedCluster } from "../validate/render.js";

export interface RenderedSide {
  /** Clusters (directories with a cluster.yaml) on this side. */
  names: string[];
  rendered: Map<string, RenderedCluster>;
  findings: Finding[];
}

/** Renders `wanted` clusters of `root` (those that exist there), batched like validate (see validate/render.ts). */
export async function renderSide(root: string, wanted: readonly string[], workers: number): Promise<RenderedSide> {
  const names = await clusterNames(root);
  const targets = wanted.filter((c) => names.includes(c));
  const r = await renderClusters(root, targets.map((name) => ({ name })), { workers });
  return { names, rendered: new Map(r.rendered.map((rc) => [rc.cluster, rc])), findings: r.findings };
}

/** Runs `fn` with the root of a detached checkout of `commit` (same sub-directory as `root`), then removes it. */
export async function withBaseCheckout<T>(root: string, commit: string, fn: (baseRoot: string) => Promise<T>): Promise<T> {
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
