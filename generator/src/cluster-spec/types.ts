/** The cluster spec: `clusters/<name>/cluster.yaml`, the small document a human edits. */

export const SPEC_API_VERSION = "capi-gitops.io/v1alpha1";
export const SPEC_KIND = "ClusterSpec";

export const PROFILES = ["dev", "prod"] as const;
export type Profile = (typeof PROFILES)[number];

export const WORKER_KINDS = ["MachinePool", "MachineDeployment"] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

export interface NodePoolSpec {
  name: string;
  instanceType: string;
  /** Zones the pool spreads over; a subset of the cluster's zones. */
  availabilityZones: string[];
  /** Autoscaled pools carry no replicas in Git; the cluster-autoscaler min/max annotations bound them. */
  autoscaling: boolean;
  minSize: number;
  maxSize: number;
  /** Only for pools with autoscaling off. */
  replicas?: number;
  /** Kubernetes version of the pool's kubelets; defaults to the control plane's. */
  kubernetesVersion?: string;
  labels: Record<string, string>;
}

export interface ClusterSpec {
  apiVersion: typeof SPEC_API_VERSION;
  kind: typeof SPEC_KIND;
  name: string;
  namespace: string;
  region: string;
  availabilityZones: string[];
  kubernetesVersion: string;
  profile: Profile;
  workers: WorkerKind;
  controlPlane: { replicas: number; instanceType: string };
  nodePools: NodePoolSpec[];
  network: { vpcCidr: string; podCidr: string; serviceCidr: string };
  sshKeyName?: string;
}

/** Defaults that depend on the profile. Documented in README ("Cluster spec") and in the spec's JSON Schema. */
export const PROFILE_DEFAULTS: Readonly<
  Record<Profile, { controlPlaneReplicas: number; controlPlaneInstanceType: string; poolInstanceType: string; minSize: number; maxSize: number }>
> = {
  dev: { controlPlaneReplicas: 1, controlPlaneInstanceType: "t3.large", poolInstanceType: "t3.large", minSize: 1, maxSize: 3 },
  prod: { controlPlaneReplicas: 3, controlPlaneInstanceType: "m6i.xlarge", poolInstanceType: "m6i.xlarge", minSize: 3, maxSize: 12 },
};

export const DEFAULTS = {
  kubernetesVersion: "v1.34.2",
  profile: "dev" as Profile,
  workers: "MachinePool" as WorkerKind,
  poolName: "default",
  vpcCidr: "10.0.0.0/16",
  podCidr: "192.168.0.0/16",
  serviceCidr: "10.96.0.0/12",
} as const;

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
  /** A label value is ≤ 63 characters (k8s.io/apimachinery validation.IsValidLabelValue). */
  labelValue: 63,
  /** Largest spec file we read (bytes); a cluster spec is a few hundred bytes. */
  specBytes: 64 * 1024,
} as const;
