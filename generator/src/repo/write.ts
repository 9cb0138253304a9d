/**
 * The only writer: every write, staging and removal in the repository goes through `writeTree(root, plan)` (generate,
 * new-cluster, remove-cluster, schemas). It compares the plan (its files and the roots it owns) with the tree and
 * writes only what changed:
 * - each owned root folder (base/, an overlay, clusters/<name>/generated, a new clusters/<name>, …) that changes is
 *   built complete in a staging folder next to it and swapped in with renames, so a crash never leaves a half-written
 *   folder; an interrupted swap is finished by `recoverTree` at the start of the next command; every planned file
 *   under an owned root belongs to that folder, and an owned root the plan has no file for is removed;
 * - everything of one run is staged (and every folder it touches checked writable) before the first rename, and a
 *   failed rename undoes the ones before it (`Transaction`): the run lands completely or not at all;
 * - single owned files are written to a temporary file and renamed over the old one;
 * - scaffold files are created only when absent (they then belong to the user);
 * - files under an owned root that the plan no longer has (a removed node pool) go with the old folder;
 * - a check of the landed result (new-cluster's build and validation, a `git commit`) runs before the run is final:
 *   if it fails, everything is rolled back.
 * Paths must stay inside the repository, also through symbolic links.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, link, lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { errnoCode, messageOf, PlanError, ToolError } from "../core/errors.js";
import type { OutputFile, TreePlan } from "../plan/files.js";

export interface WriteResult {
  written: string[];
  unchanged: string[];
  deleted: string[];
  /**
   * Scaffold files left as they are although they differ from the plan (they belong to the user); also in unchanged.
   */
  kept: string[];
}

const STAGING = /^\.(.+)\.(new|old)-[0-9a-f]{8}$/;
const TMP_FILE = /^\..+\.[0-9a-f]{8}\.tmp$/;
const SKIP_DIRS = new Set([".git", "node_modules", ".tools"]);

/** The absolute path of a repository-relative path; refuses anything that leaves the repository. */
export function inside(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const r = path.relative(root, abs);
  if (!r || r.startsWith("..") || path.isAbsolute(r))
    throw new PlanError(`refusing to write outside the repository: ${rel}`);
  return abs;
}

/** Like `inside`, and the deepest existing folder on the way must not lead out of the repository by a symlink. */
async function insideReal(root: string, rel: string): Promise<string> {
  const abs = inside(root, rel);
  const realRoot = await realpath(root);
  let probe = path.dirname(abs);
  for (;;) {
    const real = await realpath(probe).catch(() => undefined);
    if (real !== undefined) {
      const r = path.relative(realRoot, real);
      if (r.startsWith("..") || path.isAbsolute(r))
        throw new PlanError(
          `refusing to write ${rel}: ${path.relative(root, probe) || "."} leads outside the repository (symbolic link)`,
        );
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
async function atomicWrite(abs: string, content: string): Promise<void> {
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

/**
 * The marker `.X.complete-<id>` beside the staged `.X.new-<id>` (never inside it, so a landed folder never holds it).
 */
const MARKER = /^\.(.+)\.complete-([0-9a-f]{8})$/;
const markerOf = (dir: string, name: string, id: string) => path.join(dir, `.${name}.complete-${id}`);

/**
 * Finishes or undoes swaps a killed process left behind: `.X.new-<id>` beside a missing X is renamed into place when
 * its marker `.X.complete-<id>` exists (the new folder was complete before the first rename); every other staging
 * folder and every orphan marker is removed.
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
    for (const e of entries) {
      if (e.isFile() && TMP_FILE.test(e.name)) {
        await rm(path.join(dir, e.name), { force: true });
        fixed.push(`removed ${path.relative(root, path.join(dir, e.name))}`);
        continue;
      }
      if (!e.isDirectory() || SKIP_DIRS.has(e.name)) continue;
      const [, name, state] = STAGING.exec(e.name) ?? [];
      const abs = path.join(dir, e.name);
      if (name === undefined) {
        if (depth < 6) await walk(abs, depth + 1);
        continue;
      }
      const target = path.join(dir, name);
      const id = e.name.slice(-8);
      const marker = markerOf(dir, name, id);
      if (
        state === "new" &&
        !names.has(name) &&
        (await lstat(marker).then(
          () => true,
          () => false,
        ))
      ) {
        await rename(abs, target);
        names.add(name);
        fixed.push(`finished ${path.relative(root, target)}`);
      } else {
        await rm(abs, { recursive: true, force: true });
        fixed.push(`removed ${path.relative(root, abs)}`);
      }
    }
    // Markers last: a marker is needed until its folder has landed (above), then it is only litter.
    for (const e of entries) if (e.isFile() && MARKER.test(e.name)) await rm(path.join(dir, e.name), { force: true });
  }
  await walk(root, 0);
  return fixed;
}

/** One prepared change: staged beside its place, not yet visible. */
type Step =
  | { kind: "folder"; rel: string; abs: string; staged?: string; old: string; marker: string; had: boolean }
  | { kind: "file"; rel: string; abs: string; staged: string; previous?: string; createOnly: boolean };

/** Refuses, before anything is visible, a folder this run must change but cannot: says which, why and what to do. */
async function mustWrite(root: string, dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = errnoCode(e) ?? "error";
    const why =
      code === "EROFS"
        ? "read-only file system"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : messageOf(e);
    throw new ToolError(
      `cannot write ${path.relative(root, dir) || "."}/: ${why} (${code}); ` +
        `make it writable (or remount it read-write) and run again — nothing was written`,
    );
  }
}

/** Every folder at or under dir must be writable: removing the old copy deletes entries in each of them. */
async function checkTreeWritable(root: string, dir: string): Promise<void> {
  await mustWrite(root, dir);
  for (const e of await readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) await checkTreeWritable(root, path.join(dir, e.name));
}

/**
 * A set of changes that lands completely or not at all (used by `writeTree` only): `prepare` stages every folder and
 * file beside its place and
 * checks that every folder a rename or removal touches is writable, before anything is visible; `commit` does the
 * renames; `rollback` (after any failure: a rename, a check of the landed result, a `git commit`) restores the
 * previous state; `finish` removes the kept old copies. Crash safety is per folder: a killed
 * commit is finished folder by folder by `recoverTree`.
 */
class Transaction {
  private steps: Step[] = [];
  private done: Step[] = [];
  private createdDirs: string[] = [];
  constructor(private readonly root: string) {}

  private async mkdirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first) this.createdDirs.push(first);
  }

  /** Stages folder `rel` to hold exactly `files` (relative to it), or to be removed when `files` is empty. */
  async stageFolder(rel: string, files: ReadonlyMap<string, string>): Promise<void> {
    const abs = await insideReal(this.root, rel);
    const dir = path.dirname(abs);
    const id = tx();
    const name = path.basename(abs);
    const step: Step = {
      kind: "folder",
      rel,
      abs,
      old: path.join(dir, `.${name}.old-${id}`),
      marker: markerOf(dir, name, id),
      had: await lstat(abs).then(
        () => true,
        () => false,
      ),
    };
    this.steps.push(step);
    await this.mkdirs(dir);
    await mustWrite(this.root, dir);
    if (step.had) await checkTreeWritable(this.root, abs);
    if (files.size === 0) return;
    step.staged = path.join(dir, `.${name}.new-${id}`);
    for (const [r, content] of files) {
      await mkdir(path.dirname(path.join(step.staged, r)), { recursive: true });
      await writeFile(path.join(step.staged, r), content, { flag: "wx" });
    }
  }

  /** Stages one file: replaced atomically, or (createOnly) created only if it is still absent when committed. */
  async stageFile(rel: string, content: string, createOnly: boolean, previous: string | undefined): Promise<void> {
    const abs = await insideReal(this.root, rel);
    await this.mkdirs(path.dirname(abs));
    const staged = path.join(path.dirname(abs), `.${path.basename(abs)}.${tx()}.tmp`);
    this.steps.push({ kind: "file", rel, abs, staged, previous, createOnly });
    await mustWrite(this.root, path.dirname(abs));
    await writeFile(staged, content, { flag: "wx" });
  }

  /** Lands every staged change; on a failure the caller calls `rollback`, which undoes the ones already landed. */
  async commit(): Promise<void> {
    // The markers say "complete" to recoverTree: written only once every folder is staged.
    for (const s of this.steps) if (s.kind === "folder" && s.staged) await writeFile(s.marker, "");
    for (const s of this.steps) {
      if (s.kind === "file") {
        if (s.createOnly) {
          try {
            await link(s.staged, s.abs);
          } catch (e) {
            if (errnoCode(e) !== "EEXIST") throw e;
            await rm(s.staged, { force: true });
            continue; // created by someone else meanwhile: it is theirs
          }
          await rm(s.staged, { force: true });
        } else await rename(s.staged, s.abs);
        this.done.push(s);
        continue;
      }
      if (s.had) await rename(s.abs, s.old);
      this.done.push(s);
      if (s.staged) await rename(s.staged, s.abs);
    }
  }

  /**
   * Restores what the landed steps replaced (in reverse order) and removes everything staged. Every step is tried even
   * when one fails; a folder that could not be put back keeps its old copy (never deleted), and the error names it.
   */
  async rollback(): Promise<void> {
    const failed: string[] = [];
    const keep = new Set<Step>();
    for (const s of this.done.reverse()) {
      try {
        if (s.kind === "file") {
          if (s.previous === undefined) await rm(s.abs, { force: true });
          else await atomicWrite(s.abs, s.previous);
          continue;
        }
        const { staged } = s;
        const landed =
          staged !== undefined &&
          (await lstat(staged).then(
            () => false,
            () => true,
          ));
        if (landed) await rename(s.abs, staged);
        if (s.had) await rename(s.old, s.abs);
      } catch (e) {
        keep.add(s);
        failed.push(
          `${s.rel} (${errnoCode(e) ?? messageOf(e)}${
            s.kind === "folder" && s.had ? `; its previous content is kept in ${path.relative(this.root, s.old)}` : ""
          })`,
        );
      }
    }
    this.done = [];
    await this.cleanup(keep);
    this.steps = [];
    if (failed.length === 0)
      for (const d of this.createdDirs.reverse()) await rm(d, { recursive: true, force: true }).catch(() => undefined);
    this.createdDirs = [];
    if (failed.length)
      throw new ToolError(
        `a failed write could not be undone completely: ${failed.join(", ")}; ` +
          `restore these by hand (git checkout / git status show what changed)`,
      );
  }

  /** Removes staging leftovers and the old copies kept for a rollback. */
  async finish(): Promise<void> {
    await this.cleanup();
    this.steps = [];
    this.done = [];
    this.createdDirs = [];
  }

  private async cleanup(keep: ReadonlySet<Step> = new Set()): Promise<void> {
    for (const s of this.steps) {
      if (keep.has(s)) continue;
      if (s.kind === "file") await rm(s.staged, { force: true }).catch(() => undefined);
      else {
        if (s.staged) await rm(s.staged, { recursive: true, force: true }).catch(() => undefined);
        await rm(s.old, { recursive: true, force: true }).catch(() => undefined);
        await rm(s.marker, { force: true }).catch(() => undefined);
      }
    }
  }
}

/** What a run changed, for `git commit -- <paths>`: `folder` as one path, and every other file written or deleted. */
export function pathsToCommit(folder: string, result: WriteResult): string[] {
  return [folder, ...[...result.written, ...result.deleted].filter((p) => p !== folder && !p.startsWith(`${folder}/`))];
}

export interface WriteOptions {
  /**
   * Runs once everything has landed, before the old copies are dropped: a check of the result or a `git commit` of
   * it. If it throws, every change is rolled back and the error is thrown on.
   */
  landed?: (result: WriteResult) => Promise<void>;
}

/** Writes `plan` in one transaction: all of it lands (and passes `landed`), or nothing does. */
export async function writeTree(root: string, plan: TreePlan, opts: WriteOptions = {}): Promise<WriteResult> {
  const t = new Transaction(root);
  try {
    const result = await stageTree(t, root, plan.files, plan.roots);
    await t.commit();
    await opts.landed?.(result);
    await t.finish();
    return result;
  } catch (e) {
    await t.rollback();
    throw e;
  }
}

/**
 * Stages in `t` what writeTree writes (nothing is visible until `t.commit()`); returns what it will change.
 * @param ownedRoots repository-relative folders or files that belong wholly to the plan.
 */
async function stageTree(
  t: Transaction,
  root: string,
  files: readonly OutputFile[],
  ownedRoots: readonly string[],
): Promise<WriteResult> {
  const result: WriteResult = { written: [], unchanged: [], deleted: [], kept: [] };
  const folders = new Map<string, OutputFile[]>(); // owned root folder → its planned files
  const singles: OutputFile[] = [];
  const roots = new Set(ownedRoots);
  /** The deepest owned root that holds p: its parent folders, deepest first, looked up in a set. */
  const rootOf = (p: string): string | undefined => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1))
      if (roots.has(p.slice(0, i))) return p.slice(0, i);
    return undefined;
  };
  for (const f of files) {
    const r = rootOf(f.path);
    const list = r ? folders.get(r) : undefined;
    if (!r) singles.push(f);
    else if (list) list.push(f);
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
    for (const [rel, content] of want)
      if ((await readOrUndefined(path.join(abs, rel))) !== content) changed.push(`${r}/${rel}`);
    const gone = have.filter((rel) => !want.has(rel)).map((rel) => `${r}/${rel}`);
    result.unchanged.push(...[...want.keys()].map((rel) => `${r}/${rel}`).filter((p) => !changed.includes(p)));
    // An existing folder the plan has nothing for goes even when it holds no file (a removed cluster's empty folder).
    if (changed.length === 0 && gone.length === 0 && !(st && want.size === 0)) continue;
    await t.stageFolder(r, want);
    result.written.push(...changed);
    result.deleted.push(...gone);
  }

  for (const f of singles) {
    const abs = await insideReal(root, f.path);
    const current = await readOrUndefined(abs);
    if (current === f.content || (f.mode === "scaffold" && current !== undefined)) {
      result.unchanged.push(f.path);
      if (current !== f.content) result.kept.push(f.path);
      continue;
    }
    await t.stageFile(f.path, f.content, f.mode === "scaffold", current);
    result.written.push(f.path);
  }
  result.written.sort();
  result.deleted.sort();
  return result;
}
