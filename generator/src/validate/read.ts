/**
 * What the rules add to the accessors of k8s/object.ts: objects of a render, and values as message text. A render may
 * hold anything a hand-edited overlay wrote: nothing here throws.
 */
import { isRecord, type K8sObject } from "../k8s/object.js";

/** Any value as message text; never throws (YAML can hold `{toString: null}`). */
export const show = (v: unknown): string => {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
};

/** The mappings of a render (odd documents are no objects). */
export const objectsOf = (objs: readonly unknown[]): K8sObject[] => objs.filter((o): o is K8sObject => isRecord(o));

/** `Kind/name`, as a finding's path names an object. */
export const idOf = (o: K8sObject): string => `${show(o.kind)}/${show(o.metadata?.name)}`;

/** A value as `String()` writes it (odd input included), where it is compared with other values written so. */
export const stringOf = (v: unknown): string => String(v);
