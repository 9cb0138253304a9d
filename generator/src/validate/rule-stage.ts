/**
 * The rule stage of validate: our rules — what no webhook does. Per cluster: references across objects, one namespace
 * per cluster, version skew across objects, zones in the region, CIDR overlaps, sync safety, secrets, add-on
 * coverage, images, what the cluster's own layer may add (validate/rules.ts, images.ts, addon-rules.ts,
 * user-layer.ts); objects outside every cluster's namespace. Across
 * the fleet: unique names and VPC CIDRs (fleetRules; another shard's clusters as their specs declare them). The
 * management folders and what the sync engine would do with them (validate/sync-check.ts).
 */
import type { RepoConfig } from "../cluster-spec/config.js";
import { ringOrderFindings } from "./ring-order.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { PlanError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { API, AWS_ACCOUNT_ANNOTATION } from "../k8s/capi.js";
import { identityClusterFields } from "../plan/identity.js";
import { objectNames, planCluster } from "../plan/cluster.js";
import {
  clusterDir,
  clusterKustomizationPath,
  clusterOfPath,
  clusterSpecPath,
  IDENTITIES_DIR,
  SPEC_FILE,
  SYNC_DIR,
} from "../core/layout.js";
import { MANAGEMENT_LAYERS } from "../plan/management.js";
import { versions } from "../pins/versions.js";
import { userLayerRules } from "./user-layer.js";
import { drainRules } from "./drain-rules.js";
import { poolRules } from "./pool-rules.js";
import { imageRules, type readImageInventory } from "./images.js";
import type { RenderedCluster } from "../render/render.js";
import { get, type K8sObject } from "../k8s/object.js";
import { finding } from "./rule.js";
import { stringOf } from "./read.js";
import { clusterRules, controlPlaneHaRule, renderCompleteness, syncSafetyRules } from "./rules.js";
import type { Shard } from "./selection.js";
import {
  applicationFindings,
  declaredApplications,
  fluxPermissionFindings,
  generatedApplications,
} from "./sync-check.js";

/**
 * Our per-cluster rules over one render (with origins when known, so findings name their files). `built`: the build
 * succeeded (a failed one has its build finding, and no objects to judge).
 */
export function clusterRuleFindings(
  rc: RenderedCluster,
  spec: ClusterSpec | undefined,
  images: ReturnType<typeof readImageInventory>,
  built = true,
): Finding[] {
  const bySpec = spec && built ? [...renderCompleteness(rc, spec), ...controlPlaneHaRule(rc, spec)] : [];
  if (rc.objects.length === 0) return bySpec;
  return [
    ...bySpec,
    ...clusterRules(rc, clusterKustomizationPath(rc.cluster)),
    ...syncSafetyRules(rc),
    ...imageRules(rc, images, spec?.profile, clusterSpecPath(rc.cluster)),
    ...(spec ? userLayerRules(rc, spec, versions(), clusterKustomizationPath(rc.cluster)) : []),
    ...drainRules(rc, spec?.profile, clusterKustomizationPath(rc.cluster)),
    ...poolRules(rc, spec?.profile, clusterKustomizationPath(rc.cluster)),
  ];
}

/**
 * Objects that live in no cluster's namespace (Argo CD's AppProject allows only the clusters' namespaces): reported
 * unless they come from the cluster's own directory (a deliberate addition of its owner). Needs origins.
 */
export function strayCandidates(rc: RenderedCluster, namespaces: ReadonlySet<string>): number[] {
  const out: number[] = [];
  rc.objects.forEach((o, i) => {
    const ns = o.kind === "Namespace" ? o.metadata?.name : o.metadata?.namespace;
    if (!ns || !namespaces.has(ns)) out.push(i);
  });
  return out;
}
export function strayFindings(rc: RenderedCluster, namespaces: ReadonlySet<string>): Finding[] {
  return strayCandidates(rc, namespaces)
    .filter((i) => !rc.origins[i]?.startsWith(`${clusterDir(rc.cluster)}/`))
    .flatMap((i) => {
      const o = rc.objects[i];
      if (!o) return [];
      return [
        finding(
          "attribution",
          { cluster: rc.cluster, file: rc.origins[i], path: `${o.kind}/${o.metadata?.name}` },
          `object in namespace "${o.metadata?.namespace ?? ""}" belongs to no cluster: each cluster's objects must ` +
            "live in its own namespace",
        ),
      ];
    });
}

/** What fleetRules reads of a cluster (its Cluster and AWSCluster), as its spec declares it. */
function declaredFacts(spec: ClusterSpec): RenderedCluster {
  const names = objectNames(spec);
  const metadata = { name: names.cluster, namespace: spec.namespace };
  const { account } = identityClusterFields(spec);
  const objects: K8sObject[] = [
    { apiVersion: API.core, kind: "Cluster", metadata },
    {
      apiVersion: API.infra,
      kind: "AWSCluster",
      metadata: account ? { ...metadata, annotations: { [AWS_ACCOUNT_ANNOTATION]: account } } : metadata,
      spec: { region: spec.region, network: { vpc: { cidrBlock: spec.network.vpcCidr } } },
    },
  ];
  return { cluster: spec.name, objects, origins: objects.map(() => undefined) };
}

/**
 * The clusters fleetRules compares: the run's own renders and, on a sharded run, every other cluster of the
 * selection — as its spec declares it when its own kustomization.yaml is still the generated scaffold, rendered
 * (`render`, from the cache when possible) otherwise. (The one difference to an unsharded run: a hand-edited
 * generated/ overlay of another shard's cluster is not seen here — its own shard reports it as drift, an error.)
 */
export async function fleetOf(
  rendered: readonly RenderedCluster[],
  input: {
    shard?: Shard;
    selection: readonly string[];
    /** Clusters outside the selection the fleet rules must also see (--changed-since: the unchanged ones), first. */
    others?: readonly string[];
    mine: ReadonlySet<string>;
    specs: readonly ClusterSpec[];
    read: (rel: string) => string | undefined;
    render: (clusters: readonly string[]) => Promise<RenderedCluster[]>;
  },
): Promise<readonly RenderedCluster[]> {
  const others = input.others ?? [];
  if (!input.shard && others.length === 0) return rendered;
  const specOf = new Map(input.specs.map((s) => [s.name, s]));
  // A spec that loaded with errors may not plan (a zone its region lacks): then its cluster is rendered.
  const scaffoldOf = (spec: ClusterSpec) => {
    try {
      return planCluster(spec, versions().addons).find((f) => f.path === clusterKustomizationPath(spec.name))?.content;
    } catch (e) {
      if (e instanceof PlanError) return undefined;
      throw e;
    }
  };
  const sample = input.specs[0];
  const scaffold = sample ? scaffoldOf(sample) : undefined;
  const facts = new Map<string, RenderedCluster>();
  const toRender: string[] = [];
  for (const n of [...input.selection, ...others]) {
    if (input.mine.has(n)) continue;
    const spec = specOf.get(n);
    const own = input.read(clusterKustomizationPath(n));
    if (spec && own !== undefined && (own === scaffold || own === scaffoldOf(spec))) facts.set(n, declaredFacts(spec));
    else toRender.push(n);
  }
  for (const rc of await input.render(toRender)) facts.set(rc.cluster, rc);
  const mineRendered = new Map(rendered.map((rc) => [rc.cluster, rc]));
  return [...others, ...input.selection].flatMap((n) => {
    const rc = mineRendered.get(n) ?? facts.get(n);
    return rc ? [rc] : [];
  });
}

/**
 * The sync engine's view (validate/sync-check.ts): for Argo CD every Application the ApplicationSet would make
 * from the spec files, and the bootstrap Application, each checked against its AppProject with what its source
 * renders; for Flux, the Kustomizations name exactly the validated clusters. Cluster findings for the clusters in
 * scope; the rest on the shared run.
 */
export function syncFindings(
  syncObjects: readonly K8sObject[],
  specFiles: ReadonlyMap<string, string>,
  specs: readonly ClusterSpec[],
  renderedOf: ReadonlyMap<string, RenderedCluster>,
  scope: { shared: boolean; inScope: (c: string) => boolean },
  config?: RepoConfig,
  specData?: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): Finding[] {
  const findings: Finding[] = [];
  const syncFile = `${SYNC_DIR}/kustomization.yaml`;
  const projects = syncObjects.filter((o) => o.kind === "AppProject");
  const generated = generatedApplications(syncObjects, specFiles, syncFile, specData);
  for (const f of generated.findings) {
    const cluster = clusterOfPath(f.file ?? "");
    if (cluster ? scope.inScope(cluster) : scope.shared) findings.push({ ...f, cluster });
  }
  for (const app of generated.apps) {
    const cluster = clusterOfPath(app.from);
    if (!cluster || !scope.inScope(cluster)) continue;
    const rc = app.path === clusterDir(cluster) ? renderedOf.get(cluster) : undefined;
    findings.push(...applicationFindings(app, projects, rc?.objects ?? [], { cluster, file: app.from }));
  }
  if (config) findings.push(...ringOrderFindings(syncObjects, generated.apps, specs, config, scope.inScope, syncFile));
  if (scope.shared)
    for (const app of declaredApplications(syncObjects))
      findings.push(
        ...applicationFindings(app, projects, app.path === SYNC_DIR ? syncObjects : [], { file: syncFile }),
      );
  // Flux: a Kustomization for each validated cluster and none for anything else.
  const validated = new Set(specs.map((s) => s.name));
  const fluxKustomizations = syncObjects.filter(
    (o) => o.kind === "Kustomization" && o.apiVersion?.startsWith("kustomize.toolkit.fluxcd.io/"),
  );
  /** The path a Flux Kustomization syncs, as the sync folder's layout writes it (no `./`, no trailing `/`). */
  const syncedPath = (o: K8sObject) =>
    stringOf(get(o, "spec.path") ?? "")
      .replace(/^\.\//, "")
      .replace(/\/$/, "");
  const fluxPaths = fluxKustomizations.map((o) => [o.metadata.name, syncedPath(o)] as const);
  for (const [name, p] of fluxPaths) {
    if (p === SYNC_DIR || p === IDENTITIES_DIR || MANAGEMENT_LAYERS.some((l) => l.dir === p)) continue;
    const c = /^clusters\/([^/]+)$/.exec(p)?.[1];
    if (c ? !validated.has(c) && scope.inScope(c) : scope.shared)
      findings.push(
        finding(
          "flux-kustomizations",
          { cluster: c, file: syncFile, path: `Kustomization/${name}:spec.path` },
          `syncs ./${p}, which is not a validated cluster (no valid clusters/<name>/${SPEC_FILE}); remove it from ` +
            `${SYNC_DIR} or add the cluster's spec, then run \`npm run generate\``,
        ),
      );
  }
  for (const k of fluxKustomizations) {
    const c = /^clusters\/([^/]+)$/.exec(syncedPath(k))?.[1];
    const rc = c && scope.inScope(c) ? renderedOf.get(c) : undefined;
    if (c && rc) findings.push(...fluxPermissionFindings(k, syncObjects, rc.objects, { cluster: c, file: syncFile }));
  }
  if (fluxPaths.length > 0 || syncObjects.some((o) => o.kind === "GitRepository"))
    for (const c of validated)
      if (scope.inScope(c) && !fluxPaths.some(([, p]) => p === clusterDir(c)))
        findings.push(
          finding(
            "flux-kustomizations",
            { cluster: c, file: syncFile },
            `no Flux Kustomization syncs ${clusterDir(c)}; run \`npm run generate\``,
          ),
        );
  return findings;
}
