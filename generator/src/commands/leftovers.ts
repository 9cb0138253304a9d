/**
 * `npm run leftovers`: the objects Git no longer renders that Argo CD / Flux left on the management cluster (they
 * never prune generated objects, plan/capi.ts SYNC_SAFE), from the repository's history: every first-parent commit
 * of HEAD that changed what a cluster renders is checked out in a temporary worktree and rendered with the real
 * kustomize (validate's batched render), and the pure fleet/leftovers.ts compares the renders. Read-only: prints the
 * checks and the `kubectl delete` lines, never runs them, and never talks to a cluster.
 */
import { clusterNames } from "../repo/load.js";
import { ADDONS_DIR, CLUSTERS_DIR, RELEASES_DIR } from "../core/layout.js";
import { BASE_DIRS, OVERLAY_DIRS } from "../plan/base.js";
import { firstParentLog, revParse } from "../tools/git.js";
import { withBaseCheckout } from "../workflows/render-sides.js";
import { renderClusters } from "../render/render.js";
import type { Finding } from "../core/findings.js";
import { findLeftovers, type LeftoverReport, type Snapshot } from "../fleet/leftovers.js";
import { UsageError } from "../core/errors.js";

/** What a cluster's render reads: its folder, the shared bases and overlays (or its ring's release), the add-ons. */
const top = (dir: string): string => dir.split("/")[0] ?? dir;
const RENDER_INPUTS = [
  ...new Set([CLUSTERS_DIR, top(BASE_DIRS.cluster), top(OVERLAY_DIRS.clusterReferences), RELEASES_DIR, ADDONS_DIR]),
];

export interface LeftoversResult {
  report: LeftoverReport;
  /** Commits or clusters that did not render (skipped; an object last rendered before may then look dropped later). */
  findings: Finding[];
}

export async function leftoversCommand(opts: {
  cwd: string;
  clusters?: readonly string[];
  since?: string;
  workers?: number;
  log?: (line: string) => void;
}): Promise<LeftoversResult> {
  const head = await revParse(opts.cwd, "HEAD");
  const since = opts.since === undefined ? undefined : await revParse(opts.cwd, opts.since);
  const log = await firstParentLog(opts.cwd, head, RENDER_INPUTS, since);
  const commits = [...(since ? [{ sha: since, date: "", subject: `--since ${opts.since}` }] : []), ...log];
  if (commits.at(-1)?.sha !== head) commits.push({ sha: head, date: "", subject: "HEAD" });
  const headNames = await namesAt(opts.cwd, head);
  const wanted = opts.clusters?.length ? opts.clusters : headNames;
  const unknown = wanted.filter((c) => !headNames.includes(c));
  if (unknown.length)
    throw new UsageError(`no cluster ${unknown.join(", ")} at HEAD (clusters: ${headNames.join(", ") || "none"})`);
  const snapshots: Snapshot[] = [];
  const findings: Finding[] = [];
  for (const [i, c] of commits.entries()) {
    opts.log?.(`rendering ${c.sha.slice(0, 12)} (${i + 1}/${commits.length}) ${c.subject}`);
    const { date, subject, rendered, failed } = await withBaseCheckout(opts.cwd, c.sha, async (root) => {
      const names = (await clusterNames(root)).filter((n) => wanted.includes(n));
      const r = await renderClusters(
        root,
        names.map((name) => ({ name })),
        { workers: opts.workers ?? 2, origins: false },
      );
      const meta = c.date ? { date: c.date, subject: c.subject } : await commitMeta(opts.cwd, c.sha, c.subject);
      return { ...meta, rendered: r.rendered, failed: r.findings };
    });
    const bad = new Set(failed.filter((f) => f.severity === "error").map((f) => f.cluster));
    for (const f of failed) findings.push({ ...f, message: `at ${c.sha.slice(0, 12)}: ${f.message}` });
    snapshots.push({
      commit: { sha: c.sha, date, subject },
      clusters: new Map(rendered.filter((rc) => !bad.has(rc.cluster)).map((rc) => [rc.cluster, rc.objects])),
    });
  }
  return { report: findLeftovers(snapshots), findings };
}

async function namesAt(cwd: string, commit: string): Promise<string[]> {
  return withBaseCheckout(cwd, commit, (root) => clusterNames(root));
}

/** Date and subject of a commit the log did not list (HEAD without render changes, or --since). */
async function commitMeta(cwd: string, sha: string, fallback: string): Promise<{ date: string; subject: string }> {
  const [entry] = await firstParentLog(cwd, sha, [], `${sha}~1`).catch(() => []);
  return entry ? { date: entry.date, subject: entry.subject } : { date: "", subject: fallback };
}
