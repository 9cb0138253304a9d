/**
 * Pure conversion of Kubernetes API schemas into self-contained JSON Schema (draft 4) files for kubeconform:
 *  - CRD objects (apiextensions.k8s.io/v1 CustomResourceDefinition) → one schema per (kind, version);
 *  - kinds of an upstream Kubernetes OpenAPI v3 document (components.schemas, `$ref`s resolved inline).
 *
 * Rules (kubeconform compiles draft 4 and knows no Kubernetes extensions):
 *  - every constraint keyword is kept; prose (description, title, example, externalDocs) and the
 *    `x-kubernetes-*` extensions are dropped — CEL rules (`x-kubernetes-validations`) included, because
 *    kubeconform does not evaluate them (the CRD-based validation layer does);
 *  - an object that lists `properties` is closed (`additionalProperties: false`) unless it says
 *    `x-kubernetes-preserve-unknown-fields: true` or already has `additionalProperties` (a map);
 *    subschemas of allOf/anyOf/oneOf/not are value validations on fields declared elsewhere and stay open;
 *  - `x-kubernetes-int-or-string: true` → type [integer, string]; `nullable: true` → null also accepted;
 *  - CRDs only: `x-kubernetes-list-type: set` → uniqueItems (the API server rejects duplicates there);
 *  - the root gets a typed, closed `metadata` (ObjectMeta from the pinned Kubernetes OpenAPI) and
 *    `apiVersion`/`kind` fixed to the file's values.
 * Unknown schema keywords are an error rather than silently dropped, so no constraint gets lost.
 */

export type JsonSchema = { [key: string]: unknown };

export interface ConvertedKind {
  group: string;
  version: string;
  kind: string;
  served: boolean;
  schema: JsonSchema;
}

/** Keywords copied as data (not schemas). */
const DATA_KEYWORDS = new Set([
  "type",
  "format",
  "enum",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "required",
  "default",
]);
/** Keywords dropped: prose, OpenAPI-only hints, and Kubernetes extensions (handled before dropping). */
const DROPPED_KEYWORDS = new Set([
  "description",
  "title",
  "example",
  "externalDocs",
  "discriminator",
  "$schema",
  "id",
  "nullable",
]);
const LOGIC_KEYWORDS = ["allOf", "anyOf", "oneOf"] as const;

export interface NodeOptions {
  /** `x-kubernetes-list-type: set` → `uniqueItems: true` (CRDs: the API server rejects duplicates). */
  listSetUnique: boolean;
  /** Resolves a `$ref` (OpenAPI documents); CRD schemas have none. */
  resolveRef?: (ref: string) => JsonSchema;
  /**
   * Recursive definitions whose nested occurrences are left open (`{}`): everything else recursive is refused, since
   * inlining cannot end. Only JSONSchemaProps (a CRD's openAPIV3Schema) is recursive in the Kubernetes API: its first
   * level is checked, deeper levels are the API server's job (apiextensions validation).
   */
  openRecursive?: readonly string[];
}

const isObject = (v: unknown): v is JsonSchema => typeof v === "object" && v !== null && !Array.isArray(v);

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** `{$ref}` or `{allOf: [{$ref}], ...siblings}` → the reference and the sibling keywords. */
function refOf(node: JsonSchema): { ref: string; siblings: JsonSchema } | undefined {
  const { $ref, ...rest } = node;
  if (typeof $ref === "string") return { ref: $ref, siblings: rest };
  const allOf: unknown = node.allOf;
  const only: unknown = Array.isArray(allOf) && allOf.length === 1 ? allOf[0] : undefined;
  if (isObject(only) && typeof only.$ref === "string" && Object.keys(only).length === 1) {
    const { allOf: _allOf, ...siblings } = node;
    return { ref: only.$ref, siblings };
  }
  return undefined;
}

function hasCombinator(s: JsonSchema): boolean {
  return LOGIC_KEYWORDS.some((k) => k in s) || "not" in s;
}

/**
 * Converts one schema node. `structural` is false inside allOf/anyOf/oneOf/not, where objects must not be
 * closed (they constrain fields declared by the enclosing schema). `where` names the node in error messages.
 */
export function convertNode(
  input: unknown,
  opts: NodeOptions,
  structural: boolean,
  where: string,
  refStack: readonly string[] = [],
): JsonSchema {
  if (!isObject(input)) throw new Error(`${where}: a schema must be an object, got ${JSON.stringify(input)}`);
  const node: JsonSchema = input;

  // OpenAPI: {$ref} or {allOf: [{$ref}], default, description, ...} → the referenced schema, inlined.
  const refCarrier = refOf(node);
  if (refCarrier) {
    const { ref, siblings } = refCarrier;
    if (!opts.resolveRef) throw new Error(`${where}: $ref ${ref} but no definitions to resolve it against`);
    if (refStack.includes(ref) && opts.openRecursive?.includes(ref)) return {};
    if (refStack.includes(ref))
      throw new Error(`${where}: recursive $ref ${[...refStack, ref].join(" → ")} cannot be inlined`);
    const target = opts.resolveRef(ref);
    const merged: JsonSchema = { ...target };
    for (const [k, v] of Object.entries(siblings)) {
      if (DROPPED_KEYWORDS.has(k) && k !== "nullable") continue;
      const annotation = k === "default" || k === "nullable" || k.startsWith("x-kubernetes-");
      if (!annotation && k in merged && JSON.stringify(merged[k]) !== JSON.stringify(v)) {
        // A sibling constraint that differs from the target's own: both must hold.
        return {
          allOf: [
            convertNode(target, opts, structural, where, [...refStack, ref]),
            convertNode(siblings, opts, false, where, [...refStack, ref]),
          ],
        };
      }
      merged[k] = v;
    }
    return convertNode(merged, opts, structural, where, [...refStack, ref]);
  }

  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DATA_KEYWORDS.has(key)) {
      out[key] = clone(value);
    } else if (key === "properties" || key === "patternProperties") {
      if (!isObject(value)) throw new Error(`${where}.${key} must be an object`);
      const props: JsonSchema = {};
      for (const [name, sub] of Object.entries(value))
        props[name] = convertNode(sub, opts, structural, `${where}.${name}`, refStack);
      out[key] = props;
    } else if (key === "items") {
      out.items = Array.isArray(value)
        ? value.map((sub, i) => convertNode(sub, opts, structural, `${where}[${i}]`, refStack))
        : convertNode(value, opts, structural, `${where}[]`, refStack);
    } else if (key === "additionalProperties" || key === "additionalItems") {
      out[key] = typeof value === "boolean" ? value : convertNode(value, opts, structural, `${where}.${key}`, refStack);
    } else if (key === "dependencies") {
      if (!isObject(value)) throw new Error(`${where}.dependencies must be an object`);
      const deps: JsonSchema = {};
      for (const [name, dep] of Object.entries(value)) {
        deps[name] = Array.isArray(dep)
          ? clone(dep)
          : convertNode(dep, opts, false, `${where}.dependencies.${name}`, refStack);
      }
      out.dependencies = deps;
    } else if (LOGIC_KEYWORDS.some((k) => k === key)) {
      if (!Array.isArray(value)) throw new Error(`${where}.${key} must be a list`);
      out[key] = value.map((sub, i) => convertNode(sub, opts, false, `${where}.${key}[${i}]`, refStack));
    } else if (key === "not") {
      out.not = convertNode(value, opts, false, `${where}.not`, refStack);
    } else if (DROPPED_KEYWORDS.has(key) || key.startsWith("x-kubernetes-")) {
      // prose / extensions: handled below or dropped
    } else {
      throw new Error(
        `${where}: unknown schema keyword "${key}" — teach generator/src/schemas/convert.ts whether it constrains`,
      );
    }
  }

  if (node["x-kubernetes-int-or-string"] === true && out.type === undefined) out.type = ["integer", "string"];
  if (opts.listSetUnique && node["x-kubernetes-list-type"] === "set" && out.uniqueItems === undefined)
    out.uniqueItems = true;

  // An embedded resource implicitly declares apiVersion, kind and metadata (the API server validates them).
  if (node["x-kubernetes-embedded-resource"] === true && isObject(out.properties)) {
    out.properties = {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...out.properties,
    };
  }

  const preserveUnknown = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (structural && out.properties !== undefined && out.additionalProperties === undefined && !preserveUnknown) {
    out.additionalProperties = false;
  }

  if (node.nullable === true) return acceptNull(out);
  return out;
}

/** `nullable: true`: add "null" to the type (and enum) when that is exact, else wrap in anyOf. */
function acceptNull(s: JsonSchema): JsonSchema {
  if (hasCombinator(s) || s.type === undefined) {
    if (s.type === undefined && !hasCombinator(s) && s.enum === undefined) return s; // already accepts null
    return { anyOf: [{ type: "null" }, s] };
  }
  const type: unknown = s.type;
  const types: unknown[] = Array.isArray(type) ? type : [type];
  const out: JsonSchema = { ...s, type: types.includes("null") ? types : [...types, "null"] };
  const values: unknown[] | undefined = Array.isArray(s.enum) ? s.enum : undefined;
  if (values && !values.includes(null)) out.enum = [...values, null];
  return out;
}

/** Fixes apiVersion/kind to the file's values and puts the typed ObjectMeta in place of the untyped one. */
function typeRoot(
  raw: JsonSchema,
  schema: JsonSchema,
  apiVersion: string,
  kind: string,
  objectMeta: JsonSchema,
  opts: NodeOptions,
  where: string,
): JsonSchema {
  const props = isObject(schema.properties) ? { ...schema.properties } : {};
  props.apiVersion = { type: "string", enum: [apiVersion] };
  props.kind = { type: "string", enum: [kind] };
  // CRDs declare metadata as a bare `type: object`; built-in kinds $ref ObjectMeta itself (replaced as is).
  const declaredMeta = opts.resolveRef === undefined && isObject(raw.properties) ? raw.properties.metadata : undefined;
  const extra = isObject(declaredMeta)
    ? Object.fromEntries(
        Object.entries(declaredMeta).filter(
          ([k]) => k !== "type" && !DROPPED_KEYWORDS.has(k) && !k.startsWith("x-kubernetes-"),
        ),
      )
    : {};
  // A CRD may add constraints to metadata (e.g. a name pattern): keep them next to the ObjectMeta type.
  props.metadata =
    Object.keys(extra).length > 0
      ? { allOf: [clone(objectMeta), convertNode(extra, opts, false, `${where}.metadata`)] }
      : clone(objectMeta);
  const declared: unknown = schema.required;
  const required: unknown[] = Array.isArray(declared) ? declared : [];
  return {
    ...schema,
    type: "object",
    properties: props,
    required: [...new Set(["apiVersion", "kind", ...required])],
    // Closed unless the upstream root keeps unknown fields (then convertNode left it open).
    ...(raw["x-kubernetes-preserve-unknown-fields"] === true || schema.additionalProperties !== undefined
      ? {}
      : { additionalProperties: false }),
  };
}

/** One CRD object → its kinds per version (unserved versions are returned too, with served: false). */
export function convertCrd(crd: unknown, objectMeta: JsonSchema): ConvertedKind[] {
  if (!isObject(crd) || crd.kind !== "CustomResourceDefinition" || !isObject(crd.spec))
    throw new Error("not a CustomResourceDefinition");
  const spec = crd.spec;
  const group = spec.group;
  const kind = isObject(spec.names) ? spec.names.kind : undefined;
  if (typeof group !== "string" || typeof kind !== "string" || !Array.isArray(spec.versions)) {
    throw new Error(
      `CRD ${JSON.stringify(isObject(crd.metadata) ? crd.metadata.name : "?")}: ` +
        "needs spec.group, spec.names.kind and spec.versions (apiextensions.k8s.io/v1)",
    );
  }
  const opts: NodeOptions = { listSetUnique: true };
  const versions: unknown[] = spec.versions;
  return versions.map((entry) => {
    const v = isObject(entry) ? entry : {};
    const version = String(v.name);
    const where = `${kind}.${group}/${version}`;
    const raw = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (!isObject(raw)) throw new Error(`${where}: no schema.openAPIV3Schema`);
    const body = convertNode(raw, opts, true, where);
    return {
      group,
      version,
      kind,
      served: v.served === true,
      schema: typeRoot(raw, body, `${group}/${version}`, kind, objectMeta, opts, where),
    };
  });
}

/** An OpenAPI v3 document as published under api/openapi-spec/v3/ of k8s.io/kubernetes. */
export interface OpenApiDocument {
  components?: { schemas?: Record<string, unknown> };
}

const REF_PREFIX = "#/components/schemas/";
export const OBJECT_META_DEFINITION = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

function definitions(doc: OpenApiDocument): Record<string, unknown> {
  const defs = doc.components?.schemas;
  if (!isObject(defs)) throw new Error("OpenAPI document has no components.schemas");
  return defs;
}

function openApiOptions(doc: OpenApiDocument): NodeOptions {
  const defs = definitions(doc);
  return {
    listSetUnique: false,
    openRecursive: [`${REF_PREFIX}io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps`],
    resolveRef: (ref) => {
      const target = ref.startsWith(REF_PREFIX) ? defs[ref.slice(REF_PREFIX.length)] : undefined;
      if (!isObject(target)) throw new Error(`unresolvable $ref ${ref}`);
      return target;
    },
  };
}

/**
 * ObjectMeta from the upstream OpenAPI, closed. creationTimestamp also accepts null: `kubectl create
 * --dry-run -o yaml` writes `creationTimestamp: null` and the API server accepts it.
 */
export function objectMetaSchema(doc: OpenApiDocument): JsonSchema {
  const meta = convertNode({ $ref: REF_PREFIX + OBJECT_META_DEFINITION }, openApiOptions(doc), true, "ObjectMeta");
  const props = meta.properties;
  if (!isObject(props) || !isObject(props.creationTimestamp)) throw new Error("ObjectMeta without creationTimestamp");
  props.creationTimestamp = acceptNull(props.creationTimestamp);
  return meta;
}

/** Splits "group/version" ("v1" for the core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The named kinds ("v1/Namespace", "apps/v1/Deployment") of an OpenAPI v3 document, $refs inlined. */
export function convertOpenApiKinds(
  doc: OpenApiDocument,
  kinds: readonly string[],
  objectMeta: JsonSchema = objectMetaSchema(doc),
): ConvertedKind[] {
  const defs = definitions(doc);
  const opts = openApiOptions(doc);
  return kinds.map((entry) => {
    const slash = entry.lastIndexOf("/");
    if (slash < 0) throw new Error(`"${entry}": expected apiVersion/Kind, e.g. v1/Namespace`);
    const apiVersion = entry.slice(0, slash);
    const kind = entry.slice(slash + 1);
    const { group, version } = splitApiVersion(apiVersion);
    const matches = Object.entries(defs).filter((e): e is [string, JsonSchema] => {
      const d = e[1];
      const gvks: unknown = isObject(d) ? d["x-kubernetes-group-version-kind"] : undefined;
      return (
        isObject(d) &&
        Array.isArray(gvks) &&
        gvks.some((g) => isObject(g) && g.group === group && g.version === version && g.kind === kind)
      );
    });
    const [match] = matches;
    if (matches.length !== 1 || match === undefined)
      throw new Error(
        `${entry}: ${matches.length === 0 ? "not in the OpenAPI document" : `defined ${matches.length} times`}`,
      );
    const [name, def] = match;
    const body = convertNode(def, opts, true, name);
    return {
      group,
      version,
      kind,
      served: true,
      schema: typeRoot(def, body, apiVersion, kind, objectMeta, opts, name),
    };
  });
}

/** Deep copy with object keys sorted (arrays keep their order): a stable serialization. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) {
    const out: JsonSchema = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
    return out;
  }
  return value;
}

/** The file text: sorted keys, 1-space indentation (schemas nest deeply), trailing newline. */
export function serializeSchema(schema: unknown): string {
  return `${JSON.stringify(sortKeys(schema), null, 1)}\n`;
}
