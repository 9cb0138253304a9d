/**
 * `npm run validate [cluster...]`: specs (ajv + checks), drift of the generated files, a batched kustomize render,
 * kubeconform against schemas/kubeconform (one process, its own workers), kubectl-validate for the CRDs' CEL rules
 * (one process per core for large fleets), and our rules — for every cluster and for the management manifests
 * (sync, providers). Returns findings; the CLI decides the exit code.
 *
 * Speed (see BENCHMARKS.md): what the external programs compute is cached by content (validate/cache.ts), so an
 * unchanged cluster costs a few file reads; objects go to kubeconform and kubectl-validate as JSON documents
 * (no YAML serialization); kustomize runs without origin annotations, which are fetched again only for the clusters
 * that have findings (a finding names the file its object came from).
 *
 * Sharding (`shard: {index, count}`, 1-based, `--shard i/n`): cluster c belongs to shard
 * (first 4 bytes of sha256(c) as an unsigned integer mod n) + 1 — stable when clusters are added or removed, so
 * each shard keeps its cache. A shard validates its own clusters completely; the repository-wide work (management
 * manifests, drift of the shared generated files, findings that belong to no cluster) is done by shard 1 only.
 * Fleet rules compare each of the shard's rendered clusters with every other cluster of the fleet, and each
 * finding is reported by the shard of the cluster it names, so the shards' findings together are the unsharded
 * run's: another shard's cluster is represented by what its spec declares (Cluster name, namespace, region, VPC
 * CIDR) when its own kustomization.yaml is still the generated scaffold, and is rendered otherwise. (The one
 * difference: a hand-edited generated/ overlay of another shard's cluster is not seen here — its own shard reports
 * it as drift, an error.)
 */
import { createHash } from "node:crypto";
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../findings.js";
import { API } from "../k8s/capi.js";
import { objectNames, planCluster } from "../plan/cluster.js";
import { ADDONS_DIR, PROVIDERS_DIR, SPEC_FILE, SYNC_DIR } from "../repo/paths.js";
import { dependencies } from "../kustomize/walk.js";
import type { OutputFile } from "../plan/files.js";
import { planRepo } from "../plan/repo.js";
import { clusterNames, fleetFindings, loadRepo, symlinkFindings, type LoadedRepo } from "../repo/load.js";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { readUnserved, unservedMessage } from "../schemas/unserved.js";
import { KUBECONFORM_DIR, schemaLocation } from "../schemas/layout.js";
import { kubeconform, type KubeconformResource } from "../tools/kubeconform.js";
import { kubectlValidate, NATIVE_SCHEMA_VERSION, type KubectlValidateStatus } from "../tools/kubectl-validate.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { CRDS_DIR, resolveTool } from "../tools/resolve.js";
import { ToolError, ToolUnavailableError, UsageError } from "../errors.js";
import { TOOL_ROOT, versions } from "../versions.js";
import { parseYamlStream } from "../yaml.js";
import { clusterRules, fleetRules, managementRules, syncSafetyRules } from "../validate/rules.js";
import { imageRules, readImageInventory } from "../validate/images.js";
import { upgradeStateFindings } from "../plan/upgrade.js";
import { applicationFindings, declaredApplications, generatedApplications, fluxPermissionFindings } from "../validate/sync-check.js";
import { renderClusters, type RenderedCluster, type RenderedObject } from "../validate/render.js";
import { attributeFinding } from "../validate/attribution.js";
import { binaryIdentity, cacheEnabled, contentSha, RepoFiles, treeDigest, ValidateCache } from "../validate/cache.js";
import type { Summary } from "../validate/format.js";
import { admissionEnabled, admissionFindings, admissionResults, denied, previousRender, type Admit } from "../validate/admission.js";
import { admissionBinary, admit as runAdmission, ADMISSION_CRDS } from "../tools/admission.js";

/** Repository folders (besides clusters/) that the management cluster applies; validated when present. */
export const MANAGEMENT_DIRS = [SYNC_DIR, PROVIDERS_DIR] as const;

/** One shard of a fleet split n ways: index 1..count. */
export interface Shard {
  index: number;
  count: number;
}

export interface ValidateOptions {
  cwd: string;
  clusters?: string[];
  /** Validate only the clusters affected since this git ref (same affected-set logic as `diff`). */
  changedSince?: string;
  /** Validate only this shard of the (selected) clusters; see the header for what a shard checks. */
  shard?: Shard;
  workers?: number;
  /** Skip the kubectl-validate (CEL) layer. CI always runs it. */
  skipCel?: boolean;
  /** Reuse and update the content-keyed cache in .capi-gitops-cache/ (default: on, unless CAPI_GITOPS_CACHE=off). */
  cache?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Skip the upstream admission layer (capi-gitops-admission); also CAPI_GITOPS_ADMISSION=off. CI always runs it. */
  skipAdmission?: boolean;
  /** The admission program (tests pass a stand-in); default tools/admission.ts. */
  admit?: Admit;
}

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
  /** Milliseconds spent per stage (for the benchmark's "where the time goes"). */
  timings?: Record<string, number>;
}

/** "i/n" → {index: i, count: n}; a UsageError for anything else. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard must be i/n, e.g. 2/4 (shard 2 of 4); got "${text}"`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard);
  return shard;
}

export function checkShard(shard: Shard): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) throw new UsageError(`--shard: the shard count must be 1..10000; got ${count}`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) throw new UsageError(`--shard: the shard index must be 1..${count}; got ${index}`);
}

/** The shard (1..count) cluster `name` belongs to: a stable hash of the name, independent of the other clusters. */
export function shardOf(name: string, count: number): number {
  return (createHash("sha256").update(name).digest().readUInt32BE(0) % count) + 1;
}

/** One rendered build checked by the schema layers: a cluster, or a management folder (cluster undefined). */
interface Unit {
  label: string;
  /** Its cache entry: the cluster name, or "@" + the label for a management folder. */
  cacheId: string;
  cluster?: string;
  objects: RenderedObject[];
  origins: (string | undefined)[];
  fallbackFile: string;
  /**
   * Not for kubectl-validate: the add-on payloads (built-in kinds, no CRD CEL rules) — kubectl-validate v0.0.4 checks
   * every name as a DNS subdomain, but the API server allows RBAC names such as `system:cloud-controller-manager`
   * (k8s.io/kubernetes pkg/apis/rbac/validation: ValidateRBACName = path.IsValidPathSegmentName).
   */
  noCel?: boolean;
}

/** What kubeconform and kubectl-validate said about one unit (kubeconform lists only the objects that are not valid). */
interface Raw {
  kubeconform: Omit<KubeconformResource, "filename">[];
  cel?: KubectlValidateStatus[];
}

/**
 * The API server prunes null fields of custom resources before validating them (unless the schema marks them
 * nullable; see the CRD docs, "Defaulting and Nullable"), and upstream manifests rely on it, e.g. CAPA's templates'
 * `selector: {matchLabels: null}`. The schema layers see the objects as the server would; array items are kept.
 */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
  return v;
}

/**
 * Generated files that differ from what the specs produce (someone edited generated/ or forgot `generate`).
 * `planned`: path and content hash of each file the generator owns.
 */
function driftFindings(planned: readonly [string, string][], files: RepoFiles, include: (file: string) => boolean, blockers: readonly string[] = []): Finding[] {
  const findings: Finding[] = [];
  // `generate` refuses while a spec or the config is invalid: then the next step is fixing those files.
  const next = blockers.length
    ? `fix ${blockers.join(", ")} first (generate refuses while it is invalid), then run \`npm run generate\` and commit the result`
    : "run `npm run generate` and commit the result";
  for (const [file, hash] of planned) {
    if (!include(file)) continue;
    const current = files.hash(file);
    if (current !== hash) {
      const cluster = /^clusters\/([^/]+)\//.exec(file)?.[1];
      findings.push({ cluster, file, rule: "generated-drift", severity: "error", message: `${current === null ? "missing" : "differs from what the specs generate"}; ${next}` });
    }
  }
  return findings;
}

/** Files in clusters/<name>/generated/ the generator does not make: `generate` deletes them, so say so first. */
function unknownGeneratedFindings(root: string, names: readonly string[], planned: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const cluster of names) {
    const dir = `clusters/${cluster}/generated`;
    let entries: string[];
    try {
      entries = (readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }) as Dirent[]).filter((e) => !e.isDirectory()).map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
    } catch {
      continue; // a missing generated/ is drift, reported above
    }
    for (const file of entries.sort())
      if (!planned.has(file))
        findings.push({ cluster, file, rule: "generated-unknown-file", severity: "error", message: `is not generated from cluster.yaml, and \`npm run generate\` deletes it; move it to clusters/${cluster}/ (your layer) if you need it, or delete it` });
  }
  return findings;
}

async function renderManagement(root: string, cache: ValidateCache | undefined, dirs: readonly string[] = MANAGEMENT_DIRS): Promise<{ units: Unit[]; findings: Finding[] }> {
  const units: Unit[] = [];
  const findings: Finding[] = [];
  for (const dir of dirs) {
    const kfile = `${dir}/kustomization.yaml`;
    if (!(await access(path.join(root, kfile)).then(() => true, () => false))) continue;
    const label = dir.replace(/\//g, "-");
    const unit = (objects: RenderedObject[]): Unit => ({ label, cacheId: `@${label}`, objects, origins: objects.map(() => undefined), fallbackFile: kfile });
    const cached = cache?.rendered(`@${label}`, dir);
    if (cached) {
      units.push(unit(cached));
      continue;
    }
    const closure = (await cache?.closures([dir]))?.get(dir);
    try {
      const objects = parseYamlStream(await kustomizeBuild(root, dir)) as RenderedObject[];
      cache?.storeRendered(`@${label}`, dir, closure, objects);
      units.push(unit(objects));
    } catch (e) {
      if (!(e instanceof ToolError) || e instanceof ToolUnavailableError) throw e;
      findings.push({ file: kfile, rule: "kustomize-build", severity: "error", message: `kustomize build failed: ${(e.stderr || e.message).split("\n")[0]}` });
    }
  }
  return { units, findings };
}

/**
 * The hydrated add-on manifests (addons/<addon>/<version>/*.yaml, `npm run addons`), one unit per version: what the
 * ClusterResourceSets apply to the workload clusters goes through the same kubeconform (Kubernetes OpenAPI) and CEL
 * layers as everything else; inside a ConfigMap kubeconform would see only a string.
 */
async function addonUnits(root: string): Promise<{ units: Unit[]; findings: Finding[] }> {
  const units: Unit[] = [];
  const findings: Finding[] = [];
  const files = await readdir(path.join(root, ADDONS_DIR), { recursive: true }).catch(() => [] as string[]);
  for (const rel of files.map((f) => f.split(path.sep).join("/")).filter((f) => f.endsWith(".yaml") && !f.endsWith("/kustomization.yaml")).sort()) {
    const file = `${ADDONS_DIR}/${rel}`;
    try {
      const objects = parseYamlStream(await readFile(path.join(root, file), "utf8")) as RenderedObject[];
      const label = file.replace(/[/.]/g, "-");
      units.push({ label, cacheId: `@${label}`, objects, origins: objects.map(() => file), fallbackFile: file, noCel: true });
    } catch (e) {
      findings.push({ file, rule: "addon-payload", severity: "error", message: `not a YAML stream: ${(e as Error).message}` });
    }
  }
  return { units, findings };
}

/** Fewest files worth a kubectl-validate process of their own (each process loads every CRD first, ≈0.5 s). */
const CEL_FILES_PER_PROCESS = 40;

/**
 * kubeconform (structure) and kubectl-validate (CEL) over every unit: one kubeconform process with its own
 * workers, kubectl-validate split over the cores; results of unchanged clusters come from the cache.
 */
async function schemaResults(
  root: string,
  units: readonly Unit[],
  opts: { workers: number; skipCel?: boolean; cache?: ValidateCache; onProgress?: ValidateOptions["onProgress"] },
): Promise<Map<Unit, Raw>> {
  const raw = new Map<Unit, Raw>();
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-validate-"));
  try {
    const input = new Map<Unit, string>();
    const fileOf = new Map<Unit, string>();
    const unitOf = new Map<string, Unit>();
    const needKc: Unit[] = [];
    const needCel: Unit[] = [];
    for (const [i, u] of units.entries()) {
      if (u.objects.length === 0) continue;
      // JSON documents in a YAML stream: both programs read them, and JSON.stringify is ~50× faster than YAML.
      const text = `${u.objects.map((o) => JSON.stringify(dropNulls(o))).join("\n---\n")}\n`;
      input.set(u, text);
      const kc = opts.cache?.result<Raw["kubeconform"][number]>("kubeconform", u.cacheId, text);
      const cel = opts.skipCel || u.noCel ? undefined : opts.cache?.result<KubectlValidateStatus>("cel", u.cacheId, text);
      raw.set(u, { kubeconform: kc ?? [], cel });
      if (!kc) needKc.push(u);
      if (!opts.skipCel && !u.noCel && !cel) needCel.push(u);
      if (!kc || (!opts.skipCel && !u.noCel && !cel)) {
        const f = path.join(tmp, `${i}-${u.label.replace(/[^A-Za-z0-9._-]/g, "_")}.yaml`);
        await writeFile(f, text);
        fileOf.set(u, f);
        unitOf.set(f, u);
      }
    }

    opts.onProgress?.("kubeconform", 0, needKc.length);
    const kcResults = await kubeconform(
      needKc.map((u) => fileOf.get(u)!),
      { cwd: root, schemaLocation: schemaLocation(TOOL_ROOT), workers: opts.workers },
    );
    const kcOf = new Map<Unit, Raw["kubeconform"]>(needKc.map((u) => [u, []]));
    for (const { filename, ...r } of kcResults) {
      const u = unitOf.get(filename) ?? unitOf.get(path.resolve(root, filename));
      if (u) kcOf.get(u)?.push(r);
    }
    for (const [u, list] of kcOf) {
      raw.get(u)!.kubeconform = list;
      opts.cache?.storeResult("kubeconform", u.cacheId, input.get(u)!, list);
    }
    opts.onProgress?.("kubeconform", needKc.length, needKc.length);

    if (!opts.skipCel && needCel.length > 0) {
      opts.onProgress?.("cel", 0, needCel.length);
      const processes = Math.max(1, Math.min(opts.workers, Math.floor(needCel.length / CEL_FILES_PER_PROCESS)));
      const groups = Array.from({ length: processes }, (_, g) => needCel.filter((_, i) => i % processes === g).map((u) => fileOf.get(u)!));
      const outputs = await Promise.all(groups.map((files) => kubectlValidate(files, { cwd: root })));
      for (const out of outputs)
        for (const [file, statuses] of Object.entries(out)) {
          const u = unitOf.get(path.resolve(root, file)) ?? unitOf.get(file);
          if (!u) continue;
          raw.get(u)!.cel = statuses;
          if (statuses.length === u.objects.length) opts.cache?.storeResult("cel", u.cacheId, input.get(u)!, statuses);
        }
      opts.onProgress?.("cel", needCel.length, needCel.length);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return raw;
}

const originOf = (u: Unit, kind: string, name: string): string => {
  const i = u.objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
  return (i >= 0 ? u.origins[i] : undefined) ?? u.fallbackFile;
};

/** kubeconform's verdicts as findings; `invalid` collects the objects it rejected. */
function kubeconformFindings(u: Unit, results: Raw["kubeconform"], unserved: ReturnType<typeof readUnserved>, invalid: Set<string>): Finding[] {
  const findings: Finding[] = [];
  for (const r of results) {
    if (r.status === "statusValid" || r.status === "statusSkipped" || r.status === "statusEmpty") continue;
    invalid.add(`${u.label}/${r.kind}/${r.name}`);
    const base = { cluster: u.cluster, file: originOf(u, r.kind, r.name), severity: "error" as const };
    if (r.status === "statusError" && /could not find schema/.test(r.msg)) {
      const msg = unservedMessage(unserved, r.version, r.kind);
      findings.push({ ...base, path: `${r.kind}/${r.name}:apiVersion`, rule: msg ? "api-served" : "schema-missing", message: msg ?? `no schema for ${r.kind} ${r.version}: not a kind of the pinned providers` });
      continue;
    }
    const details = r.msg.split(/\s+- at /).slice(1);
    if (details.length === 0) findings.push({ ...base, path: `${r.kind}/${r.name}`, rule: "kubeconform", message: r.msg });
    for (const d of details) {
      const m = /^'([^']*)':\s*(.*)$/.exec(d.trim());
      if (!m || m[2] === "validation failed") continue;
      findings.push({ ...base, path: `${r.kind}/${r.name}:${m[1]!.replace(/^\//, "").replace(/\//g, ".")}`, rule: "kubeconform", message: m[2]!.trim() });
    }
  }
  return findings;
}

/** CEL (x-kubernetes-validations) verdicts as findings; objects kubeconform already rejected are not repeated. */
function celFindings(u: Unit, statuses: readonly KubectlValidateStatus[], invalid: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  statuses.forEach((s, i) => {
    const o = u.objects[i];
    if (s.status !== "Failure" || !o || invalid.has(`${u.label}/${o.kind}/${o.metadata.name}`)) return;
    const causes = s.details?.causes?.length ? s.details.causes : [{ field: undefined, message: s.message }];
    for (const c of causes)
      findings.push({ cluster: u.cluster, file: u.origins[i] ?? u.fallbackFile, path: `${o.kind}/${o.metadata.name}${c.field ? `:${c.field}` : ""}`, rule: "cel", severity: "error", message: c.message ?? "rejected" });
  });
  return findings;
}

/**
 * Objects that live in no cluster's namespace (Argo CD's AppProject allows only the clusters' namespaces): reported
 * unless they come from the cluster's own directory (a deliberate addition of its owner). Needs origins.
 */
function strayCandidates(rc: RenderedCluster, namespaces: ReadonlySet<string>): number[] {
  const out: number[] = [];
  rc.objects.forEach((o, i) => {
    const ns = o.kind === "Namespace" ? o.metadata?.name : o.metadata?.namespace;
    if (!ns || !namespaces.has(ns)) out.push(i);
  });
  return out;
}
function strayFindings(rc: RenderedCluster, namespaces: ReadonlySet<string>): Finding[] {
  return strayCandidates(rc, namespaces)
    .filter((i) => !rc.origins[i]?.startsWith(`clusters/${rc.cluster}/`))
    .map((i) => {
      const o = rc.objects[i]!;
      return { cluster: rc.cluster, file: rc.origins[i], path: `${o.kind}/${o.metadata?.name}`, rule: "attribution", severity: "error" as const, message: `object in namespace "${o.metadata?.namespace ?? ""}" belongs to no cluster: each cluster's objects must live in its own namespace` };
    });
}

const identityKey = (o: RenderedObject): string => JSON.stringify([o.apiVersion, o.kind, o.metadata?.namespace ?? "", o.metadata?.name]);

/** What fleetRules reads of a cluster (its Cluster and AWSCluster), as its spec declares it. */
function declaredFacts(spec: ClusterSpec): RenderedCluster {
  const names = objectNames(spec);
  const metadata = { name: names.cluster, namespace: spec.namespace };
  const objects: RenderedObject[] = [
    { apiVersion: API.core, kind: "Cluster", metadata },
    { apiVersion: API.infra, kind: "AWSCluster", metadata, spec: { region: spec.region, network: { vpc: { cidrBlock: spec.network.vpcCidr } } } },
  ];
  return { cluster: spec.name, objects, origins: objects.map(() => undefined) };
}

/** The repository reads validate starts first (each awaited when needed, so their waits overlap other work). */
interface Reading {
  repo: Promise<LoadedRepo>;
  symlinks: Promise<Finding[]>;
  names: Promise<string[]>;
}
function startReading(root: string, only?: string[]): Reading {
  const r = { repo: loadRepo(root, only), symlinks: symlinkFindings(root), names: clusterNames(root) };
  // Awaited later (or never, when --changed-since finds nothing): a failure must not be an unhandled rejection.
  for (const p of Object.values(r)) p.catch(() => undefined);
  return r;
}

export async function validateCommand(opts: ValidateOptions): Promise<ValidateResult> {
  if (opts.shard) checkShard(opts.shard);
  const root = path.resolve(opts.cwd);
  if (opts.changedSince !== undefined) {
    // Every spec is read while git runs (the selection is applied afterwards; loading all of them also gives the
    // fleet-wide spec checks every namespace). repo/affected.ts is loaded only here: it brings simple-git.
    const reading = startReading(root);
    const { affectedClusters } = await import("../repo/affected.js");
    const affected = await affectedClusters(root, opts.changedSince).catch((e: unknown) => {
      if (!(e instanceof ToolError)) throw e;
      // Say which flag needed git; git's first line says why (no repository, unknown revision).
      throw new ToolError(`--changed-since ${opts.changedSince}: ${e.message.split("\n")[0]}`, e.command, e.stderr);
    });
    const selected = affected.clusters.filter((c) => !opts.clusters?.length || opts.clusters.includes(c));
    const management = affected.changedFiles.some((f) => f.startsWith("management/") || f === CONFIG_FILE);
    if (selected.length === 0 && !management) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
    return validateSelected({ ...opts, clusters: selected }, root, management, reading);
  }
  return validateSelected(opts, root, !opts.clusters?.length, startReading(root, opts.clusters));
}

async function validateSelected(opts: ValidateOptions, root: string, withManagement: boolean, reading: Reading): Promise<ValidateResult> {
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (timings[stage] ?? 0) + (now - t0);
    t0 = now;
  };
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const only = opts.clusters !== undefined && (opts.clusters.length > 0 || opts.changedSince !== undefined);
  const shard = opts.shard;
  const inSelection = (c: string) => !only || opts.clusters!.includes(c);
  const inScope = (c: string) => inSelection(c) && (!shard || shardOf(c, shard.count) === shard.index);
  // Repository-wide work and findings of no cluster: every unsharded run, and shard 1 of a sharded one.
  const shared = !shard || shard.index === 1;
  const keep = (f: Finding) => (f.cluster !== undefined ? inScope(f.cluster) : shared);

  const files = new RepoFiles(root);
  const cache = (opts.cache ?? cacheEnabled())
    ? new ValidateCache(files, {
        render: memo(() => binaryIdentity(resolveTool("kustomize"))),
        kubeconform: memo(() => JSON.stringify([binaryIdentity(resolveTool("kubeconform")), treeDigest(path.join(TOOL_ROOT, KUBECONFORM_DIR)), schemaLocation(TOOL_ROOT), "-strict"])),
        cel: memo(() => JSON.stringify([binaryIdentity(resolveTool("kubectl-validate")), treeDigest(CRDS_DIR), NATIVE_SCHEMA_VERSION])),
        plan: memo(generatorIdentity),
        admission: memo(() => JSON.stringify([binaryIdentity(admissionBinary()), ...ADMISSION_CRDS.map((d) => treeDigest(path.join(CRDS_DIR, d)))])),
      })
    : undefined;
  // Render every cluster directory that has a spec, even a broken one (the directory is what syncs).
  const selection = (await reading.names).filter(inSelection);
  const names = selection.filter(inScope);
  const mine = new Set(names);

  /** Renders (or takes from the cache) clusters; failed builds are findings. */
  const render = async (list: readonly string[], stage: string) => {
    const out = new Map<string, RenderedCluster>();
    const todo: string[] = [];
    for (const n of list) {
      const objects = cache?.rendered(n, `clusters/${n}`);
      if (objects) out.set(n, { cluster: n, objects, origins: objects.map(() => undefined) });
      else todo.push(n);
    }
    const closures = (await cache?.closures(todo.map((n) => `clusters/${n}`))) ?? new Map();
    const r = await renderClusters(root, todo.map((name) => ({ name })), { workers, origins: false, onProgress: (d, t) => opts.onProgress?.(stage, d, t) });
    const failed = new Set(r.findings.map((f) => f.cluster));
    for (const rc of r.rendered) {
      out.set(rc.cluster, rc);
      if (!failed.has(rc.cluster)) cache?.storeRendered(rc.cluster, `clusters/${rc.cluster}`, closures.get(`clusters/${rc.cluster}`), rc.objects);
    }
    return { rendered: list.map((n) => out.get(n)!), findings: [...r.findings, ...(await escapeFindings(todo))] };
  };
  /**
   * References that leave the repository (kustomize loads directories outside the root): the build reads what is
   * not in Git. Only the rendered clusters are walked: a cached one had none (such builds are never cached).
   */
  const escapeFindings = async (list: readonly string[]): Promise<Finding[]> => {
    if (list.length === 0) return [];
    return list.flatMap((c) =>
      dependencies(`clusters/${c}`, (rel) => files.read(rel)).escapes.map((e) => ({
        cluster: c,
        file: e.file,
        rule: "no-path-escape",
        severity: "error" as const,
        message: `"${e.ref}" leads outside the repository: the build would read files that are not in Git (Argo CD and Flux do not have them); keep what a cluster's build reads in the repository`,
      })),
    );
  };
  // kustomize starts now and runs on the other cores while the specs are checked and the plan is compared.
  const rendering = render(names, "kustomize");
  rendering.catch(() => undefined);
  // --changed-since: the previous render of the same clusters, for UPDATE admission (started now, awaited there).
  const withAdmission = !opts.skipAdmission && admissionEnabled();
  const previous = withAdmission && opts.changedSince !== undefined ? previousRender(root, opts.changedSince, names, workers) : undefined;
  previous?.catch(() => undefined);

  const repo = await reading.repo;
  // --changed-since loads every spec; its fleet-wide spec checks are made again with the changed clusters last, so
  // that a clash between a changed and an unchanged cluster is reported on the changed one (in scope).
  const changedOnly = only && opts.changedSince !== undefined;
  const loaded = changedOnly ? new Set(fleetFindings(repo.specs, repo.config).map((f) => JSON.stringify(f))) : new Set<string>();
  const findings: Finding[] = [
    ...repo.findings.filter((f) => !loaded.has(JSON.stringify(f))),
    ...(changedOnly ? fleetFindings(changedLast(repo.specs, (s) => inSelection(s.name)), repo.config) : []),
  ].filter(keep);
  findings.push(...(await reading.symlinks).filter(keep));
  const specOf = new Map(repo.specs.map((s) => [s.name, s]));
  // Where each cluster is in a staged upgrade (an info line while pools are behind the control plane).
  findings.push(...repo.specs.flatMap(upgradeStateFindings).filter(keep));
  lap("load");

  // Drift: the shard's clusters' generated files; the shared ones (base/, overlays/, management/) on full runs.
  const full = shared && !only;
  const model = { specs: full ? repo.specs : repo.specs.filter((s) => mine.has(s.name)), config: repo.config };
  const planId = full ? "@plan" : shard ? `@plan-shard-${shard.index}-of-${shard.count}` : "@plan-selection";
  const planned = cache?.planned(planId, model) ?? (cache ? cache.storePlanned(planId, model, planRepo(model, versions()).files) : plannedHashes(planRepo(model, versions()).files));
  // A spec that does not load is missing from the plan, so the shared files (which list every cluster) cannot be
  // compared until it is fixed; the other clusters' own generated files can.
  const blockers = [...new Set(repo.findings.filter((f) => f.severity === "error" && f.file !== undefined && (f.file === CONFIG_FILE || f.file.endsWith("/cluster.yaml"))).map((f) => f.file!))].sort();
  const unplanned = (await reading.names).some((n) => !specOf.has(n));
  const ownFile = (p: string) => mine.has(/^clusters\/([^/]+)\//.exec(p)?.[1] ?? "");
  findings.push(...driftFindings(planned, files, full && !unplanned ? (p) => !p.startsWith("clusters/") || ownFile(p) : (p) => p.startsWith("clusters/") && ownFile(p), blockers));
  findings.push(...unknownGeneratedFindings(root, model.specs.map((s) => s.name), new Set(planned.map(([p]) => p))));
  lap("drift");

  const { rendered, findings: renderFindings } = await rendering;
  findings.push(...renderFindings);
  const management = withManagement && shared ? await renderManagement(root, cache) : { units: [], findings: [] };
  findings.push(...management.findings);
  const addons = shared ? await addonUnits(root) : { units: [], findings: [] };
  findings.push(...addons.findings);
  lap("render");

  const unitOf = new Map<string, Unit>();
  const units: Unit[] = [
    ...rendered.map((rc): Unit => {
      const u = { label: `cluster-${rc.cluster}`, cacheId: rc.cluster, cluster: rc.cluster, objects: rc.objects, origins: rc.origins, fallbackFile: `clusters/${rc.cluster}/kustomization.yaml` };
      unitOf.set(rc.cluster, u);
      return u;
    }),
    ...management.units,
    ...addons.units,
  ];
  const raw = await schemaResults(root, units, { workers, skipCel: opts.skipCel, cache, onProgress: opts.onProgress });
  lap("schemas");

  // The upstream CAPI/CAPA admission (validate/admission.ts): one process for every cluster of the run.
  const admitted = withAdmission
    ? await admissionResults(units.filter((u) => u.cluster !== undefined), { cwd: root, admit: opts.admit ?? runAdmission, cache, workers, old: await previous, onProgress: opts.onProgress })
    : new Map();
  lap("admission");

  // Our rules, first without origins; the clusters with any finding get their origins (one more kustomize build
  // each, with origin annotations) so that every finding names the file its object came from.
  const unserved = readUnserved(TOOL_ROOT);
  const namespaces = new Set(repo.specs.map((s) => s.namespace));
  const images = readImageInventory(TOOL_ROOT);
  const rulesOf = (rc: RenderedCluster) =>
    rc.objects.length
      ? [
          ...clusterRules(rc, `clusters/${rc.cluster}/kustomization.yaml`),
          ...syncSafetyRules(rc),
          ...imageRules(rc, images, specOf.get(rc.cluster)?.profile, `clusters/${rc.cluster}/cluster.yaml`),
        ]
      : [];
  const ruleFindings = new Map(rendered.map((rc) => [rc.cluster, rulesOf(rc)]));
  const flagged = rendered.filter((rc) => {
    const r = raw.get(unitOf.get(rc.cluster)!);
    return (
      (r && (r.kubeconform.some((x) => x.status !== "statusValid" && x.status !== "statusSkipped" && x.status !== "statusEmpty") || r.cel?.some((s) => s.status === "Failure"))) ||
      (specOf.has(rc.cluster) && strayCandidates(rc, namespaces).length > 0) ||
      ruleFindings.get(rc.cluster)!.length > 0 ||
      denied(admitted.get(unitOf.get(rc.cluster)!))
    );
  });
  if (flagged.length > 0) {
    const withOrigins = await renderClusters(root, flagged.map((rc) => ({ name: rc.cluster })), { workers, origins: true });
    for (const [i, rc] of withOrigins.rendered.entries()) {
      const target = flagged[i]!;
      const byId = new Map(rc.objects.map((o, j) => [identityKey(o), rc.origins[j]]));
      target.origins = target.objects.map((o) => byId.get(identityKey(o)));
      const transformedBy = new Map(rc.objects.map((o, j) => [identityKey(o), rc.transformations?.[j]]));
      target.transformations = target.objects.map((o) => transformedBy.get(identityKey(o)));
      unitOf.get(target.cluster)!.origins = target.origins;
      ruleFindings.set(target.cluster, rulesOf(target));
    }
  }
  lap("origins");

  const invalid = new Set<string>();
  for (const u of units) findings.push(...kubeconformFindings(u, raw.get(u)?.kubeconform ?? [], unserved, invalid));
  for (const u of units) findings.push(...celFindings(u, raw.get(u)?.cel ?? [], invalid));
  for (const u of units) findings.push(...admissionFindings(u, admitted.get(u) ?? [], invalid));
  // A cluster whose spec did not load has no known namespace: its spec's error is the finding, not its objects.
  for (const rc of rendered) findings.push(...(specOf.has(rc.cluster) ? strayFindings(rc, namespaces) : []), ...ruleFindings.get(rc.cluster)!);
  // A finding on a field that the cluster's own patch set belongs to that patch, not to the base file (item 22).
  const byCluster = new Map(flagged.map((rc) => [rc.cluster, rc]));
  for (const [i, f] of findings.entries()) if (f.cluster !== undefined) findings[i] = attributeFinding(f, byCluster.get(f.cluster), (rel) => files.read(rel));

  // Fleet rules over the whole selection; another shard's clusters as their specs declare them (see the header).
  // --changed-since: the selection against every cluster of the fleet, the changed ones last (as above).
  let fleet = rendered;
  const others = changedOnly ? (await reading.names).filter((n) => !inSelection(n)) : [];
  if (shard || others.length > 0) {
    const scaffoldOf = (spec: ClusterSpec) => planCluster(spec, versions().addons).find((f) => f.path === `clusters/${spec.name}/kustomization.yaml`)?.content;
    const sample = repo.specs[0];
    const scaffold = sample ? scaffoldOf(sample) : undefined;
    const facts = new Map<string, RenderedCluster>();
    const toRender: string[] = [];
    for (const n of [...selection, ...others]) {
      if (mine.has(n)) continue;
      const spec = specOf.get(n);
      const own = files.read(`clusters/${n}/kustomization.yaml`);
      if (spec && own !== undefined && (own === scaffold || own === scaffoldOf(spec))) facts.set(n, declaredFacts(spec));
      else toRender.push(n);
    }
    for (const rc of (await render(toRender, "fleet")).rendered) facts.set(rc.cluster, rc);
    const mineRendered = new Map(rendered.map((rc) => [rc.cluster, rc]));
    fleet = [...others, ...selection].map((n) => mineRendered.get(n) ?? facts.get(n)!);
  }
  findings.push(...fleetRules(fleet).filter(keep));
  for (const u of management.units) findings.push(...managementRules(u.objects, u.fallbackFile));
  if (repo.config) {
    // What the sync engine would do: the sync manifests' own render (the management run's, else one of its own).
    const syncLabel = SYNC_DIR.replace(/\//g, "-");
    const syncUnit = management.units.find((u) => u.label === syncLabel) ?? (await renderManagement(root, cache, [SYNC_DIR])).units[0];
    if (syncUnit) {
      const specFiles = new Map<string, string>();
      for (const n of await reading.names) {
        const text = files.read(`clusters/${n}/${SPEC_FILE}`);
        if (text !== undefined) specFiles.set(`clusters/${n}/${SPEC_FILE}`, text);
      }
      const renderedOf = new Map(rendered.map((rc) => [rc.cluster, rc]));
      findings.push(...syncFindings(syncUnit.objects, specFiles, repo.specs, renderedOf, { shared, inScope }));
    }
  }
  lap("rules");

  // A full unsharded run knows every entry that is still needed: the others (removed clusters) go.
  cache?.save(!shard && !only ? [planId, ...units.map((u) => u.cacheId)] : undefined);
  lap("cache");

  const summary: Summary = {
    clusters: names.length,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
  return { findings, summary, timings };
}

/**
 * The sync engine's view (validate/sync-check.ts): for Argo CD every Application the ApplicationSet would make
 * from the spec files, and the bootstrap Application, each checked against its AppProject with what its source
 * renders; for Flux, the Kustomizations name exactly the validated clusters. Cluster findings for the clusters in
 * scope; the rest on the shared run.
 */
function syncFindings(
  syncObjects: readonly RenderedObject[],
  specFiles: ReadonlyMap<string, string>,
  specs: readonly ClusterSpec[],
  renderedOf: ReadonlyMap<string, RenderedCluster>,
  scope: { shared: boolean; inScope: (c: string) => boolean },
): Finding[] {
  const findings: Finding[] = [];
  const syncFile = `${SYNC_DIR}/kustomization.yaml`;
  const clusterOf = (p: string) => /^clusters\/([^/]+)\//.exec(p)?.[1];
  const projects = syncObjects.filter((o) => o.kind === "AppProject");
  const generated = generatedApplications(syncObjects, specFiles, syncFile);
  for (const f of generated.findings) {
    const cluster = clusterOf(f.file ?? "");
    if (cluster ? scope.inScope(cluster) : scope.shared) findings.push({ ...f, cluster });
  }
  for (const app of generated.apps) {
    const cluster = clusterOf(app.from);
    if (!cluster || !scope.inScope(cluster)) continue;
    const rc = app.path === `clusters/${cluster}` ? renderedOf.get(cluster) : undefined;
    findings.push(...applicationFindings(app, projects, rc?.objects ?? [], { cluster, file: app.from }));
  }
  if (scope.shared) for (const app of declaredApplications(syncObjects)) findings.push(...applicationFindings(app, projects, app.path === SYNC_DIR ? syncObjects : [], { file: syncFile }));
  // Flux: a Kustomization for each validated cluster and none for anything else.
  const validated = new Set(specs.map((s) => s.name));
  const fluxPaths = syncObjects.filter((o) => o.kind === "Kustomization" && o.apiVersion?.startsWith("kustomize.toolkit.fluxcd.io/")).map((o) => [o.metadata.name, String(o.spec?.path ?? "").replace(/^\.\//, "").replace(/\/$/, "")] as const);
  for (const [name, p] of fluxPaths) {
    if (p === SYNC_DIR) continue;
    const c = /^clusters\/([^/]+)$/.exec(p)?.[1];
    if (c ? !validated.has(c) && scope.inScope(c) : scope.shared)
      findings.push({ cluster: c, file: syncFile, path: `Kustomization/${name}:spec.path`, rule: "flux-kustomizations", severity: "error", message: `syncs ./${p}, which is not a validated cluster (no valid clusters/<name>/${SPEC_FILE}); remove it from ${SYNC_DIR} or add the cluster's spec, then run \`npm run generate\`` });
  }
  for (const k of syncObjects.filter((o) => o.kind === "Kustomization" && o.apiVersion?.startsWith("kustomize.toolkit.fluxcd.io/"))) {
    const c = /^clusters\/([^/]+)$/.exec(String(k.spec?.path ?? "").replace(/^\.\//, "").replace(/\/$/, ""))?.[1];
    const rc = c && scope.inScope(c) ? renderedOf.get(c) : undefined;
    if (c && rc) findings.push(...fluxPermissionFindings(k, syncObjects, rc.objects, { cluster: c, file: syncFile }));
  }
  if (fluxPaths.length > 0 || syncObjects.some((o) => o.kind === "GitRepository"))
    for (const c of validated)
      if (scope.inScope(c) && !fluxPaths.some(([, p]) => p === `clusters/${c}`))
        findings.push({ cluster: c, file: syncFile, rule: "flux-kustomizations", severity: "error", message: `no Flux Kustomization syncs clusters/${c}; run \`npm run generate\`` });
  return findings;
}

/** Path and content hash of each owned planned file (drift without a cache). */
function plannedHashes(files: readonly OutputFile[]): [string, string][] {
  return files.filter((f) => f.mode === "owned").map((f) => [f.path, contentSha(f.content)]);
}

/**
 * What the plan is a function of besides the model: our code (generator/src), its pinned dependencies
 * (package-lock.json), the pins (versions.json) and the Node version.
 */
function generatorIdentity(): string {
  const read = (f: string) => {
    try {
      return contentSha(readFileSync(path.join(TOOL_ROOT, f)));
    } catch {
      return null;
    }
  };
  return JSON.stringify([treeDigest(path.join(TOOL_ROOT, "generator", "src")), read("package-lock.json"), read("versions.json"), process.version]);
}

/** The items outside the selection first, then those in it, each in their order. */
function changedLast<T>(items: readonly T[], selected: (item: T) => boolean): T[] {
  return [...items.filter((x) => !selected(x)), ...items.filter(selected)];
}

function memo<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}
