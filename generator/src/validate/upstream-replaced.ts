/**
 * The hand-written checks removed from validate/rules.ts because the upstream admission layer
 * (validate/admission.ts: the real CAPI v1.13.4 / CAPA v2.13.0 CRDs and webhooks, admission/) reports the same
 * denial: rule id and the check within it → the upstream check and file, and the field upstream names.
 * generator/test/upstream-replaced.test.ts shows the admission program denying each, naming that field.
 *
 * What stays in TypeScript is what no webhook does: references across objects, one namespace per cluster, fleet
 * uniqueness, version skew across objects, zones in the region, CIDR overlaps, AWSMachinePool minSize ≤ maxSize and
 * distinct zones (its webhook allows both), a MachinePool name that is no label value (its Machines carry it in
 * cluster.x-k8s.io/pool-name; the v1.13 MachinePool webhook does not check it), sync safety, secrets, add-on
 * coverage, the autoscaler. The spec checks (cluster-spec/parse.ts) keep their own versions of some of these rule
 * ids: they judge cluster.yaml, before anything is rendered. With the admission layer off
 * (CAPI_GITOPS_ADMISSION=off, a debugging switch) none of the checks below is made; the CRDs' CEL rules then go to
 * kubectl-validate instead (render/units.ts).
 */
export interface ReplacedRule {
  /** The rule id it had in rules.ts (registered: core/rules.ts). */
  rule: RuleId;
  /** Which check of that rule (one rule id covered several checks). */
  check: string;
  /** The upstream file (module@version/path) whose check denies the same objects. */
  upstream: string;
  /** The field upstream names. */
  field: string;
}

import type { RuleId } from "../core/rules.js";

const CAPI = "sigs.k8s.io/cluster-api@v1.13.4/";
const CAPA = "sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0/";
const KCP = `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go`;
const AMT = `${CAPA}webhooks/awsmachinetemplate_webhook.go`;
const AMP = `${CAPA}exp/webhooks/awsmachinepool_webhook.go`;
/** The API server's ObjectMeta validation of custom resources (names are DNS subdomains). */
const CR_META = "k8s.io/apiextensions-apiserver@v0.35.4/pkg/registry/customresource/validator.go";

export const UPSTREAM_REPLACED: readonly ReplacedRule[] = [
  { rule: "kcp-replicas-odd", check: "KCP replicas even with stacked etcd", upstream: KCP, field: "spec.replicas" },
  { rule: "kcp-replicas-odd", check: "KCP replicas 0 or less", upstream: KCP, field: "spec.replicas" },
  {
    rule: "kcp-rollout",
    check: "KCP maxSurge other than 0 or 1",
    upstream: KCP,
    field: "spec.rollout.strategy.rollingUpdate.maxSurge",
  },
  {
    rule: "kcp-rollout",
    check: "KCP maxSurge 0 with fewer than 3 replicas",
    upstream: KCP,
    field: "spec.rollout.strategy.rollingUpdate",
  },
  { rule: "k8s-version", check: "KCP version not semantic", upstream: KCP, field: "spec.version" },
  {
    rule: "k8s-version",
    check: "MachineDeployment version not semantic",
    upstream: `${CAPI}internal/webhooks/machinedeployment.go`,
    field: "spec.template.spec.version",
  },
  {
    rule: "k8s-version",
    check: "MachinePool version not semantic",
    upstream: `${CAPI}internal/webhooks/machinepool.go`,
    field: "spec.template.spec.version",
  },
  {
    rule: "machinepool-no-taints",
    check: "MachinePool taints",
    upstream: `${CAPI}internal/webhooks/machinepool.go`,
    field: "spec.taints",
  },
  {
    rule: "mhc-timeout",
    check: "nodeStartupTimeoutSeconds under 30",
    upstream: `${CAPI}internal/webhooks/machinehealthcheck.go`,
    field: "spec.checks.nodeStartupTimeoutSeconds",
  },
  {
    rule: "capa-forbidden",
    check: "providerID in an AWSMachineTemplate",
    upstream: AMT,
    field: "spec.template.spec.providerID",
  },
  {
    rule: "capa-forbidden",
    check: "cloudInit.secretPrefix in an AWSMachineTemplate",
    upstream: AMT,
    field: "spec.template.spec.cloudInit.secretPrefix",
  },
  {
    rule: "capa-forbidden",
    check: "cloudInit.secretCount in an AWSMachineTemplate",
    upstream: AMT,
    field: "spec.cloudInit.secretCount",
  },
  {
    rule: "capa-forbidden",
    check: "AWSMachineTemplate without instanceType",
    upstream: `${CAPA}config/crd/bases/infrastructure.cluster.x-k8s.io_awsmachinetemplates.yaml`,
    field: "spec.template.spec.instanceType",
  },
  {
    rule: "capa-forbidden",
    check: "security group by id and filters (AWSMachineTemplate)",
    upstream: AMT,
    field: "spec.template.spec.additionalSecurityGroups",
  },
  {
    rule: "capa-forbidden",
    check: "io1/io2 volume without iops (AWSMachineTemplate)",
    upstream: AMT,
    field: "spec.template.spec.rootVolume.iops",
  },
  {
    rule: "capa-forbidden",
    check: "io1/io2 non-root volume without iops (AWSMachineTemplate)",
    upstream: AMT,
    field: "spec.template.spec.nonRootVolumes.iops",
  },
  {
    rule: "capa-forbidden",
    check: "throughput on a non-gp3 volume (AWSMachineTemplate)",
    upstream: AMT,
    field: "spec.template.spec.rootVolume.throughput",
  },
  {
    rule: "capa-forbidden",
    check: "io1/io2 volume without iops (AWSMachinePool)",
    upstream: AMP,
    field: "spec.awsLaunchTemplate.rootVolume.iops",
  },
  {
    rule: "capa-forbidden",
    check: "throughput on a non-gp3 volume (AWSMachinePool)",
    upstream: AMP,
    field: "spec.awsLaunchTemplate.rootVolume.throughput",
  },
  {
    rule: "capa-forbidden",
    check: "security group by id and filters (AWSMachinePool)",
    upstream: AMP,
    field: "spec.awsLaunchTemplate.AdditionalSecurityGroups",
  },
  { rule: "capa-forbidden", check: "subnet by id and filters (AWSMachinePool)", upstream: AMP, field: "spec.subnets" },
  { rule: "capa-forbidden", check: "more than 50 tags (AWSMachinePool)", upstream: AMP, field: "spec.additionalTags" },
  {
    rule: "capa-forbidden",
    check: "a tag key with the aws: prefix (AWSMachinePool)",
    upstream: AMP,
    field: "spec.additionalTags",
  },
  {
    rule: "cidr-valid",
    check: "VPC CIDR not a CIDR",
    upstream: `${CAPA}webhooks/awscluster_webhook.go`,
    field: "spec.network.vpc.cidrBlock",
  },
  {
    rule: "cidr-valid",
    check: "pod CIDR not a CIDR",
    upstream: `${CAPI}internal/webhooks/cluster.go`,
    field: "spec.clusterNetwork.pods.cidrBlocks",
  },
  {
    rule: "cidr-valid",
    check: "service CIDR not a CIDR",
    upstream: `${CAPI}internal/webhooks/cluster.go`,
    field: "spec.clusterNetwork.services.cidrBlocks",
  },
  {
    rule: "name-length",
    check: "Cluster name over 63 characters",
    upstream: `${CAPI}internal/webhooks/cluster.go`,
    field: "metadata.name",
  },
  { rule: "name-length", check: "Cluster name not a DNS name", upstream: CR_META, field: "metadata.name" },
  {
    rule: "name-length",
    check: "MachineDeployment name over 63 characters",
    upstream: `${CAPI}internal/webhooks/machinedeployment.go`,
    field: "metadata.name",
  },
  {
    rule: "name-length",
    check: "load balancer name over 32 characters",
    upstream: `${CAPA}config/crd/bases/infrastructure.cluster.x-k8s.io_awsclusters.yaml`,
    field: "spec.controlPlaneLoadBalancer.name",
  },
];
