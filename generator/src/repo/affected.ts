/**
 * Which clusters a change touches. The changed files (git, against a base revision, working tree included) are
 * matched against each cluster's dependency set: what its kustomize build reads, found by walking its
 * kustomization.yaml through resources, components, patches and the other file fields. The walk is pure (a
 * file-reading callback), so it is tested without disk; only `affectedClusters` reads the disk and git.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { changedSince, filesAt, untrackedPaths } from "../tools/git.js";
import { clusterNames } from "./load.js";
import { SPEC_FILE } from "../plan/cluster.js";
import { BUILD_DIR_PREFIX } from "../validate/render.js";

/** Reads a repository-relative file; undefined when it does not exist or is no file. */
export type ReadFile = (relPath: string) => string | undefined;

export interface Dependencies {
  /** Repository-relative files the build reads (kustomization files included); referenced but missing ones too. */
  files: string[];
  /** Kustomization roots the build enters; kustomize lists each to find its kustomization file. */
  dirs: string[];
  /** References that leave the repository or are absolute paths: what the build would read from outside Git. */
  escapes: { file: string; ref: string }[];
}

/** The names kustomize accepts for a kustomization file, in its order of preference. */
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

/** A remote target (git URL, HTTP URL, `github.com/...`) — not part of this repository. */
export function isRemote(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || /^git@/.test(ref) || /\?ref=/.test(ref) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref);
}

/** `dir` + `ref` as a normalized repository-relative path; undefined when it leaves the repository or is absolute. */
export function resolveRef(dir: string, ref: string): string | undefined {
  if (path.posix.isAbsolute(ref)) return undefined;
  const joined = path.posix.normalize(path.posix.join(dir, ref)).replace(/\/+$/, "");
  if (joined === ".." || joined.startsWith("../")) return undefined;
  return joined === "." ? "" : joined;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : []);
const objects = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x)) : []);
/** An inline document in a list that also takes paths (patchesStrategicMerge, transformers): it has a line break or a colon-space. */
const isInline = (s: string): boolean => /\n/.test(s) || /:\s/.test(s);

/**
 * The references of one kustomization document, split into those that may be kustomization directories
 * (resources, bases, components, generators, transformers, validators) and those that are always files.
 */
export function kustomizationRefs(doc: unknown): { dirsOrFiles: string[]; files: string[] } {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return { dirsOrFiles: [], files: [] };
  const k = doc as Record<string, unknown>;
  const dirsOrFiles = [...strings(k.resources), ...strings(k.bases), ...strings(k.components)];
  for (const key of ["generators", "transformers", "validators"]) dirsOrFiles.push(...strings(k[key]).filter((s) => !isInline(s)));
  const files: string[] = [];
  for (const key of ["patches", "patchesJson6902", "replacements"]) for (const p of objects(k[key])) files.push(...strings(p.path));
  files.push(...strings(k.patchesStrategicMerge).filter((s) => !isInline(s)));
  for (const key of ["configurations", "crds"]) files.push(...strings(k[key]));
  const openapi = k.openapi as Record<string, unknown> | undefined;
  if (openapi && typeof openapi === "object") files.push(...strings(openapi.path));
  for (const key of ["configMapGenerator", "secretGenerator"])
    for (const g of objects(k[key])) {
      // `files` entries are `path` or `key=path`.
      for (const f of strings(g.files)) files.push(f.includes("=") ? f.slice(f.indexOf("=") + 1) : f);
      files.push(...strings(g.envs), ...strings(g.env));
    }
  return { dirsOrFiles: dirsOrFiles.filter((r) => !isRemote(r)), files: files.filter((r) => !isRemote(r)) };
}

/** The kustomization file of a directory, if it has one. */
function kustomizationOf(dir: string, readFile: ReadFile): { file: string; text: string } | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = dir === "" ? name : `${dir}/${name}`;
    const text = readFile(file);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/**
 * Everything the kustomize build of `clusterDir` (repository-relative) reads, following kustomization files
 * recursively. Unparseable kustomization files still count (a change to them changes the build); remote and
 * out-of-repository references are skipped.
 */
export function dependencies(clusterDir: string, readFile: ReadFile): Dependencies {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const escapes: { file: string; ref: string }[] = [];
  const visit = (dir: string): boolean => {
    const k = kustomizationOf(dir, readFile);
    if (!k) return false;
    if (dirs.has(dir)) return true;
    dirs.add(dir);
    files.add(k.file);
    let doc: unknown;
    try {
      doc = parseYaml(k.text);
    } catch {
      return true;
    }
    const refs = kustomizationRefs(doc);
    for (const r of refs.dirsOrFiles) {
      const p = resolveRef(dir, r);
      if (p === undefined) escapes.push({ file: k.file, ref: r });
      else if (!visit(p)) files.add(p);
    }
    for (const r of refs.files) {
      const p = resolveRef(dir, r);
      if (p === undefined) escapes.push({ file: k.file, ref: r });
      else files.add(p);
    }
    return true;
  };
  const root = resolveRef("", clusterDir) ?? clusterDir;
  if (!visit(root)) files.add(`${root}/${KUSTOMIZATION_FILES[0]}`);
  return { files: [...files].sort(), dirs: [...dirs].sort(), escapes };
}

/** Whether a change to `changed` (a repository-relative file) can change a build with these dependencies. */
export function dependsOn(deps: Dependencies, changed: string): boolean {
  if (deps.files.includes(changed)) return true;
  // A file appearing or disappearing directly in a kustomization root (e.g. a second kustomization file).
  const parent = path.posix.dirname(changed);
  return deps.dirs.includes(parent === "." ? "" : parent);
}

/** The cluster a path under clusters/<name>/ belongs to. */
export function clusterOfPath(p: string): string | undefined {
  return /^clusters\/([^/]+)\//.exec(p)?.[1];
}

/**
 * Pure core of `affectedClusters`: changed paths → clusters. A change under clusters/<name>/ affects <name>; any
 * other change affects the clusters whose dependency set holds it.
 */
export function affectedBy(changed: readonly string[], clusters: readonly string[], depsOf: (cluster: string) => Dependencies): string[] {
  const hit = new Set<string>();
  const shared: string[] = [];
  for (const p of changed) {
    const c = clusterOfPath(p);
    if (c !== undefined) {
      if (clusters.includes(c)) hit.add(c);
    } else shared.push(p);
  }
  if (shared.length)
    for (const c of clusters) {
      if (hit.has(c)) continue;
      const deps = depsOf(c);
      if (shared.some((p) => dependsOn(deps, p))) hit.add(c);
    }
  return [...hit].sort();
}

/** Cluster names (directories with a cluster.yaml) among repository paths. */
export function clustersInPaths(paths: readonly string[]): string[] {
  const names = new Set<string>();
  for (const p of paths) {
    const m = /^clusters\/([^/]+)\/([^/]+)$/.exec(p);
    if (m && m[2] === SPEC_FILE) names.add(m[1]!);
  }
  return [...names].sort();
}

/** A file reader over a directory on disk, relative paths only. */
export function diskReader(root: string): ReadFile {
  return (rel) => {
    try {
      return readFileSync(path.join(root, rel), "utf8");
    } catch {
      return undefined;
    }
  };
}

export interface Affected {
  /** Clusters of the working tree whose build may differ from `baseRef`'s, sorted. */
  clusters: string[];
  /** Clusters that exist at `baseRef` but not in the working tree, sorted. */
  removed: string[];
  /** Paths (relative to root) that differ between `baseRef` and the working tree, sorted. */
  changedFiles: string[];
}

/**
 * The clusters a change since `baseRef` affects: committed, staged, unstaged and untracked (not ignored) changes,
 * renames and deletions. `root` is the repository root of the GitOps layout (it may sit below the git top level).
 */
export async function affectedClusters(root: string, baseRef: string): Promise<Affected> {
  const changed = new Set<string>([...(await changedSince(root, baseRef)), ...(await untrackedPaths(root))]);
  const changedFiles = [...changed].filter((p) => !p.startsWith(BUILD_DIR_PREFIX)).sort();
  const current = await clusterNames(root);
  const before = clustersInPaths(await filesAt(root, baseRef, "clusters"));
  const removed = before.filter((c) => !current.includes(c));
  const read = diskReader(root);
  const clusters = affectedBy(changedFiles, current, (c) => dependencies(`clusters/${c}`, read));
  return { clusters, removed, changedFiles };
}
