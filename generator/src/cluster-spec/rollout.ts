/**
 * Rings: the order in which a change reaches the fleet. `capi-gitops.yaml` declares them once (`rollout.rings`, in
 * order); a cluster names its ring in `rollout.ring` (default: the last ring). Everything that shows or uses a ring —
 * the sync manifests (Argo CD RollingSync steps, Flux dependsOn), `inventory`, `diff`, `new-cluster --ring` — asks
 * these functions, so the default and the order are said once.
 */
import type { Finding } from "../core/findings.js";
import { clusterSpecPath } from "../core/layout.js";
import { CONFIG_FILE, DEFAULT_RINGS, type RepoConfig, type Ring } from "./config.js";
import type { ClusterSpec } from "./types.js";

/** The rings in the order a change reaches them; without a config, the default single ring. */
export function ringOrder(config: RepoConfig | undefined): readonly Ring[] {
  return config?.rollout.rings ?? DEFAULT_RINGS;
}

/** The ring a cluster is in when its spec names none: the last, so a new cluster never goes first by accident. */
export function defaultRing(config: RepoConfig | undefined): string {
  return ringOrder(config).at(-1)?.name ?? "main";
}

/** The ring of a cluster: its `rollout.ring`, else the last ring. */
export function clusterRing(spec: ClusterSpec, config: RepoConfig | undefined): string {
  return spec.rollout?.ring ?? defaultRing(config);
}

/** The position of a ring in the order (0 first), or -1 for a ring the config does not declare. */
export function ringIndex(ring: string, config: RepoConfig | undefined): number {
  return ringOrder(config).findIndex((r) => r.name === ring);
}

/** The clusters of each ring, in ring order (empty rings included), each ring's clusters by name. */
export function clustersByRing(
  specs: readonly ClusterSpec[],
  config: RepoConfig | undefined,
): { ring: Ring; clusters: ClusterSpec[] }[] {
  return ringOrder(config).map((ring) => ({
    ring,
    clusters: specs
      .filter((s) => clusterRing(s, config) === ring.name)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  }));
}

/**
 * A cluster naming a ring the config does not declare: refused, since no sync step would select it (Argo CD leaves
 * an Application no step selects unsynced; Flux would have no place for it in the order).
 */
export function ringFindings(specs: readonly ClusterSpec[], config: RepoConfig | undefined): Finding[] {
  const declared = ringOrder(config).map((r) => r.name);
  return specs
    .filter((s) => s.rollout?.ring !== undefined && !declared.includes(s.rollout.ring))
    .map((s) => ({
      cluster: s.name,
      file: clusterSpecPath(s.name),
      path: "rollout.ring",
      rule: "rollout-ring" as const,
      severity: "error" as const,
      message:
        `ring "${s.rollout?.ring ?? ""}" is not declared in ${CONFIG_FILE} (rollout.rings: ${declared.join(", ")}); ` +
        `name one of them, or declare the ring there`,
    }));
}
