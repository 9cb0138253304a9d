/**
 * The only writer. Compares the plan with the tree, writes changed files through a temporary file and a rename,
 * creates scaffold files only when absent, and deletes files under the generator's owned roots that the plan no
 * longer has (a removed node pool, say). Paths are checked to stay inside the repository.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { PlanError } from "../errors.js";
import type { OutputFile } from "../plan/files.js";

export interface WriteResult {
  written: string[];
  unchanged: string[];
  deleted: string[];
}

export function inside(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const r = path.relative(root, abs);
  if (!r || r.startsWith("..") || path.isAbsolute(r)) throw new PlanError(`refusing to write outside the repository: ${rel}`);
  return abs;
}

async function readOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, "utf8");
  } catch {
    return undefined;
  }
}

/** Writes `content` to `abs` atomically (temporary file in the same directory, then rename). */
export async function atomicWrite(abs: string, content: string): Promise<void> {
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(4).toString("hex")}.tmp`);
  await writeFile(tmp, content, { flag: "wx" });
  await rename(tmp, abs);
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

async function removeEmptyDirs(dir: string, stop: string): Promise<void> {
  let d = dir;
  while (d.startsWith(stop) && d !== stop) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    d = path.dirname(d);
  }
}

/**
 * @param ownedRoots repository-relative folders (or files) that belong wholly to the generator.
 */
export async function writeTree(root: string, files: readonly OutputFile[], ownedRoots: readonly string[]): Promise<WriteResult> {
  const result: WriteResult = { written: [], unchanged: [], deleted: [] };
  const planned = new Set<string>();
  for (const f of files) {
    const abs = inside(root, f.path);
    planned.add(abs);
    const current = await readOrUndefined(abs);
    if (current === f.content || (f.mode === "scaffold" && current !== undefined)) {
      result.unchanged.push(f.path);
      continue;
    }
    await atomicWrite(abs, f.content);
    result.written.push(f.path);
  }
  for (const owned of ownedRoots) {
    const absRoot = inside(root, owned);
    for (const abs of await listFiles(absRoot)) {
      if (planned.has(abs)) continue;
      await rm(abs, { force: true });
      result.deleted.push(path.relative(root, abs).split(path.sep).join("/"));
      await removeEmptyDirs(path.dirname(abs), absRoot);
    }
  }
  result.deleted.sort();
  return result;
}
