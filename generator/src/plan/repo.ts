/**
 * The pure middle: the repository model and the pinned versions in, every planned file and the roots the generator
 * owns out. No fs, no processes, no git.
 */
import { type RepoConfig, repoConfigSchema } from "../cluster-spec/config.js";

export const CONFIG_SCHEMA_PATH = "schemas/repo-config.schema.json";
import { type ClusterSpec, PROFILES } from "../cluster-spec/types.js";
import { clusterRing, ringOrder } from "../cluster-spec/rollout.js";
import { clusterSpecSchema } from "../cluster-spec/schema.js";
import { OVERLAY_DIRS, planBase, planOverlays } from "./base.js";
import { planCluster, SPEC_SCHEMA_PATH, specFile } from "./cluster.js";
import { planSync, ringsOrderSync } from "./sync.js";
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
  releaseDir,
  RELEASES_DIR,
  SYNC_DIR,
} from "../core/layout.js";
import {
  currentBase,
  type LoadedRelease,
  planReleaseFiles,
  planReleaseStep,
  releaseDigest,
  releaseFindings,
  type ReleaseStep,
  releasedBase,
  type RingRelease,
  ringReleases,
  type SharedBase,
} from "./release.js";
import { planIdentities } from "./identity.js";
import { MANAGEMENT_KUSTOMIZATION_PATH, planManagementKustomization } from "./management.js";
import type { Pins } from "../pins/versions.js";

/** The rings' names, in the order a change reaches them (cluster-spec/rollout.ts ringOrder). */
export const ringNames = (config: RepoConfig | undefined): string[] => ringOrder(config).map((r) => r.name);

export interface RepoModel {
  specs: ClusterSpec[];
  /** capi-gitops.yaml; without it no sync manifests are generated (and generate removes management/sync/). */
  config?: RepoConfig;
  /** releases/<ring>/ as Git holds them (repo/load.ts readReleases); absent or {}: no ring has a release yet. */
  releases?: Readonly<Record<string, LoadedRelease>>;
}

/**
 * The rings that release (plan/release.ts) and each one's release: with two rings or more, every cluster builds from
 * its ring's release; with one ring (the default) there is nothing to release through and clusters build from base/.
 */
export function rollout(model: Pick<RepoModel, "config" | "releases">): RingRollout | undefined {
  // The same predicate as the sync order: rings release exactly when the engines order them.
  if (!model.config || !ringsOrderSync(model.config)) return undefined;
  const rings = ringNames(model.config);
  return { rings, releases: ringReleases(rings, model.releases ?? {}) };
}

export interface RingRollout {
  rings: readonly string[];
  releases: Readonly<Record<string, RingRelease>>;
}

/** What a cluster builds from: its ring's release when the rings release, base/ and the overlays otherwise. */
export function clusterBase(model: Pick<RepoModel, "config" | "releases">, spec: ClusterSpec): SharedBase {
  const ring = clusterRing(spec, model.config);
  const release = rollout(model)?.releases[ring];
  return release ? releasedBase(ring, release) : currentBase();
}

/**
 * What a cluster's generated files are a function of besides the generator: its spec and the release it builds from
 * (validate's cache keys each cluster's plan by it, validate/drift.ts).
 */
export function clusterPlanKeys(model: Pick<RepoModel, "config" | "releases" | "specs">): Map<string, unknown> {
  const r = rollout(model);
  const digests = new Map(Object.entries(r?.releases ?? {}).map(([ring, rel]) => [ring, releaseDigest(rel.files)]));
  return new Map(
    model.specs.map((s) => [s.name, { spec: s, release: digests.get(clusterRing(s, model.config)) ?? null }]),
  );
}

/** releases/ (owned whole): every ring's release, or nothing (removed) when the rings do not release. */
function planReleasesTree(model: Pick<RepoModel, "config" | "releases">): TreePlan {
  const r = rollout(model);
  return {
    files: r
      ? r.rings.flatMap((ring) => {
          const release = r.releases[ring];
          return release ? planReleaseFiles(ring, release) : [];
        })
      : [],
    roots: [RELEASES_DIR],
  };
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
const clusterFiles = (spec: ClusterSpec, pins: Pins, base: SharedBase): OutputFile[] => [
  ...planCluster(spec, pins.addons, base),
  ...planAutoscaler(spec, pins),
];

/** One cluster: its generated/ folder is owned whole; cluster.yaml's siblings outside it belong to the user. */
export const planClusterTree = (spec: ClusterSpec, pins: Pins, base: SharedBase): TreePlan => ({
  files: clusterFiles(spec, pins, base),
  roots: [`${clusterDir(spec.name)}/generated`],
});

/**
 * The whole repository (`generate`): everything shared, the sync manifests (removed without a config), every cluster.
 */
export function planRepo(model: RepoModel, pins: Pins): TreePlan {
  return mergePlans([
    planRepoShared(model, pins),
    ...model.specs.map((s) => planClusterTree(s, pins, clusterBase(model, s))),
  ]);
}

/** The part of planRepo that is not one cluster's: the shared folders and the sync manifests. */
export function planRepoShared(model: RepoModel, pins: Pins): TreePlan {
  return mergePlans([
    planShared(pins),
    planFleetShared(model.specs),
    planSyncTree(model.config, model.specs),
    planReleasesTree(model),
  ]);
}

/** Every file of a new cluster's folder: cluster.yaml with every default spelled out, and what planCluster makes. */
export const newClusterFiles = (spec: ClusterSpec, pins: Pins, base: SharedBase): OutputFile[] => [
  specFile(spec),
  ...clusterFiles(spec, pins, base),
];

/**
 * `new-cluster`: clusters/<name>/ created complete (its spec file, its own kustomization and generated/), the shared
 * files that are missing (scaffold: a file already there is kept, and reported as kept when it differs), and the sync
 * manifests that list it (with a repository config only: without one, management/sync/ is left as it is).
 */
export function planNewCluster(spec: ClusterSpec, model: RepoModel, pins: Pins): TreePlan {
  const shared = [...planShared(pins).files, ...planReleasesTree(model).files].map((f): OutputFile =>
    scaffold(f.path, f.content),
  );
  return mergePlans([
    { files: newClusterFiles(spec, pins, clusterBase(model, spec)), roots: [clusterDir(spec.name)] },
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
export function planSpecUpdates(
  updates: readonly { spec: ClusterSpec; text: string }[],
  model: Pick<RepoModel, "config" | "releases">,
  pins: Pins,
): TreePlan {
  return mergePlans(
    updates.map((u) => ({
      files: [owned(specFile(u.spec).path, u.text), ...clusterFiles(u.spec, pins, clusterBase(model, u.spec))],
      roots: [`${clusterDir(u.spec.name)}/generated`],
    })),
  );
}

/** `release --ring <ring>`: what the step is, the files it writes, and the clusters whose build it changes. */
export interface ReleasePlan {
  step: ReleaseStep;
  plan?: TreePlan;
  clusters: string[];
}

/**
 * `release --ring <ring>`: the ring's new release (plan/release.ts planReleaseStep: the candidate for the first ring,
 * the previous ring's release for a later one, refused out of order) written whole into releases/<ring>/, and the
 * generated/ of the ring's clusters planned again from it (their template names follow the released objects).
 * Refused while a release is not what its record says, or the rings are out of order.
 */
export function planRingRelease(model: RepoModel, pins: Pins, ring: string): ReleasePlan {
  const r = rollout(model);
  const rings = ringNames(model.config);
  if (!r)
    return {
      clusters: [],
      step: {
        kind: "refused",
        findings: [
          {
            path: "--ring",
            rule: "flag",
            severity: "error",
            message:
              `capi-gitops.yaml declares ${rings.length ? `one ring (${rings.join(", ")})` : "no rings"}: every ` +
              "cluster builds from base/ and a change reaches them together; declare two rings or more in " +
              "rollout.rings to release through them",
          },
        ],
      },
    };
  const broken = releaseFindings(r.rings, model.releases ?? {}).filter((f) => f.severity === "error");
  const step = planReleaseStep(r.rings, r.releases, ring, broken);
  if (step.kind !== "release") return { step, clusters: [] };
  const released = releasedBase(ring, step.release);
  const specs = model.specs.filter((s) => clusterRing(s, model.config) === ring);
  return {
    step,
    clusters: specs.map((s) => s.name),
    plan: mergePlans([
      { files: planReleaseFiles(ring, step.release), roots: [releaseDir(ring)] },
      ...specs.map((s) => planClusterTree(s, pins, released)),
    ]),
  };
}
