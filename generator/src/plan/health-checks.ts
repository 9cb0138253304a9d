/**
 * The health checks capi-gitops generates for the CAPI/CAPA kinds, for Argo CD (Lua, `argocd-cm`
 * `resource.customizations.health.<group>_<Kind>`) and Flux (CEL, Kustomization `spec.healthCheckExprs`).
 * This shape is what the health/ Go module (capi-gitops-health) reads: `check` parses/compiles it, `eval` runs it
 * on objects the way each engine does.
 *
 * Each kind's verdict is one ordered list of rules (the first that holds decides), written once as predicates and
 * compiled to both engines, so Argo CD and Flux cannot disagree:
 * - Argo CD: a Lua 5.1 chunk for gopher-lua (argo-cd v3.5.7 util/lua/lua.go opens only the base, table, package and a
 *   safe os library: no `string` library, so every test is an equality, a table lookup or an order comparison of
 *   strings) over the global `obj`, returning `{status, message}`.
 * - Flux: kustomize-controller v1.9.6 (fluxcd/pkg/runtime v0.110.3 cel/status_evaluator.go) parses the expressions
 *   without declared types, evaluates `inProgress`, then `failed`, then `current`, and calls anything else InProgress;
 *   it already answers InProgress itself while `status.observedGeneration` differs from `metadata.generation`. Each
 *   expression here is "the first rule that holds has this state", so the order Flux evaluates them in cannot change
 *   the verdict. A top-level field the object lacks is an evaluation error (kstatus Unknown, waited on like
 *   InProgress), so the expressions guard every nested field with `has()`.
 */
import { GROUP } from "../k8s/capi.js";

/** One Flux `healthCheckExprs` entry (kustomize-controller ≥ v1.5; CEL over the object). */
export interface FluxHealthExpr {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

export interface HealthChecks {
  /** `<group>_<Kind>` (Argo CD's key suffix, e.g. `cluster.x-k8s.io_Cluster`) → the Lua script. */
  argo: Record<string, string>;
  flux: FluxHealthExpr[];
}

/** The `argocd-cm` key prefix of a health customization (argo-cd docs/operator-manual/health.md). */
export const ARGO_HEALTH_KEY_PREFIX = "resource.customizations.health.";

export type ArgoState = "Healthy" | "Progressing" | "Degraded" | "Suspended";
/** Flux has no Suspended: a paused object is InProgress (kstatus). */
export type FluxState = "Current" | "InProgress" | "Failed";
export const FLUX_STATE: Record<ArgoState, FluxState> = {
  Healthy: "Current",
  Progressing: "InProgress",
  Degraded: "Failed",
  Suspended: "InProgress",
};

type ConditionStatus = "True" | "False" | "Unknown";

/**
 * The shape of a condition's message: one of `prefixes`, then at least one character and no line break, then
 * `suffix`. It recognises a message CAPI's util/conditions composes around object names, which a check cannot know.
 */
export interface MessageShape {
  prefixes: readonly string[];
  suffix: string;
}

/** What a rule tests on the object. Field paths are lists of keys from the object's root. */
export type Pred =
  /**
   * A `status.conditions` entry (or the list at `at`) of this type with this status, observed at the object's
   * generation (a condition without `observedGeneration` counts as observed), optionally with one of `reasons`,
   * a message other than `messageNot` and a message of the `shape`.
   */
  | {
      op: "condition";
      type: string;
      status: ConditionStatus;
      reasons?: readonly string[];
      messageNot?: string;
      shape?: MessageShape;
      at?: readonly string[];
    }
  /** Some v1beta1-style condition (with `severity`) of the list at `at` is False with this severity. */
  | { op: "severity"; severity: "Error" | "Warning"; at: readonly string[] }
  /** The field is the boolean true. */
  | { op: "true"; path: readonly string[] }
  /** The field is a non-empty string. */
  | { op: "text"; path: readonly string[] }
  /** The field is one of these strings. */
  | { op: "oneOf"; path: readonly string[]; values: readonly string[] }
  /** The field exists. */
  | { op: "present"; path: readonly string[] }
  /** The controller has not yet written status for the object's current generation. */
  | { op: "stale" }
  /**
   * The number at `path` (absent: 0) is below the number at `than`, where both the field `than` and the object
   * holding `path` exist (a status without that object — another API version — never holds).
   */
  | { op: "fewer"; path: readonly string[]; than: readonly string[] }
  | { op: "any"; of: readonly Pred[] }
  | { op: "all"; of: readonly Pred[] };

/** What follows a rule's message in Argo CD: a condition's message (of the list at `at`) or a field. */
export type Detail =
  | { condition: string; at?: readonly string[] }
  | { field: readonly string[] }
  | { severity: "Error"; at: readonly string[] };

export interface HealthRule {
  when: Pred;
  state: ArgoState;
  message: string;
  detail?: Detail;
}

export interface KindHealth {
  group: string;
  /** The apiVersion Flux's entry names (only its group is matched). */
  apiVersion: string;
  kind: string;
  /** What Healthy / Current means for the kind: its README cell (a test holds them equal). */
  healthy: string;
  /** The rules in order, the first that holds deciding; the last one always holds (`always`). */
  rules: readonly HealthRule[];
}

// --- Predicates -------------------------------------------------------------------------------------------------

const CONDITIONS = ["status", "conditions"] as const;
/** Where CAPI v1.13 keeps the v1beta1 conditions (with severity) of its v1beta2 objects. */
const V1BETA1 = ["status", "deprecated", "v1beta1"] as const;
const V1BETA1_CONDITIONS = [...V1BETA1, "conditions"] as const;

const condition = (
  type: string,
  status: ConditionStatus,
  more: { reasons?: readonly string[]; messageNot?: string; shape?: MessageShape; at?: readonly string[] } = {},
): Pred => ({ op: "condition", type, status, ...more });
const any = (...of: Pred[]): Pred => ({ op: "any", of });
const all = (...of: Pred[]): Pred => ({ op: "all", of });
/** A predicate that always holds (the closing rule of every kind). */
const always: Pred = { op: "all", of: [] };
const PAUSED_ANNOTATION = "cluster.x-k8s.io/paused";
const deleting: Pred = { op: "present", path: ["metadata", "deletionTimestamp"] };
const stale: Pred = { op: "stale" };

/**
 * CAPI's paused: the object's `Paused` condition (set by every CAPI controller from `Cluster.spec.paused` or the
 * `cluster.x-k8s.io/paused` annotation, util/paused) or the annotation itself, which a controller may not have seen.
 */
const capiPaused = (...more: Pred[]): Pred =>
  any(condition("Paused", "True"), { op: "present", path: ["metadata", "annotations", PAUSED_ANNOTATION] }, ...more);

/**
 * CAPA's failure reasons (cluster-api-provider-aws v2.13.0 api/v1beta2/conditions_consts.go and
 * exp/api/v1beta2/conditions_consts.go: the `*Failed` reasons, an instance terminated or stopped outside CAPA, a
 * principal not allowed): CAPI mirrors the infrastructure object's `Ready` condition, whose v1beta1 summary carries
 * the reason of its worst condition, into the owner's `InfrastructureReady` (without severity).
 */
export const CAPA_FAILURE_REASONS: readonly string[] = [
  "PrincipalCredentialRetrievalFailed",
  "CredentialProviderBuildFailed",
  "PrincipalUsageUnauthorized",
  "SourcePrincipalUsageUnauthorized",
  "VpcReconciliationFailed",
  "SubnetsReconciliationFailed",
  "InternetGatewayFailed",
  "EgressOnlyInternetGatewayFailed",
  "CarrierGatewayFailed",
  "NatGatewaysReconciliationFailed",
  "RouteTableReconciliationFailed",
  "VpcEndpointsReconciliationFailed",
  "SecondaryCidrReconciliationFailed",
  "SecurityGroupReconciliationFailed",
  "BastionHostFailed",
  "LoadBalancerFailed",
  "InstanceTerminated",
  "InstanceStopped",
  "InstanceProvisionFailed",
  "SecurityGroupsSyncFailed",
  "ELBAttachFailed",
  "ELBDetachFailed",
  "S3BucketCreationFailed",
  "ASGProvisionFailed",
  "LaunchTemplateCreateFailed",
  "LaunchTemplateReconcileFailed",
  "NitroEnclaveEdgeZoneUnsupported",
  "PreLaunchTemplateUpdateCheckFailed",
  "PostLaunchTemplateUpdateOperationFailed",
  "InstanceRefreshFailed",
  "LifecycleHookCreationFailed",
  "LifecycleHookUpdateFailed",
  "LifecycleHookDeletionFailed",
];

/** The v1beta1 failure fields CAPI v1.13 still sets on Cluster, Machine, MachinePool and KubeadmControlPlane. */
const failed: Pred = any(
  { op: "text", path: [...V1BETA1, "failureReason"] },
  { op: "text", path: [...V1BETA1, "failureMessage"] },
);
const failedDetail: Detail = { field: [...V1BETA1, "failureMessage"] };
const infraFailed: Pred = condition("InfrastructureReady", "False", { reasons: CAPA_FAILURE_REASONS });

// --- Rule blocks shared by the CAPI v1beta2 kinds ----------------------------------------------------------------

const pausedRule = (kind: string, ...more: Pred[]): HealthRule => ({
  when: capiPaused(...more),
  state: "Suspended",
  message: `${kind} is paused`,
  detail: { condition: "Paused" },
});
const deletingRule = (kind: string): HealthRule => ({
  when: deleting,
  state: "Progressing",
  message: `${kind} is being deleted`,
  detail: { condition: "Deleting" },
});
const staleRule: HealthRule = {
  when: stale,
  state: "Progressing",
  message: "Waiting for the controller to observe the latest spec",
};
/** Available True is not enough while the object changes: these conditions say it is moving. */
const movingRules = (types: readonly string[]): HealthRule[] =>
  types.map((type) => ({
    when: condition(type, "True"),
    state: "Progressing",
    message: MOVING_MESSAGE[type] ?? type,
    detail: { condition: type },
  }));
const MOVING_MESSAGE: Record<string, string> = {
  RollingOut: "Rolling out",
  ScalingUp: "Scaling up",
  ScalingDown: "Scaling down",
  Remediating: "Remediating machines",
};
const availableRules = (kind: string): HealthRule[] => [
  { when: condition("Available", "True"), state: "Healthy", message: `${kind} is available` },
  { when: always, state: "Progressing", message: `${kind} is not available yet`, detail: { condition: "Available" } },
];

// --- The kinds -------------------------------------------------------------------------------------------------

const CORE_API = `${GROUP.core}/v1beta2`;
const CP_API = `${GROUP.controlPlane}/v1beta2`;
const ADDONS_API = `${GROUP.addons}/v1beta2`;
const INFRA_API = `${GROUP.infra}/v1beta2`;

/**
 * CAPI v1.13.4's MachinePool controller never sets the v1beta2 `Available` on a MachinePool
 * (internal/controllers/machinepool/machinepool_controller_status.go writes replica counts only), while the Cluster's
 * `WorkersAvailable` aggregates its MachinePools' and MachineDeployments' `Available`
 * (internal/controllers/cluster/cluster_controller_status.go, setWorkersAvailableCondition). util/conditions
 * (aggregate.go, merge_strategies.go) counts a missing source as Unknown "Condition Available not yet reported" and
 * writes one line per kind and message — `* MachinePool <name>: …`, `* MachinePools <a>, <b>: …`,
 * `* MachinePools <a>, <b>, <c>, ... (<n> more): …` —, MachineDeployment lines first (kinds sorted), and a False
 * source makes it False. The Cluster's `Available` summary (setAvailableCondition) then lists only its non-True
 * inputs. So a Cluster of MachinePools is never Available; these two messages are exactly the case where nothing
 * else holds it back: `WorkersAvailable` Unknown with the MachinePool line alone (no MachineDeployment unavailable or
 * unknown, no MachinePool with an Available of its own that is not True), and `Available` Unknown listing
 * `WorkersAvailable` alone (Deleting, RemoteConnectionProbe, InfrastructureReady, ControlPlaneAvailable,
 * TopologyReconciled and any availability gate all fine). The MachinePools' own checks (v1beta1 Ready, phase
 * Running) still gate the Argo CD Application and the Flux Kustomization, which wait for every object.
 */
const NOT_YET_REPORTED = ": Condition Available not yet reported";
const MACHINE_POOL_LINES = ["* MachinePool ", "* MachinePools "];
const onlyMachinePoolsUnreported: Pred = all(
  condition("Available", "Unknown", {
    shape: { prefixes: MACHINE_POOL_LINES.map((l) => `* WorkersAvailable:\n  ${l}`), suffix: NOT_YET_REPORTED },
  }),
  condition("WorkersAvailable", "Unknown", { shape: { prefixes: MACHINE_POOL_LINES, suffix: NOT_YET_REPORTED } }),
  condition("InfrastructureReady", "True"),
  condition("ControlPlaneAvailable", "True"),
  condition("RemoteConnectionProbe", "True"),
);

const cluster: KindHealth = {
  group: GROUP.core,
  apiVersion: CORE_API,
  kind: "Cluster",
  healthy:
    "`Available` True, and none of `RollingOut`, `ScalingUp`, `ScalingDown`, `Remediating` True; or `Available` " +
    "Unknown only because its MachinePools report no `Available` (CAPI v1.13.4 never sets it on a MachinePool; " +
    "their own checks gate the sync)",
  rules: [
    pausedRule("Cluster", { op: "true", path: ["spec", "paused"] }),
    deletingRule("Cluster"),
    { when: failed, state: "Degraded", message: "Cluster failed", detail: failedDetail },
    {
      when: infraFailed,
      state: "Degraded",
      message: "The infrastructure reports a failure",
      detail: { condition: "InfrastructureReady" },
    },
    {
      // Before the first successful probe the controller sets this False too ("not established yet"); only after
      // the control plane is initialized and the probe failed for the grace period is the cluster unreachable.
      when: all(
        condition("ControlPlaneInitialized", "True"),
        condition("RemoteConnectionProbe", "False", { messageNot: "Remote connection not established yet" }),
      ),
      state: "Degraded",
      message: "The workload cluster's API server is unreachable",
      detail: { condition: "RemoteConnectionProbe" },
    },
    staleRule,
    ...movingRules(["RollingOut", "ScalingUp", "ScalingDown", "Remediating"]),
    { when: condition("Available", "True"), state: "Healthy", message: "Cluster is available" },
    {
      when: onlyMachinePoolsUnreported,
      state: "Healthy",
      message: "Cluster is available but for its MachinePools, on which CAPI v1.13 sets no Available",
      detail: { condition: "WorkersAvailable" },
    },
    { when: always, state: "Progressing", message: "Cluster is not available yet", detail: { condition: "Available" } },
  ],
};

const kubeadmControlPlane: KindHealth = {
  group: GROUP.controlPlane,
  apiVersion: CP_API,
  kind: "KubeadmControlPlane",
  healthy: "`Available` True (etcd quorum, a working API server), not rolling out, scaling or remediating",
  rules: [
    pausedRule("KubeadmControlPlane"),
    deletingRule("KubeadmControlPlane"),
    { when: failed, state: "Degraded", message: "KubeadmControlPlane failed", detail: failedDetail },
    staleRule,
    ...movingRules(["RollingOut", "ScalingUp", "ScalingDown", "Remediating"]),
    ...availableRules("KubeadmControlPlane"),
  ],
};

/**
 * Right after a template change a MachineDeployment looks settled for a moment: its controller has observed the new
 * generation and made the new MachineSet, but `RollingOut` (and `upToDateReplicas`) count the Machines' `UpToDate`
 * conditions, which the Machine controller updates only in a later reconcile (cluster-api v1.13.4
 * internal/controllers/machinedeployment/machinedeployment_status.go setRollingOutCondition,
 * internal/controllers/machine/machine_controller_status.go). A health check that polls at once — Flux's first poll
 * right after the apply — sees it Available and not rolling out, and a ring would pass on before its machines moved.
 * The v1beta1 `updatedReplicas` is computed in that same reconcile from the new MachineSet
 * (machinedeployment_sync.go calculateV1Beta1Status): below `spec.replicas`, the roll-out has not finished.
 */
const currentTemplateShort: Pred = { op: "fewer", path: [...V1BETA1, "updatedReplicas"], than: ["spec", "replicas"] };

const machineDeployment: KindHealth = {
  group: GROUP.core,
  apiVersion: CORE_API,
  kind: "MachineDeployment",
  healthy:
    "`Available` True, not rolling out, scaling or remediating, every replica of the current template " +
    "(v1beta1 `updatedReplicas`)",
  rules: [
    pausedRule("MachineDeployment", { op: "true", path: ["spec", "paused"] }),
    deletingRule("MachineDeployment"),
    staleRule,
    {
      when: currentTemplateShort,
      state: "Progressing",
      message: "Rolling out: not every replica runs the current template yet",
    },
    ...movingRules(["RollingOut", "ScalingUp", "ScalingDown", "Remediating"]),
    ...availableRules("MachineDeployment"),
  ],
};

/**
 * CAPI v1.13.4 sets no v1beta2 `Available` (nor Ready, ScalingUp, …) on a MachinePool: its controller still writes
 * only the v1beta1 conditions (`status.deprecated.v1beta1.conditions`: Ready = BootstrapReady + InfrastructureReady
 * + ReplicasReady, with severity) and `status.phase`. Healthy is that Ready, unless a v1beta2 `Available` says False.
 */
const machinePool: KindHealth = {
  group: GROUP.core,
  apiVersion: CORE_API,
  kind: "MachinePool",
  healthy:
    "CAPI v1.13.4 sets no v1beta2 `Available` (nor ScalingUp, …) on a MachinePool: its v1beta1 `Ready` " +
    "(bootstrap, infrastructure, every replica ready) True and phase `Running`",
  rules: [
    pausedRule("MachinePool"),
    deletingRule("MachinePool"),
    { when: failed, state: "Degraded", message: "MachinePool failed", detail: failedDetail },
    {
      when: { op: "severity", severity: "Error", at: V1BETA1_CONDITIONS },
      state: "Degraded",
      message: "MachinePool reports an error",
      detail: { severity: "Error", at: V1BETA1_CONDITIONS },
    },
    staleRule,
    {
      when: condition("Available", "False"),
      state: "Progressing",
      message: "MachinePool is not available yet",
      detail: { condition: "Available" },
    },
    {
      when: all(condition("Ready", "True", { at: V1BETA1_CONDITIONS }), {
        op: "oneOf",
        path: ["status", "phase"],
        values: ["Running"],
      }),
      state: "Healthy",
      message: "MachinePool is ready",
    },
    {
      when: always,
      state: "Progressing",
      message: "MachinePool is not ready yet",
      detail: { condition: "Ready", at: V1BETA1_CONDITIONS },
    },
  ],
};

const machine: KindHealth = {
  group: GROUP.core,
  apiVersion: CORE_API,
  kind: "Machine",
  healthy: "`Available` (Ready for the owner's `minReadySeconds`) True",
  rules: [
    pausedRule("Machine"),
    deletingRule("Machine"),
    { when: failed, state: "Degraded", message: "Machine failed", detail: failedDetail },
    {
      when: infraFailed,
      state: "Degraded",
      message: "The infrastructure reports a failure",
      detail: { condition: "InfrastructureReady" },
    },
    {
      when: condition("HealthCheckSucceeded", "False"),
      state: "Degraded",
      message: "A MachineHealthCheck found the machine unhealthy",
      detail: { condition: "HealthCheckSucceeded" },
    },
    staleRule,
    { when: condition("Available", "True"), state: "Healthy", message: "Machine is available" },
    { when: always, state: "Progressing", message: "Machine is not available yet", detail: { condition: "Ready" } },
  ],
};

const machineHealthCheck: KindHealth = {
  group: GROUP.core,
  apiVersion: CORE_API,
  kind: "MachineHealthCheck",
  healthy: "(no `Available`) `RemediationAllowed` True",
  rules: [
    pausedRule("MachineHealthCheck"),
    deletingRule("MachineHealthCheck"),
    {
      // CAPI counts every expected machine that is not healthy yet — a machine still starting too — against
      // the MachineHealthCheck's limit (machinehealthcheck_controller.go unhealthyMachineCount), so False is what
      // every new pool shows while it comes up: held, not failed. A machine that really failed is the Machine
      // check's Degraded (HealthCheckSucceeded False).
      when: condition("RemediationAllowed", "False"),
      state: "Progressing",
      message: "Remediation is held: more machines are not healthy (or not up yet) than the MachineHealthCheck allows",
      detail: { condition: "RemediationAllowed" },
    },
    staleRule,
    { when: condition("RemediationAllowed", "True"), state: "Healthy", message: "Remediation is allowed" },
    { when: always, state: "Progressing", message: "Waiting for the first health check" },
  ],
};

const clusterResourceSet: KindHealth = {
  group: GROUP.addons,
  apiVersion: ADDONS_API,
  kind: "ClusterResourceSet",
  healthy: "(no `Available`) `ResourcesApplied` True; Progressing while it matches no initialized cluster",
  rules: [
    pausedRule("ClusterResourceSet"),
    deletingRule("ClusterResourceSet"),
    {
      // The controller writes observedGeneration only after a successful reconcile, so a failure comes before the
      // staleness test: it is reported at the condition's own observedGeneration.
      when: condition("ResourcesApplied", "False", { reasons: ["NotApplied", "WrongSecretType"] }),
      state: "Degraded",
      message: "Resources could not be applied",
      detail: { condition: "ResourcesApplied" },
    },
    staleRule,
    { when: condition("ResourcesApplied", "True"), state: "Healthy", message: "Resources applied" },
    {
      when: always,
      state: "Progressing",
      message: "Resources not applied yet",
      detail: { condition: "ResourcesApplied" },
    },
  ],
};

/** CAPA kinds: v1beta1 conditions with severity at status.conditions, `status.ready`, no observedGeneration. */
const capaPaused: Pred = { op: "present", path: ["metadata", "annotations", PAUSED_ANNOTATION] };
const capaRulesHead = (kind: string): HealthRule[] => [
  { when: capaPaused, state: "Suspended", message: `${kind} is paused` },
  { when: deleting, state: "Progressing", message: `${kind} is being deleted` },
];
const capaSeverityRule = (kind: string): HealthRule => ({
  when: { op: "severity", severity: "Error", at: CONDITIONS },
  state: "Degraded",
  message: `${kind} reports an error`,
  detail: { severity: "Error", at: CONDITIONS },
});
const capaFailureRule = (kind: string): HealthRule => ({
  when: any({ op: "text", path: ["status", "failureReason"] }, { op: "text", path: ["status", "failureMessage"] }),
  state: "Degraded",
  message: `${kind} failed`,
  detail: { field: ["status", "failureMessage"] },
});
const capaReady = (...more: Pred[]): Pred =>
  all({ op: "true", path: ["status", "ready"] }, condition("Ready", "True"), ...more);

const awsCluster: KindHealth = {
  group: GROUP.infra,
  apiVersion: INFRA_API,
  kind: "AWSCluster",
  healthy: "(no `Available`) `status.ready` and `Ready` True (network, security groups, load balancer)",
  rules: [
    ...capaRulesHead("AWSCluster"),
    capaSeverityRule("AWSCluster"),
    { when: capaReady(), state: "Healthy", message: "AWSCluster is ready" },
    {
      when: always,
      state: "Progressing",
      message: "AWSCluster is not ready yet",
      detail: { condition: "Ready" },
    },
  ],
};

const awsMachinePool: KindHealth = {
  group: GROUP.infra,
  apiVersion: INFRA_API,
  kind: "AWSMachinePool",
  healthy: "`status.ready` and `Ready` True, no instance refresh running",
  rules: [
    ...capaRulesHead("AWSMachinePool"),
    capaFailureRule("AWSMachinePool"),
    capaSeverityRule("AWSMachinePool"),
    {
      when: condition("InstanceRefreshStarted", "True"),
      state: "Progressing",
      message: "Instance refresh in progress",
      detail: { condition: "InstanceRefreshStarted" },
    },
    { when: capaReady(), state: "Healthy", message: "AWSMachinePool is ready" },
    {
      when: always,
      state: "Progressing",
      message: "AWSMachinePool is not ready yet",
      detail: { condition: "Ready" },
    },
  ],
};

const awsMachine: KindHealth = {
  group: GROUP.infra,
  apiVersion: INFRA_API,
  kind: "AWSMachine",
  healthy: "`status.ready`, `Ready` True and the instance `running`",
  rules: [
    ...capaRulesHead("AWSMachine"),
    capaFailureRule("AWSMachine"),
    capaSeverityRule("AWSMachine"),
    {
      when: {
        op: "oneOf",
        path: ["status", "instanceState"],
        values: ["shutting-down", "terminated", "stopping", "stopped"],
      },
      state: "Degraded",
      message: "The instance is not running",
      detail: { field: ["status", "instanceState"] },
    },
    {
      when: capaReady({ op: "oneOf", path: ["status", "instanceState"], values: ["running"] }),
      state: "Healthy",
      message: "AWSMachine is ready",
    },
    {
      when: always,
      state: "Progressing",
      message: "AWSMachine is not ready yet",
      detail: { condition: "Ready" },
    },
  ],
};

/** The kinds with a generated health check, in the order of README's table. */
export const HEALTH_KINDS: readonly KindHealth[] = [
  cluster,
  kubeadmControlPlane,
  machineDeployment,
  machinePool,
  machine,
  machineHealthCheck,
  clusterResourceSet,
  awsCluster,
  awsMachinePool,
  awsMachine,
];

/** Argo CD's key suffix of a kind: `<group>_<Kind>`. */
export const argoHealthKey = (k: { group: string; kind: string }): string => `${k.group}_${k.kind}`;

// --- Lua (Argo CD) -----------------------------------------------------------------------------------------------

const SAFE = /^[A-Za-z0-9_./ '*:(),\n-]*$/;
/** A Lua string literal of a constant we wrote (only line breaks escaped; anything else is a programming error). */
function luaString(s: string): string {
  if (!SAFE.test(s)) throw new Error(`health check constant ${JSON.stringify(s)} needs escaping`);
  return `"${s.replaceAll("\n", "\\n")}"`;
}
const luaPath = (path: readonly string[]): string => path.map(luaString).join(", ");
const luaSet = (values: readonly string[]): string => `{ ${values.map((v) => `[${luaString(v)}] = true`).join(", ")} }`;

function luaPred(p: Pred): string {
  switch (p.op) {
    case "condition": {
      const opts = [
        p.reasons ? `reasons = ${luaSet(p.reasons)}` : undefined,
        p.messageNot !== undefined ? `messageNot = ${luaString(p.messageNot)}` : undefined,
        p.shape
          ? `shape = { prefixes = { ${p.shape.prefixes.map(luaString).join(", ")} }, ` +
            `suffix = ${luaString(p.shape.suffix)} }`
          : undefined,
      ].filter((x) => x !== undefined);
      const at = `{ ${luaPath(p.at ?? CONDITIONS)} }`;
      return `hasCondition(${at}, ${luaString(p.type)}, ${luaString(p.status)}, { ${opts.join(", ")} })`;
    }
    case "severity":
      return `(severityCondition({ ${luaPath(p.at)} }, ${luaString(p.severity)}) ~= nil)`;
    case "true":
      return `(get(${luaPath(p.path)}) == true)`;
    case "text":
      return `isText(get(${luaPath(p.path)}))`;
    case "oneOf":
      return `(${luaSet(p.values)})[get(${luaPath(p.path)}) or ""] == true`;
    case "present":
      return `(get(${luaPath(p.path)}) ~= nil)`;
    case "stale":
      return "isStale()";
    case "fewer":
      return `fewer({ ${luaPath(p.path)} }, { ${luaPath(p.than)} })`;
    case "any":
      return p.of.length === 0 ? "false" : `(${p.of.map(luaPred).join(" or ")})`;
    case "all":
      return p.of.length === 0 ? "true" : `(${p.of.map(luaPred).join(" and ")})`;
  }
}

function luaDetail(d: Detail | undefined): string {
  if (d === undefined) return "nil";
  if ("condition" in d) return `conditionMessage({ ${luaPath(d.at ?? CONDITIONS)} }, ${luaString(d.condition)})`;
  if ("field" in d) return `get(${luaPath(d.field)})`;
  return `severityMessage({ ${luaPath(d.at)} }, ${luaString(d.severity)})`;
}

/** Reading a message without Lua's string library, for the checks with a message shape. */
const TEXT_HELPERS = [
  "-- Argo CD opens no string library, so text is read by comparisons alone (byte-wise in gopher-lua): s starts",
  '-- with p exactly when p <= s < p .. "\\255" (UTF-8 text never holds the byte 255).',
  "local function startsWith(s, p)",
  '  return s >= p and s < p .. "\\255"',
  "end",
  "",
  "-- Every byte as a one-character string, in byte order.",
  `local BYTES = { ${Array.from({ length: 256 }, (_, i) => `"\\${i}"`).join(", ")} }`,
  "",
  "-- The characters of s: each is the greatest byte b with (what is read so far) .. b <= s, found by bisection.",
  "local function charsOf(s)",
  '  local chars, read = {}, ""',
  "  while #read < #s do",
  "    local lo, hi = 1, #BYTES",
  "    while lo < hi do",
  "      local d = hi - lo",
  "      local mid = lo + (d + d % 2) / 2",
  "      if read .. BYTES[mid] <= s then lo = mid else hi = mid - 1 end",
  "    end",
  "    read = read .. BYTES[lo]",
  "    chars[#chars + 1] = BYTES[lo]",
  "  end",
  "  return chars",
  "end",
  "",
  "-- A message of the shape: one of the prefixes, then at least one character and no line break, then the suffix.",
  "local function hasShape(s, shape)",
  '  if type(s) ~= "string" then return false end',
  "  local prefix = nil",
  "  for _, p in ipairs(shape.prefixes) do",
  "    if startsWith(s, p) then prefix = p end",
  "  end",
  "  if prefix == nil or #s <= #prefix + #shape.suffix then return false end",
  "  local chars = charsOf(s)",
  "  for i = #prefix + 1, #s - #shape.suffix do",
  '    if chars[i] == "\\n" then return false end',
  "  end",
  '  return table.concat(chars, "", #s - #shape.suffix + 1, #s) == shape.suffix',
  "end",
  "",
];

/** The helpers every script starts with: nil-safe field access and condition lookups over the global `obj`. */
function luaHelpers(withShapes: boolean): string[] {
  return [
    "local function get(...)",
    "  local v = obj",
    "  for _, k in ipairs({ ... }) do",
    '    if type(v) ~= "table" then return nil end',
    "    v = v[k]",
    "  end",
    "  return v",
    "end",
    "",
    "local function isText(v)",
    '  return type(v) == "string" and v ~= ""',
    "end",
    "",
    ...(withShapes ? TEXT_HELPERS : []),
    "local function conditionOf(at, t)",
    "  local list = get(unpack(at))",
    '  if type(list) ~= "table" then return nil end',
    "  for _, c in ipairs(list) do",
    '    if type(c) == "table" and c.type == t then return c end',
    "  end",
    "  return nil",
    "end",
    "",
    "-- A condition counts only once observed at the object's generation " +
      "(v1beta2 conditions carry observedGeneration).",
    "local function hasCondition(at, t, s, opts)",
    "  local c = conditionOf(at, t)",
    "  if c == nil or c.status ~= s then return false end",
    '  local generation = get("metadata", "generation")',
    "  if c.observedGeneration ~= nil and generation ~= nil and " +
      "c.observedGeneration ~= generation then return false end",
    '  if opts.reasons ~= nil and opts.reasons[c.reason or ""] ~= true then return false end',
    "  if opts.messageNot ~= nil and c.message == opts.messageNot then return false end",
    ...(withShapes ? ["  if opts.shape ~= nil and not hasShape(c.message, opts.shape) then return false end"] : []),
    "  return true",
    "end",
    "",
    "local function severityCondition(at, severity)",
    "  local list = get(unpack(at))",
    '  if type(list) ~= "table" then return nil end',
    "  for _, c in ipairs(list) do",
    '    if type(c) == "table" and c.status == "False" and c.severity == severity then return c end',
    "  end",
    "  return nil",
    "end",
    "",
    "local function conditionMessage(at, t)",
    "  local c = conditionOf(at, t)",
    "  if c == nil then return nil end",
    "  return c.message",
    "end",
    "",
    "local function severityMessage(at, severity)",
    "  local c = severityCondition(at, severity)",
    "  if c == nil then return nil end",
    '  return (c.type or "") .. ": " .. (c.message or c.reason or "")',
    "end",
    "",
    "local function isStale()",
    '  local observed = get("status", "observedGeneration")',
    '  local generation = get("metadata", "generation")',
    "  return observed ~= nil and generation ~= nil and observed ~= generation",
    "end",
    "",
    "-- The number at `at` (absent: 0) below the one at `than`, where both `than` and the table holding `at` exist.",
    "local function fewer(at, than)",
    "  local want = get(unpack(than))",
    "  local holder = get(unpack(at, 1, #at - 1))",
    '  if type(want) ~= "number" or type(holder) ~= "table" then return false end',
    "  local have = get(unpack(at))",
    '  if type(have) ~= "number" then have = 0 end',
    "  return have < want",
    "end",
    "",
    "local function verdict(status, message, detail)",
    '  if isText(detail) then message = message .. ": " .. detail end',
    "  return { status = status, message = message }",
    "end",
  ];
}

const hasShape = (p: Pred): boolean =>
  p.op === "condition" ? p.shape !== undefined : p.op === "any" || p.op === "all" ? p.of.some(hasShape) : false;

/** The Argo CD health script of a kind: the helpers, then one `if` per rule, the first that holds returning. */
export function luaHealth(k: KindHealth): string {
  const body = k.rules.map((r) => {
    const ret = `return verdict(${luaString(r.state)}, ${luaString(r.message)}, ${luaDetail(r.detail)})`;
    return r.when === always ? ret : `if ${luaPred(r.when)} then\n  ${ret}\nend`;
  });
  const last = k.rules.at(-1);
  if (last?.when !== always) throw new Error(`${k.kind}: the last health rule must always hold`);
  return [
    `-- capi-gitops: health of ${k.kind} (${k.group}) from its v1beta2/CAPA status; generated by \`npm run generate\`.`,
    ...luaHelpers(k.rules.some((r) => hasShape(r.when))),
    "",
    ...body,
    "",
  ].join("\n");
}

// --- CEL (Flux) --------------------------------------------------------------------------------------------------

/** CEL literals hold only condition types, reasons, values, keys and message shapes: no quotes. */
const CEL_SAFE = /^[A-Za-z0-9_./ *:(),\n-]*$/;
function celString(s: string): string {
  if (!CEL_SAFE.test(s)) throw new Error(`health check constant ${JSON.stringify(s)} needs escaping`);
  return `'${s.replaceAll("\n", "\\n")}'`;
}
/** A message shape as an RE2 expression for CEL's `matches` (Go regexp: `\\Q…\\E` quotes the constants). */
function celShape(shape: MessageShape): string {
  const quote = (s: string): string => {
    if (!CEL_SAFE.test(s) || s.includes("\\")) throw new Error(`message shape ${JSON.stringify(s)} needs escaping`);
    return `\\\\Q${s.replaceAll("\n", "\\n")}\\\\E`;
  };
  return `'^(?:${shape.prefixes.map(quote).join("|")})[^\\\\n]+${quote(shape.suffix)}$'`;
}
/** A CEL field selection; keys that are not identifiers use index syntax. */
function celField(path: readonly string[]): string {
  return path
    .map((k, i) => (i === 0 ? k : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${celString(k)}]`))
    .join("");
}
/** `has()` for every nested step of the path (the root itself cannot be tested in Flux's untyped environment). */
function celHas(path: readonly string[]): string {
  const tests: string[] = [];
  for (let i = 2; i <= path.length; i++) {
    const prefix = path.slice(0, i);
    const key = prefix.at(-1) ?? "";
    tests.push(
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
        ? `has(${celField(prefix)})`
        : `${celString(key)} in ${celField(prefix.slice(0, -1))}`,
    );
  }
  return tests.join(" && ");
}
const guarded = (path: readonly string[], test: string): string => {
  const has = celHas(path);
  return has === "" ? test : `(${has} && ${test})`;
};

const CEL_OBSERVED =
  "(!has(c.observedGeneration) || !has(metadata.generation) || c.observedGeneration == metadata.generation)";

function celPred(p: Pred): string {
  switch (p.op) {
    case "condition": {
      const at = p.at ?? CONDITIONS;
      const tests = [
        `c.type == ${celString(p.type)}`,
        `c.status == ${celString(p.status)}`,
        CEL_OBSERVED,
        p.reasons ? `(has(c.reason) && c.reason in [${p.reasons.map(celString).join(", ")}])` : undefined,
        p.messageNot !== undefined ? `(!has(c.message) || c.message != ${celString(p.messageNot)})` : undefined,
        p.shape ? `(has(c.message) && c.message.matches(${celShape(p.shape)}))` : undefined,
      ].filter((x) => x !== undefined);
      return guarded(at, `${celField(at)}.exists(c, ${tests.join(" && ")})`);
    }
    case "severity":
      return guarded(
        p.at,
        `${celField(p.at)}.exists(c, c.status == 'False' && has(c.severity) && c.severity == ${celString(p.severity)})`,
      );
    case "true":
      return guarded(p.path, `${celField(p.path)} == true`);
    case "text":
      return guarded(p.path, `${celField(p.path)} != ''`);
    case "oneOf":
      return guarded(p.path, `${celField(p.path)} in [${p.values.map(celString).join(", ")}]`);
    case "present":
      return `(${celHas(p.path) || "true"})`;
    case "fewer": {
      const holder = celHas(p.path.slice(0, -1));
      const have = `(${celHas(p.path)} ? ${celField(p.path)} : 0)`;
      return `(${[celHas(p.than), holder].filter(Boolean).join(" && ")} && ${have} < ${celField(p.than)})`;
    }
    case "stale":
      return (
        "(has(status.observedGeneration) && has(metadata.generation) && " +
        "status.observedGeneration != metadata.generation)"
      );
    case "any":
      return p.of.length === 0 ? "false" : `(${p.of.map(celPred).join(" || ")})`;
    case "all":
      return p.of.length === 0 ? "true" : `(${p.of.map(celPred).join(" && ")})`;
  }
}

/**
 * The Flux entry of a kind, exact for Flux's order (inProgress, then failed, then current, else InProgress):
 * - `inProgress`: one of the leading Progressing/Suspended rules holds (nothing before them can);
 * - `failed` (inProgress is false): some Degraded rule holds and no rule after the leading ones and before it
 *   that is not Degraded does;
 * - `current` (inProgress and failed are false): some Healthy rule holds and no Progressing/Suspended rule after
 *   the leading ones and before it does (an earlier Degraded rule that held would have made `failed` true).
 * The rules after the leading ones that are Progressing/Suspended need no expression: Flux's fallback is InProgress.
 */
export function fluxHealth(k: KindHealth): FluxHealthExpr {
  const lead = k.rules.findIndex((r) => FLUX_STATE[r.state] !== "InProgress");
  const leading = k.rules.slice(0, lead < 0 ? k.rules.length : lead);
  const rest = k.rules.slice(leading.length);
  const first = (state: ArgoState, skip: readonly ArgoState[]): string | undefined => {
    const terms = rest.flatMap((r, i) => {
      if (r.state !== state) return [];
      const guards = rest
        .slice(0, i)
        .filter((e) => e.state !== state && !skip.includes(e.state))
        .map((e) => `!${celPred(e.when)}`);
      const parts = [...guards, ...(r.when === always ? [] : [celPred(r.when)])];
      return [parts.length === 0 ? "true" : parts.join(" && ")];
    });
    return terms.length === 0 ? undefined : terms.length === 1 ? terms[0] : terms.map((t) => `(${t})`).join(" || ");
  };
  return {
    apiVersion: k.apiVersion,
    kind: k.kind,
    inProgress: leading.length === 0 ? undefined : leading.map((r) => celPred(r.when)).join(" || "),
    failed: first("Degraded", []),
    current: first("Healthy", ["Degraded"]) ?? "false",
  };
}

/** Every kind's check for both engines (pure; `generate` writes the configured engine's). */
export function healthChecks(): HealthChecks {
  return {
    argo: Object.fromEntries(HEALTH_KINDS.map((k) => [argoHealthKey(k), luaHealth(k)])),
    flux: HEALTH_KINDS.map(fluxHealth),
  };
}
