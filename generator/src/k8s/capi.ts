/** The Cluster API vocabulary: API groups, versions, labels and annotations shared by the plan, the rules and diff. */

export const GROUP = {
  core: "cluster.x-k8s.io",
  bootstrap: "bootstrap.cluster.x-k8s.io",
  controlPlane: "controlplane.cluster.x-k8s.io",
  infra: "infrastructure.cluster.x-k8s.io",
  addons: "addons.cluster.x-k8s.io",
} as const;
export const API = {
  core: `${GROUP.core}/v1beta2`,
  bootstrap: `${GROUP.bootstrap}/v1beta2`,
  controlPlane: `${GROUP.controlPlane}/v1beta2`,
  infra: `${GROUP.infra}/v1beta2`,
} as const;

/** Every CAPI (and provider) API group: `cluster.x-k8s.io` and its subdomains. */
export const CAPI_GROUPS = /(^|\.)cluster\.x-k8s\.io$/;

export const LABEL = {
  clusterName: "cluster.x-k8s.io/cluster-name",
  controlPlane: "cluster.x-k8s.io/control-plane",
  controlPlaneName: "cluster.x-k8s.io/control-plane-name",
  deploymentName: "cluster.x-k8s.io/deployment-name",
  nodePool: "capi-gitops.io/node-pool",
} as const;

/**
 * On an AWSMachineTemplate / AWSMachinePool whose image is fixed (an AMI id, or a lookup format without the version):
 * the Kubernetes version the spec says the image holds (`image.kubernetesVersion`). Not part of the template's hash
 * name (it changes no machine); validate and diff compare it with the version the machines run.
 */
export const IMAGE_VERSION_ANNOTATION = "capi-gitops.io/image-kubernetes-version";

/**
 * On an AWSCluster whose spec names an `identity`: the AWS account CAPA acts in through it (the role ARN's account,
 * or a static identity's stated account). Absent: the controller's own account. The fleet rule on VPC CIDRs and the
 * inventory read it; CAPA ignores it.
 */
export const AWS_ACCOUNT_ANNOTATION = "capi-gitops.io/aws-account";

/**
 * The cluster-autoscaler's CAPI provider reads pool bounds from these (CAPI MachinePool/MD webhooks default replicas
 * from them).
 */
export const AUTOSCALER = {
  min: "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size",
  max: "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size",
} as const;

/**
 * The cluster-autoscaler's scale-from-zero annotations on a MachineDeployment or MachinePool (kubernetes/autoscaler
 * cluster-autoscaler/cloudprovider/clusterapi/clusterapi_utils.go `labelsKey`, `taintsKey`; README "Pre-defined labels
 * and taints on nodes scaled from zero"): the labels and taints the node group's nodes will have, comma-separated
 * `k=v` and `k=v:Effect`. Without them an empty group's template node has neither, so pods that select the labels or
 * tolerate the taints do not trigger a scale-up from zero (and others would be placed on a tainted group).
 */
export const AUTOSCALER_CAPACITY = {
  labels: "capacity.cluster-autoscaler.kubernetes.io/labels",
  taints: "capacity.cluster-autoscaler.kubernetes.io/taints",
} as const;

/**
 * The Secret CAPI writes with the workload cluster's admin kubeconfig: `<cluster>-kubeconfig`, key `value`
 * (CAPI util/secret/consts.go `Kubeconfig = "kubeconfig"`, `KubeconfigDataName = "value"`; util/secret.Name).
 */
export const kubeconfigSecret = (cluster: string) => ({ name: `${cluster}-kubeconfig`, key: "value" }) as const;
