/**
 * Object-level diff of one cluster's rendered objects (pure). Identity is apiVersion group + kind + namespace +
 * name, so a version bump of an API is a change, and a renamed template is a removal plus an addition (which is
 * what the management cluster sees). An addition that takes the place of a removal of the same kind is paired with
 * it so the reader sees what differs between them.
 */
import stableStringify from "fast-json-stable-stringify";
import { structuredPatch } from "diff";
import { groupOf, isRecord } from "../k8s/object.js";
import type { K8sObject } from "../k8s/object.js";
import { toYaml } from "../core/yaml.js";

export interface ObjectId {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export type ChangeType = "added" | "removed" | "changed";

export interface ObjectChange {
  type: ChangeType;
  id: ObjectId;
  before?: K8sObject;
  after?: K8sObject;
  /** Repository-relative file the object comes from (new side, else base side). */
  file?: string;
  /** added: the removed object of the same kind this one replaces; removed: the added one that replaces it. */
  pairedWith?: ObjectId;
  /** Unified diff (headers and hunks) of the YAML; for an unpaired addition the whole object, empty for removals. */
  patch: string;
}

export interface Side {
  objects: readonly K8sObject[];
  origins?: readonly (string | undefined)[];
}

export function idOf(o: K8sObject): ObjectId {
  return {
    group: groupOf(o.apiVersion),
    kind: o.kind ?? "",
    namespace: o.metadata?.namespace ?? "",
    name: o.metadata?.name ?? "",
  };
}

export const keyOf = (id: ObjectId): string => `${id.group}|${id.kind}|${id.namespace}|${id.name}`;

/** `Kind namespace/name`, as people write it. */
export const labelOf = (id: ObjectId): string => `${id.kind} ${id.namespace ? `${id.namespace}/` : ""}${id.name}`;

/** Display order: kind, namespace, name, group. */
export function compareIds(a: ObjectId, b: ObjectId): number {
  for (const k of ["kind", "namespace", "name", "group"] as const) {
    if (a[k] < b[k]) return -1;
    if (a[k] > b[k]) return 1;
  }
  return 0;
}

/** Semantic equality: key order does not matter. */
export const sameValue = (a: unknown, b: unknown): boolean => stableStringify(a ?? null) === stableStringify(b ?? null);

/** A unified diff of two YAML texts with `---`/`+++` headers; "" when equal. */
export function unifiedDiff(oldLabel: string, newLabel: string, oldText: string, newText: string): string {
  if (oldText === newText) return "";
  const p = structuredPatch(oldLabel, newLabel, oldText, newText, undefined, undefined, { context: 3 });
  const lines = [`--- ${oldLabel}`, `+++ ${newLabel}`];
  for (const h of p.hunks) {
    // As diff(1) and git write it: an empty side starts at the line before (0 for a new file).
    const start = (at: number, n: number) => (n === 0 ? at - 1 : at);
    lines.push(`@@ -${start(h.oldStart, h.oldLines)},${h.oldLines} +${start(h.newStart, h.newLines)},${h.newLines} @@`);
    lines.push(...h.lines);
  }
  return lines.join("\n") + "\n";
}

/** Leaf paths (dotted, list indexes in brackets) where two values differ; at most `limit`. */
export function changedPaths(a: unknown, b: unknown, prefix = "", limit = 5, out: string[] = []): string[] {
  if (out.length >= limit || sameValue(a, b)) return out;
  if (isRecord(a) && isRecord(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k, limit, out);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((v, i) => changedPaths(v, b[i], `${prefix}[${i}]`, limit, out));
    return out;
  }
  out.push(prefix || "(root)");
  return out;
}

/** A name without a trailing content hash (`demo-control-plane-243c9948` → `demo-control-plane`). */
export const nameStem = (name: string): string => name.replace(/-[0-9a-f]{6,}$/, "");

/** Pairs additions with removals of the same group and kind: by name stem, else when each is the only one. */
function pairRenames(added: ObjectId[], removed: ObjectId[]): Map<string, ObjectId> {
  const pairs = new Map<string, ObjectId>();
  const gk = (id: ObjectId) => `${id.group}|${id.kind}`;
  const taken = new Set<string>();
  for (const a of added) {
    const kindR = removed.filter((r) => gk(r) === gk(a));
    const kindA = added.filter((x) => gk(x) === gk(a));
    const stemR = kindR.filter((r) => nameStem(r.name) === nameStem(a.name));
    const stemA = kindA.filter((x) => nameStem(x.name) === nameStem(a.name));
    const r =
      stemR.length === 1 && stemA.length === 1
        ? stemR[0]
        : kindR.length === 1 && kindA.length === 1
          ? kindR[0]
          : undefined;
    if (r && !taken.has(keyOf(r))) {
      taken.add(keyOf(r));
      pairs.set(keyOf(a), r);
    }
  }
  return pairs;
}

const yamlOf = (o: K8sObject | undefined): string => (o ? toYaml(o) : "");

/** The object changes from `before` to `after`, sorted by kind, namespace, name. */
export function diffObjects(before: Side, after: Side): ObjectChange[] {
  const index = (s: Side) => {
    const m = new Map<string, { o: K8sObject; origin?: string }>();
    s.objects.forEach((o, i) => m.set(keyOf(idOf(o)), { o, origin: s.origins?.[i] }));
    return m;
  };
  const b = index(before);
  const a = index(after);
  const added = [...a.entries()].filter(([k]) => !b.has(k)).map(([, v]) => idOf(v.o));
  const removed = [...b.entries()].filter(([k]) => !a.has(k)).map(([, v]) => idOf(v.o));
  const pairs = pairRenames(added.sort(compareIds), removed.sort(compareIds));
  const replacedBy = new Map(
    [...pairs.entries()].flatMap(([ak, r]) => {
      const now = a.get(ak);
      return now ? [[keyOf(r), now.o] as const] : [];
    }),
  );

  const changes: ObjectChange[] = [];
  for (const [k, { o, origin }] of a) {
    const id = idOf(o);
    const old = b.get(k);
    if (old) {
      if (sameValue(old.o, o)) continue;
      changes.push({
        type: "changed",
        id,
        before: old.o,
        after: o,
        file: origin ?? old.origin,
        patch: unifiedDiff(labelOf(id), labelOf(id), yamlOf(old.o), yamlOf(o)),
      });
      continue;
    }
    const pairedWith = pairs.get(k);
    const prev = pairedWith ? b.get(keyOf(pairedWith))?.o : undefined;
    changes.push({
      type: "added",
      id,
      after: o,
      file: origin,
      pairedWith,
      patch: unifiedDiff(pairedWith ? labelOf(pairedWith) : "/dev/null", labelOf(id), yamlOf(prev), yamlOf(o)),
    });
  }
  for (const [k, { o, origin }] of b) {
    if (a.has(k)) continue;
    const by = replacedBy.get(k);
    changes.push({
      type: "removed",
      id: idOf(o),
      before: o,
      file: origin,
      pairedWith: by ? idOf(by) : undefined,
      patch: "",
    });
  }
  const order: Record<ChangeType, number> = { removed: 0, added: 1, changed: 2 };
  return changes.sort((x, y) => compareIds(x.id, y.id) || order[x.type] - order[y.type]);
}
