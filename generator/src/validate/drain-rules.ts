/**
 * Rules on what happens to a worker when it goes away, and on health checks that can act.
 * Upstream (CAPI v1.13.4, CAPA v2.13.0):
 * - A Machine is drained before its instance is deleted (internal/controllers/machine/machine_controller.go
 *   reconcileDelete → drainNode) unless it carries `machine.cluster.x-k8s.io/exclude-node-draining`
 *   (isNodeDrainAllowed). MachineDeployments/MachineSets delete Machines — scale-down (the autoscaler's
 *   `cluster.x-k8s.io/delete-machine` mark first: machineset/machineset_deletion_order.go), roll-outs, remediation.
 * - A MachinePool's instances are removed by the auto scaling group (scale-in, instance refresh) with no cordon or
 *   drain: CAPA deletes a MachinePool Machine only after its instance has left the group
 *   (exp/controllers/awsmachinepool_machines.go deleteOrphanedAWSMachines) and ignores the delete-machine mark.
 * - Instance refresh (pkg/cloud/services/autoscaling/autoscalinggroup.go StartASGInstanceRefresh) keeps
 *   minHealthyPercentage (default 90) of the group in service; only min 100 with max > 100 launches first.
 * - A MachineHealthCheck only marks Machines (machinehealthcheck_controller.go); a MachineSet or a KubeadmControlPlane
 *   remediates them (docs/book/src/tasks/automated-machine-management/healthchecking.md). KCP requires more than one
 *   machine only once the control plane is initialized (controlplane/kubeadm/internal/controllers/remediation.go,
 *   the ControlPlaneInitialized branch): a one-replica control plane is remediated only on a failed first boot.
 * - Zone spread of an autoscaled pool (one MachineDeployment per zone) rests on cluster-autoscaler's
 *   --balance-similar-node-groups, which compares node groups by their nodes' labels (compare_nodegroups): an empty
 *   group's template node (the clusterapi provider's, scale from zero) lacks labels such as
 *   node.kubernetes.io/instance-type, so it is not found similar and a zone left at 0 may stay empty.
 */
import type { Profile } from "../cluster-spec/types.js";
import type { Finding, Severity } from "../core/findings.js";
import { clusterSpecPath } from "../core/layout.js";
import { AUTOSCALER, GROUP, LABEL } from "../k8s/capi.js";
import { get, type K8sObject, list, record, stringMap, numAt } from "../k8s/object.js";
import { isGroupKind } from "../k8s/kinds.js";
import type { RenderedCluster } from "../render/render.js";
import { MIN_REMEDIABLE_CONTROL_PLANE } from "../plan/capi.js";
import type { RuleId } from "../core/rules.js";
import { defineRule, type Rule, runObjectRules } from "./rule.js";
import { objectsOf, stringOf } from "./read.js";

/** The annotation that makes CAPI's Machine controller skip the drain (api/core/v1beta2/machine_types.go). */
export const EXCLUDE_NODE_DRAINING = "machine.cluster.x-k8s.io/exclude-node-draining";
const POOL_NAME_LABEL = "cluster.x-k8s.io/pool-name";
/**
 * The shortest node drain timeout accepted: once it is exceeded the Machine controller stops draining and deletes
 * the node (machine_controller.go nodeDrainTimeoutExceeded; 0 or unset means no timeout), so a timeout of a few
 * seconds is a drain exclusion in practice.
 */
export const MIN_NODE_DRAIN_TIMEOUT_SECONDS = 60;

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** A label selector (matchLabels, matchExpressions) against a label set; an odd selector matches nothing. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  const s = record(selector);
  const ml = record(s.matchLabels);
  const me = list(get(s, "matchExpressions"));
  if (Object.keys(ml).length === 0 && me.length === 0) return false;
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  return me.every((e) => {
    const key = String(get(e, "key"));
    const values = list(get(e, "values")).map(String);
    const value = labels[key];
    switch (get(e, "operator")) {
      case "In":
        return value !== undefined && values.includes(value);
      case "NotIn":
        return value === undefined || !values.includes(value);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        return false;
    }
  });
}

/** Who owns the Machines a set of objects makes, with the labels CAPI gives those Machines. */
type MachineOwner = {
  object: K8sObject;
  kind: "MachineDeployment" | "MachineSet" | "KubeadmControlPlane" | "MachinePool";
  labels: Record<string, string>;
  replicas?: number;
};

function machineOwners(objs: readonly K8sObject[]): MachineOwner[] {
  const out: MachineOwner[] = [];
  for (const o of objs) {
    const name = String(o.metadata?.name ?? "");
    const cluster = stringOf(get(o, "spec.clusterName") ?? o.metadata?.labels?.[LABEL.clusterName] ?? "");
    const base = { [LABEL.clusterName]: cluster };
    const template = stringMap(get(o, "spec.template.metadata.labels"));
    const deployment = { [LABEL.deploymentName]: name };
    if (isGroupKind(o, GROUP.core, "MachineDeployment"))
      out.push({ object: o, kind: "MachineDeployment", labels: { ...template, ...base, ...deployment } });
    else if (isGroupKind(o, GROUP.core, "MachineSet"))
      out.push({ object: o, kind: "MachineSet", labels: { ...template, ...base } });
    else if (isGroupKind(o, GROUP.core, "MachinePool"))
      out.push({ object: o, kind: "MachinePool", labels: { ...template, ...base, [POOL_NAME_LABEL]: name } });
    else if (isGroupKind(o, GROUP.controlPlane, "KubeadmControlPlane")) {
      // KCP's cluster is the Cluster whose controlPlaneRef names it; its Machines carry the control-plane labels.
      const owner = objs.find(
        (c) => isGroupKind(c, GROUP.core, "Cluster") && get(c, "spec.controlPlaneRef.name") === name,
      );
      out.push({
        object: o,
        kind: "KubeadmControlPlane",
        labels: {
          ...stringMap(get(o, "spec.machineTemplate.metadata.labels")),
          [LABEL.clusterName]: String(owner?.metadata?.name ?? cluster),
          [LABEL.controlPlane]: "",
          [LABEL.controlPlaneName]: name,
        },
        replicas: num(get(o, "spec.replicas")) ?? 1,
      });
    }
  }
  return out;
}

/** What the drain rules of one cluster read, and how they report (a field of `o`). */
interface DrainCheck {
  readonly cluster: string;
  readonly objs: readonly K8sObject[];
  readonly profile: Profile | undefined;
  /** MachinePools are accepted outside prod (their removals are undrained anyway): warnings there. */
  readonly poolSeverity: Severity;
  readonly report: (o: K8sObject, path: string, message: string, severity: Severity) => void;
}

const workersDrain = defineRule<DrainCheck>("workers-drain", ({ objs, profile, poolSeverity, report }) => {
  for (const o of objs)
    if (isGroupKind(o, GROUP.core, "MachinePool"))
      report(
        o,
        "kind",
        "a MachinePool's nodes are removed undrained: instance refresh and scale-in terminate instances without " +
          "cordon or drain (CAPA deletes a MachinePool Machine only after its instance left the group, " +
          "exp/controllers/awsmachinepool_machines.go), and the cluster-autoscaler's delete-machine mark is ignored " +
          "(only a MachineSet honours it, machineset_deletion_order.go), so the group terminates an instance of its " +
          "own choice. Use `workers: MachineDeployment` (one per zone; the Machine controller drains every " +
          "removed node)" +
          (profile === "prod" ? "" : " — accepted outside prod"),
        poolSeverity,
      );
});

const drainExcluded = defineRule<DrainCheck>("drain-excluded", ({ objs, report }) => {
  for (const o of objs) {
    if (isGroupKind(o, GROUP.core, "MachineDeployment") || isGroupKind(o, GROUP.core, "MachineSet")) {
      if (EXCLUDE_NODE_DRAINING in record(get(o, "spec.template.metadata.annotations")))
        report(
          o,
          `spec.template.metadata.annotations.${EXCLUDE_NODE_DRAINING}`,
          "its Machines' nodes are deleted without a drain (CAPI machine_controller.go isNodeDrainAllowed); " +
            "remove the annotation",
          "error",
        );
      const timeout = numAt(o, "spec.template.spec.deletion.nodeDrainTimeoutSeconds");
      if (timeout !== undefined && timeout > 0 && timeout < MIN_NODE_DRAIN_TIMEOUT_SECONDS)
        report(
          o,
          "spec.template.spec.deletion.nodeDrainTimeoutSeconds",
          `a node drain timeout of ${timeout} s: once it is exceeded the Machine controller skips the rest of the ` +
            "drain and deletes the node (CAPI machine_controller.go nodeDrainTimeoutExceeded), so its pods are not " +
            "evicted in time — remove nodeDrainTimeoutSeconds (no timeout) or set it to at least " +
            `${MIN_NODE_DRAIN_TIMEOUT_SECONDS}`,
          "error",
        );
    }
    if (isGroupKind(o, GROUP.core, "MachineDrainRule") && get(o, "spec.drain.behavior") === "Skip")
      report(
        o,
        "spec.drain.behavior",
        "behavior Skip: the pods this rule selects are never evicted when a Machine is deleted (CAPI " +
          "machinedrainrules_types.go MachineDrainRuleDrainBehaviorSkip) — remove the rule or use Drain / " +
          "WaitCompleted",
        "error",
      );
  }
});

const rolloutLaunchFirst = defineRule<DrainCheck>("rollout-launch-first", ({ objs, report }) => {
  for (const o of objs) {
    if (!isGroupKind(o, GROUP.core, "MachineDeployment")) continue;
    const surge = get(o, "spec.rollout.strategy.rollingUpdate.maxSurge");
    if (surge === 0 || surge === "0%")
      report(
        o,
        "spec.rollout.strategy.rollingUpdate.maxSurge",
        "maxSurge 0: a roll-out removes (drains) a machine before its replacement runs; a pool of one is empty " +
          "meanwhile — keep maxSurge ≥ 1",
        "warning",
      );
  }
});

const refreshLaunchFirst = defineRule<DrainCheck>("refresh-launch-first", ({ objs, poolSeverity, report }) => {
  for (const o of objs) {
    if (!isGroupKind(o, GROUP.infra, "AWSMachinePool")) continue;
    const rp = record(get(o, "spec.refreshPreferences"));
    if (rp.disable === true) continue;
    const min = num(rp.minHealthyPercentage) ?? 90;
    const max = num(rp.maxHealthyPercentage);
    if (min < 100 || max === undefined || max <= min)
      report(
        o,
        "spec.refreshPreferences",
        `instance refresh with minHealthyPercentage ${min} and maxHealthyPercentage ${max ?? "unset"} terminates ` +
          "instances before their replacements are in service (a 1-node pool is empty meanwhile); set " +
          "minHealthyPercentage: 100, maxHealthyPercentage: 200 (CAPA autoscalinggroup.go StartASGInstanceRefresh)",
        poolSeverity,
      );
    if (num(rp.instanceWarmup) === undefined)
      report(
        o,
        "spec.refreshPreferences.instanceWarmup",
        "no instanceWarmup: the refresh moves on as soon as a new instance is InService, before its node is Ready; " +
          "set instanceWarmup (seconds)",
        poolSeverity,
      );
  }
});

/**
 * Autoscaled MachineDeployment pools whose minimum leaves a zone at 0: the balancing may never fill that zone. Only
 * for prod, whose pools are meant to survive a zone; dev's default (1..3 over three zones) starts with empty zones on
 * purpose (cost), as README says.
 */
const poolZoneEmpty = defineRule<DrainCheck>("pool-zone-empty", ({ cluster, objs, profile, report }) => {
  const autoscaled = new Map<string, K8sObject[]>();
  for (const o of objs) {
    if (!isGroupKind(o, GROUP.core, "MachineDeployment") || o.metadata?.annotations?.[AUTOSCALER.min] === undefined)
      continue;
    const pool = stringMap(get(o, "spec.template.metadata.labels"))[LABEL.nodePool];
    if (pool === undefined) continue;
    const key = `${stringOf(get(o, "spec.clusterName") ?? "")}/${pool}`;
    autoscaled.set(key, [...(autoscaled.get(key) ?? []), o]);
  }
  for (const [key, mds] of profile === "prod" ? autoscaled : new Map<string, K8sObject[]>()) {
    if (mds.length < 2) continue;
    const minOf = (o: K8sObject) => Number(o.metadata?.annotations?.[AUTOSCALER.min]);
    const mins = mds.map(minOf);
    const empty = mds.filter((o) => !(minOf(o) >= 1));
    const [first] = empty;
    if (first === undefined) continue;
    const pool = key.slice(key.indexOf("/") + 1);
    const total = mins.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    report(
      first,
      `metadata.annotations.${AUTOSCALER.min}`,
      `pool ${pool} has a minimum of ${total} over ${mds.length} zones, so ` +
        `${empty.map((o) => String(o.metadata?.name)).join(", ")} ` +
        "may be at 0 machines; --balance-similar-node-groups spreads the pool only while every zone has a node (an " +
        "empty zone's template node lacks labels such as node.kubernetes.io/instance-type, so the autoscaler's " +
        "compare_nodegroups does not find it similar) and that zone may stay empty — set nodePools[].minSize to at " +
        `least ${mds.length} in ${clusterSpecPath(cluster)}`,
      "warning",
    );
  }
});

/** Health checks that can act. */
const mhcCanAct = defineRule<DrainCheck>("mhc-can-act", ({ objs, report }) => {
  const owners = machineOwners(objs);
  for (const mhc of objs.filter((o) => isGroupKind(o, GROUP.core, "MachineHealthCheck"))) {
    const cluster = stringOf(get(mhc, "spec.clusterName") ?? "");
    const selector = get(mhc, "spec.selector");
    const hit = owners.filter((w) => w.labels[LABEL.clusterName] === cluster && selects(selector, w.labels));
    const pools = hit.filter((w) => w.kind === "MachinePool");
    const lonelyKcp = hit.filter(
      (w) => w.kind === "KubeadmControlPlane" && (w.replicas ?? 1) < MIN_REMEDIABLE_CONTROL_PLANE,
    );
    const names = (ws: MachineOwner[]) => ws.map((w) => String(w.object.metadata?.name)).join(", ");
    if (pools.length)
      report(
        mhc,
        "spec.selector",
        `selects the Machines of MachinePool ${names(pools)}, which nothing remediates (only a MachineSet or a ` +
          "KubeadmControlPlane does: CAPI healthchecking.md; the MHC only sets OwnerRemediated); the auto scaling " +
          "group's health checks replace failed instances — remove the check",
        "error",
      );
    if (lonelyKcp.length)
      report(
        mhc,
        "spec.selector",
        `selects the control plane ${names(lonelyKcp)} of one replica: KCP remediates it only on a failed first boot ` +
          '(before the control plane is initialized); once initialized it never does (remediation.go: "The cluster ' +
          'MUST have more than one replica", applied only when ControlPlaneInitialized; CAPI healthchecking.md) — ' +
          "keep the check only for the first boot, or run 3 control-plane replicas",
        "warning",
      );
  }
});

/** The rules of this file, each a check of its own. */
export const DRAIN_RULES: readonly Rule<RuleId, DrainCheck>[] = [
  workersDrain,
  drainExcluded,
  rolloutLaunchFirst,
  refreshLaunchFirst,
  poolZoneEmpty,
  mhcCanAct,
];

export function drainRules(rc: RenderedCluster, profile: Profile | undefined, file: string): Finding[] {
  const poolSeverity: Severity = profile === "prod" ? "error" : "warning";
  return runObjectRules(DRAIN_RULES, rc, file, {
    cluster: rc.cluster,
    objs: objectsOf(rc.objects),
    profile,
    poolSeverity,
  });
}
