/**
 * Stage 3 of validate: render. Every build the later stages check is a `Unit`: a cluster (clusters/<name>, many
 * per kustomize process, render/render.ts), a management folder (management/sync, management/providers) or an
 * add-on payload file (addons/<addon>/<version>/*.yaml). Builds come from the cache when every file they read is
 * unchanged (render/cache.ts); kustomize runs without origin annotations, and `addOrigins` builds again, with
 * them, only the clusters that have findings (so each finding names the file its object came from).
 */
import { access, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { messageOf } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { dependencies } from "../kustomize/walk.js";
import {
  ADDONS_DIR,
  ARGO_HEALTH_DIR,
  clusterDir,
  clusterKustomizationPath,
  IDENTITIES_DIR,
  PROVIDERS_DIR,
  SYNC_DIR,
} from "../core/layout.js";
import { parseKeptYamlStream } from "../core/yaml.js";
import type { RepoFiles, ValidateCache } from "./cache.js";
import type { K8sObject } from "../k8s/object.js";
import { isBuildFailure, type RenderedCluster } from "./render.js";
import { parseBuildOutput } from "../tools/kustomize.js";
import { remoteFindings } from "./remote.js";
import type { Runners } from "./runners.js";

/**
 * Repository folders (besides clusters/) that the management cluster applies; validated when present (Argo CD's
 * health customizations only with Argo CD).
 */
export const MANAGEMENT_DIRS = [SYNC_DIR, ARGO_HEALTH_DIR, PROVIDERS_DIR, IDENTITIES_DIR] as const;

/** One rendered build checked by the schema and admission layers: a cluster, a management folder or an add-on file. */
export interface Unit {
  label: string;
  /** Its cache entry: the cluster name, or "@" + the label otherwise. */
  cacheId: string;
  cluster?: string;
  objects: K8sObject[];
  origins: (string | undefined)[];
  fallbackFile: string;
  /**
   * Goes through kubectl-validate (the CRDs' CEL rules): the management folders (Argo CD, Flux and
   * cluster-api-operator CRDs, which the admission layer does not decode), and the clusters when the admission
   * layer is off. Not the add-on payloads (built-in kinds, no CRD CEL rules): kubectl-validate v0.0.4 checks every
   * name as a DNS subdomain, but the API server allows RBAC names such as `system:cloud-controller-manager`
   * (k8s.io/kubernetes pkg/apis/rbac/validation: ValidateRBACName = path.IsValidPathSegmentName).
   */
  cel: boolean;
}

export interface RenderContext {
  root: string;
  workers: number;
  runners: Runners;
  files: RepoFiles;
  cache?: ValidateCache;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/**
 * References that leave the repository (kustomize loads directories outside the root): the build reads what is not
 * in Git. Only the rendered clusters are walked: a cached one had none (such builds are never cached).
 */
function escapeFindings(clusters: readonly string[], files: RepoFiles): Finding[] {
  return clusters.flatMap((c) =>
    dependencies(clusterDir(c), (rel) => files.read(rel)).escapes.map((e) => ({
      cluster: c,
      file: e.file,
      rule: "no-path-escape",
      severity: "error" as const,
      message:
        `"${e.ref}" leads outside the repository: the build would read ` +
        `files that are not in Git (Argo CD and Flux do not have them); ` +
        `keep what a cluster's build reads in the repository`,
    })),
  );
}

/** Renders (or takes from the cache) clusters, in `list` order; failed builds are findings. */
export async function renderCached(
  ctx: RenderContext,
  list: readonly string[],
  stage: string,
): Promise<{ rendered: RenderedCluster[]; findings: Finding[] }> {
  const { cache } = ctx;
  const out = new Map<string, RenderedCluster>();
  const todo: string[] = [];
  for (const n of list) {
    const objects = cache?.rendered(n, clusterDir(n));
    if (objects) out.set(n, { cluster: n, objects, origins: objects.map(() => undefined) });
    else todo.push(n);
  }
  const closures = (await cache?.closures(todo.map(clusterDir))) ?? new Map<string, undefined>();
  // What another repository (a copy, a worktree) built from the same files is taken as it is.
  const build: string[] = [];
  for (const n of todo) {
    const objects = cache?.sharedRendered(n, clusterDir(n), closures.get(clusterDir(n)));
    if (objects) out.set(n, { cluster: n, objects, origins: objects.map(() => undefined) });
    else build.push(n);
  }
  const r = build.length
    ? await ctx.runners.renderClusters(
        ctx.root,
        build.map((name) => ({ name })),
        { workers: ctx.workers, origins: false, onProgress: (d, t) => ctx.onProgress?.(stage, d, t) },
      )
    : { rendered: [], findings: [] };
  const failed = new Set(r.findings.map((f) => f.cluster));
  for (const rc of r.rendered) {
    out.set(rc.cluster, rc);
    if (!failed.has(rc.cluster))
      cache?.storeRendered(rc.cluster, clusterDir(rc.cluster), closures.get(clusterDir(rc.cluster)), rc.objects);
  }
  return {
    rendered: list.flatMap((n) => out.get(n) ?? []),
    findings: [...r.findings, ...escapeFindings(build, ctx.files)],
  };
}

export function clusterUnit(rc: RenderedCluster, cel: boolean): Unit {
  return {
    label: `cluster-${rc.cluster}`,
    cacheId: rc.cluster,
    cluster: rc.cluster,
    objects: rc.objects,
    origins: rc.origins,
    fallbackFile: clusterKustomizationPath(rc.cluster),
    cel,
  };
}

/** The render of management/identities: besides the clusters, the one management folder the admission layer judges. */
export const isIdentitiesUnit = (u: Unit): boolean => u.label === IDENTITIES_DIR.replace(/\//g, "-");

/** The management folders that exist, each built (or taken from the cache); a failed build is a finding. */
export async function renderManagement(
  ctx: RenderContext,
  dirs: readonly string[] = MANAGEMENT_DIRS,
): Promise<{ units: Unit[]; findings: Finding[] }> {
  const units: Unit[] = [];
  const findings: Finding[] = [];
  for (const dir of dirs) {
    const kfile = `${dir}/kustomization.yaml`;
    if (
      !(await access(path.join(ctx.root, kfile)).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const label = dir.replace(/\//g, "-");
    const unit = (objects: K8sObject[]): Unit => ({
      label,
      cacheId: `@${label}`,
      objects,
      origins: objects.map(() => undefined),
      fallbackFile: kfile,
      cel: true,
    });
    const cached = ctx.cache?.rendered(`@${label}`, dir);
    if (cached) {
      units.push(unit(cached));
      continue;
    }
    const remote = remoteFindings(dir, (rel) => ctx.files.read(rel));
    if (remote.length) {
      findings.push(...remote);
      continue;
    }
    const closure = (await ctx.cache?.closures([dir]))?.get(dir);
    const shared = ctx.cache?.sharedRendered(`@${label}`, dir, closure);
    if (shared) {
      units.push(unit(shared));
      continue;
    }
    try {
      const objects = parseBuildOutput(await ctx.runners.kustomizeBuild(ctx.root, dir), dir);
      // An empty render would apply nothing and check nothing: what the folder is for is missing.
      if (objects.length === 0) {
        findings.push({
          file: kfile,
          rule: "render-complete",
          severity: "error",
          message:
            `${dir} renders no objects; it must hold what \`npm run generate\` ` +
            `writes there (run it, and keep its kustomization's resources)`,
        });
        continue;
      }
      ctx.cache?.storeRendered(`@${label}`, dir, closure, objects);
      units.push(unit(objects));
    } catch (e) {
      if (!isBuildFailure(e)) throw e;
      findings.push({
        file: kfile,
        rule: "kustomize-build",
        severity: "error",
        message: `kustomize build failed: ${(e.stderr || e.message).split("\n")[0]}`,
      });
    }
  }
  return { units, findings };
}

/**
 * The hydrated add-on manifests (addons/<addon>/<version>/*.yaml, `npm run addons`), one unit per file: what the
 * ClusterResourceSets apply to the workload clusters goes through kubeconform (Kubernetes OpenAPI) like everything
 * else; inside a ConfigMap kubeconform would see only a string.
 */
export async function addonUnits(root: string): Promise<{ units: Unit[]; findings: Finding[] }> {
  const units: Unit[] = [];
  const findings: Finding[] = [];
  const files = await readdir(path.join(root, ADDONS_DIR), { recursive: true }).catch((): string[] => []);
  for (const rel of files
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => f.endsWith(".yaml") && !f.endsWith("/kustomization.yaml"))
    .sort()) {
    const file = `${ADDONS_DIR}/${rel}`;
    try {
      // Taken as they are: a document that is no object is kubeconform's to report (like anything it is given).
      const objects = parseKeptYamlStream(await readFile(path.join(root, file), "utf8")) as K8sObject[];
      const label = file.replace(/[/.]/g, "-");
      units.push({
        label,
        cacheId: `@${label}`,
        objects,
        origins: objects.map(() => file),
        fallbackFile: file,
        cel: false,
      });
    } catch (e) {
      findings.push({
        file,
        rule: "addon-payload",
        severity: "error",
        message: `not a YAML stream: ${messageOf(e)}`,
      });
    }
  }
  return { units, findings };
}

const identityKey = (o: K8sObject): string =>
  JSON.stringify([o.apiVersion, o.kind, o.metadata?.namespace ?? "", o.metadata?.name]);

/**
 * The origins (source file of each object) and transformations (kustomizations that touched it) of `flagged`
 * clusters: one more build each, with kustomize's annotations, matched to the objects by identity. Updates the
 * clusters (and their units) in place.
 */
export async function addOrigins(
  ctx: RenderContext,
  flagged: readonly RenderedCluster[],
  unitOf: ReadonlyMap<string, Unit>,
): Promise<void> {
  if (flagged.length === 0) return;
  const withOrigins = await ctx.runners.renderClusters(
    ctx.root,
    flagged.map((rc) => ({ name: rc.cluster })),
    { workers: ctx.workers, origins: true },
  );
  for (const [i, rc] of withOrigins.rendered.entries()) {
    const target = flagged[i];
    if (target === undefined) continue;
    const byId = new Map(rc.objects.map((o, j) => [identityKey(o), rc.origins[j]]));
    target.origins = target.objects.map((o) => byId.get(identityKey(o)));
    const transformedBy = new Map(rc.objects.map((o, j) => [identityKey(o), rc.transformations?.[j]]));
    target.transformations = target.objects.map((o) => transformedBy.get(identityKey(o)));
    const u = unitOf.get(target.cluster);
    if (u) u.origins = target.origins;
  }
}
