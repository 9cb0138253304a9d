/**
 * Every rule id a finding can carry, once: its severity, the fields of other objects it reads, and what it checks.
 * `Finding.rule` is a `RuleId`, so a rule id that is not registered here does not compile. README's rule table
 * (validate/registry.ts `rulesReadme`) and attribution (`ruleInputs`) derive from it; the `upstream` flag agrees with
 * the upstream-replaced table (generator/test/rule-registry.test.ts);
 * the rules' checks live where they run (validate/rule.ts `defineRule`, `finding`).
 */
import type { Severity } from "./findings.js";

/** A field of another object of the cluster that a rule compares a finding's field with. */
export interface RuleInput {
  readonly kind: string;
  readonly field: string;
}

/**
 * A rule's severity: one for every finding, or chosen per finding — `by profile` (an error for `profile: prod`, a
 * warning otherwise) or `by context` (the rule's docs say when it is which).
 */
export type RuleSeverity = Severity | "by profile" | "by context";

/** A registered rule without its check (what README's table and attribution read). */
export interface RuleSpec {
  readonly severity: RuleSeverity;
  /**
   * Fields of other objects the rule judges a finding's field against: a patch that set one caused the finding as
   * much as the field the finding names (validate/attribution.ts).
   */
  readonly inputs: readonly RuleInput[];
  /** What the rule checks, one line (README's rule table). */
  readonly docs: string;
  /**
   * A check of the rule on rendered objects was handed to the upstream admission layer, which reports it now
   * (validate/upstream-replaced.ts lists each); the rule's other checks, e.g. of `cluster.yaml`, stay ours.
   */
  readonly upstream?: true;
}

const KCP_VERSION = { kind: "KubeadmControlPlane", field: "spec.version" } as const;
const none: readonly RuleInput[] = [];

export const RULES = {
  // cluster.yaml and the command-line flags that make one (cluster-spec/parse.ts, cluster-spec/flags.ts).
  "spec-yaml": {
    severity: "error",
    inputs: none,
    docs: "`cluster.yaml` is a regular file of one YAML document (≤ 64 KiB), without duplicate keys or alias bombs",
  },
  "spec-schema": { severity: "error", inputs: none, docs: "`cluster.yaml` matches the cluster spec's JSON Schema" },
  "namespace-reserved": {
    severity: "error",
    inputs: none,
    docs: "a cluster's namespace is none of the management cluster's own (nor one `capi-gitops.yaml` reserves)",
  },
  "az-subnet-room": {
    severity: "error",
    inputs: none,
    docs: "every zone's subnets fit in the VPC (zones are addressed by their letter's position in the region)",
  },
  "image-id-or-lookup": {
    severity: "error",
    inputs: none,
    docs: "an image gives either an AMI `id` or the lookup fields, not both",
  },
  "api-cidr": { severity: "error", inputs: none, docs: "every `apiServer.allowedCidrs` entry is a valid IPv4 CIDR" },
  "identity-kind": {
    severity: "error",
    inputs: none,
    docs: "`identity` gives either `roleArn` or `secretRef` (with the credentials' `account`), not both",
  },
  "internal-api-reach": {
    severity: "error",
    inputs: none,
    docs:
      "an internal API (`apiServer.scheme: internal`) names the management cluster's way into the VPC " +
      "(`apiServer.managementConnection`) or acknowledges it (`apiServer.managementReachAcknowledged: true`)",
  },
  "access-ssh-key": {
    severity: "error",
    inputs: none,
    docs: "`access: ssm` installs no SSH key (`sshKeyName` refused); `access: bastion` needs one",
  },
  "bastion-cidrs": {
    severity: "by profile",
    inputs: none,
    docs:
      "`bastion` goes with `access: bastion` and its `allowedCidrs` are valid IPv4 CIDRs, never the whole " +
      "internet (0.0.0.0/0: an error for prod, a warning otherwise)",
  },
  "pool-unique": { severity: "error", inputs: none, docs: "pool names are unique within a cluster" },
  "pool-az-subset": {
    severity: "error",
    inputs: none,
    docs: "a pool's zones are among the cluster's `availabilityZones`",
  },
  "label-valid": {
    severity: "error",
    inputs: none,
    docs: "pool label keys and values are valid Kubernetes labels, and fit the kubelet's node-labels argument",
  },
  "taint-valid": {
    severity: "error",
    inputs: none,
    docs: "pool taints are what the API server accepts on a Node (qualified-name key, label value, no pair twice)",
  },
  "pool-capacity": {
    severity: "error",
    inputs: none,
    docs:
      "a pool's capacity fields fit together (mixed and several instance types need MachinePools; spot and mixed " +
      "parameters only with their capacity type)",
  },
  "cidr-size": {
    severity: "error",
    inputs: none,
    docs: "the pod and service CIDRs have sizes kube-apiserver and kube-controller-manager accept",
  },
  flag: { severity: "error", inputs: none, docs: "a command-line flag's value is valid" },
  import: {
    severity: "error",
    inputs: none,
    docs: "`import` maps every field of the manifests it reads to `cluster.yaml`, or says why not",
  },

  // The repository (repo/load.ts, cluster-spec/config.ts).
  "repo-config": {
    severity: "error",
    inputs: none,
    docs: "`capi-gitops.yaml` is a regular, readable file that matches its schema",
  },
  "cluster-dir-unvalidated": {
    severity: "error",
    inputs: none,
    docs: "every directory of `clusters/` has a `cluster.yaml` (else nothing validates what a sync would apply)",
  },
  "no-symlinks": { severity: "error", inputs: none, docs: "`cluster.yaml` is not a symbolic link" },
  "no-symlink-escape": {
    severity: "error",
    inputs: none,
    docs: "a symbolic link in the repository resolves, and stays inside the repository",
  },
  "name-matches-dir": {
    severity: "error",
    inputs: none,
    docs: "`cluster.yaml`'s `name` is its directory's name",
  },
  "fleet-unique-namespace": {
    severity: "error",
    inputs: none,
    docs: "every cluster has its own namespace across the fleet",
  },
  "rollout-ring": {
    severity: "error",
    inputs: none,
    docs: "a cluster's `rollout.ring` is one of the rings `capi-gitops.yaml` declares (`rollout.rings`)",
  },
  "cluster-exists": {
    severity: "error",
    inputs: none,
    docs: "a cluster a command names exists, and the directory of a new cluster does not",
  },

  // Building a cluster's render (render/).
  "kustomize-build": {
    severity: "error",
    inputs: none,
    docs: "`kustomize build` of a cluster or folder succeeds (and no `kustomization.yaml` links outside its folder)",
  },
  "no-path-escape": {
    severity: "error",
    inputs: none,
    docs: "what a cluster's build reads stays inside the repository",
  },
  "no-remote-resource": {
    severity: "error",
    inputs: none,
    docs: "a kustomization names no remote resource (kustomize would fetch it from the network)",
  },
  "addon-payload": { severity: "error", inputs: none, docs: "an add-on's payload file is a YAML stream" },

  // The schema and admission layers (validate/schema-layers.ts, validate/admission.ts).
  kubeconform: { severity: "error", inputs: none, docs: "every rendered object matches its kind's OpenAPI schema" },
  "api-served": {
    severity: "error",
    inputs: none,
    docs: "every rendered object's apiVersion is one the pinned providers serve",
  },
  "schema-missing": {
    severity: "error",
    inputs: none,
    docs: "every rendered object's kind has a schema (is a kind of the pinned providers)",
  },
  cel: { severity: "error", inputs: none, docs: "every rendered object passes its CRD's CEL validation rules" },
  "admission/decode": { severity: "error", inputs: none, docs: "the admission layer decodes every rendered object" },
  "admission/schema": {
    severity: "error",
    inputs: none,
    docs: "every rendered CAPI/CAPA object passes its CRD's structural schema in the admission layer",
  },
  "admission/cel": {
    severity: "error",
    inputs: none,
    docs: "every rendered CAPI/CAPA object passes its CRD's CEL rules in the admission layer",
  },
  "admission/conversion": {
    severity: "error",
    inputs: none,
    docs: "every rendered CAPI/CAPA object converts to its storage version in the admission layer",
  },
  "admission/webhook": {
    severity: "error",
    inputs: none,
    docs: "every rendered CAPI/CAPA object passes the providers' own validating webhooks",
  },

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
  "static-identity-secret": {
    severity: "error",
    inputs: none,
    docs: "no Secret in Git is named like a static identity's `secretRef` (its credentials are created outside Git)",
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
  "kubeadm-join-skew": {
    severity: "warning",
    inputs: [KCP_VERSION],
    docs:
      "a MachineDeployment pool one minor behind the control plane gets no new machine from CAPI (MachineSet " +
      "preflight KubeadmVersionSkew) until the upgrade's pool step",
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
    upstream: true,
  },
  "region-known": {
    severity: "error",
    inputs: none,
    docs: "the AWSCluster's region (and `cluster.yaml`'s) is a known AWS region",
  },
  "az-in-region": {
    severity: "error",
    inputs: [{ kind: "AWSCluster", field: "spec.region" }],
    docs:
      "every subnet, failure domain and pool zone is in the cluster's region (`cluster.yaml` names at least one " +
      "zone)",
  },
  "az-distinct": {
    severity: "error",
    inputs: none,
    docs: "the zones of an AWSMachinePool, and of `cluster.yaml` and its pools, are distinct",
  },
  "pool-size": {
    severity: "error",
    inputs: none,
    docs:
      "an AWSMachinePool's minSize ≤ maxSize; in `cluster.yaml`, a pool's replicas are within them and a " +
      "MachineDeployment pool's maxSize covers its zones",
  },
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
    docs:
      "the render holds the Cluster, AWSCluster, control plane and every pool of `cluster.yaml`; a management " +
      "folder renders objects",
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
  // One rendered cluster: spot, mixed and GPU pools (validate/pool-rules.ts).
  "spot-one-type": {
    severity: "warning",
    inputs: none,
    docs: "a spot pool can launch more than one instance type (one type: one spot capacity pool to run out of)",
  },
  "spot-interruption": {
    severity: "warning",
    inputs: none,
    docs: "spot instances are reclaimed on a two-minute notice that nothing in the cluster turns into a drain",
  },
  "mixed-sizes": {
    severity: "warning",
    inputs: none,
    docs: "the instance types of a mixed pool are one size (the cluster-autoscaler takes one node for the pool)",
  },
  "control-plane-spot": {
    severity: "by profile",
    inputs: none,
    docs: "control-plane machines are on-demand (a reclaimed spot instance takes an etcd member with it)",
  },
  "gpu-image": {
    severity: "warning",
    inputs: none,
    docs: "a GPU pool boots an image of its own (CAPA's public images carry no NVIDIA driver)",
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
      "VPC CIDRs are disjoint between the clusters of one AWS account, in any region (the account of `identity`, " +
      "else the controller's; a warning between existing clusters; an error on a cluster whose VPC CIDR is new " +
      "since `--changed-since`)",
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

  // The sync manifests against the clusters (validate/sync-check.ts).
  "argocd-applications": {
    severity: "error",
    inputs: none,
    docs: "the ApplicationSet makes Applications from `cluster.yaml` files only (no git directories generator)",
  },
  "change-reaches-all-rings": {
    severity: "warning",
    inputs: none,
    docs:
      "`diff`: a file every cluster reads (outside `clusters/`) changes clusters of several rings in one change; " +
      "release it ring by ring",
  },
  "sync-ring-order": {
    severity: "error",
    inputs: none,
    docs:
      "with two rings or more, the sync engine reaches the clusters in ring order: each Application is selected by " +
      "its ring's RollingSync step (Argo CD), each cluster's Kustomization waits for exactly the earlier rings' (Flux)",
  },
  "argocd-project": {
    severity: "error",
    inputs: none,
    docs: "every Application's AppProject exists and allows its source, destination and resources",
  },
  "flux-permissions": {
    severity: "error",
    inputs: none,
    docs: "the ServiceAccount Flux applies a cluster as may create every object of the cluster's render",
  },

  // The health checks the sync engine applies (validate/health-rules.ts).
  "health-checks-present": {
    severity: "error",
    inputs: none,
    docs:
      "the render the sync engine applies holds a health check for every CAPI/CAPA kind: Argo CD's `argocd-cm` " +
      "keys (synced server-side, without client-side apply migration), or on every cluster's Flux Kustomization " +
      "`healthCheckExprs` with `wait: true` and a `timeout`. The MachinePool check must stay: CAPI v1.13.4 sets no " +
      "`Available` on a MachinePool (internal/controllers/machinepool), so a Cluster whose `Available` is Unknown " +
      "only for that is Healthy, and the pools' own checks (v1beta1 `Ready`, phase `Running`) gate the sync",
  },
  "health-checks-valid": {
    severity: "error",
    inputs: none,
    docs: "every health check's Lua parses (gopher-lua, as Argo CD) and every CEL expression compiles (as Flux)",
  },

  // What `generate` writes (validate/drift.ts).
  "generated-drift": {
    severity: "error",
    inputs: none,
    docs: "every generated file is what `generate` writes from the specs (run `npm run generate`)",
  },
  "generated-unknown-file": {
    severity: "error",
    inputs: none,
    docs: "a folder the generator owns holds only generated files",
  },

  // Releases through the rollout rings (plan/release.ts).
  "release-integrity": {
    severity: "error",
    inputs: none,
    docs: "each ring's `releases/<ring>/` is what its `release.json` records (changed by `npm run release` only)",
  },
  "release-order": {
    severity: "error",
    inputs: none,
    docs: "a release reaches the rings in their declared order: no ring holds a release the ring before it has not had",
  },
  "release-pending": {
    severity: "info",
    inputs: none,
    docs: "where the latest release has reached: the rings still to release, and a `base/` change released to no ring",
  },

  // The hydrated add-ons (plan/addons-payload.ts, plan/addons-lock.ts).
  "addons-images": {
    severity: "error",
    inputs: none,
    docs: "every add-on payload file belongs to a pinned add-on version, parses, and uses the pinned images",
  },
  "addons-integrity": {
    severity: "error",
    inputs: none,
    docs: "the add-on payload files are exactly the ones the add-ons lock pins, with its hashes",
  },

  // Changes between a base and the working tree (diff/flags.ts, commands/diff.ts, workflows/compare.ts).
  "template-changed-in-place": {
    severity: "error",
    inputs: none,
    docs: "a machine or bootstrap template is changed only under a new name (CAPI never rolls an in-place edit)",
  },
  "awscluster-immutable": {
    severity: "error",
    inputs: none,
    docs: "the AWSCluster's region and control-plane load balancer scheme do not change",
  },
  "identity-changed": {
    severity: "by context",
    inputs: none,
    docs:
      "the AWSCluster's identityRef is not removed nor moved to another account (errors); another identity of the " +
      "same account is a warning",
  },
  "bastion-toggled": {
    severity: "warning",
    inputs: none,
    docs: "CAPA's bastion is turned on (an SSH entry into the VPC) or off (its sessions end)",
  },
  "version-jump": {
    severity: "error",
    inputs: none,
    docs: "the control plane's Kubernetes version moves up by at most one minor, never down",
  },
  "cluster-renamed": {
    severity: "error",
    inputs: none,
    docs: "a Cluster keeps its name and namespace (Cluster API cannot rename one)",
  },
  "cluster-moved": {
    severity: "error",
    inputs: none,
    docs: "a cluster directory is not moved to a new name (same region and VPC CIDR as a removed cluster)",
  },
  "vpc-cidr-changed": { severity: "error", inputs: none, docs: "the VPC CIDR of a cluster does not change" },
  "subnet-cidr-changed": { severity: "error", inputs: none, docs: "a subnet's CIDR does not change" },
  "pool-removed": {
    severity: "warning",
    inputs: none,
    docs: "a removed pool is named, with the manual step that deletes it (the sync prunes nothing)",
  },
  "capacity-changed": {
    severity: "warning",
    inputs: none,
    docs:
      "a pool's capacity type (on-demand, spot, mixed) or instance types change: every instance is replaced (a " +
      "roll-out, or an instance refresh of the auto scaling group)",
  },
  "pool-upgraded-with-control-plane": {
    severity: "by context",
    inputs: none,
    docs:
      "a pool's version does not move in the same change as the control plane's (a MachineDeployment: warning; " +
      "a MachinePool: error)",
  },
  "rbac-changed": {
    severity: "by context",
    inputs: none,
    docs:
      "a change of RBAC in the management cluster is named (cluster-wide access added: error; in a new cluster: " +
      "info; otherwise warning)",
  },
  "core-object-removed": {
    severity: "error",
    inputs: none,
    docs: "no object leaves the render of a cluster that stays (the sync deletes nothing)",
  },
  "cni-switched": { severity: "error", inputs: none, docs: "a running cluster's CNI does not change" },
  "storage-removed": {
    severity: "warning",
    inputs: none,
    docs: "a running cluster's EBS CSI driver is not dropped (`storage: none`)",
  },
  "control-plane-ha-lost": {
    severity: "error",
    inputs: none,
    docs: "the control plane does not shrink below the high-availability size",
  },
  "image-version-mismatch": {
    severity: "error",
    inputs: none,
    docs: "machines whose version moves get an image built for the new version",
  },
  "addon-changed": {
    severity: "error",
    inputs: none,
    docs: "an add-on installed into a workload cluster (ClusterResourceSet) is added or changed only knowingly",
  },
  "addons-changed": {
    severity: "error",
    inputs: none,
    docs: "the hydrated add-ons and their lock change only through `npm run addons`",
  },
  "secret-mounted": {
    severity: "warning",
    inputs: none,
    docs: "a pod of a cluster's namespace that newly reads a Secret is named",
  },
  "workers-switched": {
    severity: "by context",
    inputs: none,
    docs:
      "a pool moving from a MachinePool to MachineDeployments is named (a warning when `workers` says so, else an " +
      "error)",
  },
  "gitops-engine-switched": {
    severity: "error",
    inputs: none,
    docs: "the GitOps engine (`gitops` in `capi-gitops.yaml`) does not change",
  },
  "sync-source-changed": {
    severity: "error",
    inputs: none,
    docs: "the repository, branch and Argo CD project every cluster syncs from do not change",
  },
  "diff-base-build": {
    severity: "warning",
    inputs: none,
    docs: "the base of a diff builds (else the cluster or folder is not compared)",
  },

  // Upgrades (plan/upgrade.ts, diff/upgrade.ts, commands/upgrade.ts).
  "upgrade-state": { severity: "info", inputs: none, docs: "where a cluster is in its upgrade" },
  "upgrade-step": { severity: "info", inputs: none, docs: "the upgrade step a change makes" },
  "upgrade-target": { severity: "error", inputs: none, docs: "the upgrade's target is a valid Kubernetes version" },
  "upgrade-downgrade": {
    severity: "error",
    inputs: none,
    docs: "the upgrade's target is not older than the control plane",
  },
  "upgrade-one-minor": {
    severity: "error",
    inputs: none,
    docs: "an upgrade moves the control plane by one minor at a time",
  },
  "upgrade-addons": {
    severity: "error",
    inputs: none,
    docs: "the pinned add-ons support the upgrade's target",
  },
  "upgrade-image": {
    severity: "error",
    inputs: none,
    docs: "every machine an upgrade step moves has an image for the target (and `--image-id` only when one moves)",
  },
  "upgrade-changed": {
    severity: "error",
    inputs: none,
    docs: "no cluster spec changes while `upgrade` waits for the repository lock",
  },

  // Commands (commands/, workflows/branch.ts).
  git: {
    severity: "error",
    inputs: none,
    docs: "`--branch` runs in a git repository with a commit, no unrelated staged changes and an identity",
  },
  uncommitted: {
    severity: "error",
    inputs: none,
    docs: "`remove-cluster` loses nothing Git does not hold (unless `--force`)",
  },
  "e2e-tool-verdict": {
    severity: "error",
    inputs: none,
    docs: "in the e2e run, the tool flags every change the fixtures make that should be flagged",
  },
} as const satisfies Record<string, RuleSpec>;

export type RuleId = keyof typeof RULES;

/** Whether a string is a registered rule id. */
export const isRuleId = (rule: string): rule is RuleId => Object.hasOwn(RULES, rule);
