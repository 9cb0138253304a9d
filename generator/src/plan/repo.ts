/** The pure middle: the repository model in, every planned file out. No fs, no processes, no git. */
import { type RepoConfig, repoConfigSchema } from "../cluster-spec/config.js";

export const CONFIG_SCHEMA_PATH = "schemas/repo-config.schema.json";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { clusterSpecSchema } from "../cluster-spec/schema.js";
import { planBase, planOverlays } from "./base.js";
import { planCluster, SPEC_SCHEMA_PATH } from "./cluster.js";
import { planSync } from "./sync.js";
import { planProviders } from "./providers.js";
import { mergeOutputs, type OutputFile, owned } from "./files.js";

export interface RepoModel {
  specs: ClusterSpec[];
  /** capi-gitops.yaml; without it no sync manifests are generated. */
  config?: RepoConfig;
}

export function planShared(): OutputFile[] {
  return mergeOutputs([planBase(), planOverlays(), planProviders(), [owned(SPEC_SCHEMA_PATH, `${JSON.stringify(clusterSpecSchema, null, 2)}\n`), owned(CONFIG_SCHEMA_PATH, `${JSON.stringify(repoConfigSchema, null, 2)}\n`)]]);
}

export function planRepo(model: RepoModel): OutputFile[] {
  return mergeOutputs([planShared(), model.config ? planSync(model.config, model.specs) : [], ...model.specs.map(planCluster)]);
}
