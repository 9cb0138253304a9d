/**
 * Which rings a change touches (pure): each changed cluster's ring, the rings in order with the clusters of each that
 * the change reaches, and a flag when a file every cluster reads (base/, overlays/, add-ons: anything outside
 * clusters/) changes clusters of several rings in one change — the sync engines would still take the rings one after
 * the other, but the change would reach the later rings as soon as the earlier ones are Available, with no decision
 * in between; releasing it ring by ring keeps each ring's step a reviewed change in Git.
 */
import type { RepoConfig } from "../cluster-spec/config.js";
import { clusterRing, ringOrder } from "../cluster-spec/rollout.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../core/findings.js";
import { RELEASES_DIR } from "../core/layout.js";
import { SHARED_ROOTS } from "../plan/base.js";
import { ringsOrderSync } from "../plan/sync.js";
import type { DiffReport, RingReach } from "./format.js";

/** The folders `npm run release` moves one ring at a time (the shared folders and the releases made of them). */
const RELEASED_ROOTS = [...SHARED_ROOTS, RELEASES_DIR];

/** The README section that says how a change is released ring by ring. */
const README_SECTION = 'README "Rolling a change through the fleet"';

/**
 * The rings of the clusters whose render changes, in ring order (a removed cluster has no spec left, and no ring);
 * `viaShared` the clusters a changed shared file reaches; `shared` those files. Sets each cluster report's `ring`.
 * Nothing without two rings or more.
 */
export function ringsOfChange(
  report: DiffReport,
  specs: ReadonlyMap<string, ClusterSpec>,
  config: RepoConfig | undefined,
  viaShared: readonly string[],
  shared: readonly string[],
): { reached: RingReach[]; findings: Finding[] } | undefined {
  if (!config || !ringsOrderSync(config)) return undefined;
  const ringOf = (cluster: string) => {
    const spec = specs.get(cluster);
    return spec ? clusterRing(spec, config) : undefined;
  };
  const changed = report.clusters.filter((c) => c.status !== "unchanged");
  for (const c of report.clusters) c.ring = ringOf(c.cluster);
  const reached = ringOrder(config)
    .map((r) => ({ ring: r.name, clusters: changed.filter((c) => c.ring === r.name).map((c) => c.cluster) }))
    .filter((r) => r.clusters.length > 0);
  const byShared = ringOrder(config)
    .map((r) => ({
      ring: r.name,
      clusters: changed.filter((c) => c.ring === r.name && viaShared.includes(c.cluster)).map((c) => c.cluster),
    }))
    .filter((r) => r.clusters.length > 0);
  const findings: Finding[] = [];
  const [first] = byShared;
  if (first && byShared.length > 1) {
    const files = shared.slice(0, 3).join(", ") + (shared.length > 3 ? ` and ${shared.length - 3} more` : "");
    // `npm run release` moves base/ and the overlays (and writes releases/); nothing else is held per ring in Git.
    const releasable = shared.some((f) => RELEASED_ROOTS.some((root) => f === root || f.startsWith(`${root}/`)));
    findings.push({
      file: shared[0],
      rule: "change-reaches-all-rings",
      severity: "warning",
      message:
        `${files}, read by every cluster, changes ${byShared.length} rings in one change ` +
        `(${byShared.map((r) => `${r.ring}: ${r.clusters.join(", ")}`).join("; ")}): merged, it reaches each ` +
        `ring as soon as the one before is Available, with no review in between. ` +
        (releasable
          ? `Release it ring by ring instead — \`npm run release -- --ring ${first.ring}\`, then the next ring ` +
            `once ${first.ring} is Available (${README_SECTION})`
          : `\`npm run release\` moves only base/ and the overlays, not these files: to stop between rings, ` +
            `review ring ${first.ring}'s clusters once Available before the sync engine goes on, or hold the ` +
            `later rings (Argo CD: maxUpdate 0; Flux: suspend their Kustomizations) (${README_SECTION})`),
    });
  }
  return { reached, findings };
}
