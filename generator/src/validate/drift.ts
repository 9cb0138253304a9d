/**
 * Stage 2 of validate: drift — generated files that differ from what the specs produce (someone edited generated/
 * or forgot `generate`), and files in clusters/<name>/generated/ the generator does not make. The plan (pure,
 * plan/repo.ts) is cached by render/cache.ts, keyed by the model and the generator's own identity.
 */
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../core/findings.js";
import type { OutputFile, TreePlan } from "../plan/files.js";
import { clusterBase, clusterPlanKeys, planClusterTree, planRepo, planRepoShared, rollout } from "../plan/repo.js";
import { releaseFindings } from "../plan/release.js";
import { PlanError } from "../core/errors.js";
import type { LoadedRepo } from "../repo/load.js";
import { ADDONS_LOCK, ADDONS_STORE, readAddonPayloads, TOOL_ROOT, versions } from "../pins/versions.js";
import { addonLockFindings, type LockCheck } from "../plan/addons-lock.js";
import { payloadImageFindings } from "../plan/addons-payload.js";
import {
  ADDONS_DIR,
  clusterDir,
  clusterGeneratedDir,
  clusterOfPath,
  CLUSTERS_DIR,
  clusterSpecPath,
  SPEC_FILE,
} from "../core/layout.js";
import { contentSha, type RepoFiles, treeDigest, type ValidateCache } from "../render/cache.js";
import type { Shard } from "./selection.js";

/**
 * Generated files that differ from what the specs produce. `planned`: path and content hash of each file the
 * generator owns; `blockers`: the specs/config that do not load (generate refuses while they are invalid).
 */
function driftFindings(
  planned: readonly [string, string][],
  files: RepoFiles,
  include: (file: string) => boolean,
  blockers: readonly string[] = [],
): Finding[] {
  const findings: Finding[] = [];
  const next = blockers.length
    ? `fix ${blockers.join(", ")} first (generate refuses while it is invalid), ` +
      `then run \`npm run generate\` and commit the result`
    : "run `npm run generate` and commit the result";
  for (const [file, hash] of planned) {
    if (!include(file)) continue;
    const current = files.hash(file);
    if (current !== hash) {
      const cluster = clusterOfPath(file);
      findings.push({
        cluster,
        file,
        rule: "generated-drift",
        severity: "error",
        message: `${current === null ? "missing" : "differs from what the specs generate"}; ${next}`,
      });
    }
  }
  return findings;
}

/** Files in clusters/<name>/generated/ the generator does not make: `generate` deletes them, so say so first. */
function unknownGeneratedFindings(root: string, names: readonly string[], planned: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const cluster of names) {
    const dir = clusterGeneratedDir(cluster);
    let entries: string[];
    try {
      entries = readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
        .filter((e) => !e.isDirectory())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
    } catch {
      continue; // a missing generated/ is drift, reported above
    }
    for (const file of entries.sort())
      if (!planned.has(file))
        findings.push({
          cluster,
          file,
          rule: "generated-unknown-file",
          severity: "error",
          message:
            `is not generated from cluster.yaml, and \`npm run generate\` ` +
            `deletes it; move it to ${clusterDir(cluster)}/ (your layer) if you need it, or delete it`,
        });
  }
  return findings;
}

/**
 * The plan of the model; when a spec that loaded with errors cannot be planned (a zone its region lacks has no
 * subnet slot: plan/cluster.ts subnets), the plan without the specs of `blockers` — their own errors are the
 * findings (generate refuses them the same way), and the other clusters' generated files are still compared.
 */
function plannable(
  model: { specs: readonly ClusterSpec[]; config: LoadedRepo["config"]; releases: LoadedRepo["releases"] },
  blockers: readonly string[],
): TreePlan {
  try {
    return planRepo({ ...model, specs: [...model.specs] }, versions());
  } catch (e) {
    if (!(e instanceof PlanError) || blockers.length === 0) throw e;
    const specs = model.specs.filter((s) => !blockers.includes(clusterSpecPath(s.name)));
    return planRepo({ ...model, specs }, versions());
  }
}

/**
 * The planned files' hashes with the cache: the shared folders and the sync manifests planned on every run (a few
 * milliseconds), each cluster's generated files remembered per cluster by its spec (its cache entry's plan layer), so
 * a run plans again only the clusters whose spec (or our code, pins, add-ons: the plan identity) changed. A cluster
 * that does not plan (PlanError) is left out when its spec has errors (a blocker), as plannable does.
 */
function plannedByCluster(
  model: { specs: readonly ClusterSpec[]; config: LoadedRepo["config"]; releases: LoadedRepo["releases"] },
  blockers: readonly string[],
  cache: ValidateCache,
): [string, string][] {
  const pins = versions();
  const blocked = (s: ClusterSpec) => blockers.includes(clusterSpecPath(s.name));
  let shared: OutputFile[];
  try {
    shared = planRepoShared({ ...model, specs: [...model.specs] }, pins).files;
  } catch (e) {
    if (!(e instanceof PlanError) || blockers.length === 0) throw e;
    shared = planRepoShared({ ...model, specs: model.specs.filter((s) => !blocked(s)) }, pins).files;
  }
  const planned = plannedHashes(shared);
  // Each cluster's files are a function of its spec and the release its ring builds from.
  const keys = clusterPlanKeys({ ...model, specs: [...model.specs] });
  for (const spec of model.specs) {
    const key = keys.get(spec.name);
    const kept = cache.planned(spec.name, key);
    if (kept) {
      planned.push(...kept);
      continue;
    }
    try {
      planned.push(...cache.storePlanned(spec.name, key, planClusterTree(spec, pins, clusterBase(model, spec)).files));
    } catch (e) {
      if (!(e instanceof PlanError) || !blocked(spec)) throw e;
    }
  }
  return planned.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every file under `dir` (repository-relative), recursively; none when it is no directory. */
function filesUnder(root: string, dir: string): string[] {
  try {
    return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
  } catch {
    return [];
  }
}

/**
 * Files in the shared folders the generator owns whole (base/, the overlays, management/providers, management/iam,
 * management/sync: plan/repo.ts roots) that it does not make: `generate` deletes them, so a hand-added file is drift
 * like a hand-edited one. addons/ is checked against its pinned payloads elsewhere.
 */
function unknownSharedFindings(root: string, config: LoadedRepo["config"], planned: ReadonlySet<string>): Finding[] {
  const roots = planRepo({ specs: [], config }, versions()).roots.filter(
    (r) => r !== ADDONS_DIR && !r.startsWith(`${CLUSTERS_DIR}/`),
  );
  return roots
    .flatMap((r) => filesUnder(root, r))
    .filter((f) => !planned.has(f))
    .sort()
    .map((file) => ({
      file,
      rule: "generated-unknown-file",
      severity: "error" as const,
      message:
        "is not generated, and `npm run generate` deletes it: this folder " +
        "is owned by the generator; put your own changes in clusters/<name>/kustomization.yaml, " +
        "or delete the file",
    }));
}

/** Path and content hash of each owned planned file (drift without a cache). */
function plannedHashes(files: readonly OutputFile[]): [string, string][] {
  return files.filter((f) => f.mode === "owned").map((f) => [f.path, contentSha(f.content)]);
}

/**
 * What the plan is a function of besides the model: our code (generator/src), its pinned dependencies
 * (package-lock.json), the pins (versions.json), the hydrated add-ons it copies (addons/ and its lock) and the Node
 * version. The add-ons are read from disk here, not from the process's memo, so a cache entry made from other
 * payloads never matches.
 */
export function generatorIdentity(opts: { store?: string } = {}): string {
  const read = (f: string) => {
    try {
      return contentSha(readFileSync(path.join(TOOL_ROOT, f)));
    } catch {
      return null;
    }
  };
  return JSON.stringify([
    treeDigest(path.join(TOOL_ROOT, "generator", "src")),
    read("package-lock.json"),
    read("versions.json"),
    treeDigest(opts.store ?? ADDONS_STORE),
    read(path.relative(TOOL_ROOT, ADDONS_LOCK)),
    process.version,
  ]);
}

const realPath = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

/**
 * addons/ against the lock `npm run addons` wrote (plan/addons-lock.ts) and every payload's images against
 * versions.json (plan/addons-payload.ts payloadImageFindings), never cached: the tool's store (what
 * generate copies; `store`) and, with `repoCopy`, the repository's own addons/ (the same files when the repository
 * is this checkout). Paths are named relative to `root`.
 */
export function addonIntegrityFindings(root: string, opts: { repoCopy: boolean }): Finding[] {
  const v = versions();
  const named = (payloads: Record<string, string>, base: string): LockCheck["files"] =>
    Object.fromEntries(
      Object.entries(payloads).map(([p, content]) => {
        const file = path.relative(root, path.join(base, p)).split(path.sep).join("/");
        return [p, { file, content }];
      }),
    );
  const same = realPath(root) === realPath(TOOL_ROOT);
  // The store is re-read: the process's memo (versions()) may predate a write by `npm run addons` in this process.
  const store = named(readAddonPayloads(ADDONS_STORE), TOOL_ROOT);
  const whose = same ? "the repository's" : `the tool checkout's (${TOOL_ROOT})`;
  const checks: LockCheck[] = [{ whose, files: store, complete: true }];
  if (opts.repoCopy && !same) {
    const copy = named(readAddonPayloads(path.join(root, ADDONS_DIR)), root);
    // Complete: generate copies every pinned payload, so a missing one is a deleted payload (README "Add-on
    // integrity").
    checks.push({ whose: "the repository's", files: copy, complete: true });
  }
  // The lock is written beside the payloads, so it vouches for nothing on its own: every image is checked against
  // versions.json too (plan/addons-payload.ts, as `npm run addons` does).
  return [
    ...addonLockFindings(v.addonLock, v.addons, checks),
    ...checks.flatMap((c) => payloadImageFindings(c.files, v.addons, c.whose)),
  ];
}

/**
 * Drift of the run's clusters' generated files, and of the shared ones (base/, overlays/, management/) on full runs
 * (`full`: unsharded and unselected, or shard 1 of an unselected run). Returns the findings and the plan's cache id.
 */
export function driftStage(
  root: string,
  input: {
    repo: LoadedRepo;
    names: readonly string[];
    mine: ReadonlySet<string>;
    full: boolean;
    shard?: Shard;
    files: RepoFiles;
    cache?: ValidateCache;
  },
): { findings: Finding[] } {
  const { repo, mine, full, shard, files, cache } = input;
  const specs: ClusterSpec[] = full ? repo.specs : repo.specs.filter((s) => mine.has(s.name));
  const model = { specs, config: repo.config, releases: repo.releases };
  // A spec that does not load is missing from the plan, so the shared files (which list every cluster) cannot be
  // compared until it is fixed; the other clusters' own generated files can.
  const blockers = [
    ...new Set(
      repo.findings.flatMap((f) =>
        f.severity === "error" && f.file !== undefined && (f.file === CONFIG_FILE || f.file.endsWith(`/${SPEC_FILE}`))
          ? [f.file]
          : [],
      ),
    ),
  ].sort();
  const planned = cache ? plannedByCluster(model, blockers, cache) : plannedHashes(plannable(model, blockers).files);
  const loaded = new Set(repo.specs.map((s) => s.name));
  const plannedClusters = new Set(planned.flatMap(([p]) => clusterOfPath(p) ?? []));
  const inPlan = (n: string) => plannedClusters.has(n);
  // A spec that did not load, or that loaded but could not be planned (plannable), leaves the shared files uncompared.
  const unplanned = input.names.some((n) => !loaded.has(n)) || specs.some((s) => !inPlan(s.name));
  const ownFile = (p: string) => mine.has(clusterOfPath(p) ?? "");
  const include =
    full && !unplanned
      ? (p: string) => !p.startsWith(`${CLUSTERS_DIR}/`) || ownFile(p)
      : (p: string) => p.startsWith(`${CLUSTERS_DIR}/`) && ownFile(p);
  // addons/ against its lock: repository-wide, on every run that reports shared findings (no shard, or shard 1).
  const integrity = !shard || shard.index === 1 ? addonIntegrityFindings(root, { repoCopy: true }) : [];
  const plannedPaths = new Set(planned.map(([p]) => p));
  // The releases through the rings: each what its record says, in order, and where the latest has reached.
  const rings = rollout(repo)?.rings;
  const releases = rings && (!shard || shard.index === 1) ? releaseFindings(rings, repo.releases) : [];
  return {
    findings: [
      ...integrity,
      ...releases,
      // A payload addons-integrity names is reported there only (not also as generated-drift).
      ...driftFindings(planned, files, (p) => include(p) && !integrity.some((f) => f.file === p), blockers),
      // Only the clusters the plan holds (a spec that could not be planned has its own findings).
      ...unknownGeneratedFindings(root, specs.map((s) => s.name).filter(inPlan), plannedPaths),
      ...(full && !unplanned ? unknownSharedFindings(root, repo.config, plannedPaths) : []),
    ],
  };
}
