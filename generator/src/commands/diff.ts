/**
 * `diff --base <ref>`: the clusters a change affects, rendered with kustomize at `base` (a temporary worktree) and
 * in the working tree, compared object by object, with the changes the management cluster would reject or not
 * roll out flagged as findings. Returns the report text; the CLI decides the exit code.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ToolError, UsageError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { formatMarkdown, formatText, type ClusterReport, type DiffReport } from "../diff/format.js";
import { diffPictures, ringMembers } from "../diff/picture.js";
import { ringOrder } from "../cluster-spec/rollout.js";
import { renderSide, withBaseCheckout, type RenderedSide } from "../workflows/render-sides.js";
import { affectedBy, affectedClusters, diskReader } from "../repo/affected.js";
import { readConfig } from "../repo/load.js";
import { ringsOfChange } from "../diff/rings.js";
import { unreleasedChangeFindings } from "../plan/release.js";
import { rollout } from "../plan/repo.js";
import { dependencies } from "../kustomize/walk.js";
import { clusterDir, clusterOfPath } from "../core/layout.js";
import { ADDONS_DIR } from "../core/layout.js";
import { MANAGEMENT_DIRS } from "../render/units.js";
import { ADDONS_LOCK_FILE } from "../plan/addons-lock.js";
import { isRepository, revParse } from "../tools/git.js";
import { attributeFinding } from "../validate/attribution.js";
import { versions } from "../pins/versions.js";
import { compareSides, MANAGEMENT_PREFIX } from "../workflows/compare.js";

export interface DiffOptions {
  cwd: string;
  /** The revision to compare the working tree with, e.g. origin/main. */
  base: string;
  format: "text" | "markdown";
  workers?: number;
}

export interface DiffResult {
  output: string;
  findings: Finding[];
  report: DiffReport;
}

/**
 * addons-changed: the change edits the hydrated add-ons (addons/) or their lock. Their payloads reach every workload
 * cluster with admin rights, and `npm run addons` alone writes both (from versions.json), so each file is an error —
 * the lock cannot vouch for a payload edited in the same change. Pure.
 */
function addonsChanged(changedFiles: readonly string[]): ClusterReport | undefined {
  const files = changedFiles.filter((p) => p.startsWith(`${ADDONS_DIR}/`) || p === ADDONS_LOCK_FILE).sort();
  if (!files.length) return undefined;
  const findings = files.map((file): Finding => ({
    file,
    rule: "addons-changed",
    severity: "error",
    message:
      `changes the hydrated add-ons${file === ADDONS_LOCK_FILE ? "' lock" : ""}, applied to every ` +
      `workload cluster with admin rights; only \`npm run addons\` writes ${ADDONS_DIR}/ and ` +
      `${ADDONS_LOCK_FILE} (from versions.json): change the pins there and re-run it, or restore the file ` +
      `from the base`,
  }));
  return { cluster: ADDONS_DIR, status: "changed", changes: [], findings };
}

/** Changed files no cluster owns: base/, overlays/, addons/ and the like (not management/, not the config). */
const affectedFilesOutsideClusters = (changed: readonly string[]): string[] =>
  changed.filter((p) => clusterOfPath(p) === undefined && !p.startsWith(MANAGEMENT_PREFIX) && p !== CONFIG_FILE);

export async function diffCommand(opts: DiffOptions): Promise<DiffResult> {
  const root = path.resolve(opts.cwd);
  if (!(await isRepository(root)))
    throw new UsageError(`${root} is not inside a git repository; diff compares against a git revision`);
  let commit: string;
  try {
    commit = await revParse(root, opts.base);
  } catch (e) {
    if (e instanceof ToolError && /not installed/.test(e.message)) throw e;
    throw new UsageError(
      `--base ${opts.base} is not a commit of this repository; fetch it first (e.g. \`git fetch origin ` +
        `main\`) or name another revision`,
    );
  }
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const affected = await affectedClusters(root, commit);
  let before: RenderedSide = { names: [], rendered: new Map(), findings: [] };
  let after: RenderedSide = { names: [], rendered: new Map(), findings: [] };
  // The management folders when the change touches them or the repository config (the GitOps engine).
  const folders = affected.changedFiles.some((p) => p.startsWith(MANAGEMENT_PREFIX) || p === CONFIG_FILE)
    ? MANAGEMENT_DIRS
    : [];
  if (affected.clusters.length || affected.removed.length || folders.length) {
    // allSettled: a failure on one side must not return before the other side's worktree is cleaned up.
    const [b, a] = await Promise.allSettled([
      withBaseCheckout(root, commit, (baseRoot) =>
        renderSide(baseRoot, [...affected.clusters, ...affected.removed], workers, { folders }),
      ),
      renderSide(root, affected.clusters, workers, { folders, specs: true }),
    ]);
    if (b.status === "rejected") throw b.reason;
    if (a.status === "rejected") throw a.reason;
    [before, after] = [b.value, a.value];
  }
  const { report, findings: compared } = compareSides(
    opts.base,
    affected.clusters,
    affected.removed,
    before,
    after,
    versions(),
  );
  // A flag on a field the cluster's own patch set names that patch (see validate/attribution.ts).
  const read = (rel: string) => {
    try {
      return readFileSync(path.join(root, rel), "utf8");
    } catch {
      return undefined;
    }
  };
  for (const r of report.clusters)
    r.findings = r.findings.map((f) => attributeFinding(f, after.rendered.get(r.cluster), read));
  const addons = addonsChanged(affected.changedFiles);
  if (addons) (report.management ??= []).push(addons);
  // The rings the change reaches: each changed cluster's, and which of them a file every cluster reads reaches.
  const shared = affectedFilesOutsideClusters(affected.changedFiles);
  const readDisk = diskReader(root);
  const viaShared = affectedBy(shared, affected.clusters, (c) => dependencies(clusterDir(c), readDisk));
  const { config } = await readConfig(root);
  const rings = ringsOfChange(report, after.specs ?? new Map(), config, viaShared, shared);
  // With releases, a base/ or overlays/ change reaches no cluster yet: say so, with the way to release it.
  const releasing = rollout({ config });
  if (rings && releasing) rings.findings.push(...unreleasedChangeFindings(affected.changedFiles, releasing.rings));
  if (rings) report.rings = rings;
  const findings = [
    ...report.clusters.flatMap((r) => r.findings),
    ...compared.filter((f) => f.cluster === undefined),
    ...(addons?.findings ?? []),
    ...(rings?.findings ?? []),
  ];
  // The pictures (Markdown): the touched clusters from their render, and the rings above in the declared order.
  if (opts.format === "markdown")
    report.pictures = diffPictures(report.clusters, before.rendered, after.rendered, {
      ...(rings
        ? {
            rings: ringMembers(
              rings.reached,
              ringOrder(config).map((r) => r.name),
            ),
          }
        : {}),
    });
  const output = opts.format === "markdown" ? formatMarkdown(report) : formatText(report);
  return { output, findings, report };
}
