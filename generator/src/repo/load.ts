/** Reading the repository: every clusters/<name>/cluster.yaml, parsed and checked (never throws for bad input). */
import { lstatSync, readFileSync } from "node:fs";
import { lstat, readdir, readFile, readlink, realpath } from "node:fs/promises";
import path from "node:path";
import { errnoCode, messageOf, ToolError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import {
  clusterDir,
  clusterOfPath,
  CLUSTERS_DIR,
  clusterSpecPath,
  RELEASE_RECORD,
  RELEASES_DIR,
  SPEC_FILE,
} from "../core/layout.js";
import type { LoadedRelease } from "../plan/release.js";
import { parseSpecText, type ParseResult } from "../cluster-spec/parse.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { CONFIG_FILE, parseRepoConfig, type RepoConfig } from "../cluster-spec/config.js";
import { LIMITS } from "../cluster-spec/types.js";
import { reservedNamespaceProblem, reservedNamespaces } from "../cluster-spec/reserved.js";
import { ringFindings } from "../cluster-spec/rollout.js";
import { findSecrets } from "../core/secrets.js";

export interface LoadedRepo {
  root: string;
  specs: ClusterSpec[];
  config?: RepoConfig;
  /** releases/<ring>/ as Git holds them (plan/release.ts), by ring folder name. */
  releases: Record<string, LoadedRelease>;
  findings: Finding[];
  /**
   * The text of every spec file read (repository-relative path → its bytes as UTF-8, as readFileSync gives them):
   * validate's file reader starts with them instead of reading each spec again (render/cache.ts RepoFiles.seed).
   */
  specTexts?: ReadonlyMap<string, string>;
  /** The fields of each plain, valid spec read (path → ParseResult.data): the sync check's template parameters. */
  specData?: ReadonlyMap<string, NonNullable<ParseResult["data"]>>;
}

/**
 * Every ring's release under releases/: its record's text (release.json, when there is one) and the files
 * beside it, by their path in the shared folders. The plan checks them (plan/release.ts releaseIntegrityFindings).
 */
export async function readReleases(root: string): Promise<Record<string, LoadedRelease>> {
  const dir = path.join(root, RELEASES_DIR);
  const rings = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: Record<string, LoadedRelease> = {};
  for (const ring of rings
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    const base = path.join(dir, ring);
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    const files: Record<string, string> = {};
    let record: string | undefined;
    for (const e of entries.filter((x) => x.isFile())) {
      const rel = path.relative(base, path.join(e.parentPath, e.name)).split(path.sep).join("/");
      const text = await readFile(path.join(base, rel), "utf8");
      if (rel === RELEASE_RECORD) record = text;
      else files[rel] = text;
    }
    out[ring] = { record, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) };
  }
  return out;
}

/** capi-gitops.yaml, if the repository has one. */
export async function readConfig(root: string): Promise<{ config?: RepoConfig; findings: Finding[] }> {
  const abs = path.join(root, CONFIG_FILE);
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return { findings: [] };
  const bad = (message: string) => ({
    findings: [{ file: CONFIG_FILE, rule: "repo-config" as const, severity: "error" as const, message }],
  });
  if (!st.isFile()) return bad("is not a regular file; it must be the repository config (see README, GitOps sync)");
  const text = await readFile(abs, "utf8").catch((e: NodeJS.ErrnoException) => e);
  return typeof text === "string" ? parseRepoConfig(text) : bad(`cannot read it: ${text.code ?? text.message}`);
}

/**
 * Commands that write refuse a folder that is not a capi-gitops repository (no capi-gitops.yaml at its root), so a
 * run from the wrong folder never scaffolds a new repository there; `init` (the `--init` flag) starts one on purpose.
 */
export async function requireRepository(root: string, init: boolean): Promise<void> {
  if (init || (await exists(path.join(root, CONFIG_FILE)))) return;
  const above = await repositoryAbove(root);
  const where = above
    ? `run from the repository root ${above} or pass --repo ${above}`
    : "run from the repository root or pass --repo <dir>";
  throw new ToolError(
    `${path.resolve(root)} is not a capi-gitops repository (no ${CONFIG_FILE} ` +
      `at its root); ${where}; ` +
      `to start a new repository here, add ${CONFIG_FILE} (see README, GitOps sync) or pass --init`,
  );
}

/** The nearest folder above `root` with a capi-gitops.yaml (root itself excluded), if any. */
async function repositoryAbove(root: string): Promise<string | undefined> {
  for (let dir = path.dirname(path.resolve(root)); ; dir = path.dirname(dir)) {
    if (await exists(path.join(dir, CONFIG_FILE))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Commands that only read (validate, diff, inventory) refuse a folder that is visibly not the repository: no
 * capi-gitops.yaml and either a repository above it (run from a subfolder, which would report every shared file as
 * missing and list "0 cluster(s)" with success) or no clusters/ folder. A repository without capi-gitops.yaml but with
 * clusters/ is still read (its sync manifests are simply not generated).
 */
export async function requireReadableRepository(root: string): Promise<void> {
  if (await exists(path.join(root, CONFIG_FILE))) return;
  if (!(await repositoryAbove(root)) && (await exists(path.join(root, CLUSTERS_DIR)))) return;
  await requireRepository(root, false);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Names of the directories under clusters/ that hold a cluster.yaml, sorted. */
export async function clusterNames(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(path.join(root, CLUSTERS_DIR));
  } catch (e) {
    // No clusters/ is an empty fleet; any other read error must stop the command, not look like one.
    if (errnoCode(e) === "ENOENT") return [];
    throw new ToolError(
      `cannot read ${path.join(root, CLUSTERS_DIR)}: ${errnoCode(e) ?? messageOf(e)}; ` +
        "fix its permissions and run again",
    );
  }
  // One lstat per folder, synchronous: a few microseconds each, where an awaited one costs a round trip through
  // libuv's thread pool (≈ 0.1 s for a fleet of 1000 clusters).
  const names: string[] = [];
  for (const e of entries.sort()) {
    const spec = path.join(root, CLUSTERS_DIR, e, SPEC_FILE);
    try {
      lstatSync(spec);
      names.push(e);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== "ENOENT" && code !== "ENOTDIR")
        throw new ToolError(`cannot read ${spec}: ${code ?? messageOf(err)}; fix its permissions and run again`);
    }
  }
  return names;
}

/**
 * Directories under clusters/ without a cluster.yaml: nothing validates them, yet a sync engine that applies
 * directories (a hand-written Flux Kustomization, an Argo CD directories generator) would apply them. Folders
 * starting with "." are new-cluster's staging folders and are skipped. A clusters/ that cannot be read is no finding
 * here (clusterNames reads it too).
 */
export async function unvalidatedDirFindings(
  root: string,
  names: Promise<string[]> = clusterNames(root),
): Promise<Finding[]> {
  let entries;
  try {
    entries = await readdir(path.join(root, CLUSTERS_DIR), { withFileTypes: true });
  } catch {
    return [];
  }
  // A folder holds a cluster.yaml exactly when clusterNames lists it (its one lstat per folder, shared).
  const withSpec = new Set(await names);
  const findings: Finding[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".") || !e.isDirectory()) continue;
    if (withSpec.has(e.name)) continue;
    findings.push({
      cluster: e.name,
      file: `${clusterDir(e.name)}/`,
      rule: "cluster-dir-unvalidated",
      severity: "error",
      message:
        `directory has no ${SPEC_FILE}, so nothing validates what it ` +
        `holds, yet a sync engine applying clusters/* would apply it; add ` +
        `its spec (npm run new-cluster, or restore ${clusterDir(e.name)}/${SPEC_FILE}) ` +
        `or move the directory out of clusters/`,
    });
  }
  return findings;
}

/**
 * parseSpecText's results kept between runs, by the spec's text and file (validate keeps them in its cache,
 * render/cache.ts SpecMemo): a fleet's specs are parsed again only where they changed.
 */
export interface SpecParseMemo {
  parse(text: string, file: string): ParseResult;
}

type ReadSpec = { spec?: ClusterSpec; findings: Finding[]; text?: string; data?: ParseResult["data"] };

/** readSpecSync, its errors (no file, unreadable folder) as a rejection. */
export const readSpec = (root: string, name: string, memo?: SpecParseMemo): Promise<ReadSpec> =>
  Promise.resolve().then(() => readSpecSync(root, name, memo));

/**
 * One cluster's spec: read, parsed (through the memo when given), its name and secrets checked; what is wrong as
 * findings. Throws when the file cannot be looked at (no file, a folder that cannot be read).
 */
function readSpecSync(root: string, name: string, memo?: SpecParseMemo): ReadSpec {
  const rel = `${clusterDir(name)}/${SPEC_FILE}`;
  const abs = path.join(root, rel);
  const refused = (rule: RuleId, message: string) => ({
    findings: [{ cluster: name, file: rel, rule, severity: "error" as const, message }],
  });
  // Synchronous reads (see clusterNames): a fleet's specs are a thousand small files.
  const st = lstatSync(abs);
  if (!st.isFile() && !st.isSymbolicLink())
    return refused(
      "spec-yaml",
      "cluster.yaml is not a regular file; it must be the cluster's spec (see README, Cluster spec)",
    );
  if (st.isSymbolicLink())
    return refused("no-symlinks", "cluster.yaml is a symbolic link; specs must be regular files in the repository");
  if (st.size > LIMITS.specBytes)
    return refused(
      "spec-yaml",
      `file is ${st.size} bytes, larger than the ${LIMITS.specBytes}-byte ` +
        `(64 KiB) limit for a cluster spec (README "Cluster spec"); a spec is a few hundred bytes`,
    );
  let buf: Buffer;
  try {
    buf = readFileSync(abs);
  } catch (e) {
    return refused("spec-yaml", `cannot read it: ${errnoCode(e) ?? messageOf(e)}`);
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(buf);
  // The file's text as every other reader sees it (a BOM kept; the decoder above drops it).
  const raw = buf.toString("utf8");
  const result = memo ? memo.parse(text, rel) : parseSpecText(text, rel);
  const findings = result.findings.map((f) => ({ ...f, cluster: f.cluster ?? name }));
  const leaked = findSecrets(text);
  if (leaked)
    findings.push({
      cluster: name,
      file: rel,
      rule: "no-key-material",
      severity: "error",
      message: `contains what looks like ${leaked}; never put credentials in a spec`,
    });
  if (result.spec && result.spec.name !== name) {
    findings.push({
      cluster: name,
      file: rel,
      path: "name",
      rule: "name-matches-dir",
      severity: "error",
      message: `name "${result.spec.name}" differs from its directory ${clusterDir(name)}; they must match`,
    });
    return { findings, text: raw };
  }
  return { spec: result.spec, findings, text: raw, data: result.data };
}

/** Fleet-wide checks: unique cluster names and namespaces, none the config's GitOps engine runs in. */
export function fleetFindings(specs: readonly ClusterSpec[], config?: RepoConfig): Finding[] {
  const findings: Finding[] = [];
  // checkSpec already refuses the fixed reserved namespaces; here the ones only this config reserves.
  const fixed = new Set(reservedNamespaces());
  for (const s of specs) {
    const problem = fixed.has(s.namespace) ? undefined : reservedNamespaceProblem(s.namespace, config);
    if (problem)
      findings.push({
        cluster: s.name,
        file: `${clusterDir(s.name)}/${SPEC_FILE}`,
        path: "namespace",
        rule: "namespace-reserved",
        severity: "error",
        message: `${problem} (${CONFIG_FILE})`,
      });
  }
  findings.push(...ringFindings(specs, config));
  const byName = new Map<string, string>();
  for (const s of specs) {
    const file = `${clusterDir(s.name)}/${SPEC_FILE}`;
    const otherName = byName.get(s.name);
    if (otherName)
      findings.push({
        cluster: s.name,
        file,
        path: "name",
        rule: "fleet-unique-name",
        severity: "error",
        message: `cluster name "${s.name}" is also used by ${otherName}`,
      });
    else byName.set(s.name, file);
  }
  // A shared namespace is reported on the cluster that moved into it, not on its holder: the cluster whose own name it
  // is (the default namespace), else the first in `specs` (validate --changed-since puts the changed clusters last).
  const byNs = new Map<string, ClusterSpec[]>();
  for (const s of specs) byNs.set(s.namespace, [...(byNs.get(s.namespace) ?? []), s]);
  for (const [ns, users] of byNs) {
    const [first, second] = users;
    if (first === undefined || second === undefined) continue;
    const holder = users.find((s) => s.name === ns) ?? first;
    for (const s of users)
      if (s !== holder)
        findings.push({
          cluster: s.name,
          file: clusterSpecPath(s.name),
          path: "namespace",
          rule: "fleet-unique-namespace",
          severity: "error",
          message:
            `namespace "${ns}" is also used by cluster ${holder.name}; ` +
            `each cluster needs its own namespace — give ${clusterDir(s.name)} another one`,
        });
  }
  return findings;
}

/**
 * The specs, the repository config and releases, and the spec-level findings. `listed`: clusterNames(root) when the
 * caller has started it already (validate lists clusters/ once for the selection, the load and these checks).
 */
export async function loadRepo(
  root: string,
  only?: readonly string[],
  memo?: SpecParseMemo,
  listed: Promise<string[]> = clusterNames(root),
): Promise<LoadedRepo> {
  const names = await listed;
  const findings: Finding[] = [];
  const specs: ClusterSpec[] = [];
  const specTexts = new Map<string, string>();
  const specData = new Map<string, NonNullable<ParseResult["data"]>>();
  // In name order, each read synchronously (a fleet's specs are many small files; see readSpecSync).
  const read = names.map((name) => readSpecSync(root, name, memo));
  read.forEach((r, i) => {
    findings.push(...r.findings);
    if (r.spec) specs.push(r.spec);
    if (r.text !== undefined) specTexts.set(clusterSpecPath(names[i]!), r.text);
    if (r.data !== undefined) specData.set(clusterSpecPath(names[i]!), r.data);
  });
  findings.push(...(await unvalidatedDirFindings(root, listed)));
  const cfg = await readConfig(root);
  findings.push(...fleetFindings(specs, cfg.config));
  findings.push(...cfg.findings);
  const selected = only && only.length ? specs.filter((s) => only.includes(s.name)) : specs;
  if (only)
    for (const n of only)
      if (!names.includes(n))
        findings.push({
          cluster: n,
          rule: "cluster-exists",
          severity: "error",
          message: `no cluster named "${n}" (expected ${clusterSpecPath(n)})`,
        });
  return {
    root,
    specs: selected,
    config: cfg.config,
    releases: await readReleases(root),
    findings,
    specTexts,
    specData,
  };
}

const SKIP = new Set([".git", "node_modules", ".tools"]);

/**
 * Symbolic links in the repository that lead outside it: kustomize, Argo CD and Flux would read files that are not
 * in Git (or not there at all), and a writer following them would write outside the repository. With `clusters`,
 * the folders of the other clusters are not walked (a run over some clusters reports on those alone).
 */
export async function symlinkFindings(root: string, clusters?: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const realRoot = await realpath(root);
  const skipped = (rel: string) => {
    if (!clusters) return false;
    const c = clusterOfPath(`${rel}/`);
    return c !== undefined && rel === clusterDir(c) && !clusters.includes(c);
  };
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (SKIP.has(e.name)) continue;
      const abs = path.join(dir, e.name);
      const rel = path.relative(root, abs).split(path.sep).join("/");
      if (skipped(rel)) continue;
      if (e.isSymbolicLink()) {
        const target = await realpath(abs).catch(() => undefined);
        const r = target === undefined ? undefined : path.relative(realRoot, target);
        if (r === undefined || r.startsWith("..") || path.isAbsolute(r)) {
          const to = await readlink(abs).catch(() => "?");
          findings.push({
            cluster: clusterOfPath(rel),
            file: rel,
            rule: "no-symlink-escape",
            severity: "error",
            message:
              `symbolic link to ${to} ` +
              `${target === undefined ? "that does not resolve" : "leads outside the repository"}; ` +
              `replace it with the file itself`,
          });
        }
      } else if (e.isDirectory()) await walk(abs);
    }
  }
  await walk(root);
  return findings;
}
