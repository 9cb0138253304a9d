/**
 * Where things live in a GitOps repository: one module for every repository path the generator writes or reads,
 * so the layout is spelled once. Pure data and string functions (the plan imports it).
 */

/** The folder holding one folder per cluster. */
export const CLUSTERS_DIR = "clusters";
/** A cluster's spec file, inside its folder. */
export const SPEC_FILE = "cluster.yaml";
/** A cluster's own kustomization (scaffold: the user's to edit), inside its folder. */
export const CLUSTER_KUSTOMIZATION = "kustomization.yaml";

/** clusters/<name> */
export const clusterDir = (name: string): string => `${CLUSTERS_DIR}/${name}`;
/** The folder the generator owns inside a cluster's folder. */
export const GENERATED_DIR = "generated";
/** clusters/<name>/generated */
export const clusterGeneratedDir = (name: string): string => `${clusterDir(name)}/${GENERATED_DIR}`;
/** clusters/<name>/cluster.yaml */
export const clusterSpecPath = (name: string): string => `${clusterDir(name)}/${SPEC_FILE}`;
/** clusters/<name>/kustomization.yaml */
export const clusterKustomizationPath = (name: string): string => `${clusterDir(name)}/${CLUSTER_KUSTOMIZATION}`;

/** The cluster a repository path under clusters/<name>/ belongs to. */
export function clusterOfPath(p: string): string | undefined {
  return /^clusters\/([^/]+)\//.exec(p)?.[1];
}

/** The cluster whose spec file this repository path is (clusters/<name>/cluster.yaml), or undefined. */
export function clusterOfSpecPath(p: string): string | undefined {
  const m = /^clusters\/([^/]+)\/([^/]+)$/.exec(p);
  return m && m[2] === SPEC_FILE ? m[1] : undefined;
}

/** The management cluster's folders: the sync engine's manifests and the operator providers. */
export const SYNC_DIR = "management/sync";
/**
 * Argo CD only: the `argocd-cm` health customizations, a folder of their own synced by an Application of their own
 * (plan/sync.ts argoHealthObjects) — never by the bootstrap `kubectl apply -k management/sync`, which lists only
 * management/sync's own files.
 */
export const ARGO_HEALTH_DIR = `${SYNC_DIR}/argocd-health`;
/** A cluster's Flux Kustomization in the sync folder, relative to it (its kustomization.yaml lists it so). */
export const fluxClusterSyncFile = (name: string): string => `${CLUSTERS_DIR}/${name}.yaml`;
/** A cluster's Flux Kustomization: management/sync/clusters/<name>.yaml. */
export const fluxClusterSyncPath = (name: string): string => `${SYNC_DIR}/${fluxClusterSyncFile(name)}`;
export const PROVIDERS_DIR = "management/providers";
/**
 * The management cluster's charts, hydrated by `npm run management-charts` into these folders of the tool's own
 * checkout (generate copies them into a repository, like the add-ons): cert-manager, the cluster-api-operator.
 */
export const MANAGEMENT_CHART_DIRS = ["management/cert-manager", "management/cluster-api-operator"] as const;
/**
 * The clusters' AWS account identities (AWSClusterRoleIdentity / AWSClusterStaticIdentity, cluster-scoped), one per
 * distinct role or Secret, generated from the specs; present only when a cluster names an identity.
 */
export const IDENTITIES_DIR = "management/identities";
/** The AWS account prerequisites: clusterawsadm's AWSIAMConfiguration (not synced to any cluster). */
export const IAM_DIR = "management/iam";
export const IAM_CONFIG_FILE = `${IAM_DIR}/bootstrap.yaml`;

/**
 * Hydrated add-on payloads (written by `npm run addons`): addons/<addon>/<version>/, each included by the clusters
 * using it.
 */
export const ADDONS_DIR = "addons";
/** addons/<addon>/<version> */
export const addonDir = (addon: string, version: string): string => `${ADDONS_DIR}/${addon}/${version}`;

/**
 * What each rollout ring's clusters build from: releases/<ring>/ holds the shared folders (base/, the overlays) as
 * they were released to that ring (`npm run release`), so a change of base/ reaches no cluster until it is released.
 */
export const RELEASES_DIR = "releases";
/** releases/<ring> */
export const releaseDir = (ring: string): string => `${RELEASES_DIR}/${ring}`;
/** The record of a ring's release (its number and the digest of its files), inside releases/<ring>/. */
export const RELEASE_RECORD = "release.json";
