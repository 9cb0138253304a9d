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
 * generator never writes it) and `metadata` is the object model's own `K8sMetadata`. An object shape the file would
 * print more than once is printed once, as a type named after its place (kind + property path), and referred to by
 * that name; `typeOf` and the test spell every shape out.
 */
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
  "argoproj.io/v1alpha1": ["AppProject", "Application", "ApplicationSet"],
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

/**
 * One schema node printed twice: `inline` spells out every object (the shape's identity), `out` refers to the named
 * shapes; `shapes` are the nearest objects within it (itself, for an object).
 */
type Printed = { readonly inline: string; readonly out: string; readonly shapes: readonly string[] };

/**
 * Seen while printing: an object shape (inline text), where it is (a type name), the nearest objects in it, and its
 * body referring to the named shapes inside it.
 */
type Seen = (shape: string, at: string, inner: readonly string[], body: string) => void;

type Printer = { readonly names: ReadonlyMap<string, string>; readonly seen?: Seen };

const text = (t: string): Printed => ({ inline: t, out: t, shapes: [] });

/** A property name as a part of a type name: `aws-launch_template` → `AwsLaunchTemplate`. */
const pascal = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");

function unionOf(parts: readonly Printed[]): Printed {
  const inline = union(parts.map((p) => p.inline));
  const out = inline === "unknown" ? "unknown" : union(parts.map((p) => p.out));
  return { inline, out, shapes: parts.flatMap((p) => p.shapes) };
}

function objectType(s: Schema, at: string, p: Printer): Printed {
  const props = isSchema(s.properties) ? s.properties : undefined;
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r) => typeof r === "string") : []);
  const extra = s.additionalProperties;
  const index = isSchema(extra) ? print(extra, `${at}.Value`, p) : undefined;
  if (props === undefined || Object.keys(props).length === 0) {
    if (extra === false) return text("Record<string, never>");
    const value = index ?? text("unknown");
    return { inline: `Record<string, ${value.inline}>`, out: `Record<string, ${value.out}>`, shapes: value.shapes };
  }
  const fields = Object.entries(props).map(([name, sub]) => {
    const head = `${key(name)}${required.has(name) ? "" : "?"}: `;
    const t = print(sub, `${at}.${pascal(name)}`, p);
    return { inline: `${head}${t.inline};`, out: `${head}${t.out};`, shapes: t.shapes };
  });
  if (extra !== false && extra !== undefined) fields.push(text(`[key: string]: unknown;`));
  const inline = `{\n${fields.map((f) => f.inline).join("\n")}\n}`;
  const inner = fields.flatMap((f) => f.shapes);
  const body = `{\n${fields.map((f) => f.out).join("\n")}\n}`;
  p.seen?.(inline, at, inner, body);
  return { inline, out: p.names.get(inline) ?? body, shapes: [inline] };
}

function typeOfType(s: Schema, type: string, at: string, p: Printer): Printed {
  if (type === "object") return objectType(s, at, p);
  if (type === "array") {
    const items = isSchema(s.items) ? print(s.items, at, p) : text("unknown");
    const list = (t: string): string => (/^[A-Za-z]+$/.test(t) ? `${t}[]` : `(${t})[]`);
    return { inline: list(items.inline), out: list(items.out), shapes: items.shapes };
  }
  return text(SCALARS[type] ?? "unknown");
}

function print(input: unknown, at: string, p: Printer): Printed {
  if (!isSchema(input)) return text("unknown");
  const s = input;
  if (Array.isArray(s.enum)) return text(union(s.enum.map((v) => JSON.stringify(v))));
  const types = typeof s.type === "string" ? [s.type] : Array.isArray(s.type) ? s.type.map(String) : [];
  if (types.length > 0) return unionOf(types.map((t) => typeOfType(s, t, at, p)));
  if (isSchema(s.properties)) return objectType(s, at, p);
  const list = (k: string): unknown[] => (Array.isArray(s[k]) ? s[k] : []);
  const all = list("allOf")
    .map((sub) => print(sub, at, p))
    .filter((t) => t.inline !== "unknown");
  if (all.length > 0) {
    const and = (ts: readonly string[]): string => ts.map((t) => `(${t})`).join(" & ");
    return {
      inline: and(all.map((t) => t.inline)),
      out: and(all.map((t) => t.out)),
      shapes: all.flatMap((t) => t.shapes),
    };
  }
  const any = [...list("anyOf"), ...list("oneOf")];
  return any.length > 0 ? unionOf(any.map((sub) => print(sub, at, p))) : text("unknown");
}

/** The TypeScript type of one (converted) schema node, every object spelled out. */
export function typeOf(input: unknown): string {
  return print(input, "", { names: new Map() }).inline;
}

const HEAD = new Set(["apiVersion", "kind", "metadata", "status"]);

/** A kind's root type: apiVersion, kind, metadata as `K8sMetadata`, then every other top-level field but status. */
function kindType(apiVersion: string, kind: string, schema: Schema, p: Printer): Printed {
  const props = isSchema(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = Object.entries(props)
    .filter(([name]) => !HEAD.has(name))
    .map(([name, sub]) => {
      const head = `${key(name)}${required.has(name) ? "" : "?"}: `;
      const t = print(sub, `${kind}.${pascal(name)}`, p);
      return { inline: `${head}${t.inline};`, out: `${head}${t.out};`, shapes: t.shapes };
    });
  const body = (members: readonly string[]): string =>
    [
      `apiVersion: ${JSON.stringify(apiVersion)};`,
      `kind: ${JSON.stringify(kind)};`,
      "metadata: K8sMetadata;",
      ...members,
    ].join("\n");
  return {
    inline: `{\n${body(fields.map((f) => f.inline))}\n}`,
    out: `{\n${body(fields.map((f) => f.out))}\n}`,
    shapes: fields.flatMap((f) => f.shapes),
  };
}

/** Names taken by the file itself. */
const RESERVED = new Set(["K8sMetadata", "KindTypes", "TYPED_API_VERSIONS"]);

/** The longest a shape's name grows (so that a field of it fits a line). */
const NAME_LENGTH = 64;

/**
 * A place's type name: the kind and the property path (`Kind.Spec.Template`, a list's items at the list's path, a
 * map's values at `.Value`), leaving out the path's first properties while it is longer than NAME_LENGTH (it keeps
 * the last).
 */
function placeName(at: string): string {
  const [kind = "", ...path] = at.split(".");
  let name = kind + path.join("");
  for (let i = 1; name.length > NAME_LENGTH && i < path.length; i++) name = kind + path.slice(i).join("");
  return name;
}

/**
 * The object shapes to name: those the file would print more than once with every named shape printed once (a
 * shape inside a named one counts once per name, inside an inline one once per place that one is printed). Each
 * is named after the shortest of its places (kind + property path; alphabetically first of equals; placeName),
 * numbered when two shapes would share a name.
 */
function shapeNames(
  roots: readonly (readonly string[])[],
  taken: ReadonlySet<string>,
  places: Places,
): Map<string, string> {
  const count = new Map<string, number>();
  for (const shape of roots.flat()) count.set(shape, (count.get(shape) ?? 0) + 1);
  const names = new Map<string, string>();
  // A shape's text holds each shape inside it, so longest first visits every holder before what it holds.
  const order = [...places.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  const chosen: { shape: string; name: string }[] = [];
  for (const shape of order) {
    const n = count.get(shape) ?? 0;
    const place = places.get(shape);
    if (place === undefined) continue;
    const named = n >= 2;
    if (named) {
      const full = [...place.at].map((at) => ({ at, full: at.replaceAll(".", "") }));
      const first = full.sort((a, b) => a.full.length - b.full.length || (a.full < b.full ? -1 : 1))[0];
      chosen.push({ shape, name: placeName(first?.at ?? "Shape") });
    }
    for (const inner of place.inner) count.set(inner, (count.get(inner) ?? 0) + (named ? 1 : n));
  }
  const used = new Set(taken);
  chosen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.shape < b.shape ? -1 : 1));
  for (const { shape, name } of chosen) {
    let unique = name;
    for (let i = 2; used.has(unique); i++) unique = `${name}${i}`;
    used.add(unique);
    names.set(shape, unique);
  }
  return names;
}

/** Each object shape: the type names of its places, and the nearest objects inside it. */
type Places = Map<string, { at: Set<string>; inner: readonly string[] }>;

/**
 * The kind types: `kinds` in TYPED_KINDS order with bodies referring to `named` (name → body; bodies may refer to
 * other names), and each body spelled out (`inline`, what the types were before shapes were named).
 */
export function kindDeclarations(schemas: ReadonlyMap<string, string>): {
  kinds: { apiVersion: string; kind: string; out: string; inline: string }[];
  named: Map<string, string>;
} {
  const parsed: { apiVersion: string; kind: string; schema: Schema }[] = [];
  for (const [apiVersion, kinds] of Object.entries(TYPED_KINDS)) {
    for (const kind of kinds) {
      const rel = schemaFile(apiVersion, kind);
      const source = schemas.get(rel);
      if (source === undefined) throw new Error(`${apiVersion} ${kind}: no schema ${rel} to type it from`);
      const schema: unknown = JSON.parse(source);
      if (!isSchema(schema)) throw new Error(`${rel}: not a schema object`);
      parsed.push({ apiVersion, kind, schema });
    }
  }
  const places: Places = new Map();
  const seen: Seen = (shape, at, inner) => {
    const place = places.get(shape);
    if (place === undefined) places.set(shape, { at: new Set([at]), inner });
    else place.at.add(at);
  };
  const roots = parsed.map((k) => kindType(k.apiVersion, k.kind, k.schema, { names: new Map(), seen }).shapes);
  const names = shapeNames(roots, new Set([...RESERVED, ...parsed.map((k) => k.kind)]), places);
  const named = new Map<string, string>();
  const body: Seen = (shape, _at, _inner, out) => {
    const name = names.get(shape);
    if (name !== undefined) named.set(name, out);
  };
  const kinds = parsed.map((k) => ({ ...k, ...kindType(k.apiVersion, k.kind, k.schema, { names, seen: body }) }));
  return { kinds, named: new Map([...named].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/**
 * The file text. `schemas` maps each kubeconform schema's repository-relative path (schemas/layout.ts) to its text;
 * every typed kind must be there.
 */
export async function kindTypesFile(schemas: ReadonlyMap<string, string>): Promise<string> {
  const { kinds, named } = kindDeclarations(schemas);
  const table: string[] = [];
  const groups: string[] = [];
  for (const [apiVersion, names] of Object.entries(TYPED_KINDS)) {
    table.push(`${JSON.stringify(apiVersion)}: {\n${names.map((kind) => `${key(kind)}: ${kind};`).join("\n")}\n};`);
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
    ...kinds.flatMap((k) => [`export type ${k.kind} = ${k.out};`, ""]),
    "/** Every typed kind: apiVersion → kind → type. */",
    `export type KindTypes = {\n${table.join("\n")}\n};`,
    "",
    '/** The typed apiVersion of each API group ("" is the core group). */',
    `export const TYPED_API_VERSIONS = {\n${groups.join("\n")}\n} as const;`,
    "",
    "// Object shapes the kinds share, each named after the shortest of its places (kind + property path).",
    "",
    ...[...named].flatMap(([name, body]) => [`type ${name} = ${body};`, ""]),
  ].join("\n");
  // Loaded here, not with the module: every command's start-up would pay for prettier (the CLI is one bundle).
  const { format } = await import("prettier");
  return format(text, { parser: "typescript", printWidth: 120, trailingComma: "all" });
}
