/**
 * Rendering both sides of a diff: the base revision in a temporary `git worktree` (removed afterwards, also on
 * failure) and the working tree, each through the batched `renderClusters`; the management folders (management/sync,
 * management/providers) with one build each when the change touches them.
 */
import { access, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../findings.js";
import { clusterNames, readSpec } from "../repo/load.js";
import { diskReader } from "../repo/affected.js";
import { kustomizeBuild, parseBuildOutput } from "../tools/kustomize.js";
import { addWorktree, pruneWorktrees, removeWorktree, showPrefix } from "../tools/git.js";
import { isBuildFailure, renderClusters, type RenderedCluster, type RenderedObject } from "../validate/render.js";
import { remoteFindings } from "../validate/remote.js";

export interface RenderedSide {
  /** Clusters (directories with a cluster.yaml) on this side. */
  names: string[];
  rendered: Map<string, RenderedCluster>;
  findings: Finding[];
  /** The specs that load on this side (only when asked for: the working tree's, for what a render must hold). */
  specs?: Map<string, ClusterSpec>;
  /** Management folders (repository-relative) that exist on this side, rendered. */
  folders?: Map<string, RenderedObject[]>;
}

/** Builds each management folder that exists (remote references refused first); failed builds are findings. */
async function renderFolders(root: string, dirs: readonly string[]): Promise<{ folders: Map<string, RenderedObject[]>; findings: Finding[] }> {
  const folders = new Map<string, RenderedObject[]>();
  const findings: Finding[] = [];
  for (const dir of dirs) {
    if (!(await access(path.join(root, dir, "kustomization.yaml")).then(() => true, () => false))) continue;
    const remote = remoteFindings(dir, diskReader(root));
    if (remote.length) {
      findings.push(...remote);
      continue;
    }
    try {
      folders.set(dir, parseBuildOutput(await kustomizeBuild(root, dir), dir) as RenderedObject[]);
    } catch (e) {
      if (!isBuildFailure(e)) throw e;
      findings.push({ file: `${dir}/kustomization.yaml`, rule: "kustomize-build", severity: "error", message: `kustomize build failed: ${(e.stderr || e.message).split("\n")[0]}` });
    }
  }
  return { folders, findings };
}

/**
 * Renders `wanted` clusters of `root` (those that exist there), batched like validate (see validate/render.ts), and
 * the management `folders`; `specs`: also read the clusters' specs.
 */
export async function renderSide(root: string, wanted: readonly string[], workers: number, opts: { folders?: readonly string[]; specs?: boolean } = {}): Promise<RenderedSide> {
  const names = await clusterNames(root);
  const targets = wanted.filter((c) => names.includes(c));
  const r = await renderClusters(root, targets.map((name) => ({ name })), { workers });
  const f = opts.folders?.length ? await renderFolders(root, opts.folders) : undefined;
  const specs = opts.specs ? new Map<string, ClusterSpec>() : undefined;
  if (specs)
    for (const n of targets) {
      const s = (await readSpec(root, n).catch(() => undefined))?.spec;
      if (s) specs.set(n, s);
    }
  return { names, rendered: new Map(r.rendered.map((rc) => [rc.cluster, rc])), findings: [...r.findings, ...(f?.findings ?? [])], specs, folders: f?.folders };
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
