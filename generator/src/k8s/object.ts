/** Kubernetes objects as data: the object type, and safe accessors that never throw on odd input. */

/** A Kubernetes object as the generator builds it and as a render parses it (apiVersion, kind, metadata typed). */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
};

/** The API group of an apiVersion (`cluster.x-k8s.io/v1beta2` → `cluster.x-k8s.io`; `v1` and non-strings → ""). */
export const groupOf = (apiVersion: unknown): string =>
  typeof apiVersion === "string" && apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";

/** The value at a dotted path (`spec.template.spec`), undefined wherever a step is no object. */
export const get = (o: unknown, path: string): unknown =>
  path
    .split(".")
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );

/** Whether a value is a mapping (a plain object, no array, no null). */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
