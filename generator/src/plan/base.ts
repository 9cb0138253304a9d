/** base/ and overlays/: shared by every cluster, written from typed objects. */
import { GROUP } from "../k8s/capi.js";
import type { K8sObject } from "../k8s/object.js";
import { toYaml } from "../core/yaml.js";
import {
  clusterBaseObjects,
  controlPlaneHealthCheckObjects,
  HASH_NAMED_KINDS,
  machineDeploymentObjects,
  machineDeploymentTemplateObjects,
  machinePoolBaseObjects,
  syncSafe,
  clusterReferenceConfig,
} from "./capi.js";
import { type OutputFile, owned } from "./files.js";
import { COMPONENT, KUSTOMIZATION, type Patch, patch, set } from "./kustomize-objects.js";
import { PROFILES, type Profile } from "../cluster-spec/types.js";

/** The top folders of the shared files every cluster reads (what a release copies: plan/release.ts). */
export const SHARED_ROOTS = ["base", "overlays"] as const;

export const BASE_DIRS = {
  cluster: "base/cluster",
  machinePool: "base/machinepool",
  mdDeployment: "base/machinedeployment/deployment",
  mdTemplates: "base/machinedeployment/templates",
} as const;
export const OVERLAY_DIRS = {
  clusterReferences: "overlays/components/cluster-references",
  machineDeployment: "overlays/components/machinedeployment",
  controlPlaneHealthCheck: "overlays/components/control-plane-health-check",
  profile: (p: Profile) => `overlays/profiles/${p}`,
} as const;

const fileName = (o: K8sObject): string => `${o.kind.toLowerCase()}.yaml`;

/** A folder of objects, one file each, and a kustomization listing them. */
function objectFolder(dir: string, objects: K8sObject[]): OutputFile[] {
  return [
    ...objects.map((o) => owned(`${dir}/${fileName(o)}`, toYaml(syncSafe(o)))),
    owned(`${dir}/kustomization.yaml`, toYaml({ ...KUSTOMIZATION, resources: objects.map(fileName) })),
  ];
}

/** A Component folder of objects, one file each (sync-safe like the base). */
function componentFolder(dir: string, objects: K8sObject[]): OutputFile[] {
  return [
    ...objects.map((o) => owned(`${dir}/${fileName(o)}`, toYaml(syncSafe(o)))),
    owned(`${dir}/kustomization.yaml`, toYaml({ ...COMPONENT, resources: objects.map(fileName) })),
  ];
}

/** The base objects by folder, for the plan and for hashing the templates each cluster derives from them. */
export const BASE_OBJECTS = {
  cluster: clusterBaseObjects,
  machinePool: machinePoolBaseObjects,
  mdDeployment: machineDeploymentObjects,
  mdTemplates: machineDeploymentTemplateObjects,
} as const;

export function planBase(): OutputFile[] {
  return [
    ...objectFolder(BASE_DIRS.cluster, BASE_OBJECTS.cluster()),
    ...objectFolder(BASE_DIRS.machinePool, BASE_OBJECTS.machinePool()),
    ...objectFolder(BASE_DIRS.mdDeployment, BASE_OBJECTS.mdDeployment()),
    ...objectFolder(BASE_DIRS.mdTemplates, BASE_OBJECTS.mdTemplates()),
  ];
}

/**
 * The MachineHealthChecks' strictness: how long a node may take to start, how long it may stay not Ready, and up to
 * which share of unhealthy machines they still remediate.
 */
const healthChecks = (startupSeconds: number, notReadySeconds: number, remediateUpTo: string): Patch =>
  patch({ group: GROUP.core, kind: "MachineHealthCheck" }, [
    set("/spec/checks/nodeStartupTimeoutSeconds", startupSeconds),
    set("/spec/checks/unhealthyNodeConditions", [
      { type: "Ready", status: "Unknown", timeoutSeconds: notReadySeconds },
      { type: "Ready", status: "False", timeoutSeconds: notReadySeconds },
    ]),
    set("/spec/remediation/triggerIf/unhealthyLessThanOrEqualTo", remediateUpTo),
  ]);

/**
 * Profiles: policy that is not in the cluster spec — health-check strictness and KCP remediation limits.
 * They never patch the hash-named kinds (their names would no longer follow their content). Roll-outs are the same
 * in every profile and live in the base: launch before terminate (plan/capi.ts MD_ROLLOUT, REFRESH_PREFERENCES).
 */
export const PROFILE_PATCHES: Readonly<Record<Profile, Patch[]>> = {
  dev: [healthChecks(1200, 600, "100%")],
  prod: [
    // Stop remediating when many machines fail at once: that is an outage, not a bad machine.
    healthChecks(600, 300, "40%"),
    patch({ group: GROUP.controlPlane, kind: "KubeadmControlPlane" }, [
      set("/spec/remediation", { maxRetry: 3, retryPeriodSeconds: 300, minHealthyPeriodSeconds: 3600 }),
    ]),
  ],
};

export function profileTargetsHashedKind(p: Profile): boolean {
  return PROFILE_PATCHES[p].some((x) => HASH_NAMED_KINDS.some((kind) => kind === x.target.kind));
}

export function planOverlays(): OutputFile[] {
  const files: OutputFile[] = [
    owned(
      `${OVERLAY_DIRS.clusterReferences}/kustomization.yaml`,
      toYaml({ ...COMPONENT, configurations: ["kustomizeconfig.yaml"] }),
    ),
    owned(`${OVERLAY_DIRS.clusterReferences}/kustomizeconfig.yaml`, toYaml(clusterReferenceConfig())),
    // The MachineDeployment alternative: a pool that includes this component gets the shared templates and MHC;
    // the generator adds one MachineDeployment per zone (base/machinedeployment/deployment) with failureDomain set.
    owned(
      `${OVERLAY_DIRS.machineDeployment}/kustomization.yaml`,
      toYaml({ ...COMPONENT, resources: [`../../../${BASE_DIRS.mdTemplates}`] }),
    ),
    // The control plane's health check, for clusters whose KCP can remediate (more than one replica).
    ...componentFolder(OVERLAY_DIRS.controlPlaneHealthCheck, controlPlaneHealthCheckObjects()),
  ];
  for (const p of PROFILES)
    files.push(
      owned(`${OVERLAY_DIRS.profile(p)}/kustomization.yaml`, toYaml({ ...COMPONENT, patches: PROFILE_PATCHES[p] })),
    );
  return files;
}
