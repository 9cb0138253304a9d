/**
 * Serialization: objects are built as plain data and serialized once, here, with a fixed key order for
 * Kubernetes objects (apiVersion, kind, metadata, spec first), `undefined` stripped, and no timestamps.
 */
import { CORE_SCHEMA, load, loadAll, YAMLException } from "js-yaml";
import { parseAllDocuments, stringify } from "yaml";
import { messageOf } from "./errors.js";

const TOP_ORDER = ["apiVersion", "kind", "metadata", "spec"];
const META_ORDER = ["name", "namespace", "labels", "annotations"];

function orderKeys(obj: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

/** Deep copy without `undefined` values; Kubernetes objects get the fixed key order. */
export function normalize(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map((v) => normalize(v, depth + 1));
  if (value && typeof value === "object") {
    const cleaned: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      cleaned[k] = normalize(v, k === "metadata" && depth === 0 ? -1 : depth + 1);
    }
    if (depth === 0 && ("apiVersion" in cleaned || "kind" in cleaned)) return orderKeys(cleaned, TOP_ORDER);
    if (depth === -1) return orderKeys(cleaned, META_ORDER);
    return cleaned;
  }
  return value;
}

/**
 * Written for YAML 1.1 readers: kustomize, Argo CD and Flux read YAML with go-yaml, which follows YAML 1.1 in places
 * (sigs.k8s.io/yaml, kyaml): a plain `on`, `off`, `yes`, `no`, `y` or `n` is a boolean there. With the 1.1 schema every
 * string a 1.1 reader would take for something else is quoted (`name: "off"`); the output is still valid YAML 1.2,
 * no `%YAML` directive is written.
 */
const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" } as const;

/** One YAML document, with an optional leading comment line (e.g. a yaml-language-server modeline). */
export function toYaml(value: unknown, header?: string): string {
  const body = stringify(normalize(value), OPTIONS);
  return header ? `${header}\n${body}` : body;
}

/** Serialization for embedding (inline kustomize patches): plain data, no key reordering beyond insertion order. */
export function toYamlInline(value: unknown): string {
  return stringify(value, OPTIONS);
}

/** A YAML stream that does not parse: the message says the line and what is wrong (no stack needed). */
export class YamlStreamError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = "YamlStreamError";
  }
}

/**
 * Parses a multi-document YAML stream (kustomize output) into plain objects; a YamlStreamError when it does not
 * parse.
 */
export function parseYamlStream(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => {
      const e = d.errors[0];
      if (e) {
        const line = e.linePos?.[0]?.line;
        throw new YamlStreamError(
          `${line === undefined ? "" : `line ${line}: `}${e.message.split("\n")[0] ?? "YAML error"}`,
          line,
        );
      }
      try {
        const js: unknown = d.toJS({ maxAliasCount: 100 });
        return js;
      } catch (err) {
        throw new YamlStreamError(messageOf(err));
      }
    })
    .filter((d) => d !== null && d !== undefined);
}

/** The texts parseKeptYamlStream has parsed (at most KEPT_TEXTS): their documents, or why they do not parse. */
const keptStreams = new Map<string, unknown[] | YamlStreamError>();
const KEPT_TEXTS = 64;

/**
 * parseYamlStream of a text read again and again in one process — the hydrated add-on payloads, which every validate
 * parses as the tool's store, as the repository's copy and for the schema layer: each distinct text is parsed once,
 * and every call gets its own copy of the documents (or its own error).
 */
export function parseKeptYamlStream(text: string): unknown[] {
  let kept = keptStreams.get(text);
  if (kept === undefined) {
    try {
      kept = parseMachineYaml(text);
    } catch (e) {
      if (!(e instanceof YamlStreamError)) throw e;
      kept = e;
    }
    if (keptStreams.size >= KEPT_TEXTS) keptStreams.clear();
    keptStreams.set(text, kept);
  }
  if (kept instanceof YamlStreamError) throw new YamlStreamError(kept.message, kept.line);
  return structuredClone(kept);
}

/**
 * parseYamlStream of a text a program wrote (the hydrated add-on payloads: helm's and our serializer's output, which
 * a person may still edit), read with js-yaml and the same core schema, ~4× faster; a text js-yaml refuses is read
 * again with the `yaml` library, so a problem is reported as parseYamlStream reports it.
 */
export function parseMachineYaml(text: string): unknown[] {
  try {
    const docs: unknown[] = [];
    loadAll(text, (d) => docs.push(d), { schema: CORE_SCHEMA, json: false });
    return docs.filter((d) => d !== null && d !== undefined);
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    return parseYamlStream(text);
  }
}

/**
 * Strings this long or longer are the add-on payloads in ConfigMaps: kept once per process however many copies
 * (parseProgramYaml), and given to kubeconform as a stand-in (validate/schema-layers.ts).
 */
export const SHARED_MIN = 1024;
const shared = new Map<string, string>();

/**
 * V8 makes a value read out of a longer text (a string of 13 or more characters) a slice that keeps the whole text
 * alive: one short field of a cluster's objects held kustomize's entire output for that build (≈ 0.5 MB) for as long
 * as the objects lived. Flattening a concatenation copies the characters into a string of their own; the slice of it
 * refers to that copy only.
 */
const SLICE_MIN = 13;
const detached = (v: string): string => (v.length < SLICE_MIN ? v : ` ${v}`.slice(1));

/** The same value with each long string replaced by the one copy kept of it (deep, in place), no string a slice. */
function share(v: unknown): unknown {
  if (typeof v === "string") {
    if (v.length < SHARED_MIN) return detached(v);
    const kept = shared.get(v);
    if (kept !== undefined) return kept;
    const own = detached(v);
    shared.set(own, own);
    return own;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = share(v[i]);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) Reflect.set(v, k, share(x));
  }
  return v;
}

/**
 * Parses a YAML stream a program printed (kustomize's output: plain block YAML, no anchors, no tags) into plain
 * objects, with the same YAML 1.2 core schema as parseYamlStream, ~4× faster (js-yaml; the `yaml` library keeps
 * what user-written files need: positions and comments). Long strings (the add-on payloads every cluster's build
 * repeats) are shared, not copied per cluster. A YamlStreamError when it does not parse.
 */
export function parseProgramYaml(text: string): unknown[] {
  try {
    const docs: unknown[] = [];
    loadAll(text, (d) => docs.push(share(d)), { schema: CORE_SCHEMA, json: false });
    return docs.filter((d) => d !== null && d !== undefined);
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const line = e.mark.line + 1;
    throw new YamlStreamError(`line ${line}: ${e.reason}`, line);
  }
}

/**
 * The value of a plain one-document YAML text — no anchors, aliases, tags, merge keys or directives (none of their
 * characters anywhere, comments included) — read with the core schema like parseYamlStream, ~10× faster; undefined
 * for anything else (then the caller reads it with the `yaml` library, which says where a problem is).
 */
export function parsePlainYaml(text: string): unknown {
  if (/[&*!%]|<</.test(text)) return undefined;
  try {
    return load(text, { schema: CORE_SCHEMA });
  } catch {
    return undefined;
  }
}
