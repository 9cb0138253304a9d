/**
 * The planted-fault corpus of the upstream admission parity (issue #12 item 4), shared by admission-parity.test.ts
 * (the admission program and `validate`) and e2e-parity.test.ts (a real kube-apiserver with the upstream webhooks,
 * `npm run e2e`): faults, each a kustomize patch in a cluster's own kustomization.yaml (as a user would write it) of a
 * freshly generated cluster, across every CAPI/CAPA kind the project generates, each drawn from an upstream webhook
 * or CRD source (cited per case; CAPI v1.13.4, CAPA v2.13.0 in the Go module cache).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";

export type Workers = "pool" | "deployment";
export interface Fault {
  name: string;
  /** The fixture it edits: a MachinePool cluster (like alpha) or a MachineDeployment one (like beta). */
  on: Workers;
  kind: string;
  /** Target name suffix (regex) when the kind has several objects, e.g. the control plane's AWSMachineTemplate. */
  target?: string;
  ops: object[];
  /** A piece of the field path upstream names. */
  field: string;
  /** The upstream file the check comes from (module-relative). */
  source: string;
  /**
   * No layer but the upstream admission catches it (kubeconform and our rules miss it; with the layer off,
   * kubectl-validate checks the CRDs' CEL too). Since issue #12 item 2 this includes the checks our rules used to
   * mirror (validate/upstream-replaced.ts).
   */
  upstreamOnly?: boolean;
}

const CAPI = "sigs.k8s.io/cluster-api@v1.13.4/";
const CAPA = "sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0/";
const add = (p: string, value: unknown) => ({ op: "add", path: p, value });
const replace = (p: string, value: unknown) => ({ op: "replace", path: p, value });

export const FAULTS: Fault[] = [
  // AWSCluster — CAPA webhooks/awscluster_webhook.go
  {
    name: "subnet with an invalid CIDR",
    on: "deployment",
    kind: "AWSCluster",
    ops: [replace("/spec/network/subnets/0/cidrBlock", "10.1.0.0/33")],
    field: "spec.network.subnets[0].cidrBlock",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateNetwork: "subnet CIDR block is invalid")`,
    upstreamOnly: true,
  },
  {
    name: "VPC CIDR not a CIDR",
    on: "pool",
    kind: "AWSCluster",
    ops: [replace("/spec/network/vpc/cidrBlock", "10.0.0.0/40")],
    field: "spec.network.vpc.cidrBlock",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateNetwork: "VPC CIDR block is invalid")`,
    upstreamOnly: true,
  },
  {
    name: "nodePort ingress CIDR invalid",
    on: "pool",
    kind: "AWSCluster",
    ops: [add("/spec/network/nodePortIngressRuleCidrBlocks", ["not-a-cidr"])],
    field: "nodePortIngressRuleCidrBlocks",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateNetwork: nodePortIngressRuleCidrBlocks)`,
    upstreamOnly: true,
  },
  {
    name: "secondary CIDR invalid",
    on: "deployment",
    kind: "AWSCluster",
    ops: [add("/spec/network/vpc/secondaryCidrBlocks", [{ ipv4CidrBlock: "10.300.0.0/16" }])],
    field: "secondaryCidrBlocks",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateNetwork: secondaryCidrBlocks)`,
    upstreamOnly: true,
  },
  {
    name: "cidrBlock together with ipamPool",
    on: "pool",
    kind: "AWSCluster",
    ops: [add("/spec/network/vpc/ipamPool", { id: "ipam-pool-0123456789abcdef0" })],
    field: "cidrBlock",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateNetwork: "cidrBlock and ipamPool cannot be used together")`,
    upstreamOnly: true,
  },
  {
    name: "classic ELB with targetGroupIPType",
    on: "deployment",
    kind: "AWSCluster",
    ops: [
      replace("/spec/controlPlaneLoadBalancer/loadBalancerType", "classic"),
      add("/spec/controlPlaneLoadBalancer/targetGroupIPType", "ipv4"),
    ],
    field: "controlPlaneLoadBalancer",
    source: `${CAPA}webhooks/awscluster_webhook.go (validateControlPlaneLBs / targetGroupIPType)`,
    upstreamOnly: true,
  },
  {
    name: "unknown field (strict decode)",
    on: "pool",
    kind: "AWSCluster",
    ops: [add("/spec/regoin", "us-east-1")],
    field: "spec",
    source:
      `${CAPA}config/crd/bases/infrastructure.cluster.x-k8s.io_awsclusters.yaml (structural schema, unknown ` +
      `field)`,
  },
  // AWSMachineTemplate — CAPA webhooks/awsmachinetemplate_webhook.go
  {
    name: "non-root volume without a device name",
    on: "deployment",
    kind: "AWSMachineTemplate",
    target: "default",
    ops: [add("/spec/template/spec/nonRootVolumes", [{ size: 50, type: "gp3" }])],
    field: "nonRootVolumes",
    source:
      `${CAPA}webhooks/awsmachinetemplate_webhook.go (validateNonRootVolumes: "non root volume should have ` +
      `device name")`,
    upstreamOnly: true,
  },
  {
    name: "io1 root volume without iops",
    on: "deployment",
    kind: "AWSMachineTemplate",
    target: "control-plane",
    ops: [replace("/spec/template/spec/rootVolume/type", "io1")],
    field: "rootVolume.iops",
    source:
      `${CAPA}webhooks/awsmachinetemplate_webhook.go (validateRootVolume: "iops required if type is 'io1' or ` +
      `'io2'")`,
    upstreamOnly: true,
  },
  {
    name: "throughput on a gp2 root volume",
    on: "pool",
    kind: "AWSMachineTemplate",
    target: "control-plane",
    ops: [replace("/spec/template/spec/rootVolume/type", "gp2"), add("/spec/template/spec/rootVolume/throughput", 250)],
    field: "rootVolume.throughput",
    source:
      `${CAPA}webhooks/awsmachinetemplate_webhook.go (validateRootVolume: "throughput is valid only for type ` +
      `'gp3'")`,
    upstreamOnly: true,
  },
  {
    name: "cloudInit.secretPrefix in a template",
    on: "deployment",
    kind: "AWSMachineTemplate",
    target: "default",
    ops: [add("/spec/template/spec/cloudInit", { secretPrefix: "x" })],
    field: "cloudInit.secretPrefix",
    source: `${CAPA}webhooks/awsmachinetemplate_webhook.go (validateCloudInitSecret: "cannot be set in templates")`,
    upstreamOnly: true,
  },
  {
    name: "providerID in a template",
    on: "deployment",
    kind: "AWSMachineTemplate",
    target: "control-plane",
    ops: [add("/spec/template/spec/providerID", "aws:///us-east-1a/i-0123")],
    field: "providerID",
    source: `${CAPA}webhooks/awsmachinetemplate_webhook.go (ValidateCreate: "cannot be set in templates")`,
    upstreamOnly: true,
  },
  {
    name: "hostID without host tenancy",
    on: "pool",
    kind: "AWSMachineTemplate",
    target: "control-plane",
    ops: [add("/spec/template/spec/hostID", "h-0123456789abcdef0")],
    field: "hostID",
    source:
      `${CAPA}webhooks/awsmachinetemplate_webhook.go (validateHostAllocation: "hostID can only be set when ` +
      `tenancy is 'host'")`,
    upstreamOnly: true,
  },
  // AWSMachinePool — CAPA exp/webhooks/awsmachinepool_webhook.go
  {
    name: "io1 root volume without iops (pool)",
    on: "pool",
    kind: "AWSMachinePool",
    ops: [replace("/spec/awsLaunchTemplate/rootVolume/type", "io1")],
    field: "rootVolume.iops",
    source: `${CAPA}exp/webhooks/awsmachinepool_webhook.go (validateRootVolume)`,
    upstreamOnly: true,
  },
  {
    name: "negative defaultCoolDown",
    on: "pool",
    kind: "AWSMachinePool",
    ops: [add("/spec/defaultCoolDown", "-5s")],
    field: "DefaultCoolDown",
    source:
      `${CAPA}exp/webhooks/awsmachinepool_webhook.go (validateDefaultCoolDown: "DefaultCoolDown must be ` +
      `greater than zero")`,
    upstreamOnly: true,
  },
  {
    name: "maxSize of the wrong type",
    on: "pool",
    kind: "AWSMachinePool",
    ops: [replace("/spec/maxSize", "ten")],
    field: "maxSize",
    source: `${CAPA}config/crd/bases/infrastructure.cluster.x-k8s.io_awsmachinepools.yaml (schema: integer)`,
  },
  // KubeadmControlPlane — CAPI controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go
  {
    name: "even replicas with stacked etcd",
    on: "deployment",
    kind: "KubeadmControlPlane",
    ops: [replace("/spec/replicas", 4)],
    field: "spec.replicas",
    source:
      `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go (validateSpec: "cannot be an ` +
      `even number when etcd is stacked")`,
    upstreamOnly: true,
  },
  {
    name: "version not semantic",
    on: "pool",
    kind: "KubeadmControlPlane",
    ops: [replace("/spec/version", "1.34")],
    field: "version",
    source:
      `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go (validateSpec: "must be a valid ` +
      `semantic version")`,
    upstreamOnly: true,
  },
  {
    name: "scale-in with fewer than 3 replicas",
    on: "pool",
    kind: "KubeadmControlPlane",
    ops: [replace("/spec/rollout/strategy/rollingUpdate/maxSurge", 0)],
    field: "spec.rollout.strategy.rollingUpdate",
    source:
      `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go (validateSpec: scale-in needs at ` +
      `least 3 replicas)`,
    upstreamOnly: true,
  },
  {
    name: "file with content and contentFrom (KCP)",
    on: "deployment",
    kind: "KubeadmControlPlane",
    ops: [
      add("/spec/kubeadmConfigSpec/files", [
        { path: "/etc/x", content: "a", contentFrom: { secret: { name: "s", key: "k" } } },
      ]),
    ],
    field: "kubeadmConfigSpec.files[0]",
    source:
      `${CAPI}api/bootstrap/kubeadm/v1beta2/kubeadmconfig_types.go (validateFiles: "only one of content or ` +
      `contentFrom may be specified")`,
    upstreamOnly: true,
  },
  {
    name: "differing control-plane health-check timeouts",
    on: "pool",
    kind: "KubeadmControlPlane",
    ops: [add("/spec/kubeadmConfigSpec/initConfiguration/timeouts", { controlPlaneComponentHealthCheckSeconds: 120 })],
    field: "controlPlaneComponentHealthCheckSeconds",
    source: `${CAPI}api/bootstrap/kubeadm/v1beta2/kubeadmconfig_types.go (Validate, isKCP: timeouts must match)`,
    upstreamOnly: true,
  },
  // KubeadmConfig — CAPI bootstrap/kubeadm/internal/webhooks/kubeadmconfig.go → KubeadmConfigSpec.Validate
  {
    name: "duplicate file path (KubeadmConfig)",
    on: "pool",
    kind: "KubeadmConfig",
    ops: [
      add("/spec/files", [
        { path: "/etc/a", content: "1" },
        { path: "/etc/a", content: "2" },
      ]),
    ],
    field: "spec.files",
    source: `${CAPI}api/bootstrap/kubeadm/v1beta2/kubeadmconfig_types.go (validateFiles: duplicate path)`,
    upstreamOnly: true,
  },
  {
    name: "user passwd and passwdFrom",
    on: "pool",
    kind: "KubeadmConfig",
    ops: [add("/spec/users", [{ name: "ops", passwd: "x", passwdFrom: { secret: { name: "s", key: "k" } } }])],
    field: "spec.users[0]",
    source:
      `${CAPI}api/bootstrap/kubeadm/v1beta2/kubeadmconfig_types.go (validateUsers: "only one of passwd or ` +
      `passwdFrom may be specified")`,
    upstreamOnly: true,
  },
  {
    name: "ignition format with the gate off",
    on: "pool",
    kind: "KubeadmConfig",
    ops: [add("/spec/format", "ignition")],
    field: "spec.format",
    source:
      `${CAPI}api/bootstrap/kubeadm/v1beta2/kubeadmconfig_types.go (validateIgnition: ` +
      `KubeadmBootstrapFormatIgnition feature gate)`,
    upstreamOnly: true,
  },
  // KubeadmConfigTemplate — CAPI bootstrap/kubeadm/internal/webhooks/kubeadmconfigtemplate.go →
  // KubeadmConfigSpec.Validate
  {
    name: "file with content and contentFrom (template)",
    on: "deployment",
    kind: "KubeadmConfigTemplate",
    ops: [
      add("/spec/template/spec/files", [
        { path: "/etc/x", content: "a", contentFrom: { secret: { name: "s", key: "k" } } },
      ]),
    ],
    field: "spec.template.spec.files[0]",
    source: `${CAPI}bootstrap/kubeadm/internal/webhooks/kubeadmconfigtemplate.go (validateFiles)`,
    upstreamOnly: true,
  },
  {
    name: "user passwd and passwdFrom (template)",
    on: "deployment",
    kind: "KubeadmConfigTemplate",
    ops: [
      add("/spec/template/spec/users", [{ name: "ops", passwd: "x", passwdFrom: { secret: { name: "s", key: "k" } } }]),
    ],
    field: "spec.template.spec.users[0]",
    source: `${CAPI}bootstrap/kubeadm/internal/webhooks/kubeadmconfigtemplate.go (validateUsers)`,
    upstreamOnly: true,
  },
  // MachineDeployment — CAPI internal/webhooks/machinedeployment.go
  {
    name: "selector not matching the template labels",
    on: "deployment",
    kind: "MachineDeployment",
    target: "default-a",
    ops: [replace("/spec/selector/matchLabels/cluster.x-k8s.io~1deployment-name", "other")],
    field: "spec.template.metadata.labels",
    source: `${CAPI}internal/webhooks/machinedeployment.go (validate: template labels "must match spec.selector")`,
    upstreamOnly: true,
  },
  {
    name: "template clusterName differs",
    on: "deployment",
    kind: "MachineDeployment",
    target: "default-b",
    ops: [replace("/spec/template/spec/clusterName", "other")],
    field: "clusterName",
    source: `${CAPI}internal/webhooks/machinedeployment.go (validate: clusterName must match)`,
  },
  {
    name: "maxSurge and maxUnavailable both 0",
    on: "deployment",
    kind: "MachineDeployment",
    target: "default-c",
    ops: [replace("/spec/rollout/strategy/rollingUpdate/maxSurge", 0)],
    field: "rollingUpdate",
    source: `${CAPI}internal/webhooks/machinedeployment.go (validateRolloutStrategy: both 0)`,
    upstreamOnly: true,
  },
  {
    name: "version not semantic (MachineDeployment)",
    on: "deployment",
    kind: "MachineDeployment",
    target: "default-a",
    ops: [replace("/spec/template/spec/version", "latest")],
    field: "version",
    source: `${CAPI}internal/webhooks/machinedeployment.go (validate: "must be a valid semantic version")`,
    upstreamOnly: true,
  },
  // MachinePool — CAPI internal/webhooks/machinepool.go
  {
    name: "MachinePool taints",
    on: "pool",
    kind: "MachinePool",
    ops: [add("/spec/taints", [{ key: "k", value: "v", effect: "NoSchedule", propagation: "Always" }])],
    field: "spec.taints",
    source: `${CAPI}internal/webhooks/machinepool.go (validate: taints not implemented for MachinePools)`,
  },
  {
    name: "template clusterName differs (MachinePool)",
    on: "pool",
    kind: "MachinePool",
    ops: [replace("/spec/template/spec/clusterName", "other")],
    field: "clusterName",
    source: `${CAPI}internal/webhooks/machinepool.go (validate: clusterName must match)`,
  },
  {
    name: "version not semantic (MachinePool)",
    on: "pool",
    kind: "MachinePool",
    ops: [replace("/spec/template/spec/version", "1.34.x")],
    field: "version",
    source: `${CAPI}internal/webhooks/machinepool.go (validate: "must be a valid semantic version")`,
    upstreamOnly: true,
  },
  // MachineHealthCheck — CAPI internal/webhooks/machinehealthcheck.go
  {
    name: "empty selector",
    on: "deployment",
    kind: "MachineHealthCheck",
    target: "default",
    ops: [replace("/spec/selector", {})],
    field: "spec.selector",
    source: `${CAPI}internal/webhooks/machinehealthcheck.go (validate: "selector must not be empty")`,
  },
  {
    name: "nodeStartupTimeout under 30 s",
    on: "deployment",
    kind: "MachineHealthCheck",
    target: "default",
    ops: [replace("/spec/checks/nodeStartupTimeoutSeconds", 10)],
    field: "nodeStartupTimeoutSeconds",
    source: `${CAPI}internal/webhooks/machinehealthcheck.go (validateCommonFields: "must be at least 30s")`,
    upstreamOnly: true,
  },
  {
    name: "unhealthyLessThanOrEqualTo not int or percentage",
    on: "deployment",
    kind: "MachineHealthCheck",
    target: "control-plane",
    ops: [replace("/spec/remediation/triggerIf/unhealthyLessThanOrEqualTo", "forty")],
    field: "unhealthyLessThanOrEqualTo",
    source:
      `${CAPI}internal/webhooks/machinehealthcheck.go (validateCommonFields: "must be either an int or a ` +
      `percentage")`,
    upstreamOnly: true,
  },
  {
    name: "selector of another cluster",
    on: "deployment",
    kind: "MachineHealthCheck",
    target: "control-plane",
    ops: [add("/spec/selector/matchLabels/cluster.x-k8s.io~1cluster-name", "other")],
    field: "spec.selector",
    source:
      `${CAPI}internal/webhooks/machinehealthcheck.go (validate: "cannot specify a cluster selector other ` +
      `than the one specified by ClusterName")`,
  },
  // Cluster — CAPI internal/webhooks/cluster.go
  {
    name: "topology without the ClusterTopology gate",
    on: "pool",
    kind: "Cluster",
    ops: [add("/spec/topology", { classRef: { name: "c" }, version: "v1.34.2" })],
    field: "spec.topology",
    source:
      `${CAPI}internal/webhooks/cluster.go (validate: "can be set only if the ClusterTopology feature flag ` +
      `is enabled")`,
    upstreamOnly: true,
  },
  {
    name: "controlPlaneRef of an unknown API group",
    on: "deployment",
    kind: "Cluster",
    ops: [replace("/spec/controlPlaneRef/apiGroup", "Not_A_Group")],
    field: "controlPlaneRef",
    source: `${CAPI}config/crd/bases/cluster.x-k8s.io_clusters.yaml (schema: apiGroup pattern)`,
  },
];

export const clusterName = (i: number) => `f${String(i + 1).padStart(2, "0")}`;
export const CLEAN = ["alpha", "beta"] as const;

/**
 * Writes the clean clusters and one cluster per fault (its patch in the cluster's own kustomization.yaml) into repo.
 */
export async function writeFaultRepo(repo: string): Promise<void> {
  const log = () => {};
  // alpha: MachinePool workers (the faults on MachinePools and AWSMachinePools); beta: MachineDeployments, 3
  // control-plane replicas (the faults on MachineHealthChecks: only those clusters have them, plan/capi.ts).
  await newClusterCommand({
    cwd: repo,
    log,
    flags: { name: "alpha", region: "ap-northeast-2", workers: "MachinePool", imageLookupOrg: "123456789012" },
  });
  await newClusterCommand({
    cwd: repo,
    log,
    flags: {
      name: "beta",
      region: "us-east-1",
      workers: "MachineDeployment",
      profile: "prod",
      imageLookupOrg: "123456789012",
    },
  });
  const specOf = {
    pool: await readFile(path.join(repo, "clusters/alpha/cluster.yaml"), "utf8"),
    deployment: await readFile(path.join(repo, "clusters/beta/cluster.yaml"), "utf8"),
  };
  const from = { pool: "alpha", deployment: "beta" };
  for (const [i, f] of FAULTS.entries()) {
    const name = clusterName(i);
    const spec = specOf[f.on]
      .replace(new RegExp(`\\b${from[f.on]}\\b`, "g"), name)
      .replace(/vpcCidr: .*/, `vpcCidr: 10.${i + 10}.0.0/16`);
    await mkdir(path.join(repo, "clusters", name), { recursive: true });
    await writeFile(path.join(repo, "clusters", name, "cluster.yaml"), spec);
  }
  await generateCommand({ cwd: repo, log });
  // The faults: a patch in each fault cluster's own kustomization.yaml.
  for (const [i, f] of FAULTS.entries()) {
    const name = clusterName(i);
    const target = f.target ? { kind: f.kind, name: `${name}-${f.target}.*` } : { kind: f.kind };
    const k = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["generated"],
      patches: [{ target, patch: JSON.stringify(f.ops) }],
    };
    await writeFile(path.join(repo, "clusters", name, "kustomization.yaml"), JSON.stringify(k, null, 2));
  }
}
