/**
 * management/sync/: what makes Argo CD or Flux sync clusters/* into the management cluster, CAPI-safely:
 * - removing a cluster directory deletes its Application (ApplicationSet preserveResourcesOnDeletion) or its Flux
 *   Kustomization (deletionPolicy: Orphan) but never the CAPI/CAPA objects: deleting every object at once would
 *   leave AWS resources stuck; the supported way is deleting only the Cluster object (`npm run remove-cluster`);
 * - every generated object carries Prune=false,Delete=false (Argo CD) and prune: disabled (Flux) — see capi.ts;
 * - server-side apply; autoscaled replicas are ignored (Argo CD ignoreDifferences + RespectIgnoreDifferences).
 */
import type { RepoConfig } from "../cluster-spec/config.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { PlanError } from "../core/errors.js";
import { ARGO_SYNC_OPTIONS, FLUX_SSA } from "../core/vocabulary.js";
import { toYaml } from "../core/yaml.js";
import { GROUP } from "../k8s/capi.js";
import type {
  Application,
  ApplicationSet,
  AppProject,
  ClusterRole,
  ConfigMap,
  ClusterRoleBinding,
  GitRepository,
  Kustomization as FluxKustomization,
  Namespace,
  RoleBinding,
  ServiceAccount,
} from "../k8s/kinds.generated.js";
import {
  ARGO_HEALTH_DIR,
  CLUSTERS_DIR,
  clusterDir,
  IDENTITIES_DIR,
  fluxClusterSyncFile,
  fluxClusterSyncPath,
  SPEC_FILE,
  SYNC_DIR,
} from "../core/layout.js";
import { type OutputFile, owned } from "./files.js";
import { KUSTOMIZATION } from "./kustomize-objects.js";
import { syncSafe } from "./capi.js";
import { MANAGEMENT_DIR, MANAGEMENT_LAYERS, type ManagementLayer } from "./management.js";
import { PROVIDERS } from "../core/providers.js";
import { CERT_MANAGER_NAMESPACE, OPERATOR_NAMESPACE } from "../cluster-spec/reserved.js";
import { ARGO_HEALTH_KEY_PREFIX, healthChecks } from "./health-checks.js";
import { clustersByRing, defaultRing, ringOrder } from "../cluster-spec/rollout.js";
import { IDENTITY_GROUP_KINDS, IDENTITY_KINDS } from "./identity.js";

export const APPSET_NAME = "capi-clusters";
/** The files the ApplicationSet's git files generator reads, one Application each. */
export const CLUSTER_SPEC_GLOB = `${CLUSTERS_DIR}/*/${SPEC_FILE}`;
/** The spec's namespace, or (field absent) its default, the cluster's name = the directory's name. Never fails. */
export const NAMESPACE_PARAM = '{{ get . "namespace" | default .path.basename }}';
const PART_OF = { "app.kubernetes.io/part-of": "capi-gitops" };

/**
 * The kinds besides CAPI's own that a cluster's directory may sync into its namespace, and no others:
 * ClusterResourceSet + ConfigMap (the add-ons the management cluster applies to the workload cluster; the
 * ClusterResourceSetBindings are the controller's, not Git's), and the cluster-autoscaler's Deployment,
 * ServiceAccount, Role and RoleBinding (plan/autoscaler.ts).
 */
export const CLUSTER_NAMESPACE_KINDS: readonly { group: string; kind: string }[] = [
  { group: GROUP.addons, kind: "ClusterResourceSet" },
  { group: "", kind: "ConfigMap" },
  { group: "", kind: "ServiceAccount" },
  { group: "apps", kind: "Deployment" },
  { group: "rbac.authorization.k8s.io", kind: "Role" },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding" },
];

/**
 * The label on each cluster's Application that names its ring (cluster.yaml `rollout.ring`): the ApplicationSet's
 * RollingSync steps select on it.
 */
export const RING_LABEL = "capi-gitops.io/ring";
/**
 * The ring parameter of a cluster's spec file, as the ApplicationSet's template reads it: `rollout.ring`, else the last
 * ring (sprig's `dig`, in Argo CD's template functions: argo-cd v3.5.7 applicationset/utils/utils.go).
 */
export const ringParam = (config: RepoConfig): string => `{{ dig "rollout" "ring" "${defaultRing(config)}" . }}`;
/**
 * Rings order the sync only when there are two or more: with one ring (the default) every cluster syncs at once and
 * the sync manifests hold no ring label, step or dependency.
 */
export const ringsOrderSync = (config: RepoConfig): boolean => ringOrder(config).length > 1;

/**
 * Argo CD's progressive sync (argo-cd v3.5.7 docs/operator-manual/applicationset/Progressive-Syncs.md,
 * applicationset/progressivesync/progressive_sync.go): one RollingSync step per ring, selecting the Applications
 * whose RING_LABEL is the ring, in ring order, with the ring's maxUpdate. A step starts once every Application of
 * the steps before it is Healthy — with the generated health checks, once their Clusters are Available. The
 * controller then turns the Applications' automated sync off and syncs them itself (keeping automated.prune and the
 * retry), but only when progressive syncs are enabled in the ApplicationSet controller
 * (`applicationsetcontroller.enable.progressive.syncs`, argoProgressiveSyncs); without it the strategy is
 * ignored and every Application syncs on its own, at once.
 */
export function rollingSync(config: RepoConfig): ApplicationSet["spec"]["strategy"] {
  return {
    type: "RollingSync",
    rollingSync: {
      steps: ringOrder(config).map((ring) => ({
        matchExpressions: [{ key: RING_LABEL, operator: "In", values: [ring.name] }],
        ...(ring.maxUpdate === undefined ? {} : { maxUpdate: ring.maxUpdate }),
      })),
    },
  };
}

/** Kinds an autoscaler scales: their /spec/replicas belongs to it, not to Git. */
export const AUTOSCALED_KINDS = ["MachinePool", "MachineDeployment"] as const;

export function argoObjects(config: RepoConfig, specs: readonly ClusterSpec[]) {
  const a = config.argocd;
  const project = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name: a.project, namespace: a.namespace, labels: PART_OF },
    spec: {
      description: "Cluster API workload clusters, one Application per clusters/<name> (capi-gitops)",
      sourceRepos: [config.repoURL],
      // Least privilege: only the clusters' namespaces, only Namespaces cluster-wide, inside them the CAPI/CAPA
      // kinds and exactly the kinds the add-ons and the cluster-autoscaler add (CLUSTER_NAMESPACE_KINDS).
      destinations: [...new Set(specs.map((s) => s.namespace))]
        .sort()
        .map((namespace) => ({ server: a.destinationServer, namespace })),
      clusterResourceWhitelist: [{ group: "", kind: "Namespace" }],
      namespaceResourceWhitelist: [
        ...[GROUP.core, GROUP.infra, GROUP.bootstrap, GROUP.controlPlane].map((group) => ({ group, kind: "*" })),
        ...CLUSTER_NAMESPACE_KINDS,
      ],
    },
  } satisfies AppProject;
  const rings = ringsOrderSync(config);
  const appset = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: APPSET_NAME, namespace: a.namespace, labels: PART_OF },
    spec: {
      goTemplate: true,
      goTemplateOptions: ["missingkey=error"],
      // One Application per clusters/<dir>/cluster.yaml (not per directory: a directory without a spec is never
      // synced, and `validate` reports it). The spec's top-level fields are parameters: the destination namespace
      // is the spec's (its default, the cluster name, is the directory's name).
      generators: [{ git: { repoURL: config.repoURL, revision: config.branch, files: [{ path: CLUSTER_SPEC_GLOB }] } }],
      // A cluster directory that disappears deletes its Application, never the cluster's objects.
      syncPolicy: { preserveResourcesOnDeletion: true },
      // A change reaches the rings one after the other (rollingSync).
      strategy: rings ? rollingSync(config) : undefined,
      template: {
        // No resources-finalizer: deleting an Application never cascades to the CAPI objects.
        metadata: {
          name: "cluster-{{.path.basename}}",
          labels: rings ? { ...PART_OF, [RING_LABEL]: ringParam(config) } : PART_OF,
        },
        spec: {
          project: a.project,
          source: { repoURL: config.repoURL, targetRevision: config.branch, path: "{{.path.path}}" },
          destination: { server: a.destinationServer, namespace: NAMESPACE_PARAM },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            syncOptions: ["ServerSideApply=true", "RespectIgnoreDifferences=true", "CreateNamespace=false"],
            retry: CLUSTER_SYNC_RETRY,
          },
          ignoreDifferences: AUTOSCALED_KINDS.map((kind) => ({
            group: GROUP.core,
            kind,
            jsonPointers: ["/spec/replicas"],
          })),
        },
      },
    },
  } satisfies ApplicationSet;
  // The sync layer manages itself after one bootstrap apply (`kubectl apply -k management/sync`): this Application
  // syncs management/sync (the AppProjects, the ApplicationSet and itself). It has a project of its own that allows
  // only Argo CD's kinds in Argo CD's namespace: giving the clusters' project that destination would let any
  // cluster directory create Applications of any project.
  const syncProject = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name: syncProjectName(config), namespace: a.namespace, labels: PART_OF },
    spec: {
      description:
        "The capi-gitops sync layer itself (management/sync): only Argo CD's own objects, only in Argo CD's namespace",
      sourceRepos: [config.repoURL],
      destinations: [{ server: a.destinationServer, namespace: a.namespace }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [
        ...["AppProject", "ApplicationSet", "Application"].map((kind) => ({ group: "argoproj.io", kind })),
        // argocd-cm's health customizations (argoHealthObjects): a project cannot name one ConfigMap.
        { group: "", kind: "ConfigMap" },
      ],
    },
  } satisfies AppProject;
  // No prune: an AppProject or the ApplicationSet dropped from Git stays until removed by hand (the
  // ApplicationSet's preserveResourcesOnDeletion keeps the clusters either way). No resources finalizer.
  const bootstrap = unprunedApplication(config, SYNC_APP_NAME, syncProject.metadata.name, SYNC_DIR, a.namespace);
  return { project, appset, syncProject, bootstrap, health: argoHealthObjects(config, syncProject.metadata.name) };
}

/** The Application that syncs ARGO_HEALTH_DIR (argocd-cm's health customizations) into Argo CD's namespace. */
export const HEALTH_APP_NAME = "capi-gitops-health";
/** The ConfigMap Argo CD reads its settings from, in its namespace (argo-cd docs/operator-manual/argocd-cm.yaml). */
export const ARGOCD_CM = "argocd-cm";

/**
 * Argo CD's health checks for the CAPI/CAPA kinds (plan/health-checks.ts) merged into an existing `argocd-cm`:
 * - the ConfigMap holds only the `resource.customizations.health.<group>_<Kind>` keys and no labels (the install's
 *   `app.kubernetes.io/part-of: argocd` would be overwritten), and is applied only server-side, so each key is a
 *   field this Application owns and every other key stays with whoever wrote it. A client-side apply would compute
 *   deletions from a `last-applied-configuration` an earlier `kubectl apply` of argocd-cm left: it lives in a folder
 *   of its own (ARGO_HEALTH_DIR) that the client-side bootstrap `kubectl apply -k management/sync` never applies;
 * - `ClientSideApplyMigration=false`: by default Argo CD's server-side sync first hands every field the
 *   `kubectl-client-side-apply` manager owns to itself (argo-cd v3.5.7 docs/user-guide/sync-options.md), which would
 *   make keys someone applied client-side ours, and removed by the next apply that does not list them. kubectl's
 *   server-side apply (k8s.io/kubectl apply.go migrateToSSAIfNecessary) still does the same for the manager owning
 *   `last-applied-configuration`: README says how to convert such an argocd-cm first;
 * - Prune=false,Delete=false on the object, and no prune, no resources finalizer: removing the Application or the
 *   file never deletes argocd-cm.
 */
export function argoHealthObjects(config: RepoConfig, project: string) {
  const a = config.argocd;
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ARGOCD_CM,
      namespace: a.namespace,
      annotations: { [ARGO_SYNC_OPTIONS]: "Prune=false,Delete=false" },
    },
    data: Object.fromEntries(
      Object.entries(healthChecks().argo).map(([key, lua]) => [`${ARGO_HEALTH_KEY_PREFIX}${key}`, lua]),
    ),
  } satisfies ConfigMap;
  const application = unprunedApplication(config, HEALTH_APP_NAME, project, ARGO_HEALTH_DIR, a.namespace, undefined, [
    "ClientSideApplyMigration=false",
  ]);
  return { configMap, application, progressiveSyncs: argoProgressiveSyncs(config) };
}

/** Argo CD's command-line parameters ConfigMap (argo-cd v3.5.7 docs/operator-manual/argocd-cmd-params-cm.yaml). */
export const ARGOCD_CMD_PARAMS_CM = "argocd-cmd-params-cm";
/**
 * The key that turns progressive syncs on in the ApplicationSet controller (its deployment reads it into
 * ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_PROGRESSIVE_SYNCS: argo-cd v3.5.7
 * manifests/base/applicationset-controller/argocd-applicationset-controller-deployment.yaml).
 */
export const PROGRESSIVE_SYNCS_KEY = "applicationsetcontroller.enable.progressive.syncs";

/**
 * With rings, the one key of argocd-cmd-params-cm that enables the RollingSync strategy, merged server-side into the
 * existing ConfigMap beside argocd-cm (same Application, same reasons: only this key is ours, nothing is pruned). The
 * controller reads it when it starts: README says to restart it once.
 */
function argoProgressiveSyncs(config: RepoConfig): ConfigMap | undefined {
  if (!ringsOrderSync(config)) return undefined;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ARGOCD_CMD_PARAMS_CM,
      namespace: config.argocd.namespace,
      annotations: { [ARGO_SYNC_OPTIONS]: "Prune=false,Delete=false" },
    },
    data: { [PROGRESSIVE_SYNCS_KEY]: "true" },
  } satisfies ConfigMap;
}

/**
 * An Application in Argo CD's namespace that syncs `path` of the repository into `namespace` with server-side apply,
 * self-healing and never pruning (why not, at each caller); `retry` when given.
 */
function unprunedApplication(
  config: RepoConfig,
  name: string,
  project: string,
  path: string,
  namespace: string,
  retry?: typeof CLUSTER_SYNC_RETRY,
  moreSyncOptions: readonly string[] = [],
) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: config.argocd.namespace, labels: PART_OF },
    spec: {
      project,
      source: { repoURL: config.repoURL, targetRevision: config.branch, path },
      destination: { server: config.argocd.destinationServer, namespace },
      syncPolicy: {
        automated: { prune: false, selfHeal: true },
        syncOptions: ["ServerSideApply=true", "CreateNamespace=false", ...moreSyncOptions],
        ...(retry === undefined ? {} : { retry }),
      },
    },
  } satisfies Application;
}

/** The Application (Argo CD) or Kustomization (Flux) that syncs management/sync itself. */
export const SYNC_APP_NAME = "capi-gitops-sync";
/** The ServiceAccount (in Flux's namespace) the clusters' Flux Kustomizations apply as, and its ClusterRole's name. */
export const CLUSTERS_SERVICE_ACCOUNT = "capi-gitops-clusters";
export const syncProjectName = (config: RepoConfig): string => `${config.argocd.project}-sync`;

export function fluxObjects(config: RepoConfig, specs: readonly ClusterSpec[]) {
  const f = config.flux;
  const source = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: f.gitRepository, namespace: f.namespace, labels: PART_OF },
    spec: {
      interval: f.interval,
      url: config.repoURL,
      ref: { branch: config.branch },
      secretRef: f.secretRef ? { name: f.secretRef } : undefined,
    },
  } satisfies GitRepository;
  const rbac = fluxAccess(config, specs);
  const kustomizations = fluxClusterKustomizations(config, specs).map((k) => k.kustomization);
  // The sync layer manages itself after one bootstrap apply: this Kustomization syncs management/sync (the
  // GitRepository, every cluster's Kustomization and itself); a cluster's Kustomization dropped from Git is pruned,
  // which orphans (never deletes) the cluster's objects.
  const bootstrap = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: SYNC_APP_NAME, namespace: f.namespace, labels: PART_OF },
    spec: {
      interval: f.interval,
      path: `./${SYNC_DIR}`,
      sourceRef: { kind: "GitRepository", name: f.gitRepository },
      prune: true,
      deletionPolicy: "Orphan",
      wait: false,
      timeout: "5m",
    },
  } satisfies FluxKustomization;
  return { source, kustomizations, bootstrap, rbac };
}

/** The name of the Flux Kustomization that syncs a cluster's directory. */
export const fluxClusterName = (cluster: string): string => `cluster-${cluster}`;

/**
 * Each cluster's Flux Kustomization, in the order of `specs`, with the ring order as dependencies: a cluster of a ring
 * depends on every cluster of the nearest earlier ring that has clusters. kustomize-controller applies a
 * Kustomization only once each of its dependencies is Ready and has applied the revision of the same GitRepository
 * it is about to apply (kustomize-controller v1.9.6 internal/controller/kustomization_controller.go
 * checkDependencies), and a cluster's Kustomization is Ready at a revision only after its health checks passed at it
 * (`wait`: the Cluster Available). So a revision reaches ring n+1 only after every cluster of ring n is Available at
 * that revision; a ring whose cluster fails its checks (timeout, Degraded) holds every later ring. Edges run between
 * neighbouring rings only: the earlier rings are reached through them.
 */
function fluxClusterKustomizations(config: RepoConfig, specs: readonly ClusterSpec[]) {
  const after = new Map<string, string[]>();
  if (ringsOrderSync(config)) {
    let previous: string[] = [];
    for (const { clusters } of clustersByRing(specs, config)) {
      if (!clusters.length) continue;
      for (const s of clusters) after.set(s.name, previous);
      previous = clusters.map((s) => fluxClusterName(s.name));
    }
  }
  return specs.map((s) => ({ spec: s, kustomization: fluxClusterKustomization(config, s, after.get(s.name) ?? []) }));
}

/**
 * The Flux Kustomization that syncs one cluster's directory into its namespace, after the management layer and
 * the Kustomizations `after` (the previous ring's).
 */
function fluxClusterKustomization(config: RepoConfig, s: ClusterSpec, after: readonly string[]) {
  const f = config.flux;
  const last = MANAGEMENT_LAYERS.at(-1);
  if (!last) throw new PlanError("no management layer to wait for");
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: fluxClusterName(s.name), namespace: f.namespace, labels: PART_OF },
    spec: {
      interval: f.interval,
      path: `./${clusterDir(s.name)}`,
      sourceRef: { kind: "GitRepository", name: f.gitRepository },
      serviceAccountName: CLUSTERS_SERVICE_ACCOUNT,
      // Every namespaced object lands in the cluster's namespace, whatever the cluster's own layer says (the
      // ServiceAccount may write nowhere else either: fluxAccess).
      targetNamespace: s.namespace,
      // Applied only once the management layer is ready (cert-manager → operator → providers, fluxManagementObjects)
      // and, with rings, the previous ring's clusters are Available at this revision (fluxClusterKustomizations).
      dependsOn: [{ name: fluxLayerName(last.name) }, ...after.map((name) => ({ name }))],
      // prune removes objects dropped from Git, except the CAPI objects (annotated prune: disabled);
      // deleting this Kustomization (cluster directory removed) orphans everything instead of deleting it.
      prune: true,
      deletionPolicy: "Orphan",
      // Ready only once every object it applied is: the CAPI/CAPA kinds by healthCheckExprs (the Cluster Current
      // only when Available), the others by kstatus. The wait holds this Kustomization's reconcile (not applying
      // a newer revision) until then or the timeout, after which it is Ready=False and retried.
      wait: true,
      timeout: CLUSTER_WAIT_TIMEOUT,
      healthCheckExprs: healthChecks().flux,
    },
  } satisfies FluxKustomization;
}

/** How long a cluster's Flux Kustomization waits for its objects: a new CAPA cluster takes ~10–20 minutes on AWS. */
export const CLUSTER_WAIT_TIMEOUT = "30m";

const RBAC_API = "rbac.authorization.k8s.io";
/**
 * What applying and pruning needs; never bind, escalate or impersonate (the API server then refuses any grant the
 * role lacks).
 */
const FLUX_APPLY_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"] as const;
/** The ClusterRole (bound cluster-wide) that lets the clusters' ServiceAccount read Namespaces and patch their own. */
export const CLUSTERS_NAMESPACES_ROLE = `${CLUSTERS_SERVICE_ACCOUNT}-namespaces`;
/** Flux's server-side apply: create the object when absent, never patch it (the cluster's own render owns it then). */
const FLUX_IF_NOT_PRESENT = { [FLUX_SSA]: "IfNotPresent" };

/**
 * Least privilege for Flux, scoped like Argo CD's AppProject: the clusters' Kustomizations apply as the
 * ServiceAccount CLUSTERS_SERVICE_ACCOUNT in Flux's namespace (kustomize-controller impersonates
 * spec.serviceAccountName), which may
 * - in each cluster's namespace only (a RoleBinding there to the ClusterRole CLUSTERS_SERVICE_ACCOUNT): the CAPI/CAPA
 *   groups and exactly CLUSTER_NAMESPACE_KINDS, with FLUX_APPLY_VERBS — no Secrets, no bind/escalate, so the API
 *   server refuses a RoleBinding or Role granting more than that role (cluster-admin, Secrets);
 * - cluster-wide: read Namespaces, and patch/update only the clusters' own (resourceNames) — never create or delete
 *   one. The sync layer creates each cluster's Namespace (with its RoleBinding, `access/<cluster>.yaml`; created
 *   if absent, never patched or pruned) before the cluster's Kustomization applies into it.
 */
export function fluxAccess(config: RepoConfig, specs: readonly ClusterSpec[]) {
  const f = config.flux;
  const subject = { kind: "ServiceAccount", name: CLUSTERS_SERVICE_ACCOUNT, namespace: f.namespace };
  const namespaces = [...new Set(specs.map((s) => s.namespace))].sort();
  const serviceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: CLUSTERS_SERVICE_ACCOUNT, namespace: f.namespace, labels: PART_OF },
  } satisfies ServiceAccount;
  const clusterRole = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRole",
    metadata: { name: CLUSTERS_SERVICE_ACCOUNT, labels: PART_OF },
    rules: [
      {
        apiGroups: [GROUP.core, GROUP.infra, GROUP.bootstrap, GROUP.controlPlane],
        resources: ["*"],
        verbs: [...FLUX_APPLY_VERBS],
      },
      ...[...new Set(CLUSTER_NAMESPACE_KINDS.map((k) => k.group))].map((group) => ({
        apiGroups: [group],
        // The resource of each of these kinds is its lower-case plural (clusterresourcesets, configmaps, …).
        resources: CLUSTER_NAMESPACE_KINDS.filter((k) => k.group === group).map((k) => `${k.kind.toLowerCase()}s`),
        verbs: [...FLUX_APPLY_VERBS],
      })),
    ],
  } satisfies ClusterRole;
  const namespacesRole = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRole",
    metadata: { name: CLUSTERS_NAMESPACES_ROLE, labels: PART_OF },
    rules: [
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
      // An empty resourceNames would mean every namespace: the rule exists only with clusters.
      ...(namespaces.length
        ? [{ apiGroups: [""], resources: ["namespaces"], resourceNames: namespaces, verbs: ["patch", "update"] }]
        : []),
    ],
  } satisfies ClusterRole;
  const namespacesBinding = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: CLUSTERS_NAMESPACES_ROLE, labels: PART_OF },
    roleRef: { apiGroup: RBAC_API, kind: "ClusterRole", name: CLUSTERS_NAMESPACES_ROLE },
    subjects: [subject],
  } satisfies ClusterRoleBinding;
  const perCluster = specs.map((s) => ({
    cluster: s.name,
    namespace: syncSafe<Namespace>({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: s.namespace, labels: PART_OF, annotations: FLUX_IF_NOT_PRESENT },
    }),
    roleBinding: {
      apiVersion: `${RBAC_API}/v1`,
      kind: "RoleBinding",
      metadata: { name: CLUSTERS_SERVICE_ACCOUNT, namespace: s.namespace, labels: PART_OF },
      roleRef: { apiGroup: RBAC_API, kind: "ClusterRole", name: CLUSTERS_SERVICE_ACCOUNT },
      subjects: [subject],
    } satisfies RoleBinding,
  }));
  return { serviceAccount, clusterRole, namespacesRole, namespacesBinding, perCluster };
}

/** The ServiceAccount (in Flux's namespace) the identities' Kustomization applies as, and its ClusterRole's name. */
export const IDENTITIES_SERVICE_ACCOUNT = "capi-gitops-identities";
/** The Flux Kustomization that syncs management/identities (named like the management layers'). */
export const fluxIdentitiesName = (): string => `${MANAGEMENT_APP_NAME}-identities`;

/**
 * Flux and the clusters' identities (management/identities): their Kustomization applies as IDENTITIES_SERVICE_ACCOUNT,
 * whose ClusterRole allows exactly the identity kinds the generator writes (IDENTITY_KINDS) — an identity is
 * cluster-scoped and decides which AWS account CAPA acts in, so neither the clusters' ServiceAccount (namespaced kinds
 * only) nor kustomize-controller's own identity applies it. It runs after the providers (CAPA serves the CRDs); the
 * ServiceAccount, its rights and the Kustomization exist only while a cluster names an identity (the folder exists
 * only then).
 */
export function fluxIdentitiesObjects(config: RepoConfig) {
  const f = config.flux;
  const serviceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: IDENTITIES_SERVICE_ACCOUNT, namespace: f.namespace, labels: PART_OF },
  } satisfies ServiceAccount;
  const clusterRole = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRole",
    metadata: { name: IDENTITIES_SERVICE_ACCOUNT, labels: PART_OF },
    rules: [
      {
        apiGroups: [GROUP.infra],
        resources: IDENTITY_KINDS.map((k) => `${k.toLowerCase().replace(/y$/, "ie")}s`),
        verbs: [...FLUX_APPLY_VERBS],
      },
    ],
  } satisfies ClusterRole;
  const binding = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: IDENTITIES_SERVICE_ACCOUNT, labels: PART_OF },
    roleRef: { apiGroup: RBAC_API, kind: "ClusterRole", name: IDENTITIES_SERVICE_ACCOUNT },
    subjects: [{ kind: "ServiceAccount", name: IDENTITIES_SERVICE_ACCOUNT, namespace: f.namespace }],
  } satisfies ClusterRoleBinding;
  const last = MANAGEMENT_LAYERS[MANAGEMENT_LAYERS.length - 1];
  const kustomization = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: fluxIdentitiesName(), namespace: f.namespace, labels: PART_OF },
    spec: {
      interval: f.interval,
      path: `./${IDENTITIES_DIR}`,
      sourceRef: { kind: "GitRepository", name: f.gitRepository },
      serviceAccountName: IDENTITIES_SERVICE_ACCOUNT,
      dependsOn: last ? [{ name: fluxLayerName(last.name) }] : undefined,
      prune: true,
      deletionPolicy: "Orphan",
      wait: true,
      timeout: "5m",
    },
  } satisfies FluxKustomization;
  return { serviceAccount, clusterRole, binding, kustomization };
}

export function planSync(config: RepoConfig, specs: readonly ClusterSpec[]): OutputFile[] {
  const header =
    `# Generated by \`npm run generate\` from capi-gitops.yaml (gitops: ${config.gitops}). ` +
    `Bootstrap once: kubectl apply -k ${SYNC_DIR}; ` +
    `from then on ${SYNC_APP_NAME} syncs this folder and clusters/* from ${config.branch}.`;
  if (config.gitops === "argocd") {
    const { project, appset, syncProject, bootstrap, health } = argoObjects(config, specs);
    const management = argoManagementObjects(config);
    const params = health.progressiveSyncs;
    return [
      owned(`${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`, toYaml(health.configMap)),
      ...(params ? [owned(`${ARGO_HEALTH_DIR}/${ARGOCD_CMD_PARAMS_CM}.yaml`, toYaml(params))] : []),
      owned(
        `${ARGO_HEALTH_DIR}/kustomization.yaml`,
        toYaml(
          {
            ...KUSTOMIZATION,
            resources: [`${ARGOCD_CM}.yaml`, ...(params ? [`${ARGOCD_CMD_PARAMS_CM}.yaml`] : [])],
          },
          `# Generated by \`npm run generate\`: Argo CD's health checks for the CAPI/CAPA kinds, merged into ` +
            `${ARGOCD_CM}${params ? ` (and ${PROGRESSIVE_SYNCS_KEY} into ${ARGOCD_CMD_PARAMS_CM})` : ""} by the ` +
            `Application ${HEALTH_APP_NAME} (server-side apply only; never kubectl apply -k).`,
        ),
      ),
      owned(`${SYNC_DIR}/appproject.yaml`, toYaml(project)),
      owned(`${SYNC_DIR}/applicationset.yaml`, toYaml(appset)),
      owned(`${SYNC_DIR}/sync-appproject.yaml`, toYaml(syncProject)),
      owned(`${SYNC_DIR}/sync-application.yaml`, toYaml(bootstrap)),
      owned(`${SYNC_DIR}/management-appproject.yaml`, toYaml(management.project)),
      owned(`${SYNC_DIR}/management-application.yaml`, toYaml(management.application)),
      owned(`${SYNC_DIR}/health-application.yaml`, toYaml(health.application)),
      owned(
        `${SYNC_DIR}/kustomization.yaml`,
        toYaml(
          {
            ...KUSTOMIZATION,
            resources: [
              "appproject.yaml",
              "applicationset.yaml",
              "sync-appproject.yaml",
              "sync-application.yaml",
              "management-appproject.yaml",
              "management-application.yaml",
              "health-application.yaml",
            ],
          },
          header,
        ),
      ),
    ];
  }
  const { source, bootstrap, rbac } = fluxObjects(config, specs);
  const identities = specs.some((s) => s.identity !== undefined) ? fluxIdentitiesObjects(config) : undefined;
  const access = [
    ...(identities
      ? [
          owned(
            `${SYNC_DIR}/identities-access.yaml`,
            [identities.serviceAccount, identities.clusterRole, identities.binding].map((o) => toYaml(o)).join("---\n"),
          ),
          owned(`${SYNC_DIR}/${fluxIdentitiesName()}.yaml`, toYaml(identities.kustomization)),
        ]
      : []),
    owned(`${SYNC_DIR}/clusters-serviceaccount.yaml`, toYaml(rbac.serviceAccount)),
    owned(`${SYNC_DIR}/clusters-clusterrole.yaml`, toYaml(rbac.clusterRole)),
    owned(`${SYNC_DIR}/clusters-namespaces-clusterrole.yaml`, toYaml(rbac.namespacesRole)),
    owned(`${SYNC_DIR}/clusters-namespaces-clusterrolebinding.yaml`, toYaml(rbac.namespacesBinding)),
    ...rbac.perCluster.map((a) =>
      owned(`${SYNC_DIR}/access/${a.cluster}.yaml`, [a.namespace, a.roleBinding].map((o) => toYaml(o)).join("---\n")),
    ),
  ];
  return [
    owned(`${SYNC_DIR}/gitrepository.yaml`, toYaml(source)),
    ...access,
    owned(`${SYNC_DIR}/sync-kustomization.yaml`, toYaml(bootstrap)),
    ...fluxManagementObjects(config).map((k) => owned(`${SYNC_DIR}/${k.metadata.name}.yaml`, toYaml(k))),
    ...fluxClusterKustomizations(config, specs).map((k) =>
      owned(fluxClusterSyncPath(k.spec.name), toYaml(k.kustomization)),
    ),
    owned(
      `${SYNC_DIR}/kustomization.yaml`,
      toYaml(
        {
          ...KUSTOMIZATION,
          resources: [
            "gitrepository.yaml",
            ...access.map((f) => f.path.slice(SYNC_DIR.length + 1)),
            "sync-kustomization.yaml",
            ...fluxManagementObjects(config).map((k) => `${k.metadata.name}.yaml`),
            ...specs.map((s) => fluxClusterSyncFile(s.name)),
          ],
        },
        header,
      ),
    ),
  ];
}

// --- The management layer: cert-manager → cluster-api-operator → providers → clusters ------------------------------

/**
 * The cluster Applications retry: Argo CD has no health check for the operator's provider objects (no
 * resource_customizations/operator.cluster.x-k8s.io in argo-cd v3.5.7), so nothing holds the clusters back until the
 * providers serve their CRDs and webhooks — a cluster synced before that fails, and retries until they do (Argo CD
 * retries a failed automated sync only with syncPolicy.retry; argo-cd docs/user-guide/auto_sync.md).
 */
export const CLUSTER_SYNC_RETRY = { limit: 20, backoff: { duration: "30s", factor: 2, maxDuration: "10m" } } as const;

/** The Application (Argo CD) that syncs the management layer; with Flux, the prefix of the layers' Kustomizations. */
export const MANAGEMENT_APP_NAME = "capi-gitops-management";
const managementProjectName = (config: RepoConfig): string => `${config.argocd.project}-management`;
export const fluxLayerName = (layer: ManagementLayer["name"]): string => `${MANAGEMENT_APP_NAME}-${layer}`;

/**
 * What the management layer holds (plan/management.ts; the charts hydrated by `npm run management-charts`, the
 * providers of plan/providers.ts): the namespaces it writes to (cert-manager's leader election lives in kube-system)
 * and its kinds. The management AppProject allows exactly these; generator/test/management.test.ts checks every
 * hydrated object against it with Argo CD's own matching (validate/argo-project.ts).
 */
const MANAGEMENT_NAMESPACES = [
  ...new Set([CERT_MANAGER_NAMESPACE, OPERATOR_NAMESPACE, ...PROVIDERS.map((p) => p.namespace), "kube-system"]),
].sort();
const MANAGEMENT_CLUSTER_KINDS = [
  { group: "", kind: "Namespace" },
  { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition" },
  { group: "rbac.authorization.k8s.io", kind: "ClusterRole" },
  { group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding" },
  { group: "admissionregistration.k8s.io", kind: "MutatingWebhookConfiguration" },
  { group: "admissionregistration.k8s.io", kind: "ValidatingWebhookConfiguration" },
  // The clusters' identities (management/identities, plan/identity.ts): exactly the kinds the generator writes.
  ...IDENTITY_GROUP_KINDS,
];
const MANAGEMENT_NAMESPACED_KINDS = [
  { group: "", kind: "ConfigMap" },
  { group: "", kind: "Service" },
  { group: "", kind: "ServiceAccount" },
  { group: "apps", kind: "Deployment" },
  { group: "rbac.authorization.k8s.io", kind: "Role" },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding" },
  { group: "cert-manager.io", kind: "Certificate" },
  { group: "cert-manager.io", kind: "Issuer" },
  ...[...new Set(PROVIDERS.map((p) => p.kind))].map((kind) => ({ group: "operator.cluster.x-k8s.io", kind })),
];

/**
 * Argo CD: one Application over management/ (management/kustomization.yaml: the layers), in sync waves — a wave
 * starts once every resource of the previous one is healthy (argo-cd v3.5.7 docs/user-guide/sync-waves.md; Deployments
 * rolled out, CRDs established, cert-manager Certificates ready by resource_customizations/cert-manager.io). It has
 * its own AppProject: installing CRDs, webhooks and ClusterRoles is an administrator's act, which the clusters'
 * project must never allow. Synced by capi-gitops-sync like the rest of management/sync.
 */
export function argoManagementObjects(config: RepoConfig) {
  const a = config.argocd;
  const project = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name: managementProjectName(config), namespace: a.namespace, labels: PART_OF },
    spec: {
      description:
        "The management cluster's own layer (management/: cert-manager, the cluster-api-operator, the providers)" +
        " — capi-gitops",
      sourceRepos: [config.repoURL],
      destinations: MANAGEMENT_NAMESPACES.map((namespace) => ({ server: a.destinationServer, namespace })),
      clusterResourceWhitelist: MANAGEMENT_CLUSTER_KINDS,
      namespaceResourceWhitelist: MANAGEMENT_NAMESPACED_KINDS,
    },
  } satisfies AppProject;
  // Never prune (every object also says Prune=false): a pruned CRD takes every object of its kind with it.
  // Server-side apply: cert-manager's CRDs are larger than client-side apply's annotation allows.
  const application = unprunedApplication(
    config,
    MANAGEMENT_APP_NAME,
    project.metadata.name,
    MANAGEMENT_DIR,
    OPERATOR_NAMESPACE,
    CLUSTER_SYNC_RETRY,
  );
  return { project, application };
}

/**
 * Flux: one Kustomization per layer, each waiting for its objects to be ready (wait: kstatus — Deployments available,
 * CRDs established, the providers' Ready condition) and depending on the previous layer; the clusters' Kustomizations
 * depend on the last (fluxObjects). kustomize-controller's own identity applies them (the layer installs CRDs and
 * cluster RBAC; the clusters' least-privilege ServiceAccount must not).
 */
export function fluxManagementObjects(config: RepoConfig) {
  const f = config.flux;
  return MANAGEMENT_LAYERS.map((layer, i) => {
    const previous = i === 0 ? undefined : MANAGEMENT_LAYERS[i - 1];
    return {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: fluxLayerName(layer.name), namespace: f.namespace, labels: PART_OF },
      spec: {
        interval: f.interval,
        path: `./${layer.dir}`,
        sourceRef: { kind: "GitRepository", name: f.gitRepository },
        dependsOn: previous === undefined ? undefined : [{ name: fluxLayerName(previous.name) }],
        prune: true,
        deletionPolicy: "Orphan",
        wait: true,
        timeout: "10m",
      },
    } satisfies FluxKustomization;
  });
}
