/**
 * TypeScript types for the kinds the generator builds or reads, made from the kubeconform JSON schemas that
 * `npm run schemas` converts from the pinned CRDs and Kubernetes OpenAPI (so they follow the pinned versions).
 * Pure: schema texts in, one formatted TypeScript file out (`generator/src/k8s/kinds.generated.ts`), written by the
 * schemas command through repo/write.ts; a test fails when the committed file differs from what this produces.
 *
 * Mapping: `properties` → an object type (fields not `required` optional), `additionalProperties` → an index
 * signature, `items` → a list, `enum` → a union of literals, a list of `type`s → a union; an object that declares
 * nothing is `Record<string, unknown>`, a value without a type `unknown`. allOf/anyOf/oneOf beside a type only add
 * validations and are left out; alone, allOf is an intersection and anyOf/oneOf a union. `status` is left out (the
 * generator never writes it) and `metadata` is the object model's own `K8sMetadata`.
 */
import { format } from "prettier";
import { groupOf } from "../k8s/object.js";
import { schemaFile } from "./layout.js";

/** Where the generated types live (repository-relative). */
export const KIND_TYPES_FILE = "generator/src/k8s/kinds.generated.ts";

/** The kinds typed: apiVersion → kinds. */
export const TYPED_KINDS: Readonly<Record<string, readonly string[]>> = {
  v1: ["ConfigMap", "Namespace", "Secret", "ServiceAccount"],
  "rbac.authorization.k8s.io/v1": ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
  "cluster.x-k8s.io/v1beta2": ["Cluster", "MachineDeployment", "MachineHealthCheck", "MachinePool", "MachineSet"],
  "controlplane.cluster.x-k8s.io/v1beta2": ["KubeadmControlPlane"],
  "bootstrap.cluster.x-k8s.io/v1beta2": ["KubeadmConfig", "KubeadmConfigTemplate"],
  "infrastructure.cluster.x-k8s.io/v1beta2": [
    "AWSCluster",
    "AWSClusterControllerIdentity",
    "AWSClusterRoleIdentity",
    "AWSClusterStaticIdentity",
    "AWSMachinePool",
    "AWSMachineTemplate",
  ],
  "addons.cluster.x-k8s.io/v1beta2": ["ClusterResourceSet"],
  "operator.cluster.x-k8s.io/v1alpha2": [
    "BootstrapProvider",
    "ControlPlaneProvider",
    "CoreProvider",
    "InfrastructureProvider",
  ],
  "argoproj.io/v1alpha1": ["AppProject", "Application"],
  "source.toolkit.fluxcd.io/v1": ["GitRepository"],
  "kustomize.toolkit.fluxcd.io/v1": ["Kustomization"],
};

type Schema = { readonly [key: string]: unknown };

const isSchema = (v: unknown): v is Schema => v !== null && typeof v === "object" && !Array.isArray(v);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string): string => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

const union = (parts: readonly string[]): string => {
  const unique = [...new Set(parts)];
  if (unique.includes("unknown")) return "unknown";
  return unique.length === 0 ? "never" : unique.join(" | ");
};

const SCALARS: Readonly<Record<string, string>> = {
  string: "string",
  integer: "number",
  number: "number",
  boolean: "boolean",
  null: "null",
};

function objectType(s: Schema): string {
  const props = isSchema(s.properties) ? s.properties : undefined;
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r) => typeof r === "string") : []);
  const extra = s.additionalProperties;
  const index = isSchema(extra) ? typeOf(extra) : undefined;
  if (props === undefined || Object.keys(props).length === 0)
    return extra === false ? "Record<string, never>" : `Record<string, ${index ?? "unknown"}>`;
  const members = Object.entries(props).map(
    ([name, sub]) => `${key(name)}${required.has(name) ? "" : "?"}: ${typeOf(sub)};`,
  );
  if (extra !== false && extra !== undefined) members.push(`[key: string]: unknown;`);
  return `{\n${members.join("\n")}\n}`;
}

function typeOfType(s: Schema, type: string): string {
  if (type === "object") return objectType(s);
  if (type === "array") {
    const items = isSchema(s.items) ? typeOf(s.items) : "unknown";
    return /^[A-Za-z]+$/.test(items) ? `${items}[]` : `(${items})[]`;
  }
  return SCALARS[type] ?? "unknown";
}

/** The TypeScript type of one (converted) schema node. */
export function typeOf(input: unknown): string {
  if (!isSchema(input)) return "unknown";
  const s = input;
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => JSON.stringify(v)));
  const types = typeof s.type === "string" ? [s.type] : Array.isArray(s.type) ? s.type.map(String) : [];
  if (types.length > 0) return union(types.map((t) => typeOfType(s, t)));
  if (isSchema(s.properties)) return objectType(s);
  const list = (k: string): unknown[] => (Array.isArray(s[k]) ? s[k] : []);
  const all = list("allOf")
    .map(typeOf)
    .filter((t) => t !== "unknown");
  if (all.length > 0) return all.map((t) => `(${t})`).join(" & ");
  const any = [...list("anyOf"), ...list("oneOf")];
  return any.length > 0 ? union(any.map(typeOf)) : "unknown";
}

const HEAD = new Set(["apiVersion", "kind", "metadata", "status"]);

/** A kind's root type: apiVersion, kind, metadata as `K8sMetadata`, then every other top-level field but status. */
function kindType(apiVersion: string, kind: string, schema: Schema): string {
  const props = isSchema(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const members = [
    `apiVersion: ${JSON.stringify(apiVersion)};`,
    `kind: ${JSON.stringify(kind)};`,
    "metadata: K8sMetadata;",
    ...Object.entries(props)
      .filter(([name]) => !HEAD.has(name))
      .map(([name, sub]) => `${key(name)}${required.has(name) ? "" : "?"}: ${typeOf(sub)};`),
  ];
  return `export type ${kind} = {\n${members.join("\n")}\n};`;
}

/**
 * The file text. `schemas` maps each kubeconform schema's repository-relative path (schemas/layout.ts) to its text;
 * every typed kind must be there.
 */
export async function kindTypesFile(schemas: ReadonlyMap<string, string>): Promise<string> {
  const types: string[] = [];
  const table: string[] = [];
  const groups: string[] = [];
  for (const [apiVersion, kinds] of Object.entries(TYPED_KINDS)) {
    const entries: string[] = [];
    for (const kind of kinds) {
      const rel = schemaFile(apiVersion, kind);
      const text = schemas.get(rel);
      if (text === undefined) throw new Error(`${apiVersion} ${kind}: no schema ${rel} to type it from`);
      const schema: unknown = JSON.parse(text);
      if (!isSchema(schema)) throw new Error(`${rel}: not a schema object`);
      types.push(kindType(apiVersion, kind, schema));
      entries.push(`${key(kind)}: ${kind};`);
    }
    table.push(`${JSON.stringify(apiVersion)}: {\n${entries.join("\n")}\n};`);
    groups.push(`${JSON.stringify(groupOf(apiVersion))}: ${JSON.stringify(apiVersion)},`);
  }
  const text = [
    "/**",
    " * Generated by `npm run schemas` (generator/src/schemas/kind-types.ts) from the kubeconform schemas",
    " * of the pinned CRDs and Kubernetes OpenAPI in schemas/kubeconform/.",
    " * Do not edit: change the pins or the generator and rerun.",
    " */",
    'import type { K8sMetadata } from "./object.js";',
    "",
    ...types.flatMap((t) => [t, ""]),
    "/** Every typed kind: apiVersion → kind → type. */",
    `export type KindTypes = {\n${table.join("\n")}\n};`,
    "",
    '/** The typed apiVersion of each API group ("" is the core group). */',
    `export const TYPED_API_VERSIONS = {\n${groups.join("\n")}\n} as const;`,
    "",
  ].join("\n");
  return format(text, { parser: "typescript", printWidth: 120, trailingComma: "all" });
}
