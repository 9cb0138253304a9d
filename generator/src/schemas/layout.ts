/**
 * Where the kubeconform schemas live. kubeconform v0.7.0 (pkg/registry/registry.go) fills a -schema-location
 * template with: {{.Group}} = the part of apiVersion before the first "/" (for the core group, whose apiVersion
 * is just "v1", that is "v1"), {{.ResourceAPIVersion}} = the part after the last "/", {{.ResourceKind}} = the
 * kind in lower case. So core kinds land in schemas/kubeconform/v1/, e.g. v1/namespace_v1.json, and
 * AWSCluster infrastructure.cluster.x-k8s.io/v1beta2 in infrastructure.cluster.x-k8s.io/awscluster_v1beta2.json.
 * The template must end in "json", else kubeconform appends its own layout to it.
 */
import path from "node:path";

export const KUBECONFORM_DIR = "schemas/kubeconform";
export const KUBECONFORM_SCHEMA_TEMPLATE =
  `${KUBECONFORM_DIR}/{{.Group}}/` + "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json";
/** Versions the pinned CRDs define but do not serve: [{group, version, kind, source, served}], sorted. */
export const UNSERVED_FILE = `${KUBECONFORM_DIR}/unserved.json`;

/** The absolute template to pass as kubeconform's -schema-location. */
export function schemaLocation(repoRoot: string): string {
  return path.join(path.resolve(repoRoot), KUBECONFORM_SCHEMA_TEMPLATE);
}

/** A -schema-location template filled in for apiVersion + kind, as kubeconform fills it. */
export function fillSchemaLocation(template: string, apiVersion: string, kind: string): string {
  const parts = apiVersion.split("/");
  const group = parts[0] ?? "";
  const version = parts[parts.length - 1] ?? "";
  return template
    .replace("{{.Group}}", group)
    .replace("{{.ResourceKind}}", kind.toLowerCase())
    .replace("{{.ResourceAPIVersion}}", version);
}

/** The file (relative to the repo root) kubeconform will look up for apiVersion + kind — the template, filled in. */
export function schemaFile(apiVersion: string, kind: string): string {
  return fillSchemaLocation(KUBECONFORM_SCHEMA_TEMPLATE, apiVersion, kind);
}

/** apiVersion for a group and version ("" is the core group). */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}
