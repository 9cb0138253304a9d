/**
 * The only writer. Compares the plan with the tree and writes only what changed:
 * - each owned root folder (base/, an overlay, clusters/<name>/generated, …) that changes is built complete in a
 *   staging folder next to it and swapped in with renames, so a crash never leaves a half-written folder; an
 *   interrupted swap is finished by `recoverTree` at the start of the next command;
 * - single owned files are written to a temporary file and renamed over the old one;
 * - scaffold files are created only when absent (they then belong to the user);
 * - files under an owned root that the plan no longer has (a removed node pool) go with the old folder.
 * Paths must stay inside the repository, also through symbolic links.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { PlanError } from "../errors.js";
import type { OutputFile } from "../plan/files.js";

export interface WriteResult {
  written: string[];
  unchanged: string[];
  deleted: string[];
}

const STAGING = /^\.(.+)\.(new|old)-[0-9a-f]{8}$/;
const TMP_FILE = /^\..+\.[0-9a-f]{8}\.tmp$/;
const SKIP_DIRS = new Set([".git", "node_modules", ".tools"]);

/** The absolute path of a repository-relative path; refuses anything that leaves the repository. */
export function inside(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const r = path.relative(root, abs);
  if (!r || r.startsWith("..") || path.isAbsolute(r)) throw new PlanError(`refusing to write outside the repository: ${rel}`);
  return abs;
}

/** Like `inside`, and the deepest existing folder on the way must not lead out of the repository by a symlink. */
export async function insideReal(root: string, rel: string): Promise<string> {
  const abs = inside(root, rel);
  const realRoot = await realpath(root);
  let probe = path.dirname(abs);
  for (;;) {
    const real = await realpath(probe).catch(() => undefined);
    if (real !== undefined) {
      const r = path.relative(realRoot, real);
      if (r.startsWith("..") || path.isAbsolute(r)) throw new PlanError(`refusing to write ${rel}: ${path.relative(root, probe) || "."} leads outside the repository (symbolic link)`);
      return abs;
    }
    probe = path.dirname(probe);
  }
}

async function readOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, "utf8");
  } catch {
    return undefined;
  }
}

const tx = () => randomBytes(4).toString("hex");

/** Writes `content` to `abs` atomically (temporary file in the same folder, then rename). */
export async function atomicWrite(abs: string, content: string): Promise<void> {
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${tx()}.tmp`);
  await writeFile(tmp, content, { flag: "wx" });
  await rename(tmp, abs);
}

/** Every regular file under dir, relative to dir with "/" separators, sorted. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

const COMPLETE = ".complete";

/**
 * Replaces folder `abs` with one holding exactly `files` (relative path → content), or removes it when `files` is
 * empty: the new folder is written complete beside it (`.X.new-<id>`, marked complete last), then
 * abs → `.X.old-<id>`, `.X.new-<id>` → abs, and the old one is removed. A crash between the two renames leaves a
 * complete `.X.new-<id>` and no X: recoverTree renames it into place.
 */
async function replaceFolder(abs: string, files: ReadonlyMap<string, string>): Promise<void> {
  const id = tx();
  const dir = path.dirname(abs);
  const staged = path.join(dir, `.${path.basename(abs)}.new-${id}`);
  const old = path.join(dir, `.${path.basename(abs)}.old-${id}`);
  await mkdir(dir, { recursive: true });
  if (files.size > 0) {
    for (const [rel, content] of files) {
      await mkdir(path.dirname(path.join(staged, rel)), { recursive: true });
      await writeFile(path.join(staged, rel), content, { flag: "wx" });
    }
    await writeFile(path.join(staged, COMPLETE), "");
  }
  const had = await lstat(abs).then(() => true, () => false);
  if (had) await rename(abs, old);
  if (files.size > 0) {
    await rename(staged, abs);
    await rm(path.join(abs, COMPLETE), { force: true });
  }
  if (had) await rm(old, { recursive: true, force: true });
}

/**
 * Finishes or undoes swaps a killed process left behind: `.X.new-*` beside a missing X is renamed into place
 * (the new folder was complete before the first rename); every other staging folder is removed.
 */
export async function recoverTree(root: string): Promise<string[]> {
  const fixed: string[] = [];
  async function walk(dir: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    // A swap that was killed right after its second rename leaves the marker inside the new folder.
    if (names.has(COMPLETE) && !STAGING.test(path.basename(dir))) {
      await rm(path.join(dir, COMPLETE), { force: true });
      fixed.push(`finished ${path.relative(root, dir)}`);
    }
    for (const e of entries) {
      if (e.isFile() && TMP_FILE.test(e.name)) {
        await rm(path.join(dir, e.name), { force: true });
        fixed.push(`removed ${path.relative(root, path.join(dir, e.name))}`);
        continue;
      }
      if (!e.isDirectory() || SKIP_DIRS.has(e.name)) continue;
      const m = STAGING.exec(e.name);
      const abs = path.join(dir, e.name);
      if (!m) {
        if (depth < 6) await walk(abs, depth + 1);
        continue;
      }
      const target = path.join(dir, m[1]!);
      if (m[2] === "new" && !names.has(m[1]!) && (await lstat(path.join(abs, COMPLETE)).then(() => true, () => false))) {
        await rm(path.join(abs, COMPLETE), { force: true });
        await rename(abs, target);
        names.add(m[1]!);
        fixed.push(`finished ${path.relative(root, target)}`);
      } else {
        await rm(abs, { recursive: true, force: true });
        fixed.push(`removed ${path.relative(root, abs)}`);
      }
    }
  }
  await walk(root, 0);
  return fixed;
}

/**
 * @param ownedRoots repository-relative folders or files that belong wholly to the generator.
 */
export async function writeTree(root: string, files: readonly OutputFile[], ownedRoots: readonly string[]): Promise<WriteResult> {
  const result: WriteResult = { written: [], unchanged: [], deleted: [] };
  const folders = new Map<string, OutputFile[]>(); // owned root folder → its planned files
  const singles: OutputFile[] = [];
  const roots = new Set(ownedRoots);
  /** The deepest owned root that holds p: its parent folders, deepest first, looked up in a set. */
  const rootOf = (p: string): string | undefined => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) if (roots.has(p.slice(0, i))) return p.slice(0, i);
    return undefined;
  };
  for (const f of files) {
    const r = f.mode === "owned" ? rootOf(f.path) : undefined;
    if (!r) singles.push(f);
    else if (folders.has(r)) folders.get(r)!.push(f);
    else folders.set(r, [f]);
  }
  const plannedPaths = new Set(files.map((f) => f.path));
  for (const r of ownedRoots) if (!folders.has(r) && !plannedPaths.has(r)) folders.set(r, []);

  for (const [r, planned] of [...folders].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const abs = await insideReal(root, r);
    const st = await lstat(abs).catch(() => undefined);
    if (st && !st.isDirectory()) {
      if (st.isSymbolicLink()) throw new PlanError(`refusing to replace ${r}: it is a symbolic link`);
      continue; // an owned single file, handled below
    }
    const want = new Map(planned.map((f) => [f.path.slice(r.length + 1), f.content]));
    const have = await listFiles(abs);
    const changed: string[] = [];
    for (const [rel, content] of want) if ((await readOrUndefined(path.join(abs, rel))) !== content) changed.push(`${r}/${rel}`);
    const gone = have.filter((rel) => !want.has(rel)).map((rel) => `${r}/${rel}`);
    result.unchanged.push(...[...want.keys()].map((rel) => `${r}/${rel}`).filter((p) => !changed.includes(p)));
    if (changed.length === 0 && gone.length === 0) continue;
    await replaceFolder(abs, want);
    result.written.push(...changed);
    result.deleted.push(...gone);
  }

  for (const f of singles) {
    const abs = await insideReal(root, f.path);
    const current = await readOrUndefined(abs);
    if (current === f.content || (f.mode === "scaffold" && current !== undefined)) {
      result.unchanged.push(f.path);
      continue;
    }
    if (f.mode === "scaffold") {
      await mkdir(path.dirname(abs), { recursive: true });
      await writeFile(abs, f.content, { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
    } else await atomicWrite(abs, f.content);
    result.written.push(f.path);
  }
  result.written.sort();
  result.deleted.sort();
  return result;
}
