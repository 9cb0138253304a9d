/**
 * The pure middle: the repository model and the pinned versions in, every planned file and the roots the generator
 * owns out. No fs, no processes, no git.
 */
import { type RepoConfig, repoConfigSchema } from "../cluster-spec/config.js";

export const CONFIG_SCHEMA_PATH = "schemas/repo-config.schema.json";
import { type ClusterSpec, PROFILES } from "../cluster-spec/types.js";
import { clusterSpecSchema } from "../cluster-spec/schema.js";
import { OVERLAY_DIRS, planBase, planOverlays } from "./base.js";
import { planCluster, SPEC_SCHEMA_PATH, specFile } from "./cluster.js";
import { planSync } from "./sync.js";
import { planAutoscaler } from "./autoscaler.js";
import { planProviders } from "./providers.js";
import { planIam } from "./iam.js";
import { mergePlans, type OutputFile, owned, scaffold, type TreePlan } from "./files.js";
import {
  ADDONS_DIR,
  clusterDir,
  IAM_DIR,
  IDENTITIES_DIR,
  MANAGEMENT_CHART_DIRS,
  PROVIDERS_DIR,
  SYNC_DIR,
} from "../core/layout.js";
import { planIdentities } from "./identity.js";
import { MANAGEMENT_KUSTOMIZATION_PATH, planManagementKustomization } from "./management.js";
import type { Pins } from "../pins/versions.js";

export interface RepoModel {
  specs: ClusterSpec[];
  /** capi-gitops.yaml; without it no sync manifests are generated (and generate removes management/sync/). */
  config?: RepoConfig;
}

/** What every cluster shares: base/, the overlays, the providers and the editor schemas; each folder is owned whole. */
function planShared(pins: Pins): TreePlan {
  return mergePlans([
    { files: planBase(), roots: ["base"] },
    {
      files: planOverlays(),
      roots: [
        OVERLAY_DIRS.clusterReferences,
        OVERLAY_DIRS.machineDeployment,
        OVERLAY_DIRS.controlPlaneHealthCheck,
        ...PROFILES.map(OVERLAY_DIRS.profile),
      ],
    },
    { files: planProviders(pins), roots: [PROVIDERS_DIR] },
    // The management layer: the hydrated charts (`npm run management-charts`) and the kustomization over the layers.
    {
      files: Object.entries(pins.managementPayloads ?? {}).map(([p, c]) => owned(p, c)),
      roots: [...MANAGEMENT_CHART_DIRS],
    },
    // The hydrated add-ons (`npm run addons`), stored once and included by every cluster that uses them.
    { files: Object.entries(pins.addonPayloads ?? {}).map(([p, c]) => owned(p, c)), roots: [ADDONS_DIR] },
    { files: [owned(SPEC_SCHEMA_PATH, `${JSON.stringify(clusterSpecSchema, null, 2)}\n`)], roots: [SPEC_SCHEMA_PATH] },
    {
      files: [owned(CONFIG_SCHEMA_PATH, `${JSON.stringify(repoConfigSchema, null, 2)}\n`)],
      roots: [CONFIG_SCHEMA_PATH],
    },
  ]);
}

/**
 * What the management cluster needs of the fleet as a whole, from every spec: the clusters' identities
 * (management/identities), the management kustomization that lists them, and the IAM bootstrap (the roles CAPA
 * assumes, Session Manager on the machines' roles).
 */
const planFleetShared = (specs: readonly ClusterSpec[]): TreePlan => {
  const identities = planIdentities(specs);
  return mergePlans([
    { files: planIam(specs), roots: [IAM_DIR] },
    { files: identities, roots: [IDENTITIES_DIR] },
    { files: planManagementKustomization(identities.length > 0), roots: [MANAGEMENT_KUSTOMIZATION_PATH] },
  ]);
};

/** The sync manifests (management/sync/, owned whole) for these clusters; none without a repository config. */
const planSyncTree = (config: RepoConfig | undefined, specs: ClusterSpec[]): TreePlan => ({
  files: config ? planSync(config, specs) : [],
  roots: [SYNC_DIR],
});

/** One cluster's generated files: its overlay and, when a pool autoscales, its cluster-autoscaler. */
const clusterFiles = (spec: ClusterSpec, pins: Pins): OutputFile[] => [
  ...planCluster(spec, pins.addons),
  ...planAutoscaler(spec, pins),
];

/** One cluster: its generated/ folder is owned whole; cluster.yaml's siblings outside it belong to the user. */
export const planClusterTree = (spec: ClusterSpec, pins: Pins): TreePlan => ({
  files: clusterFiles(spec, pins),
  roots: [`${clusterDir(spec.name)}/generated`],
});

/**
 * The whole repository (`generate`): everything shared, the sync manifests (removed without a config), every cluster.
 */
export function planRepo(model: RepoModel, pins: Pins): TreePlan {
  return mergePlans([planRepoShared(model, pins), ...model.specs.map((s) => planClusterTree(s, pins))]);
}

/** The part of planRepo that is not one cluster's: the shared folders and the sync manifests. */
export function planRepoShared(model: RepoModel, pins: Pins): TreePlan {
  return mergePlans([planShared(pins), planFleetShared(model.specs), planSyncTree(model.config, model.specs)]);
}

/** Every file of a new cluster's folder: cluster.yaml with every default spelled out, and what planCluster makes. */
export const newClusterFiles = (spec: ClusterSpec, pins: Pins): OutputFile[] => [
  specFile(spec),
  ...clusterFiles(spec, pins),
];

/**
 * `new-cluster`: clusters/<name>/ created complete (its spec file, its own kustomization and generated/), the shared
 * files that are missing (scaffold: a file already there is kept, and reported as kept when it differs), and the sync
 * manifests that list it (with a repository config only: without one, management/sync/ is left as it is).
 */
export function planNewCluster(spec: ClusterSpec, model: RepoModel, pins: Pins): TreePlan {
  const shared = planShared(pins).files.map((f): OutputFile => scaffold(f.path, f.content));
  return mergePlans([
    { files: newClusterFiles(spec, pins), roots: [clusterDir(spec.name)] },
    { files: shared, roots: [] },
    planFleetShared([...model.specs, spec]),
    model.config ? planSyncTree(model.config, [...model.specs, spec]) : { files: [], roots: [] },
  ]);
}

/**
 * `remove-cluster`: clusters/<name>/ removed (a root with no file), and the sync manifests without it (with a config
 * only).
 */
export function planRemoveCluster(name: string, model: RepoModel): TreePlan {
  const rest = model.specs.filter((s) => s.name !== name);
  return mergePlans([
    { files: [], roots: [clusterDir(name)] },
    planFleetShared(rest),
    model.config ? planSyncTree(model.config, rest) : { files: [], roots: [] },
  ]);
}

/**
 * `upgrade`: for each cluster, its new spec file (the text the caller edited; owned for this run, written whole) and
 * its generated/ folder from the new spec. Nothing shared changes: the sync manifests and base/ do not depend on
 * versions.
 */
export function planSpecUpdates(updates: readonly { spec: ClusterSpec; text: string }[], pins: Pins): TreePlan {
  return mergePlans(
    updates.map((u) => ({
      files: [owned(specFile(u.spec).path, u.text), ...clusterFiles(u.spec, pins)],
      roots: [`${clusterDir(u.spec.name)}/generated`],
    })),
  );
}
