/**
 * Where a cluster is in a staged upgrade, as `diff` explains it (pure): the Kubernetes versions of the rendered
 * KubeadmControlPlane and pools (MachinePools, MachineDeployments) on both sides → one `info` finding, `upgrade-step`:
 * the control plane's step (pools stay), the pools' step, or a cluster still in the middle of an upgrade. A change
 * moving both at once is `pool-upgraded-with-control-plane` (diff/flags.ts), not explained here.
 */
import semver from "semver";
import type { Finding } from "../core/findings.js";
import { GROUP } from "../k8s/capi.js";
import { clusterSpecPath } from "../core/layout.js";
import { groupOf, strAt, type K8sObject } from "../k8s/object.js";

interface Versions {
  controlPlane?: string;
  /** Pool object (`Kind name`) → version. */
  pools: Map<string, string>;
}

function versionsOf(objects: readonly K8sObject[]): Versions {
  const out: Versions = { pools: new Map() };
  for (const o of objects) {
    const g = groupOf(o.apiVersion);
    const cp = strAt(o, "spec.version");
    if (o.kind === "KubeadmControlPlane" && g === GROUP.controlPlane && cp !== undefined) out.controlPlane = cp;
    const pool = strAt(o, "spec.template.spec.version");
    if ((o.kind === "MachinePool" || o.kind === "MachineDeployment") && g === GROUP.core && pool !== undefined)
      out.pools.set(`${o.kind} ${o.metadata.name}`, pool);
  }
  return out;
}

const older = (a: string, b: string): boolean => {
  const x = semver.coerce(a);
  const y = semver.coerce(b);
  return !!x && !!y && semver.lt(x, y);
};

/** The `upgrade-step` line for a cluster whose versions change, or that is between an upgrade's two steps. */
export function upgradeStepFindings(
  cluster: string,
  before: readonly K8sObject[],
  after: readonly K8sObject[],
): Finding[] {
  const was = versionsOf(before);
  const now = versionsOf(after);
  if (!now.controlPlane) return [];
  const cp = now.controlPlane;
  const moved = [...now.pools].filter(([k, v]) => was.pools.has(k) && was.pools.get(k) !== v);
  const behind = [...now.pools].filter(([, v]) => older(v, cp));
  const cpMoved = was.controlPlane !== undefined && was.controlPlane !== cp;
  const list = (xs: [string, string][]) => xs.map(([k, v]) => `${k} (${v})`).join(", ");
  let message: string | undefined;
  if (cpMoved && moved.length === 0)
    message =
      `upgrade step 1 of 2: the control plane moves ${was.controlPlane} → ${cp}; ` +
      `${behind.length ? `the pools stay (${list(behind)}), ` : ""}the CCM and the cluster-autoscaler stay ` +
      `a minor behind until the pools' step. Once it has rolled out, \`npm run upgrade -- --name ` +
      `${cluster}\` moves the pools (and them)`;
  else if (!cpMoved && moved.length)
    message =
      `upgrade step 2 of 2: ${moved.map(([k, v]) => `${k} ${was.pools.get(k)} → ${v}`).join(", ")}` +
      (behind.length
        ? `; still behind the control plane (${cp}): ${list(behind)}`
        : `; every pool at the control plane's ${cp}, and the CCM and the cluster-autoscaler follow to its minor`);
  else if (!cpMoved && behind.length)
    message =
      `in the middle of an upgrade: the control plane runs ${cp}, ${list(behind)} behind it; \`npm run ` +
      `upgrade -- --name ${cluster}\` moves them`;
  if (!message) return [];
  return [
    {
      cluster,
      file: clusterSpecPath(cluster),
      path: "kubernetesVersion",
      rule: "upgrade-step",
      severity: "info",
      message,
    },
  ];
}
