/**
 * Every rule of our rule files, once: its severity, the fields of other objects it reads, and what it checks.
 * README's rule table (`rulesReadme`), attribution (`ruleInputs`) and the upstream-replaced table derive from it;
 * emitters name a rule by its `RuleId`, so a rule id that is not registered here does not compile.
 */
import type { RuleInput, RuleSpec } from "./rule.js";

const KCP_VERSION = { kind: "KubeadmControlPlane", field: "spec.version" } as const;
const none: readonly RuleInput[] = [];

export const RULES = {
  // One rendered cluster: references (validate/references.ts).
  "reference-resolves": {
    severity: "error",
    inputs: none,
    docs: "every CAPI reference (infrastructureRef, controlPlaneRef, bootstrap configRef) names an object of the build",
  },
  "one-cluster": { severity: "error", inputs: none, docs: "a cluster's render holds exactly one Cluster" },
  "cluster-name-matches": {
    severity: "error",
    inputs: none,
    docs: "the Cluster is named like its directory `clusters/<name>`",
  },
  "cluster-name-consistent": {
    severity: "error",
    inputs: none,
    docs: "every `clusterName` field and `cluster.x-k8s.io/cluster-name` label names the cluster's Cluster",
  },
  "mhc-selects": {
    severity: "error",
    inputs: none,
    docs: "a MachineHealthCheck's selector is not empty and selects machines of the cluster",
  },

  // One rendered cluster: objects (validate/rules.ts).
  "deprecated-api": { severity: "warning", inputs: none, docs: "no deprecated CAPI `v1beta1` API version" },
  "no-plaintext-secrets": {
    severity: "error",
    inputs: none,
    docs: "no Secret with `data` or `stringData` in Git (clusters and management folders)",
  },
  "no-key-material": {
    severity: "error",
    inputs: none,
    docs: "no AWS keys, private keys or GitHub / Slack / GitLab tokens in anything synced, at the field holding it",
  },
  "namespace-mismatch": {
    severity: "error",
    inputs: none,
    docs: "every object of a cluster is in the Cluster's namespace; the only Namespace created is that one",
  },
  "kubelet-skew": {
    severity: "error",
    inputs: [KCP_VERSION],
    docs: "a pool's version is not newer than the control plane's, nor more minors older than the skew policy allows",
  },
  "autoscaled-no-replicas": {
    severity: "error",
    inputs: none,
    docs: "an autoscaled pool (autoscaler annotations) sets no `spec.replicas`",
  },
  "name-length": {
    severity: "error",
    inputs: none,
    docs: "a MachinePool's name is a label value (≤ 63 characters); in `cluster.yaml`, names fit their limits",
  },
  "region-known": { severity: "error", inputs: none, docs: "the AWSCluster's region is a known AWS region" },
  "az-in-region": {
    severity: "error",
    inputs: [{ kind: "AWSCluster", field: "spec.region" }],
    docs: "every subnet, failure domain and AWSMachinePool zone is in the cluster's region",
  },
  "az-distinct": { severity: "error", inputs: none, docs: "an AWSMachinePool's zones are distinct" },
  "pool-size": { severity: "error", inputs: none, docs: "an AWSMachinePool's minSize is not larger than its maxSize" },
  nlb: {
    severity: "warning",
    inputs: none,
    docs: "the control-plane load balancer sets a loadBalancerType (CAPA's default is the deprecated classic ELB)",
  },
  "cidr-overlap": {
    severity: "error",
    inputs: none,
    docs: "the VPC, pod and service CIDRs of a cluster are disjoint",
  },
  "autoscaler-discovery": {
    severity: "error",
    inputs: none,
    docs: "a clusterapi cluster-autoscaler in a cluster's overlay limits auto-discovery to `clusterName=<cluster>`",
  },
  "autoscaler-present": {
    severity: "error",
    inputs: none,
    docs: "a cluster whose pools carry the autoscaler annotations has a cluster-autoscaler",
  },
  "autoscaler-unused": {
    severity: "warning",
    inputs: none,
    docs: "a cluster-autoscaler has an autoscaled pool to scale",
  },
  "autoscaler-unique": { severity: "error", inputs: none, docs: "at most one cluster-autoscaler serves a cluster" },
  "autoscaler-kubeconfig": {
    severity: "error",
    inputs: none,
    docs: "the cluster-autoscaler mounts the cluster's own `<cluster>-kubeconfig` Secret",
  },
  "autoscaler-minor": {
    severity: "error",
    inputs: [KCP_VERSION],
    docs: "the cluster-autoscaler's image is the control plane's minor (one behind during an upgrade)",
  },
  "render-complete": {
    severity: "error",
    inputs: none,
    docs: "the render holds the Cluster, AWSCluster, control plane and every pool of `cluster.yaml`",
  },
  "prod-control-plane-ha": {
    severity: "error",
    inputs: none,
    docs: "a `profile: prod` cluster runs at least 3 control-plane machines",
  },

  // One rendered cluster: sync safety (validate/rules.ts).
  "sync-safety": {
    severity: "by context",
    inputs: none,
    docs:
      "Argo CD / Flux can never delete CAPI objects on their own (a warning on a cluster's objects; an error on the " +
      "management ApplicationSet, Applications and Flux Kustomizations)",
  },
  "sync-extraneous": {
    severity: "warning",
    inputs: none,
    docs: "an object Argo CD never prunes carries `compare-options: IgnoreExtraneous`",
  },
  "sync-ssa": { severity: "warning", inputs: none, docs: "the ApplicationSet syncs with `ServerSideApply=true`" },
  "sync-autoscaler": {
    severity: "warning",
    inputs: none,
    docs: "the ApplicationSet ignores MachinePools' `/spec/replicas` (RespectIgnoreDifferences=true)",
  },

  // One rendered cluster: add-ons (validate/addon-rules.ts).
  "addons-cni": {
    severity: "by context",
    inputs: none,
    docs: "exactly one CNI reaches the cluster (none: a warning at `network.cni`; more, or a missing one: an error)",
  },
  "addons-ccm": {
    severity: "error",
    inputs: none,
    docs: "exactly one AWS cloud-controller-manager reaches the cluster",
  },
  "addons-csi": {
    severity: "by context",
    inputs: none,
    docs:
      "exactly one EBS CSI driver reaches the cluster (none: a warning at `storage`; more, or a missing one: an " +
      "error)",
  },
  "addons-resources": {
    severity: "error",
    inputs: none,
    docs: "every resource a ClusterResourceSet of no single add-on names is in the render",
  },
  "addons-cni-tested": {
    severity: "warning",
    inputs: none,
    docs: "the pinned Calico runs on a Kubernetes minor it is tested on",
  },
  "addons-ccm-minor": {
    severity: "error",
    inputs: [KCP_VERSION],
    docs: "the cloud-controller-manager's image is the control plane's minor (one behind during an upgrade)",
  },

  // One rendered cluster: machine images and API access (validate/images.ts).
  "image-version": {
    severity: "error",
    inputs: [
      KCP_VERSION,
      { kind: "MachinePool", field: "spec.template.spec.version" },
      { kind: "MachineDeployment", field: "spec.template.spec.version" },
    ],
    docs: "a fixed image (an AMI id, a lookup without the version) states the Kubernetes version its machines run",
  },
  "image-published": {
    severity: "error",
    inputs: none,
    docs: "CAPA's public image lookup finds an image for the version, region and OS",
  },
  "api-open-to-world": {
    severity: "warning",
    inputs: none,
    docs: "a prod cluster's internet-facing API server is not open to 0.0.0.0/0",
  },

  // One rendered cluster: drains and health checks (validate/drain-rules.ts).
  "workers-drain": {
    severity: "by profile",
    inputs: none,
    docs: "workers are MachineDeployments (a MachinePool's nodes are removed undrained)",
  },
  "drain-excluded": {
    severity: "error",
    inputs: none,
    docs: "no Machine skips its drain (exclude-node-draining, a drain timeout under 60 s, a MachineDrainRule `Skip`)",
  },
  "rollout-launch-first": {
    severity: "warning",
    inputs: none,
    docs: "a MachineDeployment's roll-out launches a machine before removing one (maxSurge ≥ 1)",
  },
  "refresh-launch-first": {
    severity: "by profile",
    inputs: none,
    docs: "an AWSMachinePool's instance refresh launches before it terminates, and waits for instanceWarmup",
  },
  "pool-zone-empty": {
    severity: "warning",
    inputs: none,
    docs: "a prod autoscaled pool's minimum leaves no zone at 0 machines",
  },
  "mhc-can-act": {
    severity: "by context",
    inputs: none,
    docs:
      "a MachineHealthCheck selects machines something remediates (a MachinePool's: error; a one-replica control " +
      "plane's: warning)",
  },

  // One rendered cluster: what its own layer may add (validate/user-layer.ts).
  "user-layer-rbac": {
    severity: "error",
    inputs: none,
    docs: "Roles, RoleBindings, ClusterRoles and ClusterRoleBindings only as `generate` writes them",
  },
  "user-layer-serviceaccount": {
    severity: "error",
    inputs: none,
    docs: "ServiceAccounts, and pods running as one, only as `generate` writes them",
  },
  "user-layer-secret": {
    severity: "error",
    inputs: none,
    docs: "a pod reads a Secret only where `generate` mounts one (the autoscaler's kubeconfig)",
  },
  "user-layer-addons": {
    severity: "error",
    inputs: none,
    docs: "ClusterResourceSets and the ConfigMaps they apply only as `generate` writes them",
  },
  "user-layer-host": {
    severity: "error",
    inputs: none,
    docs: "no pod reaches its node (host namespaces, hostPath, …)",
  },

  // The fleet and the validate stages (validate/rules.ts, validate/rule-stage.ts).
  "fleet-unique-name": { severity: "error", inputs: none, docs: "Cluster names are unique across the fleet" },
  "fleet-unique-vpc-cidr": {
    severity: "by context",
    inputs: none,
    docs:
      "VPC CIDRs are disjoint across the fleet (a warning between existing clusters; an error on a cluster whose " +
      "VPC CIDR is new since `--changed-since`)",
  },
  attribution: {
    severity: "error",
    inputs: none,
    docs: "every object of a cluster's render lives in a cluster's namespace",
  },
  "flux-kustomizations": {
    severity: "error",
    inputs: none,
    docs: "Flux Kustomizations sync exactly the validated clusters",
  },

  // Checks of cluster.yaml (cluster-spec/parse.ts) whose rendered twins the upstream admission layer reports.
  "kcp-replicas-odd": {
    severity: "error",
    inputs: none,
    docs: "the control plane's replicas are odd and > 0 (rendered objects: upstream admission)",
    upstream: true,
  },
  "k8s-version": {
    severity: "error",
    inputs: none,
    docs: "Kubernetes versions are valid semantic versions (rendered objects: upstream admission)",
    upstream: true,
  },
  "cidr-valid": {
    severity: "error",
    inputs: none,
    docs: "CIDRs are valid (rendered objects: upstream admission)",
    upstream: true,
  },
  "kcp-rollout": {
    severity: "error",
    inputs: none,
    docs: "the control plane's rollout surge is valid (upstream admission)",
    upstream: true,
  },
  "machinepool-no-taints": {
    severity: "error",
    inputs: none,
    docs: "a MachinePool sets no taints (upstream admission)",
    upstream: true,
  },
  "mhc-timeout": {
    severity: "error",
    inputs: none,
    docs: "a MachineHealthCheck's node start-up timeout is at least 30 s (upstream admission)",
    upstream: true,
  },
  "capa-forbidden": {
    severity: "error",
    inputs: none,
    docs: "no field CAPA forbids in machine templates and pools (upstream admission)",
    upstream: true,
  },
} as const satisfies Record<string, RuleSpec>;

export type RuleId = keyof typeof RULES;

/** Whether a finding's rule is a registered one. */
export const isRuleId = (rule: string): rule is RuleId => Object.hasOwn(RULES, rule);

/** The fields of other objects a finding's rule reads (none for an unregistered rule). */
export const ruleInputs = (rule: string): readonly RuleInput[] => (isRuleId(rule) ? RULES[rule].inputs : none);

const SEVERITY_TEXT: Record<RuleSpec["severity"], string> = {
  error: "error",
  warning: "warning",
  info: "info",
  "by profile": "error (prod), warning",
  "by context": "error or warning",
};

/** README's rule table (section "Validation", between the `rules:begin` / `rules:end` markers). */
export function rulesReadme(): string {
  const rows = Object.entries(RULES).map(([id, r]: [string, RuleSpec]) => {
    const docs = r.docs.replace(/\|/g, "\\|");
    return `| \`${id}\` | ${SEVERITY_TEXT[r.severity]} | ${docs} |`;
  });
  return ["| rule | severity | what it checks |", "|---|---|---|", ...rows].join("\n");
}
