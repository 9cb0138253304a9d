/**
 * `npm run validate [cluster...]`: specs (ajv + checks), drift of the generated files, one batched kustomize
 * render, kubeconform against schemas/kubeconform (one process, its own workers), kubectl-validate for the CRDs'
 * CEL rules, and our rules — for every cluster and for the management manifests (sync, providers). Returns
 * findings; the CLI decides the exit code.
 */
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../findings.js";
import { planRepo, type RepoModel } from "../plan/repo.js";
import { SYNC_DIR } from "../plan/sync.js";
import { PROVIDERS_DIR } from "../plan/providers.js";
import { clusterNames, loadRepo, symlinkFindings } from "../repo/load.js";
import { affectedClusters } from "../repo/affected.js";
import { CONFIG_FILE } from "../spec/config.js";
import { readUnserved, unservedMessage } from "../schemas/unserved.js";
import { schemaLocation } from "../schemas/layout.js";
import { kubeconform } from "../tools/kubeconform.js";
import { kubectlValidate } from "../tools/kubectl-validate.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { ToolError, ToolUnavailableError } from "../errors.js";
import { TOOL_ROOT } from "../versions.js";
import { parseYamlStream, toYamlStream } from "../yaml.js";
import { clusterRules, fleetRules, managementRules, syncSafetyRules } from "../validate/rules.js";
import { renderClusters, type RenderedCluster, type RenderedObject } from "../validate/render.js";
import type { Summary } from "../validate/format.js";

/** Repository folders (besides clusters/) that the management cluster applies; validated when present. */
export const MANAGEMENT_DIRS = [SYNC_DIR, PROVIDERS_DIR] as const;

export interface ValidateOptions {
  cwd: string;
  clusters?: string[];
  /** Validate only the clusters affected since this git ref (same affected-set logic as `diff`). */
  changedSince?: string;
  workers?: number;
  /** Skip the kubectl-validate (CEL) layer. CI always runs it. */
  skipCel?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
}

/** One rendered build checked by the schema layers: a cluster, or a management folder (cluster undefined). */
interface Unit {
  label: string;
  cluster?: string;
  objects: RenderedObject[];
  origins: (string | undefined)[];
  fallbackFile: string;
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

/** Generated files that differ from what the specs produce (someone edited generated/ or forgot `generate`). */
async function driftFindings(root: string, model: RepoModel, only: boolean): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const f of planRepo(model)) {
    if (f.mode !== "owned") continue;
    if (only && !f.path.startsWith("clusters/")) continue;
    const current = await readFile(path.join(root, f.path), "utf8").catch(() => undefined);
    if (current !== f.content) {
      const cluster = /^clusters\/([^/]+)\//.exec(f.path)?.[1];
      findings.push({ cluster, file: f.path, rule: "generated-drift", severity: "error", message: `${current === undefined ? "missing" : "differs from what the specs generate"}; run \`npm run generate\` and commit the result` });
    }
  }
  return findings;
}

async function renderManagement(root: string): Promise<{ units: Unit[]; findings: Finding[] }> {
  const units: Unit[] = [];
  const findings: Finding[] = [];
  for (const dir of MANAGEMENT_DIRS) {
    const kfile = `${dir}/kustomization.yaml`;
    if (!(await access(path.join(root, kfile)).then(() => true, () => false))) continue;
    try {
      const objects = parseYamlStream(await kustomizeBuild(root, dir)) as RenderedObject[];
      units.push({ label: dir.replace(/\//g, "-"), objects, origins: objects.map(() => undefined), fallbackFile: kfile });
    } catch (e) {
      if (!(e instanceof ToolError) || e instanceof ToolUnavailableError) throw e;
      findings.push({ file: kfile, rule: "kustomize-build", severity: "error", message: `kustomize build failed: ${(e.stderr || e.message).split("\n")[0]}` });
    }
  }
  return { units, findings };
}

/** kubeconform (structure) and kubectl-validate (CEL) over every unit, one process each. */
async function schemaFindings(root: string, units: Unit[], opts: { workers: number; skipCel?: boolean; onProgress?: ValidateOptions["onProgress"] }): Promise<Finding[]> {
  const findings: Finding[] = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-validate-"));
  try {
    const unitOf = new Map<string, Unit>();
    for (const u of units) {
      if (u.objects.length === 0) continue;
      const f = path.join(tmp, `${u.label}.yaml`);
      await writeFile(f, toYamlStream(u.objects.map(dropNulls)));
      unitOf.set(f, u);
    }
    const files = [...unitOf.keys()];
    const originOf = (u: Unit, kind: string, name: string) => {
      const i = u.objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
      return (i >= 0 ? u.origins[i] : undefined) ?? u.fallbackFile;
    };

    opts.onProgress?.("kubeconform", 0, files.length);
    const unserved = readUnserved(TOOL_ROOT);
    const invalid = new Set<string>();
    for (const r of await kubeconform(files, { cwd: root, schemaLocation: schemaLocation(TOOL_ROOT), workers: opts.workers })) {
      const u = unitOf.get(r.filename);
      if (!u || r.status === "statusValid" || r.status === "statusSkipped" || r.status === "statusEmpty") continue;
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
    opts.onProgress?.("kubeconform", files.length, files.length);

    // CEL (x-kubernetes-validations); objects kubeconform already rejected are not repeated.
    if (!opts.skipCel) {
      opts.onProgress?.("cel", 0, files.length);
      for (const [file, statuses] of Object.entries(await kubectlValidate(files, { cwd: root }))) {
        const u = unitOf.get(path.resolve(root, file)) ?? unitOf.get(file);
        if (!u) continue;
        statuses.forEach((s, i) => {
          const o = u.objects[i];
          if (s.status !== "Failure" || !o || invalid.has(`${u.label}/${o.kind}/${o.metadata.name}`)) return;
          const causes = s.details?.causes?.length ? s.details.causes : [{ field: undefined, message: s.message }];
          for (const c of causes)
            findings.push({ cluster: u.cluster, file: u.origins[i] ?? u.fallbackFile, path: `${o.kind}/${o.metadata.name}${c.field ? `:${c.field}` : ""}`, rule: "cel", severity: "error", message: c.message ?? "rejected" });
        });
      }
      opts.onProgress?.("cel", files.length, files.length);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return findings;
}

export async function validateCommand(opts: ValidateOptions): Promise<ValidateResult> {
  const root = path.resolve(opts.cwd);
  if (opts.changedSince !== undefined) {
    const affected = await affectedClusters(root, opts.changedSince);
    const selected = affected.clusters.filter((c) => !opts.clusters?.length || opts.clusters.includes(c));
    const management = affected.changedFiles.some((f) => f.startsWith("management/") || f === CONFIG_FILE);
    if (selected.length === 0 && !management) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
    return validateSelected({ ...opts, clusters: selected }, root, management);
  }
  return validateSelected(opts, root, !opts.clusters?.length);
}

async function validateSelected(opts: ValidateOptions, root: string, withManagement: boolean): Promise<ValidateResult> {
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const only = opts.clusters !== undefined && (opts.clusters.length > 0 || opts.changedSince !== undefined);
  const repo = await loadRepo(root, opts.clusters);
  const findings: Finding[] = repo.findings.filter((f) => !only || !f.cluster || opts.clusters!.includes(f.cluster));
  findings.push(...(await symlinkFindings(root)).filter((f) => !only || !f.cluster || opts.clusters!.includes(f.cluster)));
  // Render every cluster directory that has a spec, even a broken one (the directory is what syncs).
  const all = await clusterNames(root);
  const names = only ? all.filter((n) => opts.clusters!.includes(n)) : all;
  const specs = only ? repo.specs.filter((s) => names.includes(s.name)) : repo.specs;
  findings.push(...(await driftFindings(root, { specs, config: repo.config }, only)));
  const nsOf = new Map(repo.specs.map((s) => [s.name, s.namespace]));
  const { rendered, findings: renderFindings } = await renderClusters(root, names.map((name) => ({ name, namespace: nsOf.get(name) })), {
    workers,
    onProgress: (d, t) => opts.onProgress?.("kustomize", d, t),
  });
  findings.push(...renderFindings);
  const management = withManagement ? await renderManagement(root) : { units: [], findings: [] };
  findings.push(...management.findings);

  const units: Unit[] = [
    ...rendered.map((rc): Unit => ({ label: `cluster-${rc.cluster}`, cluster: rc.cluster, objects: rc.objects, origins: rc.origins, fallbackFile: `clusters/${rc.cluster}/kustomization.yaml` })),
    ...management.units,
  ];
  findings.push(...(await schemaFindings(root, units, { workers, skipCel: opts.skipCel, onProgress: opts.onProgress })));

  for (const rc of rendered as RenderedCluster[]) if (rc.objects.length) findings.push(...clusterRules(rc, `clusters/${rc.cluster}/kustomization.yaml`), ...syncSafetyRules(rc));
  findings.push(...fleetRules(rendered));
  for (const u of management.units) findings.push(...managementRules(u.objects, u.fallbackFile));

  const summary: Summary = {
    clusters: names.length,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
  return { findings, summary };
}
