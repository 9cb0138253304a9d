/** The pure middle: the repository model and the pinned versions in, every planned file out. No fs, no processes, no git. */
import { type RepoConfig, repoConfigSchema } from "../cluster-spec/config.js";

export const CONFIG_SCHEMA_PATH = "schemas/repo-config.schema.json";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { clusterSpecSchema } from "../cluster-spec/schema.js";
import { planBase, planOverlays } from "./base.js";
import { planCluster, SPEC_SCHEMA_PATH } from "./cluster.js";
import { planSync } from "./sync.js";
import { planProviders } from "./providers.js";
import { mergeOutputs, type OutputFile, owned } from "./files.js";
import type { Pins } from "../versions.js";

export interface RepoModel {
  specs: ClusterSpec[];
  /** capi-gitops.yaml; without it no sync manifests are generated. */
  config?: RepoConfig;
}

export function planShared(pins: Pins): OutputFile[] {
  return mergeOutputs([planBase(), planOverlays(), planProviders(pins), [owned(SPEC_SCHEMA_PATH, `${JSON.stringify(clusterSpecSchema, null, 2)}\n`), owned(CONFIG_SCHEMA_PATH, `${JSON.stringify(repoConfigSchema, null, 2)}\n`)]]);
}

/** Every planned file; `pins` are the pinned versions (versions.ts `versions()`), read by the caller. */
export function planRepo(model: RepoModel, pins: Pins): OutputFile[] {
  return mergeOutputs([planShared(pins), model.config ? planSync(model.config, model.specs) : [], ...model.specs.map(planCluster)]);
}
