/**
 * The compare of two renders of the same clusters (a base and a change): per cluster and per management folder,
 * object by object, with the changes the management cluster would reject or not roll out flagged as findings. Pure;
 * `diff` renders both sides of a git change, `e2e` the fixtures before and after a flagged change.
 */
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { SYNC_DIR } from "../core/layout.js";
import { clustersMoved, flagChanges, gitopsEngineSwitched, syncSourceChanged } from "../diff/flags.js";
import type { ClusterReport, DiffReport } from "../diff/format.js";
import { diffObjects } from "../diff/objects.js";
import type { RenderedSide } from "./render-sides.js";
import { upgradeStepFindings } from "../diff/upgrade.js";
import type { Pins } from "../pins/versions.js";
import { renderCompleteness } from "../validate/rules.js";

/** Findings of a build on one side that belong to `cluster`. */
const buildFindings = (side: RenderedSide, cluster: string) => side.findings.filter((f) => f.cluster === cluster);

/** Pure: both sides' renders → one report per cluster (sorted by name). */
export function compareSides(
  base: string,
  clusters: readonly string[],
  removed: readonly string[],
  before: RenderedSide,
  after: RenderedSide,
  pins?: Pins,
): { report: DiffReport; findings: Finding[] } {
  const reports: ClusterReport[] = [];
  for (const cluster of [...new Set([...clusters, ...removed])].sort()) {
    const failedAfter = buildFindings(after, cluster);
    const failedBefore = buildFindings(before, cluster).map((f) => ({
      ...f,
      rule: "diff-base-build" as const,
      severity: "warning" as const,
      message: `at ${base}: ${f.message}; the cluster was not compared`,
    }));
    if (failedAfter.length || failedBefore.length) {
      reports.push({ cluster, status: "failed", changes: [], findings: [...failedAfter, ...failedBefore] });
      continue;
    }
    const old = before.rendered.get(cluster) ?? { cluster, objects: [], origins: [] };
    const now = after.rendered.get(cluster) ?? { cluster, objects: [], origins: [] };
    const changes = diffObjects(old, now);
    const status = removed.includes(cluster)
      ? "removed"
      : !before.names.includes(cluster)
        ? "new"
        : changes.length
          ? "changed"
          : "unchanged";
    const upgrade = status === "changed" ? upgradeStepFindings(cluster, old.objects, now.objects) : [];
    const spec = after.specs?.get(cluster);
    const flags = flagChanges(cluster, changes, old.objects, now.objects, {
      stays: status === "changed",
      spec,
      pins,
      workersStated: after.workersStated?.has(cluster),
    });
    // What the spec says the render must hold, as validate checks it: an empty render on both sides (a kustomize that
    // prints nothing, `resources: []` already at the base) compares "the same" but is no cluster. Objects
    // core-object-removed already names (they left the render in this change) are not reported twice.
    const removedFlagged = flags.filter((f) => f.rule === "core-object-removed").map((f) => f.path ?? "");
    const incomplete =
      spec && status !== "removed"
        ? renderCompleteness(now, spec).filter((f) => !removedFlagged.some((p) => p.startsWith(`${f.path}:`)))
        : [];
    reports.push({ cluster, status, changes, findings: [...flags, ...upgrade, ...incomplete] });
  }
  // A cluster directory moved: the removed and the new cluster share region and VPC CIDR.
  const objectsOf = (side: RenderedSide, status: string) =>
    new Map(
      reports.filter((r) => r.status === status).map((r) => [r.cluster, side.rendered.get(r.cluster)?.objects ?? []]),
    );
  for (const f of clustersMoved(objectsOf(before, "removed"), objectsOf(after, "new")))
    reports.find((r) => r.cluster === f.cluster)?.findings.push(f);
  const findings = reports.flatMap((r) => r.findings);
  const management = compareFolders(base, before, after);
  findings.push(...management.flatMap((r) => r.findings));
  // Objects no cluster could claim (repository-wide) are reported once, as the render layer words them.
  findings.push(...after.findings.filter((f) => f.cluster === undefined && !f.file?.startsWith(MANAGEMENT_PREFIX)));
  return { report: { base, clusters: reports, ...(management.length ? { management } : {}) }, findings };
}

export const MANAGEMENT_PREFIX = "management/";

/**
 * The management folders both sides rendered (diffCommand renders them when the change touches management/ or
 * capi-gitops.yaml), compared object by object; an engine switch in management/sync is flagged. Pure.
 */
function compareFolders(base: string, before: RenderedSide, after: RenderedSide): ClusterReport[] {
  if (!before.folders && !after.folders) return [];
  const dirs = [
    ...new Set([
      ...(before.folders?.keys() ?? []),
      ...(after.folders?.keys() ?? []),
      ...after.findings.flatMap(({ cluster, file }) =>
        cluster === undefined && file?.startsWith(MANAGEMENT_PREFIX) ? [path.posix.dirname(file)] : [],
      ),
    ]),
  ].sort();
  return dirs.map((dir): ClusterReport => {
    const failed = [
      ...after.findings.filter((f) => f.cluster === undefined && f.file?.startsWith(`${dir}/`)),
      ...before.findings
        .filter((f) => f.cluster === undefined && f.file?.startsWith(`${dir}/`))
        .map((f) => ({
          ...f,
          rule: "diff-base-build" as const,
          severity: "warning" as const,
          message: `at ${base}: ${f.message}; the folder was not compared`,
        })),
    ];
    if (failed.length) return { cluster: dir, status: "failed", changes: [], findings: failed };
    const old = before.folders?.get(dir);
    const now = after.folders?.get(dir);
    const changes = diffObjects({ objects: old ?? [] }, { objects: now ?? [] });
    const status = !now ? "removed" : !old ? "new" : changes.length ? "changed" : "unchanged";
    const findings =
      dir === SYNC_DIR
        ? [...gitopsEngineSwitched(dir, old ?? [], now ?? []), ...syncSourceChanged(dir, old ?? [], now ?? [])]
        : [];
    return { cluster: dir, status, changes, findings };
  });
}
