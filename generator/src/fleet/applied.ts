/**
 * What a cluster's render applies (pure): the control plane and the pools as the sync engine would apply them, read
 * from the objects of `kustomize build clusters/<name>` — so a patch in the cluster's own kustomization.yaml that
 * sets an instance type or the control plane's replicas shows, and an empty or partial render is not shown as the
 * full cluster its spec describes. `inventory` (fleet/inventory.ts) compares it with the spec.
 */
import type { ClusterSpec } from "../cluster-spec/types.js";
import { AUTOSCALER, GROUP, LABEL } from "../k8s/capi.js";
import { isGroupKind } from "../k8s/kinds.js";
import { arrAt, get, recAt, strAt, type K8sObject } from "../k8s/object.js";

export interface AppliedPool {
  /** null: the render does not say (e.g. the pool's machine template is missing). */
  instanceType: string | null;
  availabilityZones: string[];
  autoscaling: boolean;
  /** Whole pool (summed over a MachineDeployment pool's zones); null: the render does not bound it (a fixed
   * MachineDeployment pool renders only replicas). */
  minSize: number | null;
  maxSize: number | null;
  /** Fixed size (autoscaling off), else null. */
  replicas: number | null;
  /** The kubelet version the pool runs. */
  version: string | null;
  /**
   * How its instances are bought (cluster-spec/types.ts CAPACITY_TYPES): spot from spotMarketOptions, or from a
   * mixedInstancesPolicy without on-demand instances; mixed from any other mixedInstancesPolicy. null: not rendered.
   */
  capacityType: string | null;
  /** The instance types it may launch beside instanceType (a mixedInstancesPolicy's other overrides). */
  instanceTypes: string[];
  /** kubeadm's nodeRegistration.taints as `key=value:Effect`. */
  taints: string[];
}

export interface Applied {
  /** Objects in the render. */
  objects: number;
  /**
   * What every cluster's render must hold and this one lacks: `Cluster`, `AWSCluster`, `KubeadmControlPlane`,
   * `pool <name>`.
   */
  missing: string[];
  region: string | null;
  vpcCidr: string | null;
  controlPlane: { version: string | null; replicas: number | null; instanceType: string | null } | null;
  /** By pool name (the pool label of the rendered pool objects). */
  pools: Map<string, AppliedPool>;
}

const str = (o: unknown, path: string): string | null => strAt(o, path) ?? null;
/** A count: a number, or a string of digits (annotations are strings). */
export const num = (v: unknown): number | null =>
  typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : null;
const sum = (xs: (number | null)[]): number | null => {
  const nums = xs.filter((x): x is number => x !== null);
  return xs.length && nums.length === xs.length ? nums.reduce((a, b) => a + b, 0) : null;
};
/** A label's value (label keys hold dots: no dotted path). */
const labelOf = (labels: Record<string, unknown> | undefined, key: string): string | null => {
  const v = labels?.[key];
  return typeof v === "string" ? v : null;
};

/** The spec pool a rendered MachinePool / MachineDeployment belongs to (its template's pool label), or null. */
export const poolOf = (o: K8sObject): string | null =>
  labelOf(recAt(o, "spec.template.metadata.labels"), LABEL.nodePool);

/** A pool object's cluster-autoscaler bound (its annotation), or null when it has none. */
export const autoscalerBound = (o: K8sObject, key: "min" | "max"): number | null =>
  num(o.metadata?.annotations?.[AUTOSCALER[key]]);

/**
 * How an AWSMachinePool (`machine` spec.awsLaunchTemplate) or AWSMachineTemplate (spec.template.spec) buys its
 * instances, and its further instance types.
 */
export function appliedCapacity(
  infra: K8sObject | undefined,
  machine: string,
): { capacityType: string | null; others: string[] } {
  if (!infra) return { capacityType: null, others: [] };
  if (get(infra, `${machine}.spotMarketOptions`) !== undefined) return { capacityType: "spot", others: [] };
  const mixed = get(infra, "spec.mixedInstancesPolicy");
  if (mixed === undefined) return { capacityType: "on-demand", others: [] };
  const types = (arrAt(mixed, "overrides") ?? []).map((o) => str(o, "instanceType") ?? "?");
  const base = num(get(mixed, "instancesDistribution.onDemandBaseCapacity")) ?? 0;
  const pct = num(get(mixed, "instancesDistribution.onDemandPercentageAboveBaseCapacity")) ?? 100;
  const own = str(infra, `${machine}.instanceType`);
  return { capacityType: base === 0 && pct === 0 ? "spot" : "mixed", others: types.filter((t) => t !== own) };
}

/** A kubeadm config's worker taints as `key=value:Effect`. */
const taintsOf = (config: K8sObject | undefined, at: string): string[] =>
  (arrAt(config, `${at}.joinConfiguration.nodeRegistration.taints`) ?? []).map(
    (t) => `${str(t, "key") ?? "?"}=${str(t, "value") ?? ""}:${str(t, "effect") ?? "?"}`,
  );

export function appliedOf(spec: ClusterSpec, objects: readonly K8sObject[]): Applied {
  const find = (group: string, kind: string, name?: unknown) =>
    objects.find((o) => isGroupKind(o, group, kind) && (name === undefined || o.metadata?.name === name));
  const missing: string[] = [];
  if (!find(GROUP.core, "Cluster")) missing.push("Cluster");
  const aws = find(GROUP.infra, "AWSCluster");
  if (!aws) missing.push("AWSCluster");
  const kcp = find(GROUP.controlPlane, "KubeadmControlPlane");
  if (!kcp) missing.push("KubeadmControlPlane");
  const cpTemplate =
    kcp && find(GROUP.infra, "AWSMachineTemplate", get(kcp, "spec.machineTemplate.spec.infrastructureRef.name"));
  const controlPlane = kcp
    ? {
        version: str(kcp, "spec.version"),
        replicas: num(get(kcp, "spec.replicas")),
        instanceType: str(cpTemplate, "spec.template.spec.instanceType"),
      }
    : null;

  const pools = new Map<string, AppliedPool>();
  for (const mp of objects.filter((o) => isGroupKind(o, GROUP.core, "MachinePool"))) {
    const name = poolOf(mp);
    if (name === null) continue;
    const infra = find(GROUP.infra, "AWSMachinePool", get(mp, "spec.template.spec.infrastructureRef.name"));
    const config = find(GROUP.bootstrap, "KubeadmConfig", get(mp, "spec.template.spec.bootstrap.configRef.name"));
    const capacity = appliedCapacity(infra, "spec.awsLaunchTemplate");
    const autoscaling = autoscalerBound(mp, "min") !== null || autoscalerBound(mp, "max") !== null;
    pools.set(name, {
      instanceType: str(infra, "spec.awsLaunchTemplate.instanceType"),
      availabilityZones: (arrAt(infra, "spec.availabilityZones") ?? []).map(String),
      autoscaling,
      minSize: autoscaling ? autoscalerBound(mp, "min") : num(get(infra, "spec.minSize")),
      maxSize: autoscaling ? autoscalerBound(mp, "max") : num(get(infra, "spec.maxSize")),
      replicas: num(get(mp, "spec.replicas")),
      version: str(mp, "spec.template.spec.version"),
      capacityType: capacity.capacityType,
      instanceTypes: capacity.others,
      taints: taintsOf(config, "spec"),
    });
  }
  const deployments = new Map<string, K8sObject[]>();
  for (const md of objects.filter((o) => isGroupKind(o, GROUP.core, "MachineDeployment"))) {
    const name = poolOf(md);
    if (name !== null) deployments.set(name, [...(deployments.get(name) ?? []), md]);
  }
  for (const [name, mds] of deployments) {
    const infra = find(GROUP.infra, "AWSMachineTemplate", get(mds[0], "spec.template.spec.infrastructureRef.name"));
    const config = find(
      GROUP.bootstrap,
      "KubeadmConfigTemplate",
      get(mds[0], "spec.template.spec.bootstrap.configRef.name"),
    );
    const capacity = appliedCapacity(infra, "spec.template.spec");
    const autoscaling = mds.some((md) => autoscalerBound(md, "min") !== null || autoscalerBound(md, "max") !== null);
    const replicas = sum(mds.map((md) => num(get(md, "spec.replicas"))));
    pools.set(name, {
      instanceType: str(infra, "spec.template.spec.instanceType"),
      // In the spec pool's order (kustomize sorts objects of a kind by name, so the render's order says nothing).
      availabilityZones: inSpecOrder(
        mds.map((md) => str(md, "spec.template.spec.failureDomain")).filter((z): z is string => z !== null),
        spec.nodePools.find((p) => p.name === name)?.availabilityZones ?? [],
      ),
      autoscaling,
      // A fixed MachineDeployment pool renders only its replicas (the spec's minSize/maxSize bound nothing there).
      minSize: autoscaling ? sum(mds.map((md) => autoscalerBound(md, "min"))) : null,
      maxSize: autoscaling ? sum(mds.map((md) => autoscalerBound(md, "max"))) : null,
      replicas,
      version: str(mds[0], "spec.template.spec.version"),
      capacityType: capacity.capacityType,
      instanceTypes: capacity.others,
      taints: taintsOf(config, "spec.template.spec"),
    });
  }
  for (const p of spec.nodePools) if (!pools.has(p.name)) missing.push(`pool ${p.name}`);
  return {
    objects: objects.length,
    missing,
    region: str(aws, "spec.region"),
    vpcCidr: str(aws, "spec.network.vpc.cidrBlock"),
    controlPlane,
    pools,
  };
}

/** `zones` ordered as `order` lists them (zones it lacks last, by name). */
function inSpecOrder(zones: string[], order: readonly string[]): string[] {
  const rank = (z: string) => (order.includes(z) ? order.indexOf(z) : order.length);
  return [...zones].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
