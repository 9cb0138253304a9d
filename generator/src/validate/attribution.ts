/**
 * Which file set the value a finding is about. kustomize's origin annotation (config.kubernetes.io/origin) names the
 * file an object came from — for a cluster's objects, a base file — but a patch's values are not in the origin. Its
 * transformer annotation (alpha.config.kubernetes.io/transformations) names the kustomization files whose patches
 * touched the object. When the cluster's own kustomization.yaml is one of them and one of its patches sets the
 * finding's field (or a field above or below it), the finding belongs to that kustomization (or to the patch file it
 * names), at the patch's line; otherwise to the origin file, at the field's line when it is there. Pure: files are
 * read through `read`.
 */
import path from "node:path";
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  type Document,
  type Node,
} from "yaml";
import type { Finding } from "../core/findings.js";
import { clusterKustomizationPath } from "../core/layout.js";
import type { RenderedCluster } from "../render/render.js";
import { ruleInputs } from "./registry.js";
import { get, list, strAt } from "../k8s/object.js";

/** The part of a rendered object attribution reads. */
export interface AttributedObject {
  kind?: unknown;
  metadata?: { name?: unknown };
}

export interface Attribution {
  file: string;
  line?: number;
}

/** A patch of a kustomization: the object it targets, the field paths it sets, and where it is written. */
interface Patch {
  kind?: string;
  name?: string;
  fields: string[];
  file: string;
  line?: number;
}

/** `spec.a[0].b`, `/spec/a/0/b` and `spec.a.0.b` all become ["spec", "a", "0", "b"]. */
export function fieldSteps(p: string): string[] {
  const pointer = p.startsWith("/");
  return (
    pointer
      ? p
          .slice(1)
          .split("/")
          .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
      : p.replace(/\[(\d+)\]/g, ".$1").split(".")
  ).filter((s) => s !== "");
}

/** True when one path lies on the other (a patch of `spec.network` sets `spec.network.vpc.cidrBlock`, and back). */
export function touches(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i] && a[i] !== "-" && b[i] !== "-") return false;
  return true;
}

/** A repository-relative path that stays in the repository (patch files leading out are not read). */
const inRepo = (rel: string) => !rel.startsWith("../") && rel !== ".." && !path.posix.isAbsolute(rel);

const lineOf = (lc: LineCounter, node: Node | null | undefined): number | undefined => {
  const at = node?.range?.[0];
  return typeof at === "number" ? lc.linePos(at).line : undefined;
};

/** Leaf paths of a strategic-merge patch body (its identity fields are not values it sets). */
function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0)
    return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...prefix, k]));
  return [prefix];
}
const IDENTITY = new Set(["apiVersion", "kind", "metadata.name", "metadata.namespace"]);

/** The fields a patch text sets: JSON6902 operations' paths, or a strategic-merge body's leaves. */
function patchFields(text: string): { fields: string[]; kind?: string; name?: string } {
  let data: unknown;
  try {
    data = parseDocument(text).toJS({ maxAliasCount: 50 });
  } catch {
    return { fields: [] };
  }
  if (Array.isArray(data))
    return {
      fields: list(data)
        .flatMap((op) => [get(op, "path"), get(op, "from")])
        .filter((p): p is string => typeof p === "string")
        .map((p) => fieldSteps(p).join(".")),
    };
  if (!data || typeof data !== "object") return { fields: [] };
  return {
    fields: leafPaths(data)
      .map((p) => p.join("."))
      .filter((p) => p && !IDENTITY.has(p)),
    kind: strAt(data, "kind"),
    name: strAt(data, "metadata.name"),
  };
}

/** The patches of one kustomization file (`patches`, `patchesJson6902`, `patchesStrategicMerge`), with their lines. */
export function kustomizationPatches(file: string, read: (rel: string) => string | undefined): Patch[] {
  const text = read(file);
  if (text === undefined) return [];
  const lc = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lc });
  } catch {
    return [];
  }
  if (doc.errors.length > 0 || !isMap(doc.contents)) return [];
  const dir = path.posix.dirname(file);
  const out: Patch[] = [];
  for (const key of ["patches", "patchesJson6902", "patchesStrategicMerge"]) {
    const items = doc.get(key, true);
    if (!isSeq(items)) continue;
    for (const item of items.items) {
      if (!isNode(item)) continue;
      const entry: unknown = item.toJSON();
      let body: string | undefined;
      let where: Attribution = { file, line: lineOf(lc, item) };
      if (typeof entry === "string") {
        // patchesStrategicMerge: a file name or an inline patch.
        if (!entry.includes("\n") && !entry.includes(":")) {
          const rel = path.posix.normalize(path.posix.join(dir, entry));
          body = inRepo(rel) ? read(rel) : undefined;
          where = { file: rel };
        } else body = entry;
      } else if (entry && typeof entry === "object") {
        const patch = get(entry, "patch");
        const from = get(entry, "path");
        if (typeof patch === "string") body = patch;
        else if (typeof from === "string") {
          const rel = path.posix.normalize(path.posix.join(dir, from));
          body = inRepo(rel) ? read(rel) : undefined;
          where = { file: rel };
        }
      }
      if (body === undefined) continue;
      const p = patchFields(body);
      const target = get(entry, "target");
      out.push({
        kind: strAt(target, "kind") ?? p.kind,
        name: strAt(target, "name") ?? p.name,
        fields: p.fields,
        ...where,
      });
    }
  }
  return out;
}

const nameMatches = (pattern: string, name: string): boolean => {
  try {
    return new RegExp(`^(?:${pattern})$`).test(name);
  } catch {
    return pattern === name;
  }
};

/** Line of a field in an object's source file (the document of that kind and name), when it is there. */
export function fieldLine(
  file: string,
  o: AttributedObject,
  field: string[],
  read: (rel: string) => string | undefined,
): number | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  const lc = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = [...parseAllDocuments(text, { lineCounter: lc })];
  } catch {
    return undefined;
  }
  const doc = docs.find((d) => d.get("kind") === o.kind) ?? (docs.length === 1 ? docs[0] : undefined);
  return doc ? keyLine(doc, lc, field) : undefined;
}

/** The line of the deepest key of `steps` that the document holds (a value set later may sit below it). */
function keyLine(doc: Document, lc: LineCounter, steps: string[]): number | undefined {
  for (let n = steps.length; n > 0; n--) {
    const parent =
      n === 1
        ? doc.contents
        : doc.getIn(
            steps.slice(0, n - 1).map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
            true,
          );
    const last = steps[n - 1];
    if (last === undefined) continue;
    if (isMap(parent)) {
      const key = parent.items.map((p) => p.key).find((k) => isScalar(k) && String(k.value) === last);
      if (key) return isNode(key) ? lineOf(lc, key) : undefined;
    } else if (isSeq(parent) && /^\d+$/.test(last)) {
      const item = parent.items[Number(last)];
      if (item) return isNode(item) ? lineOf(lc, item) : undefined;
    }
  }
  return undefined;
}

/** "Kind/name:field" → the field's steps, or undefined when the finding names no field. */
export function findingField(f: Finding): string[] | undefined {
  const field = /^[^/:]+\/[^:]+:(.+)$/.exec(f.path ?? "")?.[1];
  return field === undefined ? undefined : fieldSteps(field);
}

/**
 * Where a finding about `field` of object `o` belongs. `origin`: the object's source file (kustomize's origin);
 * `ownKustomization`: the cluster's own kustomization.yaml; `transformedBy`: the kustomization files whose
 * transformers touched the object (kustomize's transformer annotation).
 */
export function attribute(
  o: AttributedObject,
  field: string[],
  origin: string | undefined,
  ownKustomization: string,
  transformedBy: readonly string[] | undefined,
  read: (rel: string) => string | undefined,
): Attribution | undefined {
  const patch = ownPatch(o, field, ownKustomization, transformedBy, read);
  if (patch) return patch;
  if (origin === undefined) return undefined;
  return { file: origin, line: fieldLine(origin, o, field, read) };
}

/** The patch of the cluster's own kustomization that set `field` of `o` (or a field above or below it), if any. */
function ownPatch(
  o: AttributedObject,
  field: string[],
  ownKustomization: string,
  transformedBy: readonly string[] | undefined,
  read: (rel: string) => string | undefined,
): Attribution | undefined {
  if (!transformedBy?.includes(ownKustomization)) return undefined;
  const kind = typeof o.kind === "string" ? o.kind : "";
  const name = typeof o.metadata?.name === "string" ? o.metadata.name : "";
  const patch = kustomizationPatches(ownKustomization, read)
    .filter((p) => (p.kind === undefined || p.kind === kind) && (p.name === undefined || nameMatches(p.name, name)))
    .reverse() // the last patch that sets the field wins
    .find((p) => p.fields.some((x) => touches(fieldSteps(x), field)));
  return patch ? { file: patch.file, line: patch.line ?? patchFileLine(patch.file, field, read) } : undefined;
}

/** In a patch file (strategic merge), the line of the field; a JSON6902 file, the line of the operation. */
function patchFileLine(file: string, field: string[], read: (rel: string) => string | undefined): number | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (isSeq(doc.contents)) {
    const op = doc.contents.items.find((it) => {
      if (!isMap(it)) return false;
      const at = it.get("path");
      return typeof at === "string" && touches(fieldSteps(at), field);
    });
    return lineOf(lc, op);
  }
  return keyLine(doc, lc, field);
}

/**
 * A cluster's finding on "Kind/name:field", moved to the file (and line) that set the field; other findings, and
 * findings of clusters rendered without origins, are returned as they are.
 */
export function attributeFinding(
  f: Finding,
  rc: RenderedCluster | undefined,
  read: (rel: string) => string | undefined,
): Finding {
  const at = findingField(f);
  const { path: where = "" } = f;
  const transformations = rc?.transformations;
  if (!rc || !at || f.cluster !== rc.cluster || !transformations) return f;
  // kubeconform reports an unknown field at its parent: the field itself is what some file set.
  const extra = f.rule === "kubeconform" ? /additional propert(?:y|ies) '([^']+)'/.exec(f.message)?.[1] : undefined;
  const field = extra ? [...at, extra] : at;
  const ref = where.slice(0, where.indexOf(":"));
  const slash = ref.indexOf("/");
  const [kind, name] = [ref.slice(0, slash), ref.slice(slash + 1)];
  const j = rc.objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
  const object = rc.objects[j];
  if (j < 0 || !object) return f;
  const own = clusterKustomizationPath(rc.cluster);
  // The field itself, else a field of another object the rule compares it with (a patched region makes every zone
  // wrong).
  const inputs = ruleInputs(f.rule).flatMap(({ kind: k, field: x }) => {
    const i = rc.objects.findIndex((o) => o.kind === k);
    const input = rc.objects[i];
    return i < 0 || !input ? [] : [() => ownPatch(input, fieldSteps(x), own, transformations[i], read)];
  });
  const to =
    ownPatch(object, field, own, transformations[j], read) ??
    inputs.reduce<Attribution | undefined>((found, next) => found ?? next(), undefined) ??
    attribute(object, field, rc.origins[j], own, transformations[j], read);
  return to ? { ...f, file: to.file, ...(to.line ? { line: to.line } : {}) } : f;
}
