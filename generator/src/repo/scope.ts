/**
 * What a change is, for CI (.github/workflows/validate.yml, generator/ci/scope.ts): fleet data only, or the tool. Fleet
 * data is what the generator and validate read as the fleet — cluster folders, the shared kustomize layers (base/,
 * overlays/, the rings' releases/), management/ and the repository config — and what validate `--changed-since` follows
 * from changed files to clusters (repo/affected.ts). Top-level Markdown is documentation. Everything else is the tool
 * (generator/, package*.json, versions.json, the hydrated add-ons addons/ and addons.lock.json, the Go modules,
 * schemas/, .github/, .ci/, e2e/, configuration files, and any folder added later): a change there can alter any
 * cluster's result, so it runs the tool's tests and validates the whole fleet. addons/ is the tool's because only the
 * tool's tests re-hydrate it from the pinned charts and compare it byte for byte (addons.test.ts): the lock is written
 * beside the payloads, so a change to both is caught only there. Pure.
 */
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { BASE_DIRS, OVERLAY_DIRS } from "../plan/base.js";
import { CLUSTERS_DIR, IAM_DIR, PROVIDERS_DIR, RELEASES_DIR, SYNC_DIR } from "../core/layout.js";

const top = (dir: string): string => dir.split("/")[0] ?? dir;

/** The top-level folders that hold fleet data. */
export const FLEET_DIRS: readonly string[] = [
  ...new Set(
    [
      CLUSTERS_DIR,
      ...Object.values(BASE_DIRS),
      OVERLAY_DIRS.clusterReferences,
      RELEASES_DIR,
      SYNC_DIR,
      PROVIDERS_DIR,
      IAM_DIR,
    ].map(top),
  ),
].sort();
/** The top-level files that are fleet data. */
export const FLEET_FILES: readonly string[] = [CONFIG_FILE];

export type PathKind = "fleet" | "docs" | "tool";

export function pathKind(p: string): PathKind {
  if (FLEET_FILES.includes(p) || (p.includes("/") && FLEET_DIRS.includes(top(p)))) return "fleet";
  if (!p.includes("/") && /\.md$/i.test(p)) return "docs";
  return "tool";
}

export interface ChangeScope {
  /** The tool changed: run its tests, e2e and benchmark, and validate the whole fleet. */
  tool: boolean;
  /** The changed paths that make it a tool change, sorted. */
  toolPaths: string[];
}

export function changeScope(changed: readonly string[]): ChangeScope {
  const toolPaths = changed.filter((p) => pathKind(p) === "tool").sort();
  return { tool: toolPaths.length > 0, toolPaths };
}
