/**
 * `npm run validate [cluster...]`: specs (ajv + checks), drift of the generated files, one batched kustomize
 * render, kubeconform against schemas/kubeconform (one process, its own workers), kubectl-validate for the CRDs'
 * CEL rules, and our rules. Returns findings; the CLI decides the exit code.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../findings.js";
import { planRepo } from "../plan/repo.js";
import { clusterNames, loadRepo } from "../repo/load.js";
import { readUnserved, unservedMessage } from "../schemas/unserved.js";
import { schemaLocation } from "../schemas/layout.js";
import { kubeconform } from "../tools/kubeconform.js";
import { kubectlValidate } from "../tools/kubectl-validate.js";
import { TOOL_ROOT } from "../versions.js";
import { toYamlStream } from "../yaml.js";
import { clusterRules, fleetRules } from "../validate/rules.js";
import { renderClusters, type RenderedCluster } from "../validate/render.js";
import type { Summary } from "../validate/format.js";

export interface ValidateOptions {
  cwd: string;
  clusters?: string[];
  workers?: number;
  /** Skip the kubectl-validate (CEL) layer. CI always runs it. */
  skipCel?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
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
async function driftFindings(root: string, specs: Parameters<typeof planRepo>[0]["specs"], only: boolean): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const f of planRepo({ specs })) {
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

export async function validateCommand(opts: ValidateOptions): Promise<ValidateResult> {
  const root = path.resolve(opts.cwd);
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const repo = await loadRepo(root, opts.clusters);
  const findings: Finding[] = [...repo.findings];
  findings.push(...(await driftFindings(root, repo.specs, Boolean(opts.clusters?.length))));

  // Render every cluster directory that has a kustomization, even when its spec is broken (that is what syncs).
  const all = await clusterNames(root);
  const names = opts.clusters?.length ? all.filter((n) => opts.clusters!.includes(n)) : all;
  const nsOf = new Map(repo.specs.map((s) => [s.name, s.namespace]));
  const { rendered, findings: renderFindings } = await renderClusters(root, names.map((name) => ({ name, namespace: nsOf.get(name) })), {
    workers,
    onProgress: (d, t) => opts.onProgress?.("kustomize", d, t),
  });
  findings.push(...renderFindings);

  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-validate-"));
  try {
    const fileOf = new Map<string, RenderedCluster>();
    for (const rc of rendered) {
      if (rc.objects.length === 0) continue;
      const f = path.join(tmp, `${rc.cluster}.yaml`);
      await writeFile(f, toYamlStream(rc.objects.map(dropNulls)));
      fileOf.set(f, rc);
    }
    const files = [...fileOf.keys()];
    const originOf = (rc: RenderedCluster, kind: string, name: string) => {
      const i = rc.objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
      return (i >= 0 ? rc.origins[i] : undefined) ?? `clusters/${rc.cluster}/kustomization.yaml`;
    };

    // kubeconform: structural schema of every object, strict, against the pinned CRDs' schemas.
    opts.onProgress?.("kubeconform", 0, files.length);
    const unserved = readUnserved(TOOL_ROOT);
    const invalid = new Set<string>();
    for (const r of await kubeconform(files, { cwd: root, schemaLocation: schemaLocation(TOOL_ROOT), workers })) {
      const rc = fileOf.get(r.filename);
      if (!rc || r.status === "statusValid" || r.status === "statusSkipped" || r.status === "statusEmpty") continue;
      invalid.add(`${rc.cluster}/${r.kind}/${r.name}`);
      const base = { cluster: rc.cluster, file: originOf(rc, r.kind, r.name), severity: "error" as const };
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

    // CEL (x-kubernetes-validations) with kubectl-validate; objects kubeconform already rejected are not repeated.
    if (!opts.skipCel) {
      opts.onProgress?.("cel", 0, files.length);
      const results = await kubectlValidate(files, { cwd: root });
      for (const [file, statuses] of Object.entries(results)) {
        const rc = fileOf.get(path.resolve(root, file)) ?? fileOf.get(file);
        if (!rc) continue;
        statuses.forEach((s, i) => {
          const o = rc.objects[i];
          if (s.status !== "Failure" || !o || invalid.has(`${rc.cluster}/${o.kind}/${o.metadata.name}`)) return;
          const causes = s.details?.causes?.length ? s.details.causes : [{ field: undefined, message: s.message }];
          for (const c of causes)
            findings.push({ cluster: rc.cluster, file: rc.origins[i] ?? `clusters/${rc.cluster}/kustomization.yaml`, path: `${o.kind}/${o.metadata.name}${c.field ? `:${c.field}` : ""}`, rule: "cel", severity: "error", message: c.message ?? "rejected" });
        });
      }
      opts.onProgress?.("cel", files.length, files.length);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  for (const rc of rendered) if (rc.objects.length) findings.push(...clusterRules(rc, `clusters/${rc.cluster}/kustomization.yaml`));
  findings.push(...fleetRules(rendered));

  const summary: Summary = {
    clusters: names.length,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
  return { findings, summary };
}
