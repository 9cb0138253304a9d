/**
 * The cluster spec: `clusters/<name>/cluster.yaml`, the small document a human edits. `ClusterSpecDefinition` is its
 * one definition: the `ClusterSpec` type, the JSON Schema (schema.ts) and the defaults (parse.ts `applyDefaults`)
 * are derived from it (definition.ts). Semantic checks that JSON Schema cannot say live in parse.ts.
 */
import { type Static, Type } from "@sinclair/typebox";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";
import { constant, filled, oneOf, stringMap, type WithDefaults } from "./definition.js";
import { defaultZones, knownRegions } from "./regions.js";
import { GPU_TAINT, launchesGpu } from "./gpu.js";

const SPEC_KIND = "ClusterSpec";

export const PROFILES = ["dev", "prod"] as const;
export type Profile = (typeof PROFILES)[number];

/** CNIs the management cluster installs (plan/addons.ts); "none": bring your own (validate warns). */
export const CNIS = ["cilium", "calico", "none"] as const;
export type Cni = (typeof CNIS)[number];
/** Storage the management cluster installs: the AWS EBS CSI driver and a default gp3 StorageClass, or none. */
export const STORAGES = ["ebs", "none"] as const;
export type Storage = (typeof STORAGES)[number];

export const WORKER_KINDS = ["MachinePool", "MachineDeployment"] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

/** Defaults that depend on the profile. Documented in README ("Cluster spec") and in the spec's JSON Schema. */
export const PROFILE_DEFAULTS: Readonly<
  Record<
    Profile,
    {
      controlPlaneReplicas: number;
      controlPlaneInstanceType: string;
      poolInstanceType: string;
      minSize: number;
      maxSize: number;
    }
  >
> = {
  dev: {
    controlPlaneReplicas: 1,
    controlPlaneInstanceType: "t3.large",
    poolInstanceType: "t3.large",
    minSize: 1,
    maxSize: 3,
  },
  prod: {
    controlPlaneReplicas: 3,
    controlPlaneInstanceType: "m6i.xlarge",
    poolInstanceType: "m6i.xlarge",
    minSize: 3,
    maxSize: 12,
  },
};

/**
 * How a pool buys its instances. on-demand (the default when absent); spot: every instance a spot instance
 * (MachineDeployment: AWSMachineTemplate spotMarketOptions, CAPA api/v1beta2/types.go SpotMarketOptions; MachinePool:
 * the launch template's spotMarketOptions, or with several instance types a mixedInstancesPolicy of 0 % on-demand);
 * mixed: an auto scaling group's MixedInstancesPolicy (CAPA exp/api/v1beta2/types.go), MachinePool only.
 */
export const CAPACITY_TYPES = ["on-demand", "spot", "mixed"] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];
/** CAPA exp/api/v1beta2/types.go SpotAllocationStrategy values. */
export const SPOT_ALLOCATION_STRATEGIES = [
  "lowest-price",
  "capacity-optimized",
  "capacity-optimized-prioritized",
  "price-capacity-optimized",
] as const;
/** Taint effects a Node accepts (k8s.io/api core/v1 TaintEffect; k8s.io/kubernetes pkg/apis/core/validation). */
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

export const DEFAULTS = {
  kubernetesVersion: "v1.34.8",
  profile: "dev",
  workers: "MachineDeployment",
  poolName: "default",
  vpcCidr: "10.0.0.0/16",
  podCidr: "192.168.0.0/16",
  serviceCidr: "10.96.0.0/12",
  cni: "cilium",
  storage: "ebs",
} as const satisfies Record<string, string> & { profile: Profile; workers: WorkerKind; cni: Cni; storage: Storage };

/** Limits on names, explained: every derived object name must stay a valid label value (≤ 63 characters). */
export const LIMITS = {
  /**
   * Cluster name ≤ 40: the Cluster name must be a valid label value (CAPI internal/webhooks/cluster.go), and the
   * longest derived names are `<cluster>-<pool>-<zone letter>` (MachineDeployment per AZ, a label value too per
   * internal/webhooks/machinedeployment.go) and `<cluster>-control-plane-<hash>`; 40 + 1 + 20 + 2 stays ≤ 63.
   */
  clusterName: 40,
  /** Node pool name ≤ 20 (see clusterName). */
  poolName: 20,
  /** Kubernetes namespace names are DNS-1123 labels: ≤ 63. */
  namespace: 63,
  /** AWS EC2 key pair names are up to 255 ASCII characters. */
  sshKeyName: 255,
  /**
   * Ring name ≤ 20: it is a label value on the Argo CD Applications and part of no object name, kept short for the
   * inventory's column.
   */
  ringName: 20,
  /** A label value is ≤ 63 characters (k8s.io/apimachinery validation.IsValidLabelValue). */
  labelValue: 63,
  /** Largest spec file we read (bytes); a cluster spec is a few hundred bytes. */
  specBytes: 64 * 1024,
} as const;

export const DNS_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
export const K8S_VERSION = "^v\\d+\\.\\d+\\.\\d+$";
export const INSTANCE_TYPE = "^[a-z][a-z0-9-]*\\.[a-z0-9-]+$";
export const AZ_NAME = "^[a-z]{2}(-[a-z]+)+-\\d+[a-z]$";
export const SPOT_PRICE = "^[0-9]+(\\.[0-9]+)?$";

/**
 * The machine image: an AMI id, or CAPA's image lookup (AWSMachineSpec imageLookupOrg/Format/BaseOS,
 * api/v1beta2/awsmachine_types.go). Without any of them CAPA looks up its own public images
 * (pkg/cloud/services/ec2/ami.go: `capa-ami-<baseOS>-?<version>-*` owned by 819546954734), which exist only for a
 * few (version, region) pairs: `validate` checks them against schemas/capa-images/inventory.json. An AMI id (or a
 * lookup format without {{.K8sVersion}}, ami.go GenerateAmiName) is one fixed image whatever the machine's version: the
 * spec says which Kubernetes version it holds (`kubernetesVersion`), so a version change without a new image is
 * refused.
 */
const ImageDefinition = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        pattern: "^ami-[0-9a-f]{8,17}$",
        description:
          "An AMI id in the cluster's region (e.g. an image-builder image or a copied AMI). Excludes the " +
          "lookup fields.",
      }),
    ),
    lookupOrg: Type.Optional(
      Type.String({
        pattern: "^[0-9]{12}$",
        description: "AWS account (owner) whose images CAPA looks up by name; your image-builder account.",
      }),
    ),
    lookupFormat: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "AMI name format CAPA looks up; {{.BaseOS}} and {{.K8sVersion}} are substituted. CAPA's default: " +
          "capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*.",
      }),
    ),
    lookupBaseOS: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9][a-z0-9.-]*$",
        maxLength: 63,
        description: "Base OS for the lookup, e.g. ubuntu-24.04 (CAPA's default), ubuntu-22.04, flatcar-stable.",
      }),
    ),
    kubernetesVersion: Type.Optional(
      Type.String({
        pattern: K8S_VERSION,
        description:
          "The Kubernetes version the image's kubelet is: required with `id` or a `lookupFormat` without " +
          "{{.K8sVersion}} (such an image does not follow the version), and must equal the version of every " +
          "machine using the image.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Machine image: `id`, or CAPA's lookup fields. Default: CAPA's public images (checked by validate " +
      "against CAPA's published inventory).",
  },
);
export type ImageSpec = Static<typeof ImageDefinition>;

export const API_SCHEMES = ["internet-facing", "internal"] as const;

/**
 * How operators reach the machines: ssm (AWS Systems Manager Session Manager: the managed-instance policy on the node
 * and control-plane roles, no SSH key, no bastion), bastion (CAPA's bastion host, AWSCluster spec.bastion) or none.
 */
export const ACCESS_MODES = ["none", "ssm", "bastion"] as const;

/** An IAM role ARN (any partition); its fifth field is the account the role lives in. */
export const ROLE_ARN = "^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$";
export const AWS_ACCOUNT = "^[0-9]{12}$";
const IPV4_CIDR = "^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$";
/** A VPC peering connection or transit gateway attachment id (the management cluster's way into the VPC). */
export const MANAGEMENT_CONNECTION = "^(pcx|tgw-attach)-[0-9a-f]{8,17}$";

/**
 * The AWS account identity CAPA uses for this cluster (AWSCluster spec.identityRef, CAPA
 * api/v1beta2/awsidentity_types.go): a role CAPA's controller assumes (AWSClusterRoleIdentity) or a Secret of static
 * credentials in CAPA's namespace (AWSClusterStaticIdentity; the Secret is never in Git). Without it: the controller's
 * own account (AWSClusterControllerIdentity "default").
 */
const IdentityDefinition = Type.Object(
  {
    roleArn: Type.Optional(
      Type.String({
        pattern: ROLE_ARN,
        maxLength: 2048,
        description:
          "IAM role in the cluster's account that CAPA's controller assumes (AWSClusterRoleIdentity " +
          "spec.roleARN, sourceIdentityRef: the controller identity). The role's trust policy must allow the " +
          "controllers role of the management account (README). Excludes `secretRef`.",
      }),
    ),
    secretRef: Type.Optional(
      Type.String({
        pattern: DNS_LABEL,
        maxLength: LIMITS.namespace,
        description:
          "Name of a Secret in CAPA's namespace (capa-system) holding AccessKeyID/SecretAccessKey " +
          "(AWSClusterStaticIdentity spec.secretRef). Created outside Git; validate refuses it in Git. Excludes " +
          "`roleArn`; needs `account`.",
      }),
    ),
    account: Type.Optional(
      Type.String({
        pattern: AWS_ACCOUNT,
        description:
          "The AWS account of a `secretRef` identity's credentials (a role's account is its ARN's): the fleet " +
          "rule on VPC CIDRs compares clusters of one account.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type IdentitySpec = Static<typeof IdentityDefinition>;

/** Spread rather than passed as options so that `items` stays before the bounds in the written schema, as always. */
const zones = (description: string) => ({
  ...Type.Array(Type.String({ pattern: AZ_NAME })),
  minItems: 1,
  maxItems: 6,
  uniqueItems: true,
  description,
});
/** The profile's size defaults, for the `filled` functions below (the profile field is filled before them). */
const sizes = (root: Record<string, unknown>) =>
  PROFILE_DEFAULTS[PROFILES.find((p) => p === root.profile) ?? DEFAULTS.profile];

const NodePoolDefinition = Type.Object(
  {
    name: Type.String({
      pattern: DNS_LABEL,
      maxLength: LIMITS.poolName,
      description: `Pool name, unique in the cluster, at most ${LIMITS.poolName} characters.`,
    }),
    instanceType: filled(
      Type.Optional(
        Type.String({ pattern: INSTANCE_TYPE, description: "EC2 instance type. Default from the profile." }),
      ),
      (_, root) => sizes(root).poolInstanceType,
    ),
    availabilityZones: filled(
      Type.Optional(zones("Zones the pool spreads over; a subset of the cluster's zones. Default: all of them.")),
      (_, root) => root.availabilityZones,
    ),
    autoscaling: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Scaled by the cluster-autoscaler between minSize and maxSize (no replicas in Git). Default: true.",
      }),
    ),
    minSize: filled(
      Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 1000,
          description: "Smallest size of the whole pool. Default from the profile.",
        }),
      ),
      (_, root) => sizes(root).minSize,
    ),
    maxSize: filled(
      Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1000,
          description: "Largest size of the whole pool. Default from the profile.",
        }),
      ),
      (pool, root) => Math.max(sizes(root).maxSize, Number(pool.minSize)),
    ),
    replicas: filled(
      Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 1000,
          description: "Fixed size, only when autoscaling is false. Default: minSize.",
        }),
      ),
      (pool) => (pool.autoscaling ? undefined : pool.minSize),
    ),
    kubernetesVersion: Type.Optional(
      Type.String({
        pattern: K8S_VERSION,
        description:
          "Kubelet version; not newer than the control plane, at most 3 minors older. Default: the control plane's.",
      }),
    ),
    // filled with nothing: an absent object field would otherwise default to {} (definition.ts fillDefaults).
    image: filled(
      Type.Optional({
        ...ImageDefinition,
        description: "Machine image of this pool; replaces the cluster's `image` as a whole. Default: the cluster's.",
      }),
      () => undefined,
    ),
    labels: Type.Optional(
      stringMap(Type.String({ maxLength: LIMITS.labelValue }), {
        description:
          "Node labels set by the kubelet (node-labels); kubernetes.io/k8s.io prefixes other than " +
          "node.kubernetes.io and kubelet.kubernetes.io are refused by NodeRestriction.",
      }),
    ),
    capacityType: Type.Optional(
      oneOf(CAPACITY_TYPES, {
        description:
          "on-demand (default), spot (every instance spot; MachineDeployment: AWSMachineTemplate " +
          "spotMarketOptions) or mixed (MachinePool only: the auto scaling group's mixedInstancesPolicy).",
      }),
    ),
    instanceTypes: Type.Optional({
      ...Type.Array(Type.String({ pattern: INSTANCE_TYPE })),
      minItems: 1,
      maxItems: 19,
      uniqueItems: true,
      description:
        "Further instance types the auto scaling group may launch, after instanceType (mixedInstancesPolicy " +
        "overrides); MachinePool spot or mixed pools only. Give types of the same size: the cluster-autoscaler " +
        "takes one node as the template of the whole pool.",
    }),
    spotMaxPrice: Type.Optional(
      Type.String({
        pattern: SPOT_PRICE,
        maxLength: 16,
        description:
          "Highest hourly price (USD) for a spot instance; default the on-demand price. Spot pools with one " +
          "instance type only (spotMarketOptions.maxPrice; a mixedInstancesPolicy has no such field).",
      }),
    ),
    onDemandBase: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: "mixed: instances that are always on-demand (onDemandBaseCapacity). Default 0.",
      }),
    ),
    onDemandPercentageAboveBase: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description:
          "mixed: percentage of on-demand instances above the base (onDemandPercentageAboveBaseCapacity). " +
          "Required for mixed (AWS's default, 100, would be no spot at all).",
      }),
    ),
    spotAllocationStrategy: Type.Optional(
      oneOf(SPOT_ALLOCATION_STRATEGIES, {
        description:
          "mixed or multi-type spot: how the group picks spot pools (spotAllocationStrategy). Default " +
          "price-capacity-optimized (AWS's recommendation; AWS's own default is lowest-price).",
      }),
    ),
    // Filled after the instance types (fillDefaults fills in field order): a GPU pool gets the GPU taint unless it
    // says otherwise (`taints: []` for none); other pools get nothing.
    taints: filled(
      Type.Optional({
        ...Type.Array(
          Type.Object(
            {
              key: Type.String({ minLength: 1, maxLength: 316, description: "A qualified name, as a label key." }),
              value: Type.Optional(Type.String({ maxLength: LIMITS.labelValue, description: "A label value." })),
              effect: oneOf(TAINT_EFFECTS),
            },
            { additionalProperties: false },
          ),
        ),
        maxItems: 50,
        description:
          "Node taints registered by kubeadm (KubeadmConfig nodeRegistration.taints, CAPI " +
          "bootstrap/kubeadm/api/v1beta2) and told to the cluster-autoscaler for scale from zero. Default: " +
          `${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect} on a GPU instance type, else none.`,
      }),
      (pool) => (launchesGpu(pool) ? [{ ...GPU_TAINT }] : undefined),
    ),
  },
  { additionalProperties: false },
);

/** The cluster spec as written: the JSON Schema of schemas/cluster-spec.schema.json, with its defaults. */
export const ClusterSpecDefinition = Type.Object(
  {
    apiVersion: constant(CAPI_GITOPS_API_VERSION),
    kind: constant(SPEC_KIND),
    name: Type.String({
      pattern: DNS_LABEL,
      minLength: 1,
      maxLength: LIMITS.clusterName,
      description:
        "Cluster name: lowercase letters, digits and '-', starting with a letter, at most " +
        `${LIMITS.clusterName} characters. The Cluster object and the directory clusters/<name> carry it.`,
    }),
    namespace: filled(
      Type.Optional(
        Type.String({
          pattern: DNS_LABEL,
          maxLength: LIMITS.namespace,
          description: "Namespace on the management cluster for this cluster's objects. Default: the cluster name.",
        }),
      ),
      (spec) => spec.name,
    ),
    region: oneOf(knownRegions(), { type: "string", description: "AWS region." }),
    availabilityZones: filled(
      Type.Optional(
        zones(
          "Zones the cluster uses (one private and one public subnet each). Default: the region's first three zones.",
        ),
      ),
      (spec) => defaultZones(String(spec.region)) ?? [],
    ),
    kubernetesVersion: Type.Optional(
      Type.String({
        pattern: K8S_VERSION,
        default: DEFAULTS.kubernetesVersion,
        description: `Kubernetes version of the control plane, e.g. v1.34.2. Default: ${DEFAULTS.kubernetesVersion}.`,
      }),
    ),
    profile: Type.Optional(
      oneOf(PROFILES, {
        default: DEFAULTS.profile,
        description:
          "Overlay under overlays/profiles/ (health-check strictness, roll-out policy) and the source of the " +
          "size defaults: " +
          `${PROFILES.map(
            (p) =>
              `${p}: control plane ` +
              `${PROFILE_DEFAULTS[p].controlPlaneReplicas}×${PROFILE_DEFAULTS[p].controlPlaneInstanceType}, pools ` +
              `${PROFILE_DEFAULTS[p].poolInstanceType} ${PROFILE_DEFAULTS[p].minSize}..${PROFILE_DEFAULTS[p].maxSize}`,
          ).join("; ")}.`,
      }),
    ),
    workers: Type.Optional(
      oneOf(WORKER_KINDS, {
        default: DEFAULTS.workers,
        description:
          "MachineDeployment (default: one MachineDeployment per pool and zone, each with failureDomain set; " +
          "every removed node is drained first) or MachinePool (one auto scaling group per pool spread over " +
          "its zones; needs EXP_MACHINE_POOL=true on CAPA; scale-down and instance refresh terminate " +
          "instances undrained — a warning for dev, an error for prod).",
      }),
    ),
    controlPlane: Type.Optional(
      Type.Object(
        {
          replicas: filled(
            Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 9,
                description: "Control-plane machines: odd (stacked etcd needs a quorum). Default from the profile.",
              }),
            ),
            (_, root) => sizes(root).controlPlaneReplicas,
          ),
          instanceType: filled(
            Type.Optional(
              Type.String({ pattern: INSTANCE_TYPE, description: "EC2 instance type. Default from the profile." }),
            ),
            (_, root) => sizes(root).controlPlaneInstanceType,
          ),
        },
        { additionalProperties: false },
      ),
    ),
    nodePools: filled(
      Type.Optional(
        Type.Array(NodePoolDefinition, {
          minItems: 1,
          maxItems: 20,
          description: `Worker pools. Default: one pool named "${DEFAULTS.poolName}".`,
        }),
      ),
      () => [{ name: DEFAULTS.poolName }],
    ),
    network: Type.Optional(
      Type.Object(
        {
          vpcCidr: filled(
            Type.Optional(
              Type.String({
                description: `IPv4 CIDR of the VPC CAPA creates, /16 to /24. Default: ${DEFAULTS.vpcCidr}.`,
              }),
            ),
            () => DEFAULTS.vpcCidr,
          ),
          podCidr: filled(
            Type.Optional(Type.String({ description: `Pod CIDR. Default: ${DEFAULTS.podCidr}.` })),
            () => DEFAULTS.podCidr,
          ),
          serviceCidr: filled(
            Type.Optional(Type.String({ description: `Service CIDR. Default: ${DEFAULTS.serviceCidr}.` })),
            () => DEFAULTS.serviceCidr,
          ),
          cni: filled(
            Type.Optional(
              oneOf(CNIS, {
                description:
                  "CNI installed by a ClusterResourceSet from Git (cilium or calico), or none (bring your own; " +
                  `validate warns). Default: ${DEFAULTS.cni}.`,
              }),
            ),
            () => DEFAULTS.cni,
          ),
        },
        { additionalProperties: false },
      ),
    ),
    image: filled(Type.Optional(ImageDefinition), () => undefined),
    apiServer: Type.Optional(
      Type.Object(
        {
          scheme: Type.Optional(
            oneOf(API_SCHEMES, {
              default: "internet-facing",
              description:
                "Control-plane load balancer scheme: internet-facing (default) or internal (reachable only " +
                "from the VPC and peered networks; the management cluster must reach it).",
            }),
          ),
          allowedCidrs: Type.Optional({
            ...Type.Array(Type.String({ pattern: IPV4_CIDR })),
            minItems: 1,
            maxItems: 50,
            uniqueItems: true,
            description:
              "IPv4 CIDRs allowed to reach the API server (port 6443) through the load balancer; must " +
              "include the management cluster's egress. Default: CAPA's, 0.0.0.0/0.",
          }),
          managementConnection: Type.Optional(
            Type.String({
              pattern: MANAGEMENT_CONNECTION,
              description:
                "With scheme internal: the VPC peering connection (pcx-…) or transit gateway attachment " +
                "(tgw-attach-…) through which the management cluster reaches this cluster's VPC (created outside " +
                "Git, README). CAPI's controllers cannot reach an internal load balancer otherwise.",
            }),
          ),
          managementReachAcknowledged: Type.Optional(
            Type.Boolean({
              description:
                "With scheme internal and no managementConnection: true states that the management cluster " +
                "reaches the VPC another way (a VPN, Direct Connect, the same VPC).",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    // filled with nothing: an absent object field would otherwise default to {} (definition.ts fillDefaults).
    identity: filled(
      Type.Optional({
        ...IdentityDefinition,
        description:
          "AWS account identity CAPA uses for this cluster. Default: the controller's own account and credentials.",
      }),
      () => undefined,
    ),
    access: Type.Optional(
      oneOf(ACCESS_MODES, {
        default: "none",
        description:
          "How operators reach the machines: ssm (Session Manager: the managed-instance policy on the node and " +
          "control-plane roles; no sshKeyName), bastion (CAPA's bastion host; needs `bastion.allowedCidrs` and " +
          "sshKeyName) or none. Default: none.",
      }),
    ),
    bastion: filled(
      Type.Optional(
        Type.Object(
          {
            allowedCidrs: {
              ...Type.Array(Type.String({ pattern: IPV4_CIDR })),
              minItems: 1,
              maxItems: 50,
              uniqueItems: true,
              description:
                "IPv4 CIDRs allowed to SSH to the bastion (AWSCluster spec.bastion.allowedCIDRBlocks); never " +
                "0.0.0.0/0 on prod.",
            },
            instanceType: Type.Optional(
              Type.String({
                pattern: INSTANCE_TYPE,
                description: "Bastion instance type. Default: CAPA's (t3.micro).",
              }),
            ),
          },
          { additionalProperties: false, description: "CAPA's bastion host, with access: bastion." },
        ),
      ),
      () => undefined,
    ),
    storage: filled(
      Type.Optional(
        oneOf(STORAGES, {
          description:
            "ebs: the AWS EBS CSI driver and a default gp3 StorageClass, installed by a ClusterResourceSet " +
            `from Git; none: no storage. Default: ${DEFAULTS.storage}.`,
        }),
      ),
      () => DEFAULTS.storage,
    ),
    sshKeyName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: LIMITS.sshKeyName,
        pattern: "^[\\x20-\\x7E]+$",
        description: "Existing EC2 key pair for SSH to the machines. Optional: without it no key is installed.",
      }),
    ),
    // filled with nothing: an absent ring means the last ring capi-gitops.yaml declares (cluster-spec/rollout.ts).
    rollout: filled(
      Type.Optional(
        Type.Object(
          {
            ring: Type.Optional(
              Type.String({
                pattern: DNS_LABEL,
                maxLength: LIMITS.ringName,
                description:
                  "The ring this cluster is in: one of capi-gitops.yaml `rollout.rings`. A change reaches this " +
                  "cluster only once the rings before it are Available. Default: the last ring.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
      () => undefined,
    ),
  },
  { additionalProperties: false },
);

/** A cluster spec as written (after the schema check, before defaults). */
type ClusterSpecInput = Static<typeof ClusterSpecDefinition>;
type PoolInput = NonNullable<ClusterSpecInput["nodePools"]>[number];

/**
 * A node pool after defaults; `replicas` only for pools with autoscaling off, `kubernetesVersion` defaults to the
 * control plane's.
 */
export type NodePoolSpec = WithDefaults<
  PoolInput,
  | "replicas"
  | "kubernetesVersion"
  | "image"
  | "taints"
  | "capacityType"
  | "instanceTypes"
  | "spotMaxPrice"
  | "onDemandBase"
  | "onDemandPercentageAboveBase"
  | "spotAllocationStrategy"
>;
export type Taint = NonNullable<NodePoolSpec["taints"]>[number];
/** A pool's capacity type; absent means on-demand. */
export const capacityOf = (pool: Pick<NodePoolSpec, "capacityType">): CapacityType => pool.capacityType ?? "on-demand";
/** A cluster spec after defaults (parse.ts `applyDefaults`). */
export type ClusterSpec = WithDefaults<
  Omit<ClusterSpecInput, "controlPlane" | "nodePools" | "network" | "apiServer">,
  "sshKeyName" | "image" | "rollout" | "identity" | "bastion"
> & {
  apiServer: WithDefaults<
    NonNullable<ClusterSpecInput["apiServer"]>,
    "allowedCidrs" | "managementConnection" | "managementReachAcknowledged"
  >;
  controlPlane: WithDefaults<NonNullable<ClusterSpecInput["controlPlane"]>>;
  nodePools: NodePoolSpec[];
  network: WithDefaults<NonNullable<ClusterSpecInput["network"]>>;
};
