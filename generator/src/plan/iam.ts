/**
 * management/iam/bootstrap.yaml: the AWS account prerequisites as clusterawsadm's AWSIAMConfiguration
 * (bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1, CAPA cmd/clusterawsadm/api/bootstrap/v1beta1/types.go).
 * An AWS admin runs `clusterawsadm bootstrap iam create-cloudformation-stack --config management/iam/bootstrap.yaml`
 * once per account: it creates the instance profiles the generated machines name (plan/capi.ts IAM_PROFILE:
 * control-plane. / nodes.cluster-api-provider-aws.sigs.k8s.io) and the controllers' policy. Not synced anywhere:
 * it is not a Kubernetes object.
 *
 * What the fleet uses:
 * - MachinePools (AWSMachinePool → auto scaling groups, launch templates, instance refresh): in the controllers
 *   policy unconditionally (cmd/clusterawsadm/cloudformation/bootstrap/cluster_api_controller.go).
 * - The EBS CSI driver: `controlPlane.enableCSIPolicy` attaches AWSEBSCSIPolicyController to the control-plane role
 *   only (cloudformation/bootstrap/csi.go csiControlPlaneAwsRoles), so the EBS CSI controller must run on
 *   control-plane nodes.
 * - The cloud-controller-manager: the control-plane and nodes cloud-provider policies (default on; template.go),
 *   plus what CAPA's control-plane policy lacks of cloud-provider-aws docs/prerequisites.md (module
 *   k8s.io/cloud-provider-aws): ec2:DescribeAvailabilityZones (zone ids, `topology.k8s.aws/zone-id`) and
 *   ec2:DescribeInstanceTopology (the network-node labels), inline on the control-plane role (the CCM runs there).
 * - Autoscaling and drain (README "Scale-down and roll-outs drain nodes"): the cluster-autoscaler runs on the
 *   management cluster with the clusterapi provider and scales MachineDeployments through the Kubernetes API, and
 *   every node removal goes through CAPI's Machine controller — no AWS permission beyond CAPA's own.
 *
 * Least privilege:
 * - `controlPlane.disableClusterAPIControllerPolicyAttachment`: clusterawsadm otherwise attaches the CAPA controllers'
 *   policy to the control-plane role too (cloudformation/bootstrap/cluster_api_controller.go
 *   controllersPolicyRoleAttachments), and with the IMDS hop limit 2 (plan/capi.ts) any pod on a control-plane node
 *   could use account-wide CAPA rights. The policy stays attached to the `controllers.` role, which is what the
 *   management cluster's CAPA uses (README, IAM prerequisites).
 * - `eks.disable`: the fleet runs no EKS; otherwise clusterawsadm adds the EKS controllers' policy and roles
 *   (template.go) and ECR read on the nodes (api/bootstrap/v1beta1/defaults.go).
 */
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { K8sObject } from "../k8s/object.js";
import { assumedRoles } from "./identity.js";
import { IAM_CONFIG_FILE } from "../core/layout.js";
import { toYaml } from "../core/yaml.js";
import { type OutputFile, owned } from "./files.js";

export const IAM_API = "bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1";

/**
 * What the cloud-controller-manager needs beyond CAPA's control-plane policy (cloud-provider-aws
 * docs/prerequisites.md).
 */
export const CCM_EXTRA_ACTIONS = ["ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTopology"] as const;

/**
 * Session Manager's managed-instance policy (AWS managed policy AmazonSSMManagedInstanceCore; the regions the spec
 * knows are all in the `aws` partition): attached to the node and control-plane roles when a cluster has
 * `access: ssm`, through AWSIAMConfiguration's `extraPolicyAttachments` (api/bootstrap/v1beta1/types.go
 * AWSIAMRoleSpec).
 */
export const SSM_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/**
 * The AWS account prerequisites for these clusters. Beyond the defaults below:
 * - clusters with a role `identity`: the controllers role may `sts:AssumeRole` exactly those roles
 *   (`clusterAPIControllers.extraStatements`; CAPA's own `allowAssumeRole` grants it only on the instance-profile
 *   ARNs, cloudformation/bootstrap/cluster_api_controller.go). Each target account needs its own stack (the instance
 *   profiles the machines name) and the role with a trust policy for the controllers role (README);
 * - clusters with `access: ssm`: the managed-instance policy on the node and control-plane roles. The roles are
 *   shared by every cluster of an account, so one ssm cluster gives every machine of the account Session Manager.
 */
export function iamConfiguration(specs: readonly ClusterSpec[] = []): K8sObject {
  const roles = assumedRoles(specs);
  const ssm = specs.some((s) => s.access === "ssm") ? { extraPolicyAttachments: [SSM_POLICY_ARN] } : {};
  return {
    apiVersion: IAM_API,
    kind: "AWSIAMConfiguration",
    metadata: { name: "capi-gitops" },
    spec: {
      controlPlane: {
        disableClusterAPIControllerPolicyAttachment: true,
        disableCloudProviderPolicy: false,
        enableCSIPolicy: true,
        extraStatements: [{ Effect: "Allow", Action: [...CCM_EXTRA_ACTIONS], Resource: ["*"] }],
        ...ssm,
      },
      nodes: { disableCloudProviderPolicy: false, ec2ContainerRegistryReadOnly: false, ...ssm },
      eks: { disable: true },
      ...(roles.length
        ? {
            clusterAPIControllers: {
              extraStatements: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Resource: roles }],
            },
          }
        : {}),
    },
  };
}

export const IAM_HEADER = [
  "# AWS account prerequisites for every cluster of this repository (IAM roles, instance profiles, policies).",
  "# An AWS admin runs once per account (and again after this file changes):",
  `#   clusterawsadm bootstrap iam create-cloudformation-stack --config ${IAM_CONFIG_FILE}`,
  "# Not synced to any cluster. Generated by `npm run generate` — do not edit.",
].join("\n");

export function planIam(specs: readonly ClusterSpec[] = []): OutputFile[] {
  return [owned(IAM_CONFIG_FILE, toYaml(iamConfiguration(specs), IAM_HEADER))];
}
