/**
 * Rule: every CAPI reference in one rendered cluster resolves to an object of the same build.
 * Mirrors what the controllers need at run time: the Cluster's refs (internal/webhooks/cluster.go requires them),
 * KCP's machineTemplate.spec.infrastructureRef, MachinePool/MachineDeployment bootstrap.configRef and
 * infrastructureRef, clusterName fields, the cluster-name label, and MachineHealthCheck selectors.
 */
import type { Finding } from "../findings.js";

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

const groupOf = (apiVersion = ""): string => (apiVersion.includes("/") ? apiVersion.split("/")[0]! : "");
const get = (o: unknown, path: string): unknown => path.split(".").reduce<any>((v, k) => (v == null ? undefined : v[k]), o);

/** [referrer kind, field path of a `{apiGroup, kind, name}` ref] */
const REF_FIELDS: [string, string][] = [
  ["Cluster", "spec.infrastructureRef"],
  ["Cluster", "spec.controlPlaneRef"],
  ["KubeadmControlPlane", "spec.machineTemplate.spec.infrastructureRef"],
  ["MachinePool", "spec.template.spec.infrastructureRef"],
  ["MachinePool", "spec.template.spec.bootstrap.configRef"],
  ["MachineDeployment", "spec.template.spec.infrastructureRef"],
  ["MachineDeployment", "spec.template.spec.bootstrap.configRef"],
];
const CLUSTER_NAME_FIELDS: [string, string][] = [
  ["MachinePool", "spec.clusterName"],
  ["MachinePool", "spec.template.spec.clusterName"],
  ["MachineDeployment", "spec.clusterName"],
  ["MachineDeployment", "spec.template.spec.clusterName"],
  ["MachineHealthCheck", "spec.clusterName"],
];
const CAPI_GROUP = /(^|\.)cluster\.x-k8s\.io$/;

export function checkReferences(objects: readonly unknown[], ctx: { cluster?: string; file?: string } = {}): Finding[] {
  const objs = objects as Obj[];
  const findings: Finding[] = [];
  const id = (o: Obj) => `${o.kind}/${o.metadata?.name}`;
  const key = (group: string, kind: string, ns: string | undefined, name: string) => `${group}|${kind}|${ns ?? ""}|${name}`;
  const index = new Set(objs.map((o) => key(groupOf(o.apiVersion), o.kind ?? "", o.metadata?.namespace, o.metadata?.name ?? "")));
  const push = (o: Obj, path: string, message: string, rule = "reference-resolves") =>
    findings.push({ cluster: ctx.cluster, file: ctx.file, path: `${id(o)}:${path}`, rule, severity: "error", message });

  for (const o of objs) {
    for (const [kind, path] of REF_FIELDS) {
      if (o.kind !== kind) continue;
      const ref = get(o, path) as { apiGroup?: string; apiVersion?: string; kind?: string; name?: string } | undefined;
      if (!ref) {
        push(o, path, `${kind} has no ${path}`);
        continue;
      }
      const group = ref.apiGroup ?? groupOf(ref.apiVersion);
      if (!ref.kind || !ref.name || !group) push(o, path, `reference needs apiGroup, kind and name`);
      else if (!index.has(key(group, ref.kind, o.metadata?.namespace, ref.name)))
        push(o, `${path}.name`, `refers to ${ref.kind} "${ref.name}" (${group}) which is not in this build`);
    }
  }

  const clusters = objs.filter((o) => o.kind === "Cluster" && groupOf(o.apiVersion) === "cluster.x-k8s.io");
  if (clusters.length !== 1) {
    findings.push({ cluster: ctx.cluster, file: ctx.file, rule: "one-cluster", severity: "error", message: `a cluster overlay must render exactly one Cluster object, found ${clusters.length}` });
    return findings;
  }
  const clusterName = clusters[0]!.metadata?.name ?? "";
  if (ctx.cluster && clusterName !== ctx.cluster) push(clusters[0]!, "metadata.name", `Cluster is named "${clusterName}" but its directory is clusters/${ctx.cluster}`, "cluster-name-matches");

  for (const o of objs) {
    for (const [kind, path] of CLUSTER_NAME_FIELDS)
      if (o.kind === kind && get(o, path) !== clusterName) push(o, path, `is "${String(get(o, path))}", not the Cluster's name "${clusterName}"`, "cluster-name-consistent");
    const label = o.metadata?.labels?.["cluster.x-k8s.io/cluster-name"];
    if (CAPI_GROUP.test(groupOf(o.apiVersion)) && o.kind !== "Cluster" && label !== undefined && label !== clusterName)
      push(o, "metadata.labels.cluster.x-k8s.io/cluster-name", `label is "${label}", not the Cluster's name "${clusterName}"`, "cluster-name-consistent");
  }

  // A MachineHealthCheck must select something: control-plane machines (KCP present) or a pool's machine template labels.
  const templateLabels = objs
    .filter((o) => o.kind === "MachinePool" || o.kind === "MachineDeployment")
    .map((o) => (get(o, "spec.template.metadata.labels") ?? {}) as Record<string, string>);
  const hasKcp = objs.some((o) => o.kind === "KubeadmControlPlane");
  for (const o of objs.filter((x) => x.kind === "MachineHealthCheck")) {
    const sel = (get(o, "spec.selector.matchLabels") ?? {}) as Record<string, string>;
    const entries = Object.entries(sel);
    if (entries.length === 0) {
      push(o, "spec.selector", "selector is empty (the MHC webhook rejects it)", "mhc-selects");
      continue;
    }
    const selectsCp = entries.length === 1 && entries[0]![0] === "cluster.x-k8s.io/control-plane" && hasKcp;
    const selectsPool = templateLabels.some((l) => entries.every(([k, v]) => l[k] === v));
    if (!selectsCp && !selectsPool) push(o, "spec.selector.matchLabels", `selects no machines of this cluster (${entries.map(([k, v]) => `${k}=${v}`).join(", ")})`, "mhc-selects");
  }
  return findings;
}
