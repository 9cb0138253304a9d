/**
 * Rules on how a cluster's machines are bought and what they boot: spot and mixed pools, GPU pools. They read the
 * rendered objects, so a spot market set by the cluster's own layer is judged like one from the spec.
 * Upstream (CAPA v2.13.0):
 * - spot machines: AWSMachineSpec / AWSLaunchTemplate `spotMarketOptions` (api/v1beta2/types.go SpotMarketOptions);
 *   an auto scaling group's `mixedInstancesPolicy` (exp/api/v1beta2/types.go: instancesDistribution, overrides).
 * - AWS reclaims a spot instance after a two-minute interruption notice. Nothing in CAPA watches it, and CAPI drains a
 *   node only when it deletes the Machine (machine_controller.go reconcileDelete → drainNode): a reclaimed spot
 *   node's pods are killed with the instance. README "Spot and mixed pools" says what to run.
 * - the cluster-autoscaler's clusterapi provider keeps one template node per node group (a MachinePool is one group):
 *   a group whose instance types differ in size is judged by whichever node it took.
 * - CAPA's public images (pkg/cloud/services/ec2/ami.go, owner 819546954734, built by image-builder) carry no NVIDIA
 *   driver.
 */
import type { Profile } from "../cluster-spec/types.js";
import { gpuFamily } from "../cluster-spec/gpu.js";
import type { Finding } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import { GROUP } from "../k8s/capi.js";
import { isGroupKind } from "../k8s/kinds.js";
import { get, type K8sObject, list, record } from "../k8s/object.js";
import type { RenderedCluster } from "../render/render.js";
import { defineRule, type ObjectReport, type Rule, runObjectRules } from "./rule.js";
import { objectsOf, stringOf } from "./read.js";

interface PoolCheck {
  readonly objs: readonly K8sObject[];
  readonly profile: Profile | undefined;
  readonly report: ObjectReport;
}

/** How one infrastructure object of workers buys its instances, and which types it may launch. */
interface Market {
  object: K8sObject;
  /** The field that says spot. */
  at: string;
  spot: boolean;
  types: string[];
  /** Where the instance types and the image are set. */
  machine: string;
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** The names of the AWSMachineTemplates control planes use. */
const controlPlaneTemplates = (objs: readonly K8sObject[]): Set<string> =>
  new Set(
    objs
      .filter((o) => isGroupKind(o, GROUP.controlPlane, "KubeadmControlPlane"))
      .map((o) => stringOf(get(o, "spec.machineTemplate.spec.infrastructureRef.name") ?? "")),
  );

function markets(objs: readonly K8sObject[]): Market[] {
  const out: Market[] = [];
  for (const o of objs) {
    if (isGroupKind(o, GROUP.infra, "AWSMachineTemplate")) {
      const spot = get(o, "spec.template.spec.spotMarketOptions") !== undefined;
      const type = stringOf(get(o, "spec.template.spec.instanceType") ?? "");
      out.push({
        object: o,
        at: "spec.template.spec.spotMarketOptions",
        spot,
        types: [type],
        machine: "spec.template.spec",
      });
    }
    if (isGroupKind(o, GROUP.infra, "AWSMachinePool")) {
      const template = stringOf(get(o, "spec.awsLaunchTemplate.instanceType") ?? "");
      const mixed = get(o, "spec.mixedInstancesPolicy");
      if (mixed === undefined) {
        out.push({
          object: o,
          at: "spec.awsLaunchTemplate.spotMarketOptions",
          spot: get(o, "spec.awsLaunchTemplate.spotMarketOptions") !== undefined,
          types: [template],
          machine: "spec.awsLaunchTemplate",
        });
        continue;
      }
      const overrides = list(get(mixed, "overrides")).map((x) => stringOf(get(x, "instanceType") ?? ""));
      // AWS's defaults: onDemandBaseCapacity 0, onDemandPercentageAboveBaseCapacity 100 (no spot at all).
      const pct = num(get(mixed, "instancesDistribution.onDemandPercentageAboveBaseCapacity")) ?? 100;
      out.push({
        object: o,
        at: "spec.mixedInstancesPolicy",
        spot: pct < 100,
        types: overrides.length ? overrides : [template],
        machine: "spec.awsLaunchTemplate",
      });
    }
  }
  return out;
}

const workerMarkets = (objs: readonly K8sObject[]): Market[] => {
  const cp = controlPlaneTemplates(objs);
  return markets(objs).filter((m) => !cp.has(String(m.object.metadata?.name)));
};

const spotOneType = defineRule<PoolCheck>("spot-one-type", ({ objs, report }) => {
  for (const m of workerMarkets(objs))
    if (m.spot && new Set(m.types).size < 2)
      report(
        m.object,
        m.at,
        `spot instances of one type (${m.types.join("")}): when AWS has no spare capacity of that type in a zone, ` +
          "the pool cannot grow there and reclaimed instances are not replaced. Use `workers: MachinePool` with " +
          "further `instanceTypes` of the same size (the group's mixedInstancesPolicy overrides), or accept the risk",
      );
});

const spotInterruption = defineRule<PoolCheck>("spot-interruption", ({ objs, report }) => {
  for (const m of workerMarkets(objs))
    if (m.spot)
      report(
        m.object,
        m.at,
        "spot instances are reclaimed by AWS after a two-minute notice that nothing here turns into a drain (CAPA " +
          "does not watch it; CAPI drains a node only when it deletes its Machine): the node's pods die with the " +
          "instance. Run a termination handler in the workload cluster (e.g. aws-node-termination-handler in IMDS " +
          "mode, as an add-on of your cluster's own layer) and give the workloads PodDisruptionBudgets",
      );
});

/** "m6i.2xlarge" → "2xlarge": the size, which gives the vCPU count across the general families. */
const sizeOf = (type: string): string => type.slice(type.indexOf(".") + 1);

const mixedSizes = defineRule<PoolCheck>("mixed-sizes", ({ objs, report }) => {
  for (const m of workerMarkets(objs)) {
    const sizes = [...new Set(m.types.map(sizeOf))];
    if (sizes.length > 1)
      report(
        m.object,
        `${m.at}.overrides`,
        `instance types of ${sizes.length} sizes (${m.types.join(", ")}): the cluster-autoscaler keeps one ` +
          "template node for the whole group (its clusterapi provider has no per-type capacity), so it over- or " +
          "under-estimates what a new instance holds; list types of one size (e.g. m6i.xlarge, m5.xlarge, " +
          "m7i.xlarge)",
      );
  }
});

const controlPlaneSpot = defineRule<PoolCheck>("control-plane-spot", ({ objs, profile, report }) => {
  const cp = controlPlaneTemplates(objs);
  for (const m of markets(objs))
    if (m.spot && cp.has(String(m.object.metadata?.name)))
      report(
        m.object,
        m.at,
        "control-plane machines on spot: a reclaimed instance takes an etcd member and an API server with it, " +
          "undrained and without KCP's scale-down (a quorum can be lost when two go at once) — remove " +
          "spotMarketOptions" +
          (profile === "prod" ? "" : " (accepted outside prod)"),
        profile === "prod" ? "error" : "warning",
      );
});

const gpuImage = defineRule<PoolCheck>("gpu-image", ({ objs, report }) => {
  for (const m of markets(objs)) {
    const gpu = m.types.filter((t) => gpuFamily(t));
    if (!gpu.length) continue;
    const machine = record(get(m.object, m.machine));
    if (get(machine, "ami.id") !== undefined || machine.imageLookupOrg !== undefined) continue;
    report(
      m.object,
      m.machine,
      `GPU instance types (${gpu.join(", ")}) boot CAPA's public image (no ami, no imageLookupOrg: ` +
        "pkg/cloud/services/ec2/ami.go), which carries no NVIDIA driver: the device plugin finds no GPU and the " +
        "node offers no nvidia.com/gpu. Set the pool's `image` to one built with the NVIDIA driver and container " +
        "toolkit (image-builder, or a copied AMI)",
    );
  }
});

export const POOL_RULES: readonly Rule<RuleId, PoolCheck>[] = [
  spotOneType,
  spotInterruption,
  mixedSizes,
  controlPlaneSpot,
  gpuImage,
];

export function poolRules(rc: RenderedCluster, profile: Profile | undefined, file: string): Finding[] {
  return runObjectRules(POOL_RULES, rc, file, { objs: objectsOf(rc.objects), profile });
}
