/**
 * The management layer in e2e: applied to the in-a-box API server in the order the sync engines apply it —
 * cert-manager, the cluster-api-operator, the providers (plan/management.ts MANAGEMENT_LAYERS), then the sync
 * manifests that bring the clusters. The Go suite's e2e/management_test.go reads these steps (E2E_INPUT
 * `managementLayer`). Pure: the renders in, the steps out.
 */
import { MANAGEMENT_LAYERS } from "../plan/management.js";
import { SYNC_DIR } from "../core/layout.js";
import type { K8sObject } from "../k8s/object.js";
import { createStep, type Step } from "./plan.js";

/** The folders of the management layer in order, then management/sync (the clusters come after the providers). */
export const MANAGEMENT_LAYER_DIRS: readonly string[] = [...MANAGEMENT_LAYERS.map((l) => l.dir), SYNC_DIR];

/**
 * One create step per folder, in order; `renders` maps each folder to its kustomize build (a missing one is
 * skipped).
 */
export function managementLayerSteps(renders: ReadonlyMap<string, readonly K8sObject[]>): Step[] {
  return MANAGEMENT_LAYER_DIRS.flatMap((dir) => {
    const objects = renders.get(dir);
    if (objects === undefined) return [];
    return [
      createStep(
        `management layer ${dir}`,
        "management",
        objects,
        objects.map(() => dir),
      ),
    ];
  });
}
