import { createHash } from "node:crypto";
import path from "node:path";
import stableStringify from "fast-json-stable-stringify";
import { PlanError } from "../errors.js";

/**
 * A file the plan wants on disk. `owned` files belong to the generator (rewritten on every generate, deleted when
 * no longer planned); `scaffold` files are created once and then belong to the user (never overwritten).
 */
export interface OutputFile {
  path: string;
  content: string;
  mode: "owned" | "scaffold";
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
