/**
 * Rendering both sides of a diff: the base revision in a temporary `git worktree` (removed afterwards, also on
 * failure) and the working tree, each through the batched `renderClusters`.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Finding } from "../findings.js";
import { clusterNames, readSpec } from "../repo/load.js";
import { addWorktree, pruneWorktrees, removeWorktree, showPrefix } from "../tools/git.js";
import { renderClusters, type RenderedCluster } from "../validate/render.js";

export interface RenderedSide {
  /** Clusters (directories with a cluster.yaml) on this side. */
  names: string[];
  rendered: Map<string, RenderedCluster>;
  findings: Finding[];
}

/** A cluster's namespace: from its spec (defaults applied), else read leniently (a broken spec still renders). */
async function namespaceOf(root: string, name: string): Promise<string | undefined> {
  try {
    const spec = (await readSpec(root, name)).spec;
    if (spec) return spec.namespace;
    const doc = parseYaml(await readFile(path.join(root, "clusters", name, "cluster.yaml"), "utf8")) as { namespace?: unknown } | null;
    return typeof doc?.namespace === "string" ? doc.namespace : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Renders `wanted` clusters of `root` (those that exist there). Clusters with a namespace of their own are built
 * in batches (objects are attributed by namespace); the others one by one.
 */
export async function renderSide(root: string, wanted: readonly string[], workers: number): Promise<RenderedSide> {
  const names = await clusterNames(root);
  const targets = wanted.filter((c) => names.includes(c));
  const ns = new Map<string, string | undefined>();
  for (const c of targets) ns.set(c, await namespaceOf(root, c));
  const seen = new Map<string, number>();
  for (const n of ns.values()) if (n) seen.set(n, (seen.get(n) ?? 0) + 1);
  const batched = targets.filter((c) => (seen.get(ns.get(c) ?? "") ?? 0) === 1);
  const single = targets.filter((c) => !batched.includes(c));
  const rendered = new Map<string, RenderedCluster>();
  const findings: Finding[] = [];
  for (const [group, chunkSize] of [[batched, undefined], [single, 1]] as const) {
    if (group.length === 0) continue;
    const r = await renderClusters(root, group.map((name) => ({ name, namespace: ns.get(name) })), { workers, chunkSize });
    for (const rc of r.rendered) rendered.set(rc.cluster, rc);
    findings.push(...r.findings);
  }
  return { names, rendered, findings };
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
