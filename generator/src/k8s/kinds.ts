/** Kind guards: narrow a parsed or built object to the kind's generated type (kinds.generated.ts). */
import { TYPED_API_VERSIONS, type KindTypes } from "./kinds.generated.js";
import { groupOf, isK8sObject, isRecord } from "./object.js";

/** The API groups with generated kind types ("" is the core group). */
export type TypedGroup = keyof typeof TYPED_API_VERSIONS;
/** The kinds typed in a group. */
export type TypedKind<G extends TypedGroup> = keyof KindTypes[(typeof TYPED_API_VERSIONS)[G]] & string;
/** The generated type of a group's kind. */
export type KindOf<G extends TypedGroup, K extends TypedKind<G>> = KindTypes[(typeof TYPED_API_VERSIONS)[G]][K];

/**
 * Whether `o` is the kind at the typed version (`isKind(o, GROUP.core, "Cluster")` → o is `Cluster` of
 * cluster.x-k8s.io/v1beta2). The fields are not checked: kubeconform validates them against the same schemas.
 */
export function isKind<G extends TypedGroup, K extends TypedKind<G>>(o: unknown, group: G, kind: K): o is KindOf<G, K> {
  return isK8sObject(o) && o.apiVersion === TYPED_API_VERSIONS[group] && o.kind === kind;
}

/** Whether `o` has the group and kind, at any version (no narrowing: other versions have other fields). */
export const isGroupKind = (o: unknown, group: string, kind: string): boolean =>
  isRecord(o) && o.kind === kind && groupOf(o.apiVersion) === group;
