/**
 * One definition per document a human edits (the cluster spec, the repository config): a TypeBox schema from which
 * the TypeScript type (`Static`), the JSON Schema ajv checks and editors complete (`editorSchema`) and the defaults
 * (`fillDefaults`) are all derived. A constant default is the field's JSON Schema `default` (editors show it); a
 * default computed from other fields (the namespace from the name, sizes from the profile) is a `filled` function
 * kept beside the field's schema object (a WeakMap keyed by it), so neither ajv nor the written schema sees it.
 */
import { KindGuard, type Static, type TSchema, Type } from "@sinclair/typebox";

type Fields = Record<string, unknown>;
/** Computes a missing field from the fields before it: `parent` is the object being filled, `root` the document. */
type Fill = (parent: Fields, root: Fields) => unknown;

/** The `filled` functions, by the schema object of their field. */
const FILLS = new WeakMap<TSchema, Fill>();

/** The field's default is computed (by `fill`) when the field is absent. */
export function filled<T extends TSchema>(schema: T, fill: Fill): T {
  const field = { ...schema };
  FILLS.set(field, fill);
  return field;
}

// enum and const are written as JSON Schema says them (TypeBox's Union of Literals would be an anyOf of
// { const, type }, which changes both the editor schema and ajv's messages: "must be one of: dev, prod").

/** A JSON Schema `enum`, typed as the union of its values. */
export function oneOf<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ enum: [...values], ...options });
}

/** A JSON Schema `const`, typed as its value. */
export function constant<const V extends string>(value: V) {
  return Type.Unsafe<V>({ const: value });
}

/** A mapping of string keys to `values` (JSON Schema `additionalProperties`). */
export function stringMap<T extends TSchema>(values: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({ type: "object", additionalProperties: values, ...options });
}

/** `T` after `fillDefaults`: every field filled except those the definition gives no default (`Kept`). */
export type WithDefaults<T, Kept extends keyof T = never> = Required<Omit<T, Kept>> & Pick<T, Kept>;

const isFields = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A copy of `value` with every absent field of `schema` filled, in the schema's field order: the field's `filled`
 * function, else its `default` (or `const`), else `{}` for an object (whose own fields are then filled); fields without
 * a default stay undefined. Arrays of objects are filled item by item. Pure; expects a value that passed the schema.
 */
export function fillDefaults(schema: TSchema, value: unknown, root?: Fields): unknown {
  if (KindGuard.IsObject(schema) && isFields(value)) {
    const out: Fields = {};
    const doc = root ?? out;
    for (const [key, field] of Object.entries(schema.properties)) {
      let v = value[key];
      if (v === undefined) {
        const fill = FILLS.get(field);
        v = fill
          ? fill(out, doc)
          : field.default !== undefined
            ? structuredClone(field.default)
            : field.const !== undefined
              ? field.const
              : field.type === "object"
                ? {}
                : undefined;
      }
      out[key] = v === undefined ? undefined : fillDefaults(field, v, doc);
    }
    return out;
  }
  if (KindGuard.IsArray(schema) && KindGuard.IsObject(schema.items) && Array.isArray(value))
    return value.map((item) => fillDefaults(schema.items, item, root));
  return value;
}

/** Keys before `type` at the top of a document. */
const HEADER = ["$schema", "$id", "title", "description"] as const;

/** `type` first in every schema object (TypeBox adds it after the options), the rest in the order written. */
function typeFirst(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(typeFirst);
  if (!isFields(v)) return v;
  const out: Fields = "type" in v ? { type: v.type } : {};
  for (const [k, x] of Object.entries(v)) if (k !== "type") out[k] = typeFirst(x);
  return out;
}

/**
 * The JSON Schema document of a definition, as ajv reads it and as schemas/*.schema.json is written: the header
 * ($schema, $id, title, description) first, then the definition with `type` leading each schema object. Plain JSON:
 * TypeBox's symbols (and `filled` functions) are dropped.
 */
export function editorSchema(
  header: { $schema: string; $id?: string; title: string; description?: string },
  schema: TSchema,
): Record<string, unknown> {
  const head: Fields = {};
  for (const k of HEADER) if (header[k] !== undefined) head[k] = header[k];
  const body = typeFirst(schema);
  return { ...head, ...(isFields(body) ? body : {}) };
}
