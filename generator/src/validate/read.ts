/**
 * Typed reads of rendered objects for the rules. A render may hold anything a hand-edited overlay wrote: every read
 * says what it found as a type (a missing or odd field is undefined, an empty list or an empty mapping), never throws.
 */
import { get, groupOf, isRecord, type K8sObject } from "../k8s/object.js";

/** Any value as message text; never throws (YAML can hold `{toString: null}`). */
export const show = (v: unknown): string => {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
};

/** A list, or [] for anything else. */
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A mapping, or {} for anything else. */
export const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
/** The string entries of a mapping (labels, annotations). */
export const strings = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(record(v)).filter((e): e is [string, string] => typeof e[1] === "string"));

/** The string at a dotted path, else undefined. */
export const strAt = (o: unknown, path: string): string | undefined => {
  const v = get(o, path);
  return typeof v === "string" ? v : undefined;
};
/** The number at a dotted path, else undefined. */
export const numAt = (o: unknown, path: string): number | undefined => {
  const v = get(o, path);
  return typeof v === "number" ? v : undefined;
};
/** The mapping at a dotted path, else {}. */
export const recAt = (o: unknown, path: string): Record<string, unknown> => record(get(o, path));
/** The list at a dotted path, else []. */
export const arrAt = (o: unknown, path: string): unknown[] => list(get(o, path));

/** The mappings of a render (odd documents are no objects). */
export const objectsOf = (objs: readonly unknown[]): K8sObject[] => objs.filter((o): o is K8sObject => isRecord(o));

/** Whether an object is of a kind of an API group (`""`: the core group). */
export const is = (o: K8sObject, group: string, kind: string): boolean =>
  o.kind === kind && groupOf(o.apiVersion) === group;

/** `Kind/name`, as a finding's path names an object. */
export const idOf = (o: K8sObject): string => `${show(o.kind)}/${show(o.metadata?.name)}`;

/** A value as `String()` writes it (odd input included), where it is compared with other values written so. */
export const stringOf = (v: unknown): string => String(v);
