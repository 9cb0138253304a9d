/**
 * The health checks the sync engine applies (plan/health-checks.ts, delivered by plan/sync.ts), read back from the
 * render of management/sync — what Argo CD or Flux would get, not what the generator meant:
 * - `health-checks-present`: Argo CD: an Application syncs the argocd-health folder server-side without client-side
 *   apply migration, and its `argocd-cm` holds a health script for every kind; Flux: every cluster's Kustomization
 *   waits (`wait: true`, a `timeout`) with a `healthCheckExprs` entry for every kind.
 * - `health-checks-valid`: every script parses and every expression compiles, as capi-gitops-health `check` finds
 *   (the caller runs it: validate/pipeline.ts, stage "health").
 * Pure: the caller passes the rendered objects and the program's problems.
 */
import type { Finding } from "../core/findings.js";
import { ARGO_HEALTH_DIR, fluxClusterSyncPath, SYNC_DIR } from "../core/layout.js";
import { ARGO_SYNC_OPTIONS } from "../core/vocabulary.js";
import { get, groupOf, isRecord, type K8sObject, list } from "../k8s/object.js";
import {
  ARGO_HEALTH_KEY_PREFIX,
  argoHealthKey,
  type FluxHealthExpr,
  HEALTH_KINDS,
  type HealthChecks,
} from "../plan/health-checks.js";
import { ARGOCD_CM } from "../plan/sync.js";
import type { HealthProblem } from "../tools/health.js";
import { defineRule, finding } from "./rule.js";

/** Where a finding about the checks points. */
interface Where {
  cluster?: string;
  file: string;
  path: string;
}

/** One set of checks as an engine reads it, with where each key came from. */
export interface RenderedHealth {
  checks: HealthChecks;
  /** `<group>_<Kind>` (Argo CD) or `<apiVersion>/<Kind>` (Flux) → where it is written. */
  where: Map<string, Where>;
  /** Where a problem without a known key is reported. */
  at: Where;
}

interface HealthContext {
  engine: "argocd" | "flux";
  syncObjects: readonly K8sObject[];
  /** The render of ARGO_HEALTH_DIR (Argo CD; empty when the folder is missing). */
  healthObjects: readonly K8sObject[];
  /** Is a finding of this cluster (undefined: the shared sync folder) reported in this run? */
  inScope: (cluster: string | undefined) => boolean;
  report: (where: Where, message: string) => void;
}

const SYNC_FILE = `${SYNC_DIR}/kustomization.yaml`;
const HEALTH_FILE = `${ARGO_HEALTH_DIR}/kustomization.yaml`;
/** The file plan/sync.ts writes argocd-cm to. */
const CM_FILE = `${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`;
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const isArgo = (o: K8sObject, kind: string) => o.kind === kind && groupOf(o.apiVersion) === "argoproj.io";
const isFluxKustomization = (o: K8sObject) =>
  o.kind === "Kustomization" && groupOf(o.apiVersion) === "kustomize.toolkit.fluxcd.io";
/** The cluster a Flux Kustomization syncs (`./clusters/<name>`), if it syncs one. */
const clusterOfKustomization = (o: K8sObject): string | undefined =>
  /^(?:\.\/)?clusters\/([^/]+)\/?$/.exec(str(get(o, "spec.path")))?.[1];
const fluxKey = (e: { apiVersion: string; kind?: string }): string => `${e.apiVersion}/${e.kind ?? ""}`;

/** The Application that syncs the argocd-health folder, if one does. */
const healthApplication = (objects: readonly K8sObject[]): K8sObject | undefined =>
  objects.find(
    (o) =>
      isArgo(o, "Application") &&
      str(get(o, "spec.source.path")).replace(/^\.\//, "").replace(/\/$/, "") === ARGO_HEALTH_DIR,
  );
const argocdCm = (objects: readonly K8sObject[]): K8sObject | undefined =>
  objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ARGOCD_CM);

const healthChecksPresent = defineRule<HealthContext>(
  "health-checks-present",
  ({ engine, syncObjects, healthObjects, inScope, report }) => {
    if (engine === "argocd") {
      if (!inScope(undefined)) return;
      const app = healthApplication(syncObjects);
      if (!app) {
        report(
          { file: SYNC_FILE, path: "resources" },
          `no Application syncs ${ARGO_HEALTH_DIR}: Argo CD never gets the health checks of the CAPI/CAPA kinds ` +
            "(run `npm run generate`)",
        );
        return;
      }
      const options = list(get(app, "spec.syncPolicy.syncOptions")).map(str);
      const appPath = `Application/${app.metadata.name}:spec.syncPolicy.syncOptions`;
      if (!options.includes("ServerSideApply=true"))
        report(
          { file: `${SYNC_DIR}/health-application.yaml`, path: appPath },
          `must hold ServerSideApply=true: a client-side apply of the partial ${ARGOCD_CM} deletes the keys a ` +
            "previous `kubectl apply` of it listed",
        );
      if (!options.includes("ClientSideApplyMigration=false"))
        report(
          { file: `${SYNC_DIR}/health-application.yaml`, path: appPath },
          `must hold ClientSideApplyMigration=false: the migration makes Argo CD own ${ARGOCD_CM}'s client-side ` +
            "applied keys, and its next server-side apply removes them",
        );
      const cm = argocdCm(healthObjects);
      if (!cm) {
        report(
          { file: HEALTH_FILE, path: "resources" },
          `renders no ConfigMap ${ARGOCD_CM} (run \`npm run generate\`)`,
        );
        return;
      }
      const annotations = get(cm, "metadata.annotations");
      const syncOptions = isRecord(annotations) ? str(annotations[ARGO_SYNC_OPTIONS]) : "";
      if (!syncOptions.includes("Prune=false") || !syncOptions.includes("Delete=false"))
        report(
          { file: CM_FILE, path: `ConfigMap/${ARGOCD_CM}:metadata.annotations` },
          `must carry ${ARGO_SYNC_OPTIONS}: Prune=false,Delete=false (never delete Argo CD's own settings)`,
        );
      const data = get(cm, "data");
      for (const k of HEALTH_KINDS) {
        const key = `${ARGO_HEALTH_KEY_PREFIX}${argoHealthKey(k)}`;
        if (!isRecord(data) || typeof data[key] !== "string" || data[key] === "")
          report(
            { file: CM_FILE, path: `ConfigMap/${ARGOCD_CM}:data` },
            `has no ${key}: Argo CD would judge ${k.kind} by its built-in check or none (run \`npm run generate\`)`,
          );
      }
      return;
    }
    for (const o of syncObjects.filter(isFluxKustomization)) {
      const cluster = clusterOfKustomization(o);
      if (cluster === undefined || !inScope(cluster)) continue;
      const at = (field: string): Where => ({
        cluster,
        file: fluxClusterSyncPath(cluster),
        path: `Kustomization/${o.metadata.name}:${field}`,
      });
      if (get(o, "spec.wait") !== true)
        report(at("spec.wait"), "must be true: without it the Kustomization is Ready before its cluster is Available");
      if (!str(get(o, "spec.timeout")))
        report(at("spec.timeout"), "must be set: how long the wait for the cluster's objects may take");
      const exprs = list(get(o, "spec.healthCheckExprs"));
      for (const k of HEALTH_KINDS)
        if (!exprs.some((e) => groupOf(str(get(e, "apiVersion"))) === k.group && str(get(e, "kind")) === k.kind))
          report(
            at("spec.healthCheckExprs"),
            `has no entry for ${k.group}/${k.kind}: Flux would call it Current by kstatus once observedGeneration ` +
              "matches (run `npm run generate`)",
          );
    }
  },
);

/**
 * The checks the engine would load, read back from the render: Argo CD's argocd-cm keys, or each distinct
 * `healthCheckExprs` list of the Flux Kustomizations in scope (Flux builds one evaluator per Kustomization).
 */
export function renderedHealth(
  engine: "argocd" | "flux",
  syncObjects: readonly K8sObject[],
  healthObjects: readonly K8sObject[],
  inScope: (cluster: string | undefined) => boolean = () => true,
): RenderedHealth[] {
  if (engine === "argocd") {
    if (!inScope(undefined)) return [];
    const cm = argocdCm(healthObjects);
    const data = cm ? get(cm, "data") : undefined;
    if (!isRecord(data)) return [];
    const argo: Record<string, string> = {};
    const where = new Map<string, Where>();
    for (const [k, v] of Object.entries(data)) {
      if (!k.startsWith(ARGO_HEALTH_KEY_PREFIX)) continue;
      const key = k.slice(ARGO_HEALTH_KEY_PREFIX.length);
      argo[key] = str(v);
      where.set(key, { file: CM_FILE, path: `ConfigMap/${ARGOCD_CM}:data.${k}` });
    }
    return [{ checks: { argo, flux: [] }, where, at: { file: CM_FILE, path: `ConfigMap/${ARGOCD_CM}:data` } }];
  }
  const sets = new Map<string, RenderedHealth>();
  for (const o of syncObjects.filter(isFluxKustomization)) {
    const cluster = clusterOfKustomization(o);
    if (!inScope(cluster)) continue;
    const flux: FluxHealthExpr[] = list(get(o, "spec.healthCheckExprs")).map((e) => ({
      apiVersion: str(get(e, "apiVersion")),
      kind: str(get(e, "kind")),
      current: str(get(e, "current")),
      ...(typeof get(e, "inProgress") === "string" ? { inProgress: str(get(e, "inProgress")) } : {}),
      ...(typeof get(e, "failed") === "string" ? { failed: str(get(e, "failed")) } : {}),
    }));
    if (flux.length === 0) continue;
    const id = JSON.stringify(flux);
    if (sets.has(id)) continue;
    const file = cluster === undefined ? SYNC_FILE : fluxClusterSyncPath(cluster);
    const at = { cluster, file, path: `Kustomization/${o.metadata.name}:spec.healthCheckExprs` };
    const where = new Map(flux.map((e, i) => [fluxKey(e), { ...at, path: `${at.path}[${i}]` }]));
    sets.set(id, { checks: { argo: {}, flux }, where, at });
  }
  return [...sets.values()];
}

/** `health-checks-present` over the render. */
export function healthPresenceFindings(ctx: Omit<HealthContext, "report">): Finding[] {
  const findings: Finding[] = [];
  healthChecksPresent.check({
    ...ctx,
    report: (where, message) => findings.push(finding(healthChecksPresent.id, where, message)),
  });
  return findings;
}

/** `health-checks-valid`: capi-gitops-health `check`'s problems of one rendered set, where they are written. */
export function healthProblemFindings(set: RenderedHealth, problems: readonly HealthProblem[]): Finding[] {
  return problems.map((p) =>
    finding(
      "health-checks-valid",
      set.where.get(p.key) ?? set.at,
      `${p.engine === "argo" ? "Argo CD" : "Flux"} would not load the health check ${p.key}: ${p.message}`,
    ),
  );
}
