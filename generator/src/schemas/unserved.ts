/**
 * Kinds whose CRDs exist in a pinned module but whose version is `served: false` there (e.g. CAPA's old
 * infrastructure.cluster.x-k8s.io/v1beta1). They get no schema; the validator explains them with
 * unservedMessage instead of reporting a missing schema.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { UNSERVED_FILE } from "./layout.js";

export interface UnservedEntry {
  group: string;
  version: string;
  kind: string;
  /** module@version, e.g. sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0 */
  source: string;
  /** The versions of this kind that the same source does serve. */
  served: string[];
}

const SHORT_NAMES: Record<string, string> = {
  "sigs.k8s.io/cluster-api": "Cluster API",
  "sigs.k8s.io/cluster-api-provider-aws/v2": "CAPA",
  "github.com/argoproj/argo-cd/v3": "Argo CD",
  "github.com/fluxcd/kustomize-controller": "Flux kustomize-controller",
  "github.com/fluxcd/source-controller": "Flux source-controller",
  "k8s.io/kubernetes": "Kubernetes",
};

function isUnservedEntry(v: unknown): v is UnservedEntry {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const e: Partial<Record<keyof UnservedEntry, unknown>> = v;
  return (
    typeof e.group === "string" &&
    typeof e.version === "string" &&
    typeof e.kind === "string" &&
    typeof e.source === "string" &&
    Array.isArray(e.served) &&
    e.served.every((x) => typeof x === "string")
  );
}

export function compareUnserved(a: UnservedEntry, b: UnservedEntry): number {
  const ka = [a.group, a.kind, a.version, a.source].join("\0");
  const kb = [b.group, b.kind, b.version, b.source].join("\0");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * "AWSCluster infrastructure.cluster.x-k8s.io/v1beta1 is not served by the pinned CAPA (…@v2.13.0); it serves
 * v1beta2", or undefined when apiVersion + kind is not in the list.
 */
export function unservedMessage(list: readonly UnservedEntry[], apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const hit = list.find((e) => e.group === group && e.version === version && e.kind === kind);
  if (!hit) return undefined;
  const module = hit.source.split("@")[0] ?? hit.source;
  const name = SHORT_NAMES[module];
  const by = name ? `the pinned ${name} (${hit.source})` : `the pinned ${hit.source}`;
  const serves =
    hit.served.length > 0 ? `; use ${hit.served.map((v) => (group ? `${group}/${v}` : v)).join(" or ")}` : "";
  return `${kind} ${apiVersion} is not served by ${by}${serves}`;
}

/** Reads schemas/kubeconform/unserved.json of a repository. */
export function readUnserved(repoRoot: string): UnservedEntry[] {
  const list: unknown = JSON.parse(readFileSync(path.join(repoRoot, UNSERVED_FILE), "utf8"));
  if (!Array.isArray(list) || !list.every(isUnservedEntry))
    throw new Error(`${UNSERVED_FILE}: not a list of {group, version, kind, source, served} (rerun npm run schemas)`);
  return list;
}
