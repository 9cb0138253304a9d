/** Kubernetes objects as data: the object type, and safe accessors that never throw on odd input. */

/** The metadata every object carries as the generator builds it and as a render parses it. */
export type K8sMetadata = {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

/** A Kubernetes object as the generator builds it and as a render parses it (apiVersion, kind, metadata typed). */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: K8sMetadata;
  spec?: Record<string, unknown>;
  [key: string]: unknown;
};

/** Whether a value is a mapping (a plain object, no array, no null). */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const isStringMap = (v: unknown): v is Record<string, string> =>
  isRecord(v) && Object.values(v).every((x) => typeof x === "string");

/** A list, or [] for anything else. */
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A mapping, or {} for anything else. */
export const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/** The string entries of a mapping (labels, annotations); {} for anything else. */
export const stringMap = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(record(v)).filter((e): e is [string, string] => typeof e[1] === "string"));

/** Whether a parsed value has the shape of a Kubernetes object (apiVersion, kind, metadata.name as strings). */
export function isK8sObject(v: unknown): v is K8sObject {
  if (!isRecord(v) || typeof v.apiVersion !== "string" || typeof v.kind !== "string") return false;
  const meta = v.metadata;
  if (!isRecord(meta) || typeof meta.name !== "string") return false;
  if (meta.namespace !== undefined && typeof meta.namespace !== "string") return false;
  if (meta.labels !== undefined && !isStringMap(meta.labels)) return false;
  if (meta.annotations !== undefined && !isStringMap(meta.annotations)) return false;
  return v.spec === undefined || isRecord(v.spec);
}

/**
 * Whether a document has the header kustomize insists on (apiVersion, kind, metadata.name as strings). Only the
 * header is checked: kustomize prints what it read, so a label may be a number or `spec` a list; readers of such an
 * object use the accessors below, which say what they found.
 */
export const hasK8sHeader = (d: unknown): d is K8sObject =>
  isRecord(d) &&
  typeof d.apiVersion === "string" &&
  typeof d.kind === "string" &&
  isRecord(d.metadata) &&
  typeof d.metadata.name === "string";

/** The API group of an apiVersion (`cluster.x-k8s.io/v1beta2` → `cluster.x-k8s.io`; `v1` and non-strings → ""). */
export const groupOf = (apiVersion: unknown): string =>
  typeof apiVersion === "string" && apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";

/** The value at a dotted path (`spec.template.spec`), undefined wherever a step is no object. */
export const get = (o: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), o);

/** The string at a dotted path; undefined when absent or not a string. */
export const strAt = (o: unknown, path: string): string | undefined => {
  const v = get(o, path);
  return typeof v === "string" ? v : undefined;
};

/** The number at a dotted path; undefined when absent or not a number. */
export const numAt = (o: unknown, path: string): number | undefined => {
  const v = get(o, path);
  return typeof v === "number" ? v : undefined;
};

/** The boolean at a dotted path; undefined when absent or not a boolean. */
export const boolAt = (o: unknown, path: string): boolean | undefined => {
  const v = get(o, path);
  return typeof v === "boolean" ? v : undefined;
};

/** The mapping at a dotted path; undefined when absent or not a mapping. */
export const recAt = (o: unknown, path: string): Record<string, unknown> | undefined => {
  const v = get(o, path);
  return isRecord(v) ? v : undefined;
};

/** The list at a dotted path; undefined when absent or not a list. */
export const arrAt = (o: unknown, path: string): readonly unknown[] | undefined => {
  const v = get(o, path);
  return Array.isArray(v) ? (v satisfies unknown[]) : undefined;
};

/** The mappings of the list at a dotted path (entries that are no mapping are skipped); [] when absent. */
export const recsAt = (o: unknown, path: string): Record<string, unknown>[] => (arrAt(o, path) ?? []).filter(isRecord);

/** The strings of the list at a dotted path (other entries skipped); [] when absent. */
export const strsAt = (o: unknown, path: string): string[] =>
  (arrAt(o, path) ?? []).filter((x): x is string => typeof x === "string");

/** The value at a dotted path as message text: a string as it is, anything else as JSON; undefined when absent. */
export const textAt = (o: unknown, path: string): string | undefined => {
  const v = get(o, path);
  return v === undefined || v === null ? undefined : typeof v === "string" ? v : JSON.stringify(v);
};
