import { createHash } from "node:crypto";
import path from "node:path";
import stableStringify from "fast-json-stable-stringify";
import { PlanError } from "../core/errors.js";

/**
 * A file the plan wants on disk. `owned` files belong to the generator (rewritten on every generate, deleted when
 * no longer planned); `scaffold` files are created once and then belong to the user (never overwritten).
 */
export interface OutputFile {
  path: string;
  content: string;
  mode: "owned" | "scaffold";
}

/**
 * What a plan wants the repository to hold: its files, and the roots it owns wholly — folders (or single files) that
 * hold exactly what the plan has for them, so a root the plan has no file for is removed. `repo/write.ts` writes it.
 */
export interface TreePlan {
  files: OutputFile[];
  roots: string[];
}

export const owned = (p: string, content: string): OutputFile => ({ path: p, content, mode: "owned" });
export const scaffold = (p: string, content: string): OutputFile => ({ path: p, content, mode: "scaffold" });

/** Short content hash for object names: 8 hex characters of sha256 over a canonical JSON form. */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex").slice(0, 8);
}

/** Joins generator outputs; two generators claiming one path, or a path leaving the repository, is a PlanError. */
export function mergeOutputs(groups: OutputFile[][]): OutputFile[] {
  const byPath = new Map<string, OutputFile>();
  for (const f of groups.flat()) {
    const normal = path.posix.normalize(f.path);
    if (normal !== f.path || path.posix.isAbsolute(normal) || normal.startsWith("../") || normal === "..")
      throw new PlanError(`planned path "${f.path}" is not a plain relative path inside the repository`);
    if (byPath.has(f.path)) throw new PlanError(`two generators claim ${f.path}`);
    byPath.set(f.path, f);
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Joins plans: their files as `mergeOutputs` does, their roots (a root claimed twice is a PlanError). */
export function mergePlans(plans: readonly TreePlan[]): TreePlan {
  const roots = plans.flatMap((p) => p.roots);
  const twice = roots.find((r, i) => roots.indexOf(r) !== i);
  if (twice !== undefined) throw new PlanError(`two generators claim the root ${twice}`);
  return { files: mergeOutputs(plans.map((p) => p.files)), roots: roots.sort() };
}
