/** The pure middle: the repository model in, every planned file out. No fs, no processes, no git. */
import type { ClusterSpec } from "../spec/types.js";
import { clusterSpecSchema } from "../spec/schema.js";
import { planBase, planOverlays } from "./base.js";
import { planCluster, SPEC_SCHEMA_PATH } from "./cluster.js";
import { mergeOutputs, type OutputFile, owned } from "./files.js";

export interface RepoModel {
  specs: ClusterSpec[];
}

export function planShared(): OutputFile[] {
  return mergeOutputs([planBase(), planOverlays(), [owned(SPEC_SCHEMA_PATH, `${JSON.stringify(clusterSpecSchema, null, 2)}\n`)]]);
}

export function planRepo(model: RepoModel): OutputFile[] {
  return mergeOutputs([planShared(), ...model.specs.map(planCluster)]);
}
