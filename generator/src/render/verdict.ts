/**
 * The verdict of a whole validate run, kept beside the validate cache (render/cache.ts): when nothing the run read
 * changed — the repository's files (tracked, and untracked ones .gitignore does not exclude: what `git ls-files`
 * lists), every other file the run read, and the key (options, the programs' and our code's identities) — the next
 * run prints the kept findings without loading, rendering or checking anything. File contents are compared by
 * digest, remembered by stat (DigestMemo: a changed file is always hashed again). A run whose builds may read what
 * no walk sees (remote references, generators, Helm: ValidateCache.unwalked) keeps no verdict; neither does a
 * directory that is no git repository (its file list is unknown).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isRecord } from "../k8s/object.js";
import { listedPaths } from "../tools/git.js";
import type { Env } from "../tools/run.js";
import { contentSha, DigestMemo, repoCacheDir, writeAtomic } from "./cache.js";

/** Bump when what a verdict holds, or how it is keyed, changes. */
const FORMAT = 1;
/** Files hashed (by stat) between two yields to the event loop while git lists the repository. */
const HASH_CHUNK = 256;

/** The repository's listed files and their digests when the run began. */
export interface Listing {
  paths: string[];
  digests: (string | null)[];
}

interface Kept {
  format: number;
  key: string;
  listing: string[];
  digests: (string | null)[];
  /** Files the run read that are not listed (ignored by git, yet read by a build): path and digest. */
  extra: [string, string | null][];
  value: unknown;
}

const isKept = (v: unknown): v is Kept =>
  isRecord(v) &&
  v.format === FORMAT &&
  typeof v.key === "string" &&
  Array.isArray(v.listing) &&
  Array.isArray(v.digests) &&
  Array.isArray(v.extra);

export class Verdicts {
  private readonly dir: string;
  private readonly memo: DigestMemo;

  /** @param cacheRoot the caches' folder: a file under it (a cache inside the repository) is no input. */
  constructor(
    private readonly root: string,
    env: Env,
    private readonly cacheRoot: string,
  ) {
    this.dir = repoCacheDir(root, env);
    this.memo = DigestMemo.at(path.join(this.dir, "digests.memo"));
  }

  private file(key: string): string {
    return path.join(this.dir, `${contentSha(key).slice(0, 24)}.verdict`);
  }

  /** The verdict kept for `key`, if any (its inputs not yet compared). */
  private kept(key: string): Kept | undefined {
    let kept: unknown;
    try {
      kept = JSON.parse(readFileSync(this.file(key), "utf8"));
    } catch {
      return undefined;
    }
    return isKept(kept) && kept.key === key ? kept : undefined;
  }

  /**
   * The key (`keyOf`, computed while git runs), the listed files and their digests now (`now`; undefined outside a
   * git repository), and the value kept for the key when the listing and every extra file are as they were. git
   * lists the repository while the files the kept verdict listed are hashed (by stat, DigestMemo) — the two lists
   * usually agree; a file git lists that the kept one did not is hashed afterwards. The hashing yields to the event
   * loop now and then, so git's output is read while it runs.
   */
  async lookup(keyOf: () => string): Promise<{ key: string; now: Listing | undefined; value: unknown }> {
    const listed = listedPaths(this.root);
    listed.catch(() => undefined);
    const key = keyOf();
    const kept = this.kept(key);
    const abs = (p: string) => path.join(this.root, p);
    const known = new Map<string, string | null>();
    for (const [i, p] of (kept?.listing ?? []).entries()) {
      if (typeof p !== "string") continue;
      known.set(p, this.memo.sha(abs(p)));
      if (i % HASH_CHUNK === HASH_CHUNK - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    let paths: string[];
    try {
      paths = await listed;
    } catch {
      return { key, now: undefined, value: undefined };
    }
    const inCache = path.relative(this.root, this.cacheRoot);
    if (!inCache.startsWith("..") && !path.isAbsolute(inCache))
      paths = paths.filter((p) => p !== inCache && !p.startsWith(`${inCache}/`));
    const digests = paths.map((p) => {
      const d = known.get(p);
      return d === undefined ? this.memo.sha(abs(p)) : d;
    });
    this.memo.retain(paths.map(abs));
    this.memo.flush();
    const now = { paths, digests };
    const same = (a: readonly unknown[], b: readonly unknown[]) =>
      a.length === b.length && a.every((x, i) => x === b[i]);
    const unchanged =
      kept !== undefined &&
      same(kept.listing, paths) &&
      same(kept.digests, digests) &&
      kept.extra.every(([p, d]) => this.memo.sha(abs(p)) === d);
    return { key, now, value: unchanged ? kept.value : undefined };
  }

  /**
   * Keeps `value` for `key`: `before` is the listing taken before the run, `reads` every file the run read with the
   * digest of what it read. A listed file read with other content than it had before the run changed meanwhile:
   * nothing is kept.
   */
  keep(key: string, before: Listing, reads: readonly [string, string | null][], value: unknown): void {
    const at = new Map(before.paths.map((p, i) => [p, before.digests[i]]));
    const extra: [string, string | null][] = [];
    for (const [p, d] of reads) {
      if (!at.has(p)) extra.push([p, d]);
      else if (at.get(p) !== d) return;
    }
    const kept: Kept = { format: FORMAT, key, listing: before.paths, digests: before.digests, extra, value };
    try {
      writeAtomic(this.file(key), JSON.stringify(kept));
    } catch {
      // an unwritable cache costs speed, never a result
    }
  }
}
