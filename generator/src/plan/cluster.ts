/** One cluster's overlay: clusters/<name>/generated/** (owned) and clusters/<name>/kustomization.yaml (scaffold). */
import path from "node:path";
import { capacityOf, type ClusterSpec, type ImageSpec, type NodePoolSpec } from "../cluster-spec/types.js";
import { subnetOf, checkIpv4Cidr } from "../cluster-spec/cidr.js";
import { ZONE_SLOTS, zoneSlot } from "../cluster-spec/regions.js";
import { nodeLabelArgs } from "../cluster-spec/kubelet.js";
import { PlanError } from "../core/errors.js";
import { toYaml } from "../core/yaml.js";
import {
  AUTOSCALER,
  AUTOSCALER_CAPACITY,
  AWS_ACCOUNT_ANNOTATION,
  GROUP,
  IMAGE_VERSION_ANNOTATION,
  LABEL,
} from "../k8s/capi.js";
import { IDENTITY_LABEL_VALUE, identityClusterFields, identityNamespaceLabel } from "./identity.js";
import type { K8sObject } from "../k8s/object.js";
import { MIN_REMEDIABLE_CONTROL_PLANE, PLACEHOLDER, POOL_REFERENCES, syncSafe } from "./capi.js";
import { BASE_DIRS, OVERLAY_DIRS } from "./base.js";
import { currentBase, type SharedBase } from "./release.js";
import { contentHash, type OutputFile, owned, scaffold } from "./files.js";
import { KUSTOMIZATION, type PatchOp, patch, ptr, rename, set, type Target } from "./kustomize-objects.js";
import { clusterDir, SPEC_FILE } from "../core/layout.js";
import { AUTOSCALER_DIR, autoscales } from "./autoscaler.js";
import type { AddonPins } from "../pins/versions.js";
import { addonLabels, CNI_INGRESS_RULES, planClusterAddons } from "./addons.js";

export const SPEC_SCHEMA_PATH = "schemas/cluster-spec.schema.json";

const rel = (fromDir: string, to: string): string => path.posix.relative(fromDir, to);

/** The names the cluster's objects get; derived from the spec only. Hash-named ones depend on content. */
export function objectNames(spec: ClusterSpec) {
  return {
    cluster: spec.name,
    controlPlane: `${spec.name}-control-plane`,
    pool: (p: NodePoolSpec) => `${spec.name}-${p.name}`,
    zoneDeployment: (p: NodePoolSpec, zone: string) => `${spec.name}-${p.name}-${zone.slice(spec.region.length)}`,
  };
}

/** A hash-named object's name: `<prefix>-<hash of (base object, the patch ops applied to it)>`. */
function hashedName(prefix: string, base: K8sObject, ops: PatchOp[]): string {
  return `${prefix}-${contentHash({ base, ops })}`;
}

/** Spreads a pool-wide count over n zones: 5 over 3 → 2, 2, 1. */
export function spread(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/**
 * A pool-wide count per zone, the remainder going to the zones first in name order (us-east-2a before us-east-2b),
 * not in list order: reordering a pool's zones moves no machine from one zone to another (which would replace it).
 */
export function spreadOverZones(total: number, zones: readonly string[]): number[] {
  const counts = spread(total, zones.length);
  const rank = [...zones].sort();
  return zones.map((z) => counts[rank.indexOf(z)] ?? 0);
}

/**
 * Private subnet i and public subnet ZONE_SLOTS+i, each /(vpc prefix + 4), one pair per cluster zone, where i is the
 * zone's own slot (zoneSlot: its letter's position in the region), not its position in the list: a subnet's CIDR
 * cannot change on a live VPC, so reordering or removing zones must not move the others. checkSpec refuses a zone
 * without a slot.
 */
export function subnets(spec: ClusterSpec): Record<string, unknown>[] {
  const c = checkIpv4Cidr(spec.network.vpcCidr);
  const prefix = (c.ok ? c.prefix : 16) + 4;
  return spec.availabilityZones.flatMap((zone) => {
    const i = zoneSlot(zone);
    if (i === undefined || i >= ZONE_SLOTS)
      throw new PlanError(
        `zone ${zone} has no subnet slot below ${ZONE_SLOTS} (checkSpec refuses such a zone; this is a bug)`,
      );
    return [
      {
        id: `${spec.name}-subnet-private-${zone}`,
        cidrBlock: subnetOf(spec.network.vpcCidr, prefix, i),
        availabilityZone: zone,
        isPublic: false,
      },
      {
        id: `${spec.name}-subnet-public-${zone}`,
        cidrBlock: subnetOf(spec.network.vpcCidr, prefix, ZONE_SLOTS + i),
        availabilityZone: zone,
        isPublic: true,
      },
    ];
  });
}

const target = (group: string, kind: string, name: string): Target => ({ group, kind, name });
/** Autoscaler bounds, added key by key so the object's other annotations (sync safety) stay. */
const sizeAnnotations = (min: number, max: number): PatchOp[] => [
  set(ptr("metadata", "annotations", AUTOSCALER.min), String(min)),
  set(ptr("metadata", "annotations", AUTOSCALER.max), String(max)),
];

/**
 * The scale-from-zero annotations of an autoscaled pool's MachineDeployment or MachinePool: its node labels and
 * taints as the cluster-autoscaler's clusterapi provider reads them (k8s/capi.ts AUTOSCALER_CAPACITY). Not hashed
 * into any name: they roll nothing.
 */
function capacityAnnotationOps(pool: NodePoolSpec): PatchOp[] {
  if (!pool.autoscaling) return [];
  const labels = Object.entries(pool.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  const taints = (pool.taints ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`);
  return [
    ...(labels.length ? [set(ptr("metadata", "annotations", AUTOSCALER_CAPACITY.labels), labels.join(","))] : []),
    ...(taints.length ? [set(ptr("metadata", "annotations", AUTOSCALER_CAPACITY.taints), taints.join(","))] : []),
  ];
}

/** kubeadm's nodeRegistration.taints under `at` (KubeadmConfig v1beta2 NodeRegistrationOptions); none: no op. */
const taintOps = (pool: NodePoolSpec, at: string): PatchOp[] =>
  pool.taints?.length
    ? [
        set(
          `${at}/taints`,
          pool.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
        ),
      ]
    : [];

/** The spot allocation strategy of a mixed (or multi-type spot) pool when the spec names none. */
export const DEFAULT_SPOT_ALLOCATION = "price-capacity-optimized";

/**
 * A MachinePool's capacity fields (CAPA exp/api/v1beta2): a spot pool of one type gets the launch template's
 * spotMarketOptions; a mixed pool, or a spot pool of several types (0 % on-demand), an auto scaling group
 * mixedInstancesPolicy whose overrides list instanceType first, then instanceTypes. CAPA refuses both at once
 * (exp/webhooks/awsmachinepool_webhook.go validateSpotInstances).
 */
function machinePoolCapacityOps(pool: NodePoolSpec): PatchOp[] {
  const capacity = capacityOf(pool);
  const types = pool.instanceTypes ?? [];
  if (capacity === "on-demand") return [];
  if (capacity === "spot" && !types.length)
    return [set("/spec/awsLaunchTemplate/spotMarketOptions", { maxPrice: pool.spotMaxPrice })];
  const mixed = capacity === "mixed";
  return [
    set("/spec/mixedInstancesPolicy", {
      instancesDistribution: {
        spotAllocationStrategy: pool.spotAllocationStrategy ?? DEFAULT_SPOT_ALLOCATION,
        onDemandBaseCapacity: mixed ? (pool.onDemandBase ?? 0) : 0,
        onDemandPercentageAboveBaseCapacity: mixed ? (pool.onDemandPercentageAboveBase ?? 0) : 0,
      },
      overrides: [pool.instanceType, ...types].map((instanceType) => ({ instanceType })),
    }),
  ];
}

/**
 * The image fields of an AWSMachineSpec / AWSLaunchTemplate (CAPA api/v1beta2/awsmachine_types.go,
 * exp/api/v1beta2/types.go): `ami.id`, or imageLookupOrg/Format/BaseOS. None: CAPA's public lookup.
 */
export function imageFields(image: ImageSpec | undefined): [string, unknown][] {
  if (!image) return [];
  if (image.id !== undefined) return [["ami", { id: image.id }]];
  const fields: [string, string | undefined][] = [
    ["imageLookupOrg", image.lookupOrg],
    ["imageLookupFormat", image.lookupFormat],
    ["imageLookupBaseOS", image.lookupBaseOS],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined);
}
/** Set ops for the image fields under `at` (a JSON pointer prefix). */
const imageOps = (image: ImageSpec | undefined, at: string): PatchOp[] =>
  imageFields(image).map(([k, v]) => set(`${at}/${k}`, v));
/** The image's stated Kubernetes version as an annotation (outside the hash name: it rolls nothing). */
const imageVersionOps = (image: ImageSpec | undefined): PatchOp[] =>
  image?.kubernetesVersion
    ? [set(ptr("metadata", "annotations", IMAGE_VERSION_ANNOTATION), image.kubernetesVersion)]
    : [];

/**
 * The control-plane load balancer's scheme and, with allowedCidrs, its ingress rules: CAPA allows 0.0.0.0/0 on the
 * API port only when no ingress rule is given (pkg/cloud/services/securitygroup/securitygroups.go
 * getControlPlaneLBIngressRules); it adds the rules its nodes need itself
 * (getIngressRulesToAllowKubeletToAccessTheControlPlaneLB).
 */
function apiServerOps(spec: ClusterSpec): PatchOp[] {
  const cidrs = spec.apiServer.allowedCidrs;
  return [
    set("/spec/controlPlaneLoadBalancer/scheme", spec.apiServer.scheme),
    ...(cidrs?.length
      ? [
          set("/spec/controlPlaneLoadBalancer/ingressRules", [
            {
              description: "Kubernetes API (apiServer.allowedCidrs)",
              protocol: "tcp",
              fromPort: 6443,
              toPort: 6443,
              cidrBlocks: cidrs,
            },
          ]),
        ]
      : []),
  ];
}

/**
 * The cluster's identity (plan/identity.ts): CAPA's AWSCluster `spec.identityRef` (api/v1beta2/awscluster_types.go;
 * without it CAPA's defaulting names the controller identity) and the account it acts in, as an annotation.
 */
function identityOps(spec: ClusterSpec): PatchOp[] {
  const { ref, account } = identityClusterFields(spec);
  return [
    ...(ref ? [set("/spec/identityRef", ref)] : []),
    ...(account ? [set(ptr("metadata", "annotations", AWS_ACCOUNT_ANNOTATION), account)] : []),
  ];
}

/**
 * `access: bastion`: CAPA's bastion host (AWSCluster `spec.bastion`, api/v1beta2/network_types.go Bastion; CAPA
 * opens its SSH port to 0.0.0.0/0 when allowedCIDRBlocks is empty, so the spec requires them).
 */
function bastionOps(spec: ClusterSpec): PatchOp[] {
  if (spec.access !== "bastion" || !spec.bastion) return [];
  return [
    set("/spec/bastion", {
      enabled: true,
      allowedCIDRBlocks: spec.bastion.allowedCidrs,
      ...(spec.bastion.instanceType ? { instanceType: spec.bastion.instanceType } : {}),
    }),
  ];
}

/**
 * Replacements: the Cluster's final name flows into every clusterName field and cluster-name label, so they can
 * never disagree with the Cluster object. They run after this kustomization's patches (the rename).
 */
function clusterNameReplacement() {
  return {
    source: { group: GROUP.core, kind: "Cluster", fieldPath: "metadata.name" },
    targets: [
      {
        select: { group: GROUP.core },
        reject: [{ kind: "Namespace" }],
        fieldPaths: [`metadata.labels.[${LABEL.clusterName}]`],
        options: { create: true },
      },
      {
        select: { group: GROUP.infra },
        fieldPaths: [`metadata.labels.[${LABEL.clusterName}]`],
        options: { create: true },
      },
      {
        select: { group: GROUP.bootstrap },
        fieldPaths: [`metadata.labels.[${LABEL.clusterName}]`],
        options: { create: true },
      },
      {
        select: { group: GROUP.controlPlane },
        fieldPaths: [`metadata.labels.[${LABEL.clusterName}]`],
        options: { create: true },
      },
      {
        select: { group: GROUP.core, kind: "MachinePool" },
        fieldPaths: ["spec.clusterName", "spec.template.spec.clusterName"],
      },
      {
        select: { group: GROUP.core, kind: "MachineDeployment" },
        fieldPaths: ["spec.clusterName", "spec.template.spec.clusterName"],
      },
      { select: { group: GROUP.core, kind: "MachineHealthCheck" }, fieldPaths: ["spec.clusterName"] },
    ],
  };
}

/** Pool-level references as replacements: the renamed template/config names flow into the pool's refs. */
function poolReplacements(referrer: keyof typeof POOL_REFERENCES) {
  return POOL_REFERENCES[referrer].map(([kind, fieldPath]) => ({
    source: { kind, fieldPath: "metadata.name" },
    targets: [{ select: { group: GROUP.core, kind: referrer }, fieldPaths: [fieldPath] }],
  }));
}

function planMachinePool(spec: ClusterSpec, pool: NodePoolSpec, dir: string, base: SharedBase): OutputFile[] {
  const names = objectNames(spec);
  const baseConfig = base.inputs.poolConfig;
  const version = pool.kubernetesVersion ?? spec.kubernetesVersion;
  const configOps = [
    set("/spec/joinConfiguration/nodeRegistration/kubeletExtraArgs", [
      ...base.inputs.poolKubeletArgs,
      ...nodeLabelArgs(pool.labels),
    ]),
    ...taintOps(pool, "/spec/joinConfiguration/nodeRegistration"),
  ];
  const configName = hashedName(names.pool(pool), baseConfig, configOps);
  const mpOps: PatchOp[] = [
    rename(names.pool(pool)),
    set(ptr("spec", "template", "metadata", "labels", LABEL.nodePool), pool.name),
    set("/spec/template/spec/version", version),
    ...(pool.autoscaling
      ? sizeAnnotations(pool.minSize, pool.maxSize)
      : [set("/spec/replicas", pool.replicas ?? pool.minSize)]),
    ...capacityAnnotationOps(pool),
  ];
  const kustomization = {
    ...KUSTOMIZATION,
    resources: [rel(dir, base.at(BASE_DIRS.machinePool))],
    patches: [
      patch(target(GROUP.core, "MachinePool", PLACEHOLDER.pool), mpOps),
      patch(target(GROUP.infra, "AWSMachinePool", PLACEHOLDER.pool), [
        rename(names.pool(pool)),
        set("/spec/minSize", pool.minSize),
        set("/spec/maxSize", pool.maxSize),
        set("/spec/availabilityZones", pool.availabilityZones),
        set("/spec/awsLaunchTemplate/instanceType", pool.instanceType),
        set("/spec/awsLaunchTemplate/sshKeyName", spec.sshKeyName ?? ""),
        // A changed image makes CAPA write a new launch template version and refresh the group's instances.
        ...imageOps(pool.image ?? spec.image, "/spec/awsLaunchTemplate"),
        ...imageVersionOps(pool.image ?? spec.image),
        ...machinePoolCapacityOps(pool),
      ]),
      patch(target(GROUP.bootstrap, "KubeadmConfig", PLACEHOLDER.pool), [rename(configName), ...configOps]),
    ],
    replacements: poolReplacements("MachinePool"),
  };
  return [owned(`${dir}/kustomization.yaml`, toYaml(kustomization))];
}

function planMachineDeployments(spec: ClusterSpec, pool: NodePoolSpec, dir: string, base: SharedBase): OutputFile[] {
  const names = objectNames(spec);
  const { deploymentTemplate: baseTemplate, deploymentConfig: baseConfig } = base.inputs;
  const version = pool.kubernetesVersion ?? spec.kubernetesVersion;
  // The image is part of the template's hash name: a changed image rolls the machines through a new template.
  const machineOps = [
    set("/spec/template/spec/instanceType", pool.instanceType),
    set("/spec/template/spec/sshKeyName", spec.sshKeyName ?? ""),
    ...imageOps(pool.image ?? spec.image, "/spec/template/spec"),
    // Spot machines (CAPA api/v1beta2/awsmachine_types.go spotMarketOptions; maxPrice absent: the on-demand price).
    // Part of the hash name: a changed capacity type rolls the pool's machines through a new template.
    ...(capacityOf(pool) === "spot"
      ? [set("/spec/template/spec/spotMarketOptions", { maxPrice: pool.spotMaxPrice })]
      : []),
  ];
  const configOps = [
    set("/spec/template/spec/joinConfiguration/nodeRegistration/kubeletExtraArgs", [
      ...base.inputs.deploymentKubeletArgs,
      ...nodeLabelArgs(pool.labels),
    ]),
    ...taintOps(pool, "/spec/template/spec/joinConfiguration/nodeRegistration"),
  ];
  const zones = pool.availabilityZones;
  const mins = spreadOverZones(pool.minSize, zones);
  const maxs = spreadOverZones(pool.maxSize, zones);
  const reps = spreadOverZones(pool.replicas ?? pool.minSize, zones);
  const files: OutputFile[] = zones.map((zone, i) => {
    const [min = 0, max = 0, replicas = 0] = [mins[i], maxs[i], reps[i]];
    const zdir = `${dir}/zones/${zone}`;
    const mdName = names.zoneDeployment(pool, zone);
    const ops: PatchOp[] = [
      rename(mdName),
      set(ptr("spec", "selector", "matchLabels", LABEL.deploymentName), mdName),
      set(ptr("spec", "template", "metadata", "labels", LABEL.deploymentName), mdName),
      set(ptr("spec", "template", "metadata", "labels", LABEL.nodePool), pool.name),
      set("/spec/template/spec/version", version),
      set("/spec/template/spec/failureDomain", zone),
      ...(pool.autoscaling ? sizeAnnotations(min, Math.max(1, max)) : [set("/spec/replicas", replicas)]),
      ...capacityAnnotationOps(pool),
    ];
    return owned(
      `${zdir}/kustomization.yaml`,
      toYaml({
        ...KUSTOMIZATION,
        resources: [rel(zdir, base.at(BASE_DIRS.mdDeployment))],
        patches: [patch(target(GROUP.core, "MachineDeployment", PLACEHOLDER.pool), ops)],
      }),
    );
  });
  const kustomization = {
    ...KUSTOMIZATION,
    resources: zones.map((z) => `zones/${z}`),
    components: [rel(dir, base.at(OVERLAY_DIRS.machineDeployment))],
    patches: [
      patch(target(GROUP.infra, "AWSMachineTemplate", PLACEHOLDER.pool), [
        rename(hashedName(names.pool(pool), baseTemplate, machineOps)),
        ...machineOps,
        ...imageVersionOps(pool.image ?? spec.image),
      ]),
      patch(target(GROUP.bootstrap, "KubeadmConfigTemplate", PLACEHOLDER.pool), [
        rename(hashedName(names.pool(pool), baseConfig, configOps)),
        ...configOps,
      ]),
      patch(target(GROUP.core, "MachineHealthCheck", PLACEHOLDER.pool), [
        rename(names.pool(pool)),
        set(ptr("spec", "selector", "matchLabels", LABEL.nodePool), pool.name),
      ]),
    ],
    replacements: poolReplacements("MachineDeployment"),
  };
  return [...files, owned(`${dir}/kustomization.yaml`, toYaml(kustomization))];
}

/**
 * One cluster's files. `base`: what it builds from — base/ and the overlays as generated now, or its ring's release
 * (plan/release.ts), whose objects also name its templates.
 */
export function planCluster(spec: ClusterSpec, pins: AddonPins, base: SharedBase = currentBase()): OutputFile[] {
  const names = objectNames(spec);
  const dir = clusterDir(spec.name);
  const gen = `${dir}/generated`;
  const baseTemplate = base.inputs.controlPlaneTemplate;
  const templateOps = [
    set("/spec/template/spec/instanceType", spec.controlPlane.instanceType),
    set("/spec/template/spec/sshKeyName", spec.sshKeyName ?? ""),
    ...imageOps(spec.image, "/spec/template/spec"),
  ];
  const cpTemplate = hashedName(names.controlPlane, baseTemplate, templateOps);
  const addons = planClusterAddons(spec, pins, gen);
  const cniRules = CNI_INGRESS_RULES[spec.network.cni];
  // Labelled for the cluster's identity (plan/identity.ts: the identity selects the namespaces so labelled).
  const identity = identityClusterFields(spec).ref;
  const namespace: K8sObject = syncSafe({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: spec.namespace,
      ...(identity ? { labels: { [identityNamespaceLabel(identity.name)]: IDENTITY_LABEL_VALUE } } : {}),
    },
  });
  // The control plane's health check only where KCP can act on it (plan/capi.ts controlPlaneHealthCheckObjects);
  // listed before the profile, whose patch sets its timeouts.
  const cpHealthCheck = spec.controlPlane.replicas >= MIN_REMEDIABLE_CONTROL_PLANE;
  const kustomization = {
    ...KUSTOMIZATION,
    namespace: spec.namespace,
    resources: [
      "namespace.yaml",
      rel(gen, base.at(BASE_DIRS.cluster)),
      ...spec.nodePools.map((p) => `pools/${p.name}`),
      ...(autoscales(spec) ? [AUTOSCALER_DIR] : []),
      ...addons.resources,
    ],
    components: [
      rel(gen, base.at(OVERLAY_DIRS.clusterReferences)),
      ...(cpHealthCheck ? [rel(gen, base.at(OVERLAY_DIRS.controlPlaneHealthCheck))] : []),
      rel(gen, base.at(OVERLAY_DIRS.profile(spec.profile))),
    ],
    patches: [
      patch(target(GROUP.core, "Cluster", PLACEHOLDER.cluster), [
        rename(names.cluster),
        // The base Cluster has no labels; the cluster-name label is added after the patches (clusterNameReplacement).
        set("/metadata/labels", addonLabels(spec, pins)),
        set("/spec/clusterNetwork", {
          pods: { cidrBlocks: [spec.network.podCidr] },
          services: { cidrBlocks: [spec.network.serviceCidr] },
        }),
      ]),
      patch(target(GROUP.infra, "AWSCluster", PLACEHOLDER.cluster), [
        rename(names.cluster),
        set("/spec/region", spec.region),
        // "" means no key; an omitted sshKeyName would make CAPA use a key named "default".
        set("/spec/sshKeyName", spec.sshKeyName ?? ""),
        set("/spec/network/vpc/cidrBlock", spec.network.vpcCidr),
        set("/spec/network/subnets", subnets(spec)),
        ...apiServerOps(spec),
        ...identityOps(spec),
        ...bastionOps(spec),
        ...(cniRules ? [set("/spec/network/cni", { cniIngressRules: cniRules })] : []),
      ]),
      patch(target(GROUP.controlPlane, "KubeadmControlPlane", PLACEHOLDER.controlPlane), [
        rename(names.controlPlane),
        set("/spec/replicas", spec.controlPlane.replicas),
        set("/spec/version", spec.kubernetesVersion),
      ]),
      patch(target(GROUP.infra, "AWSMachineTemplate", PLACEHOLDER.controlPlane), [
        rename(cpTemplate),
        ...templateOps,
        ...imageVersionOps(spec.image),
      ]),
      ...(cpHealthCheck
        ? [patch(target(GROUP.core, "MachineHealthCheck", PLACEHOLDER.controlPlane), [rename(names.controlPlane)])]
        : []),
    ],
    replacements: [clusterNameReplacement()],
  };
  const pools = spec.nodePools.flatMap((p) =>
    spec.workers === "MachinePool"
      ? planMachinePool(spec, p, `${gen}/pools/${p.name}`, base)
      : planMachineDeployments(spec, p, `${gen}/pools/${p.name}`, base),
  );
  const userKustomization = {
    ...KUSTOMIZATION,
    resources: ["generated"],
    patches: [],
  };
  return [
    owned(`${gen}/namespace.yaml`, toYaml(namespace)),
    owned(
      `${gen}/kustomization.yaml`,
      toYaml(
        kustomization,
        "# Generated by `npm run generate` from ../cluster.yaml — do not edit;" +
          " put your own patches in ../kustomization.yaml.",
      ),
    ),
    ...pools,
    ...addons.files,
    scaffold(
      `${dir}/kustomization.yaml`,
      toYaml(
        userKustomization,
        "# The cluster's own Kustomize layer: yours to edit (`npm run generate` never overwrites it).\n" +
          "# Add patches for this cluster below; the generated overlay is in ./generated (from ./cluster.yaml).",
      ),
    ),
  ];
}

/** cluster.yaml as new-cluster writes it: every default spelled out, with the schema modeline for editors. */
export function specFile(spec: ClusterSpec): OutputFile {
  const dir = clusterDir(spec.name);
  return scaffold(`${dir}/${SPEC_FILE}`, toYaml(spec, `# yaml-language-server: $schema=${rel(dir, SPEC_SCHEMA_PATH)}`));
}
