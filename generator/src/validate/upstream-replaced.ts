/**
 * The hand-written rules of validate/rules.ts that the upstream admission layer (validate/admission.ts, the real
 * CAPI v1.13.4 / CAPA v2.13.0 webhooks and CRDs) now checks too: rule id and the check within it → the upstream
 * check and file that reports the same denial (test: generator/test/upstream-replaced.test.ts shows the admission
 * program denying each). These are candidates for removal from rules.ts (issue #12 item 2); they are still there
 * while rules.ts is being reshaped (issue #10) and while `CAPI_GITOPS_ADMISSION=off` exists. What no webhook does
 * stays in TypeScript: references across objects, fleet uniqueness, version skew across objects, zones in region,
 * CIDR overlaps, sync safety, secrets.
 */
export interface ReplacedRule {
  /** The rule id in rules.ts. */
  rule: string;
  /** Which check of that rule (one rule id covers several checks). */
  check: string;
  /** The upstream file (module-relative, CAPI v1.13.4 or CAPA v2.13.0) whose check denies the same objects. */
  upstream: string;
  /** The field upstream names. */
  field: string;
}

const CAPI = "sigs.k8s.io/cluster-api@v1.13.4/";
const CAPA = "sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0/";

export const UPSTREAM_REPLACED: readonly ReplacedRule[] = [
  { rule: "kcp-replicas-odd", check: "KCP replicas even with stacked etcd", upstream: `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go`, field: "spec.replicas" },
  { rule: "kcp-rollout", check: "KCP maxSurge 0 with fewer than 3 replicas", upstream: `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go`, field: "spec.rollout.strategy.rollingUpdate" },
  { rule: "k8s-version", check: "KCP version not semantic", upstream: `${CAPI}controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go`, field: "spec.version" },
  { rule: "k8s-version", check: "MachineDeployment version not semantic", upstream: `${CAPI}internal/webhooks/machinedeployment.go`, field: "spec.template.spec.version" },
  { rule: "k8s-version", check: "MachinePool version not semantic", upstream: `${CAPI}internal/webhooks/machinepool.go`, field: "spec.template.spec.version" },
  { rule: "machinepool-no-taints", check: "MachinePool taints", upstream: `${CAPI}internal/webhooks/machinepool.go`, field: "spec.taints" },
  { rule: "mhc-timeout", check: "nodeStartupTimeoutSeconds under 30", upstream: `${CAPI}internal/webhooks/machinehealthcheck.go`, field: "spec.checks.nodeStartupTimeoutSeconds" },
  { rule: "capa-forbidden", check: "providerID in an AWSMachineTemplate", upstream: `${CAPA}webhooks/awsmachinetemplate_webhook.go`, field: "spec.template.spec.providerID" },
  { rule: "capa-forbidden", check: "cloudInit.secretPrefix in an AWSMachineTemplate", upstream: `${CAPA}webhooks/awsmachinetemplate_webhook.go`, field: "spec.template.spec.cloudInit.secretPrefix" },
  { rule: "capa-forbidden", check: "io1/io2 volume without iops (AWSMachineTemplate)", upstream: `${CAPA}webhooks/awsmachinetemplate_webhook.go`, field: "spec.template.spec.rootVolume.iops" },
  { rule: "capa-forbidden", check: "throughput on a non-gp3 volume (AWSMachineTemplate)", upstream: `${CAPA}webhooks/awsmachinetemplate_webhook.go`, field: "spec.template.spec.rootVolume.throughput" },
  { rule: "capa-forbidden", check: "io1/io2 volume without iops (AWSMachinePool)", upstream: `${CAPA}exp/webhooks/awsmachinepool_webhook.go`, field: "spec.awsLaunchTemplate.rootVolume.iops" },
  { rule: "cidr-valid", check: "VPC CIDR not a CIDR", upstream: `${CAPA}webhooks/awscluster_webhook.go`, field: "spec.network.vpc.cidrBlock" },
];
