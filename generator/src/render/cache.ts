/**
 * The validate cache: what an external program (or the generator, for the drift check) computed, reused only when
 * every input is byte-for-byte the same. It lives outside the repository (so it never shows up in Git, in a drift
 * check or in a tree comparison): $CAPI_GITOPS_CACHE_DIR, else $XDG_CACHE_HOME/capi-gitops, else
 * ~/.cache/capi-gitops; one folder per repository (by its real path), one entry per cluster (<name>.json) and per
 * management folder — so it holds at most that many entries and needs no eviction (a full
 * run removes the entries of removed clusters); folders of repositories not validated for 14 days are removed.
 *
 * - render: a build's objects, keyed by the content of every file its `kustomize build` reads (the kustomization
 *   closure, walked by kustomize/walk.ts as repo/affected.ts does, plus which kustomization file names exist in each
 * directory it
 *   enters) and the identity of the kustomize binary. The walk is recorded; the next run re-hashes the recorded
 *   files, and since the walk is a function of the kustomization files it lists, equal hashes mean an equal walk.
 *   Builds that may read anything else are not cached: remote or out-of-repository references,
 *   generators/transformers/validators, Helm, or any kustomization field this module does not know. The key names
 *   the directory, the kustomize binary and the closure's paths and contents, no repository: a build is also kept once
 *   for every repository (results/<key>.json, beside the programs' results): validate on a copy of the repository,
 *   a worktree or another repository with the same files does not build it again. (The base-revision renders of
 *   `diff` and of --changed-since's UPDATE admission do not go through this cache: they build with kustomize.)
 * - kubeconform / kubectl-validate / capi-gitops-admission: each program's raw result for a build, keyed by the exact
 * bytes it was given,
 *   the binary's identity and the schemas (resp. CRDs) it validates against, hashed by content. These keys name no
 *   repository, so each result is also kept once for every repository (results/<key>.json): a copy of the repository
 *   at another path, a worktree, or another repository with the same management charts and add-on payloads finds it.
 * - plan: per cluster, the path and content hash of every file the generator owns in its generated/ folder, keyed by
 *   its spec as loaded, our code (generator/src), package-lock.json, versions.json, the add-ons and the Node version
 *   (the shared folders and sync manifests are planned on every run: validate/drift.ts plannedByCluster).
 *
 * A binary's identity is the sha256 of its bytes (remembered per real path and stat, see binaryIdentity): replacing
 * a binary changes it, restoring the same binary elsewhere (CI's cache of .tools/) does not. Findings are derived
 * from the raw results on
 * every run, so our rules are never cached. Writes are atomic (temporary file + rename); a damaged or foreign entry
 * is a miss. Disable with CAPI_GITOPS_CACHE=off.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import type { OutputFile } from "../plan/files.js";
import { inheritedEnv, type Env } from "../tools/run.js";
import { hasK8sHeader, isRecord, type K8sObject } from "../k8s/object.js";
import { isRemote, KNOWN_FIELDS, KUSTOMIZATION_FILES, strings, walkKustomization } from "../kustomize/walk.js";
import { parseSpecText, type ParseResult } from "../cluster-spec/parse.js";
import type { SpecParseMemo } from "../repo/load.js";
import { TOOL_ROOT } from "../pins/versions.js";

/** Bump when the entry format or the way an entry's value is produced (e.g. the render wrapper) changes. */
const FORMAT = 2;

const sha = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
/** sha256 (hex) of a file's text or bytes, as the cache compares contents. */
export const contentSha = sha;

/** Whether the cache is on: CAPI_GITOPS_CACHE=off|0|false turns it off. */
export function cacheEnabled(env: Env): boolean {
  return !/^(off|0|false|no)$/i.test(env.CAPI_GITOPS_CACHE ?? "");
}

/** Where all repositories' caches live. */
export function cacheRoot(env: Env): string {
  if (env.CAPI_GITOPS_CACHE_DIR) return path.resolve(env.CAPI_GITOPS_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "capi-gitops");
}

/** The cache folder of one repository. */
export function repoCacheDir(root: string, env: Env = inheritedEnv()): string {
  let real = path.resolve(root);
  try {
    real = realpathSync(real);
  } catch {
    // a root that does not exist has nothing to cache anyway
  }
  return path.join(cacheRoot(env), "repos", sha(real).slice(0, 24));
}

/** Folders of repositories not validated for this long are removed, and shared results not used for this long. */
const STALE_MS = 14 * 24 * 3600_000;

/** The programs' results shared by every repository (see the file's comment), one file per key. */
export const sharedResultsDir = (env: Env): string => path.join(cacheRoot(env), "results");

/** The shared results are swept for stale files at most this often (a marker file's age says when it last was). */
const SWEEP_MS = 24 * 3600_000;

/**
 * A stat of a binary recorded this close (ms) to its last change is not trusted later (the "racily clean" rule of
 * git).
 */
const RACY_MS = 2000;

/** The JSON object in `file`; empty when the file is missing, unreadable, damaged or not an object. */
function readRecord(file: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(readFileSync(file, "utf8"));
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

/** Writes `file` whole or not at all (a temporary file renamed over it): readers never see half an entry. */
export function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A file's stat as the memo compares it: size, inode, modification and change times. */
const statKey = (st: { size: number; ino: number; mtimeMs: number; ctimeMs: number }): string =>
  JSON.stringify([st.size, st.ino, st.mtimeMs, st.ctimeMs]);

/**
 * Content digests remembered by stat (git's index does the same): a file whose size, inode, modification and change
 * times are those recorded, recorded more than RACY_MS after its last change, is not read again. Any write or
 * replacement changes the change time, so a changed file is always hashed. One JSON file per memo; an unreadable or
 * damaged memo is empty, an unwritable one costs speed, never a result (concurrent runs: the last write wins).
 */
export class DigestMemo {
  private memo: Record<string, unknown> | undefined;
  private dirty = false;
  private static readonly open = new Map<string, DigestMemo>();
  private constructor(private readonly file: string) {}

  /** The memo in `file` as it is on disk now (not shared with other callers in this process). */
  static read(file: string): DigestMemo {
    return new DigestMemo(file);
  }

  /** The memo kept in `file` (one instance per file and process). */
  static at(file: string): DigestMemo {
    let m = DigestMemo.open.get(file);
    if (!m) {
      m = new DigestMemo(file);
      DigestMemo.open.set(file, m);
    }
    return m;
  }

  private entries(): Record<string, unknown> {
    this.memo ??= readRecord(this.file);
    return this.memo;
  }

  /** sha256 (hex) of the file at the absolute path `abs` (following links); null when it cannot be read. */
  sha(abs: string): string | null {
    let st;
    try {
      st = statSync(abs);
    } catch {
      return null;
    }
    const stat = statKey(st);
    const memo = this.entries();
    const known = memo[abs];
    if (
      isRecord(known) &&
      known.stat === stat &&
      typeof known.sha === "string" &&
      typeof known.at === "number" &&
      known.at - st.ctimeMs > RACY_MS
    )
      return known.sha;
    let digest: string;
    try {
      digest = sha(readFileSync(abs));
    } catch {
      return null;
    }
    memo[abs] = { stat, sha: digest, at: Date.now() };
    this.dirty = true;
    return digest;
  }

  /** Keeps only the entries of these paths (a repository's memo forgets its removed files). */
  retain(paths: Iterable<string>): void {
    const memo = this.entries();
    const keep = new Set(paths);
    for (const k of Object.keys(memo))
      if (!keep.has(k)) {
        delete memo[k];
        this.dirty = true;
      }
  }

  /** Writes the memo if anything was hashed since it was read. */
  flush(): void {
    if (!this.dirty || !this.memo) return;
    try {
      writeAtomic(this.file, JSON.stringify(this.memo));
      this.dirty = false;
    } catch {
      // see the class comment
    }
  }
}

/** The memo of the tools' trees (schemas, CRDs, our code): one for every repository. */
const toolDigests = (env: Env): DigestMemo => DigestMemo.at(path.join(cacheRoot(env), "digests.json"));

/**
 * Identity of a binary: the sha256 of its bytes — the same program gives the same identity wherever it lies, so a
 * cache carried to another machine or a `.tools/` restored by CI (new inodes and change times) still hits, and a
 * replaced or rebuilt binary with other bytes misses. Hashing a large binary (kubectl-validate) is slow, so the
 * digest is remembered by stat (DigestMemo).
 */
export function binaryIdentity(bin: string, env: Env): string {
  const real = realpathSync(bin);
  const memo = DigestMemo.read(path.join(cacheRoot(env), "binaries.json"));
  const digest = memo.sha(real);
  memo.flush();
  if (digest === null) throw new Error(`cannot read ${real}`);
  return digest;
}

/** Content hash of every file under dir (relative path + bytes), sorted; "" when dir does not exist. */
export function treeDigest(dir: string, env: Env = inheritedEnv()): string {
  const memo = toolDigests(env);
  const h = createHash("sha256");
  const walk = (d: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    } catch {
      return;
    }
    for (const e of entries) {
      const abs = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      let st;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(abs, r);
      else h.update(`${r}\0${memo.sha(abs) ?? ""}\0`);
    }
  };
  walk(dir, "");
  memo.flush();
  return h.digest("hex");
}

/** What one cluster's build reads: files with their content hash (null: missing) and entered directories. */
export interface Closure {
  files: [string, string | null][];
  /** Each kustomization directory with the kustomization file names present in it. */
  dirs: [string, string[]][];
}

/** Reads repository files once per run (validate reads the generated files for drift and for the cache keys). */
export class RepoFiles {
  private readonly text = new Map<string, string | undefined>();
  private readonly hashes = new Map<string, string | null>();
  private readonly names = new Map<string, string[]>();
  /** Paths read whose texts were let go (`release`); still among `readPaths`, read from disk again when asked. */
  private readonly released = new Set<string>();
  /** Paths whose texts the caller gave (`seed`): it holds them anyway, so they are kept. */
  private readonly seeded = new Set<string>();
  constructor(readonly root: string) {}

  read(rel: string): string | undefined {
    if (!this.text.has(rel) || this.released.delete(rel)) {
      let t: string | undefined;
      try {
        t = readFileSync(path.join(this.root, rel), "utf8");
      } catch {
        t = undefined;
      }
      this.text.set(rel, t);
    }
    return this.text.get(rel);
  }

  hash(rel: string): string | null {
    let h = this.hashes.get(rel);
    if (h === undefined) {
      const t = this.read(rel);
      h = t === undefined ? null : sha(t);
      this.hashes.set(rel, h);
    }
    return h;
  }

  /** The kustomization file names present in dir (repository-relative, "" is the root). */
  kustomizationNames(dir: string): string[] {
    let n = this.names.get(dir);
    if (!n) {
      let entries: string[] = [];
      try {
        entries = readdirSync(path.join(this.root, dir));
      } catch {
        // not a directory
      }
      n = KUSTOMIZATION_FILES.filter((k) => entries.includes(k));
      this.names.set(dir, n);
    }
    return n;
  }

  /** Texts the caller read from these paths already (the specs validate loads): kept as if read here. */
  seed(texts: ReadonlyMap<string, string>): void {
    for (const [rel, text] of texts)
      if (!this.text.has(rel)) {
        this.text.set(rel, text);
        this.seeded.add(rel);
      }
  }

  /**
   * Lets go of the texts read so far (but the seeded ones) once the builds that read them are made (every cluster's
   * files: ≈ 30 MB at 1000 clusters, held beside the renders while the admission program ran). Their paths and the
   * hashes of what was read stay; a later `read` of one reads the disk again.
   */
  release(): void {
    for (const [rel, t] of this.text) {
      if (this.released.has(rel) || this.seeded.has(rel)) continue;
      if (!this.hashes.has(rel)) this.hashes.set(rel, t === undefined ? null : sha(t));
      this.text.set(rel, undefined);
      this.released.add(rel);
    }
  }

  /** Every repository-relative path read so far (the verdict's inputs, render/verdict.ts). */
  readPaths(): string[] {
    return [...this.text.keys()];
  }

  /** Forgets what was read (the after-render check must see the disk, not the memo). */
  fresh(): RepoFiles {
    return new RepoFiles(this.root);
  }
}

/**
 * The build closure of a kustomization directory (clusters/<name>, management/sync, …), or undefined when the
 * build may read something the walk cannot see (then it is not cached).
 */
export function buildClosure(kustomizationDir: string, files: RepoFiles): Closure | undefined {
  const fileSet = new Map<string, string | null>();
  const dirs = new Map<string, string[]>();
  let safe = true;
  const found = walkKustomization(kustomizationDir, {
    kustomizationAt: (dir) => {
      const present = files.kustomizationNames(dir);
      if (present.length === 0) return undefined;
      dirs.set(dir, present);
      const [first = ""] = present;
      const file = dir === "" ? first : `${dir}/${first}`;
      return { file, text: files.read(file) ?? "" };
    },
    enter: (_dir, file, doc, parsed) => {
      fileSet.set(file, files.hash(file));
      if (!parsed || !isRecord(doc)) {
        safe = false;
        return;
      }
      const k = doc;
      if (Object.keys(k).some((key) => !KNOWN_FIELDS.has(key))) safe = false;
      if ([...strings(k.resources), ...strings(k.bases), ...strings(k.components)].some(isRemote)) safe = false;
    },
    file: (p) => fileSet.set(p, files.hash(p)),
    escape: () => {
      safe = false;
    },
    remote: () => {
      safe = false;
    },
    readFile: (p) => files.read(p),
  });
  if (!found || !safe) return undefined;
  return {
    files: [...fileSet].sort(([a], [b]) => (a < b ? -1 : 1)),
    dirs: [...dirs].sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

/** The closure recorded by an earlier run, re-read from disk now. */
function recheck(closure: Closure, files: RepoFiles): Closure {
  return {
    files: closure.files.map(([p]) => [p, files.hash(p)]),
    dirs: closure.dirs.map(([d]) => [d, files.kustomizationNames(d)]),
  };
}

interface Layer<T> {
  key: string;
  value: T;
}
interface Entry {
  format: number;
  /** The cluster name, or "@" + a management folder's label or a plan selection. */
  id: string;
  closure?: Closure;
  render?: Layer<K8sObject[]>;
  kubeconform?: Layer<unknown[]>;
  cel?: Layer<unknown[]>;
  admission?: Layer<unknown[]>;
  plan?: Layer<[string, string][]>;
}

/** ConfigMap values at least this long are kept as blobs (see Blobs). */
const BLOB_MIN = 4096;
/** In a stored render, a string starting with NUL is a blob reference, or a string that started with NUL, escaped. */
const NUL = "\u0000";
const BLOB_REF = `${NUL}blob:`;

/**
 * The long values of the ConfigMaps in stored renders — the add-on payloads every cluster's ClusterResourceSets
 * carry, ≈ 240 KB of a cluster's ≈ 260 KB — kept once for every repository (results/<xx>/<sha256>.blob), named by
 * their digest in the entries and shared results: a fleet's renders store each payload once, not once per cluster
 * and again in the shared results, and a read render holds each payload as one string shared by every cluster. A
 * blob is checked against its digest when read; a missing or damaged one makes its render a miss.
 */
export class Blobs {
  private readonly digests = new Map<string, string>();
  /** Blobs known to be on disk (read, or written by this process), by digest. */
  private readonly known = new Map<string, string>();
  private readonly pending = new Map<string, string>();
  constructor(private readonly dir: string) {}

  private file(d: string): string {
    return path.join(this.dir, d.slice(0, 2), `${d}.blob`);
  }

  private packString(s: string): string {
    if (s.length < BLOB_MIN) return s.startsWith(NUL) ? NUL + s : s;
    let d = this.digests.get(s);
    if (d === undefined) {
      d = sha(s);
      this.digests.set(s, d);
    }
    if (!this.known.has(d)) this.pending.set(d, s);
    return BLOB_REF + d;
  }

  private unpackString(s: string): string {
    if (!s.startsWith(NUL)) return s;
    if (!s.startsWith(BLOB_REF)) return s.slice(1);
    const d = s.slice(BLOB_REF.length);
    let v = this.known.get(d);
    if (v === undefined) {
      const file = this.file(d);
      v = readFileSync(file, "utf8");
      if (sha(v) !== d) {
        // Removed, so that the next render that packs it writes it again.
        rmSync(file, { force: true });
        throw new Error(`damaged blob ${file}`);
      }
      const now = new Date();
      utimesSync(file, now, now);
      this.known.set(d, v);
      this.digests.set(v, d);
    }
    return v;
  }

  private mapData(objects: readonly K8sObject[], f: (s: string) => string): K8sObject[] {
    return objects.map((o) =>
      o.kind === "ConfigMap" && isRecord(o.data)
        ? {
            ...o,
            data: Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, typeof v === "string" ? f(v) : v])),
          }
        : o,
    );
  }

  /** The objects as stored: long ConfigMap values replaced by their blob's reference (the blob written on flush). */
  pack(objects: readonly K8sObject[]): K8sObject[] {
    return this.mapData(objects, (s) => this.packString(s));
  }

  /** The stored objects with their blobs read back; throws when a blob is missing or damaged. */
  unpack(objects: readonly K8sObject[]): K8sObject[] {
    return this.mapData(objects, (s) => this.unpackString(s));
  }

  /** Writes the blobs packed since the last flush that are not on disk (and marks the others used). */
  flush(): void {
    const now = new Date();
    for (const [d, s] of this.pending) {
      const file = this.file(d);
      try {
        utimesSync(file, now, now);
      } catch {
        writeAtomic(file, s);
      }
      this.known.set(d, s);
    }
    this.pending.clear();
  }
}

export type SchemaLayer = "kubeconform" | "cel" | "admission";

/**
 * Plain data made read-only all the way down, and returned: the stored render is the render the stages read, not a
 * copy of it (a copy's objects and arrays were ≈ 20 MB at 1000 clusters), so a stage that changed an object would
 * change what is saved — freezing makes that a TypeError where it happens instead.
 */
function frozen<T>(v: T): T {
  if (Array.isArray(v)) v.forEach(frozen);
  else if (isRecord(v)) Object.values(v).forEach(frozen);
  return Object.freeze(v);
}

/** An entry as this FORMAT writes it (one of an older format, or damaged, is a miss). */
const isEntry = (v: unknown): v is Entry => isRecord(v) && v.format === FORMAT && typeof v.id === "string";

export class ValidateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private readonly dir: string;
  private readonly sharedDir: string;
  /** Results to add to the shared ones on save: key → value. */
  private readonly sharedNew = new Map<string, unknown[]>();
  /** The keys of sharedNew that are renders (stored with their ConfigMaps' long values as blobs). */
  private readonly sharedRenders = new Set<string>();
  private readonly blobs: Blobs;

  /**
   * @param identity per-layer identity of what produces the value: binary identity, schema/CRD digests, flags.
   */
  constructor(
    private readonly files: RepoFiles,
    private readonly identity: {
      render: () => string;
      kubeconform: () => string;
      cel: () => string;
      plan: () => string;
      admission?: () => string;
    },
    env: Env,
  ) {
    this.dir = repoCacheDir(files.root, env);
    this.sharedDir = sharedResultsDir(env);
    this.blobs = new Blobs(this.sharedDir);
  }

  private sharedFile(key: string): string {
    return path.join(this.sharedDir, key.slice(0, 2), `${key}.json`);
  }

  /** The shared result under key (its file's time is set to now: a used result is not swept), or undefined. */
  private shared(key: string): unknown[] | undefined {
    const file = this.sharedFile(key);
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (!Array.isArray(parsed)) return undefined;
      const list: unknown[] = parsed;
      const now = new Date();
      utimesSync(file, now, now);
      return list;
    } catch {
      return undefined;
    }
  }

  private file(id: string): string {
    return path.join(this.dir, `${encodeURIComponent(id)}.json`);
  }

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(this.file(id), "utf8"));
        e = isEntry(parsed) && parsed.id === id ? parsed : undefined;
      } catch {
        e = undefined;
      }
      if (e?.render) {
        // A stored render whose blobs cannot be read is a miss (the rest of the entry stays).
        try {
          e.render = { key: e.render.key, value: this.blobs.unpack(e.render.value.filter(hasK8sHeader)) };
        } catch {
          delete e.render;
        }
      }
      e ??= { format: FORMAT, id };
      this.entries.set(id, e);
    }
    return e;
  }

  private renderKey(dir: string, closure: Closure): string {
    return sha(JSON.stringify([FORMAT, "render", this.identity.render(), dir, closure]));
  }

  /** The cached objects of the build of `dir` (entry `id`), when every file that build read is unchanged. */
  rendered(id: string, dir: string): K8sObject[] | undefined {
    const e = this.entry(id);
    if (!e.render || !e.closure) return undefined;
    return this.renderKey(dir, recheck(e.closure, this.files)) === e.render.key ? e.render.value : undefined;
  }

  /**
   * The build of `dir` that this or another repository made from exactly this closure (the same files with the same
   * contents, the same kustomize): a copy of the repository, a worktree of another revision, or the same cluster in
   * another repository. Taken into this repository's entry `id`.
   */
  sharedRendered(id: string, dir: string, closure: Closure | undefined): K8sObject[] | undefined {
    if (!closure) return undefined;
    const key = this.renderKey(dir, closure);
    const stored = this.shared(key);
    if (!stored?.every(hasK8sHeader)) return undefined;
    let value: K8sObject[];
    try {
      value = this.blobs.unpack(stored);
    } catch {
      return undefined;
    }
    const e = this.entry(id);
    e.closure = closure;
    e.render = { key, value };
    this.dirty.add(id);
    return value;
  }

  /** Call before building: the closure of each directory, to store with its result (undefined: not cacheable). */
  closures(dirs: readonly string[]): Promise<Map<string, Closure | undefined>> {
    const out = new Map(dirs.map((d) => [d, buildClosure(d, this.files)]));
    if ([...out.values()].includes(undefined)) this.unwalked = true;
    return Promise.resolve(out);
  }

  /**
   * A build of this run may read what no walk sees (remote or out-of-repository references, generators, Helm): the
   * run's result depends on more than the repository's files, so no verdict is kept for it (render/verdict.ts).
   */
  unwalked = false;

  /** Stores a successful build of `dir`, unless a file of its closure changed while kustomize ran. */
  storeRendered(id: string, dir: string, closure: Closure | undefined, objects: readonly K8sObject[]): void {
    if (!closure) return;
    const now = recheck(closure, this.files.fresh());
    if (JSON.stringify(now) !== JSON.stringify(closure)) return;
    const e = this.entry(id);
    e.closure = closure;
    e.render = { key: this.renderKey(dir, closure), value: frozen(objects).filter(hasK8sHeader) };
    this.dirty.add(id);
    this.sharedNew.set(e.render.key, e.render.value);
    this.sharedRenders.add(e.render.key);
  }

  private planKey(model: unknown): string {
    return sha(JSON.stringify([FORMAT, "plan", this.identity.plan(), model]));
  }

  /**
   * The generator's planned files (path and content hash of each owned file) for this model (specs + config),
   * when our code, its dependencies and the model are unchanged; `id` names the selection (full run, shard, …).
   */
  planned(id: string, model: unknown): [string, string][] | undefined {
    const l = this.entry(id).plan;
    return l && l.key === this.planKey(model) ? l.value : undefined;
  }

  storePlanned(id: string, model: unknown, files: readonly OutputFile[]): [string, string][] {
    const value = files.filter((f) => f.mode === "owned").map((f): [string, string] => [f.path, sha(f.content)]);
    this.entry(id).plan = { key: this.planKey(model), value };
    this.dirty.add(id);
    return value;
  }

  private schemaKey(layer: SchemaLayer, inputSha: string): string {
    return sha(JSON.stringify([FORMAT, layer, this.identity[layer]?.() ?? null, inputSha]));
  }

  /**
   * A program's raw result for exactly this input (the document stream given to it), named by its digest
   * (contentSha: the caller need not keep a large input while the program runs); id: see Entry. `is` says what one
   * item of the result is (an entry of another shape is a miss).
   */
  result<T>(layer: SchemaLayer, id: string, inputSha: string, is: (v: unknown) => v is T): T[] | undefined {
    if (!this.identity[layer]) return undefined;
    const key = this.schemaKey(layer, inputSha);
    const l = this.entry(id)[layer];
    if (l && l.key === key && l.value.every(is)) return l.value;
    const shared = this.shared(key);
    if (!shared?.every(is)) return undefined;
    this.entry(id)[layer] = { key, value: shared };
    this.dirty.add(id);
    return shared;
  }

  storeResult(layer: SchemaLayer, id: string, inputSha: string, value: readonly unknown[]): void {
    if (!this.identity[layer]) return;
    const key = this.schemaKey(layer, inputSha);
    const kept = [...value];
    this.entry(id)[layer] = { key, value: kept };
    this.dirty.add(id);
    this.sharedNew.set(key, kept);
  }

  /**
   * Writes the changed entries; with `keep` (every id of a full run), also removes the entries of clusters that
   * no longer exist. A cache that cannot be written (full disk, read-only home) costs speed, never a result: errors
   * are ignored.
   */
  save(keep?: readonly string[]): void {
    try {
      this.write(keep);
    } catch {
      // see above
    }
  }

  private write(keep?: readonly string[]): void {
    mkdirSync(this.dir, { recursive: true });
    // The texts first (packing the renders names their blobs), the blobs, then the files that name them.
    const stored = (e: Entry | undefined) =>
      JSON.stringify(e?.render ? { ...e, render: { key: e.render.key, value: this.blobs.pack(e.render.value) } } : e);
    const entries = [...this.dirty].map((id) => [this.file(id), stored(this.entries.get(id))] as const);
    const shared = [...this.sharedNew].map(
      ([key, value]) =>
        [
          this.sharedFile(key),
          JSON.stringify(this.sharedRenders.has(key) ? this.blobs.pack(value.filter(hasK8sHeader)) : value),
        ] as const,
    );
    this.blobs.flush();
    for (const [file, text] of [...entries, ...shared]) writeAtomic(file, text);
    this.dirty.clear();
    this.sharedNew.clear();
    this.sharedRenders.clear();
    this.sweepShared();
    if (keep) {
      const wanted = new Set(keep.map((c) => `${encodeURIComponent(c)}.json`));
      for (const f of readdirSync(this.dir))
        if (f.endsWith(".json") && !wanted.has(f)) rmSync(path.join(this.dir, f), { force: true });
    }
    const now = new Date();
    utimesSync(this.dir, now, now);
    const repos = path.dirname(this.dir);
    for (const d of readdirSync(repos)) {
      const abs = path.join(repos, d);
      if (abs !== this.dir && now.getTime() - statSync(abs).mtimeMs > STALE_MS)
        rmSync(abs, { recursive: true, force: true });
    }
  }

  /** Removes shared results not used for STALE_MS, at most once per SWEEP_MS (a marker file keeps the time). */
  private sweepShared(): void {
    const marker = path.join(this.sharedDir, ".swept");
    const now = Date.now();
    try {
      if (now - statSync(marker).mtimeMs < SWEEP_MS) return;
    } catch {
      // never swept
    }
    writeAtomic(marker, "");
    for (const sub of readdirSync(this.sharedDir, { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      const d = path.join(this.sharedDir, sub.name);
      for (const f of readdirSync(d))
        if (now - statSync(path.join(d, f)).mtimeMs > STALE_MS) rmSync(path.join(d, f), { force: true });
    }
  }
}

/**
 * parseSpecText's results for one repository (repo/load.ts SpecParseMemo), kept in its cache folder as `specs.memo`
 * (not a `.json` entry, which a full run's clean-up removes), keyed by our code (generator/src) and each spec's file
 * and text: a run over a fleet parses only the specs that changed. Holds the specs of the last run only.
 */
export class SpecMemo implements SpecParseMemo {
  private readonly file: string;
  private readonly code: string;
  private kept: Record<string, unknown> | undefined;
  private readonly used = new Map<string, ParseResult>();
  private parsed = false;

  constructor(root: string, env: Env) {
    this.file = path.join(repoCacheDir(root, env), "specs.memo");
    this.code = treeDigest(path.join(TOOL_ROOT, "generator", "src"), env);
  }

  parse(text: string, file: string): ParseResult {
    const key = sha(JSON.stringify([FORMAT, this.code, file, sha(text)]));
    this.kept ??= readRecord(this.file);
    const hit = this.kept[key];
    if (
      isRecord(hit) &&
      Array.isArray(hit.findings) &&
      (hit.spec === undefined || isRecord(hit.spec)) &&
      (hit.data === undefined || isRecord(hit.data))
    ) {
      const result = hit as unknown as ParseResult;
      this.used.set(key, result);
      return result;
    }
    const result = parseSpecText(text, file);
    this.used.set(key, result);
    this.parsed = true;
    return result;
  }

  /** Writes the memo when a spec was parsed or one is gone (errors cost speed only). */
  save(): void {
    if (!this.parsed && Object.keys(this.kept ?? {}).length === this.used.size) return;
    try {
      writeAtomic(this.file, JSON.stringify(Object.fromEntries(this.used)));
    } catch {
      // see ValidateCache.save
    }
  }
}

/** Removes a repository's cache and the shared results (the benchmark's cold runs: every layer runs). */
export function clearCache(root: string, env: Env = inheritedEnv()): void {
  rmSync(repoCacheDir(root, env), { recursive: true, force: true });
  rmSync(sharedResultsDir(env), { recursive: true, force: true });
}
