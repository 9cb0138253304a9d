/**
 * JSON Schema of the cluster spec: used by ajv when reading cluster.yaml and written to
 * schemas/cluster-spec.schema.json so editors complete it (`# yaml-language-server: $schema=` line).
 * It keeps its descriptions (they are for humans); semantic checks that JSON Schema cannot say live in parse.ts.
 */
import { knownRegions } from "./regions.js";
import { DEFAULTS, LIMITS, PROFILE_DEFAULTS, PROFILES, SPEC_API_VERSION, SPEC_KIND, WORKER_KINDS } from "./types.js";

export const DNS_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
export const K8S_VERSION = "^v\\d+\\.\\d+\\.\\d+$";
export const INSTANCE_TYPE = "^[a-z][a-z0-9-]*\\.[a-z0-9-]+$";
export const AZ_NAME = "^[a-z]{2}(-[a-z]+)+-\\d+[a-z]$";

const zones = {
  type: "array",
  items: { type: "string", pattern: AZ_NAME },
  minItems: 1,
  maxItems: 6,
  uniqueItems: true,
};

export const clusterSpecSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://capi-gitops.io/schemas/cluster-spec.schema.json",
  title: "capi-gitops cluster spec (clusters/<name>/cluster.yaml)",
  description: "One Cluster API cluster on AWS. `npm run generate` turns it into the Kustomize overlay beside it.",
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind", "name", "region"],
  properties: {
    apiVersion: { const: SPEC_API_VERSION },
    kind: { const: SPEC_KIND },
    name: {
      type: "string",
      pattern: DNS_LABEL,
      minLength: 1,
      maxLength: LIMITS.clusterName,
      description: `Cluster name: lowercase letters, digits and '-', starting with a letter, at most ${LIMITS.clusterName} characters. The Cluster object and the directory clusters/<name> carry it.`,
    },
    namespace: {
      type: "string",
      pattern: DNS_LABEL,
      maxLength: LIMITS.namespace,
      description: "Namespace on the management cluster for this cluster's objects. Default: the cluster name.",
    },
    region: { type: "string", enum: knownRegions(), description: "AWS region." },
    availabilityZones: {
      ...zones,
      description: "Zones the cluster uses (one private and one public subnet each). Default: the region's first three zones.",
    },
    kubernetesVersion: {
      type: "string",
      pattern: K8S_VERSION,
      default: DEFAULTS.kubernetesVersion,
      description: `Kubernetes version of the control plane, e.g. v1.34.2. Default: ${DEFAULTS.kubernetesVersion}.`,
    },
    profile: {
      enum: [...PROFILES],
      default: DEFAULTS.profile,
      description: `Overlay under overlays/profiles/ (health-check strictness, roll-out policy) and the source of the size defaults: ${PROFILES.map((p) => `${p}: control plane ${PROFILE_DEFAULTS[p].controlPlaneReplicas}×${PROFILE_DEFAULTS[p].controlPlaneInstanceType}, pools ${PROFILE_DEFAULTS[p].poolInstanceType} ${PROFILE_DEFAULTS[p].minSize}..${PROFILE_DEFAULTS[p].maxSize}`).join("; ")}.`,
    },
    workers: {
      enum: [...WORKER_KINDS],
      default: DEFAULTS.workers,
      description: "MachinePool (one auto scaling group per pool spread over its zones; needs EXP_MACHINE_POOL=true on CAPA) or MachineDeployment (one MachineDeployment per pool and zone, each with failureDomain set).",
    },
    controlPlane: {
      type: "object",
      additionalProperties: false,
      properties: {
        replicas: { type: "integer", minimum: 1, maximum: 9, description: "Control-plane machines: odd (stacked etcd needs a quorum). Default from the profile." },
        instanceType: { type: "string", pattern: INSTANCE_TYPE, description: "EC2 instance type. Default from the profile." },
      },
    },
    nodePools: {
      type: "array",
      minItems: 1,
      maxItems: 20,
      description: `Worker pools. Default: one pool named "${DEFAULTS.poolName}".`,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        properties: {
          name: { type: "string", pattern: DNS_LABEL, maxLength: LIMITS.poolName, description: `Pool name, unique in the cluster, at most ${LIMITS.poolName} characters.` },
          instanceType: { type: "string", pattern: INSTANCE_TYPE, description: "EC2 instance type. Default from the profile." },
          availabilityZones: { ...zones, description: "Zones the pool spreads over; a subset of the cluster's zones. Default: all of them." },
          autoscaling: { type: "boolean", default: true, description: "Scaled by the cluster-autoscaler between minSize and maxSize (no replicas in Git). Default: true." },
          minSize: { type: "integer", minimum: 0, maximum: 1000, description: "Smallest size of the whole pool. Default from the profile." },
          maxSize: { type: "integer", minimum: 1, maximum: 1000, description: "Largest size of the whole pool. Default from the profile." },
          replicas: { type: "integer", minimum: 0, maximum: 1000, description: "Fixed size, only when autoscaling is false. Default: minSize." },
          kubernetesVersion: { type: "string", pattern: K8S_VERSION, description: "Kubelet version; not newer than the control plane, at most 3 minors older. Default: the control plane's." },
          labels: {
            type: "object",
            additionalProperties: { type: "string", maxLength: LIMITS.labelValue },
            description: "Node labels set by the kubelet (node-labels); kubernetes.io/k8s.io prefixes other than node.kubernetes.io and kubelet.kubernetes.io are refused by NodeRestriction.",
          },
        },
      },
    },
    network: {
      type: "object",
      additionalProperties: false,
      properties: {
        vpcCidr: { type: "string", description: `IPv4 CIDR of the VPC CAPA creates, /16 to /24. Default: ${DEFAULTS.vpcCidr}.` },
        podCidr: { type: "string", description: `Pod CIDR. Default: ${DEFAULTS.podCidr}.` },
        serviceCidr: { type: "string", description: `Service CIDR. Default: ${DEFAULTS.serviceCidr}.` },
      },
    },
    sshKeyName: {
      type: "string",
      minLength: 1,
      maxLength: LIMITS.sshKeyName,
      pattern: "^[\\x20-\\x7E]+$",
      description: "Existing EC2 key pair for SSH to the machines. Optional: without it no key is installed.",
    },
  },
} as const;
