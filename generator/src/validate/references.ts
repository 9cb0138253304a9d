/**
 * Rule: every CAPI reference in one rendered cluster resolves to an object of the same build.
 * Mirrors what the controllers need at run time: the Cluster's refs (internal/webhooks/cluster.go requires them),
 * KCP's machineTemplate.spec.infrastructureRef, MachinePool/MachineDeployment bootstrap.configRef and
 * infrastructureRef, clusterName fields, the cluster-name label, and MachineHealthCheck selectors.
 */
import type { Finding } from "../core/findings.js";
import { CAPI_GROUPS, GROUP, LABEL } from "../k8s/capi.js";
import { get, groupOf } from "../k8s/object.js";

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
};

/** Any value as message text; never throws (YAML can hold `{toString: null}`). */
export const show = (v: unknown): string => {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
};

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
/** Where CAPI v1beta1 (deprecated, still served) has a REF_FIELDS ref that v1beta2 moved. */
const V1BETA1_PATHS: Record<string, string> = {
  "spec.machineTemplate.spec.infrastructureRef": "spec.machineTemplate.infrastructureRef",
};
const CLUSTER_NAME_FIELDS: [string, string][] = [
  ["MachinePool", "spec.clusterName"],
  ["MachinePool", "spec.template.spec.clusterName"],
  ["MachineDeployment", "spec.clusterName"],
  ["MachineDeployment", "spec.template.spec.clusterName"],
  ["MachineHealthCheck", "spec.clusterName"],
];

/** The CAPI references an object holds (REF_FIELDS), as identities in the referrer's namespace. */
export function referencesOf(o: Obj): { group: string; kind: string; namespace: string; name: string }[] {
  const out: { group: string; kind: string; namespace: string; name: string }[] = [];
  for (const [kind, v1beta2Path] of REF_FIELDS) {
    if (o.kind !== kind) continue;
    const p =
      (typeof o.apiVersion === "string" && o.apiVersion.endsWith("/v1beta1")
        ? V1BETA1_PATHS[v1beta2Path]
        : undefined) ?? v1beta2Path;
    const ref = get(o, p) as { apiGroup?: string; apiVersion?: string; kind?: string; name?: string } | undefined;
    const group = ref?.apiGroup ?? groupOf(ref?.apiVersion);
    if (ref && typeof ref.kind === "string" && typeof ref.name === "string" && group)
      out.push({ group, kind: ref.kind, namespace: show(o.metadata?.namespace ?? ""), name: ref.name });
  }
  return out;
}

export function checkReferences(objects: readonly unknown[], ctx: { cluster?: string; file?: string } = {}): Finding[] {
  // Odd input (a hand-edited overlay) never makes the rule throw: only mappings are objects.
  const objs = objects.filter((o): o is Obj => o !== null && typeof o === "object" && !Array.isArray(o));
  const findings: Finding[] = [];
  const id = (o: Obj) => `${show(o.kind)}/${show(o.metadata?.name)}`;
  const key = (group: string, kind: unknown, ns: unknown, name: unknown) =>
    `${group}|${show(kind)}|${show(ns ?? "")}|${show(name)}`;
  const index = new Set(
    objs.map((o) => key(groupOf(o.apiVersion), o.kind ?? "", o.metadata?.namespace, o.metadata?.name ?? "")),
  );
  const push = (o: Obj, path: string, message: string, rule = "reference-resolves") =>
    findings.push({ cluster: ctx.cluster, file: ctx.file, path: `${id(o)}:${path}`, rule, severity: "error", message });

  for (const o of objs) {
    for (const [kind, v1beta2Path] of REF_FIELDS) {
      if (o.kind !== kind) continue;
      const path =
        (typeof o.apiVersion === "string" && o.apiVersion.endsWith("/v1beta1")
          ? V1BETA1_PATHS[v1beta2Path]
          : undefined) ?? v1beta2Path;
      const ref = get(o, path) as { apiGroup?: string; apiVersion?: string; kind?: string; name?: string } | undefined;
      if (!ref) {
        push(o, path, `${kind} has no ${path}`);
        continue;
      }
      const group = ref.apiGroup ?? groupOf(ref.apiVersion);
      if (!ref.kind || !ref.name || !group) push(o, path, `reference needs apiGroup, kind and name`);
      else if (!index.has(key(group, ref.kind, o.metadata?.namespace, ref.name)))
        push(
          o,
          `${path}.name`,
          `refers to ${show(ref.kind)} "${show(ref.name)}" (${group}) which is not in this build`,
        );
    }
  }

  const clusters = objs.filter((o) => o.kind === "Cluster" && groupOf(o.apiVersion) === GROUP.core);
  if (clusters.length !== 1) {
    findings.push({
      cluster: ctx.cluster,
      file: ctx.file,
      rule: "one-cluster",
      severity: "error",
      message: `a cluster overlay must render exactly one Cluster object, found ${clusters.length}`,
    });
    return findings;
  }
  const clusterName = clusters[0]!.metadata?.name ?? "";
  if (ctx.cluster && clusterName !== ctx.cluster)
    push(
      clusters[0]!,
      "metadata.name",
      `Cluster is named "${show(clusterName)}" but its directory is clusters/${ctx.cluster}`,
      "cluster-name-matches",
    );

  for (const o of objs) {
    for (const [kind, path] of CLUSTER_NAME_FIELDS)
      if (o.kind === kind && get(o, path) !== clusterName)
        push(
          o,
          path,
          `is "${show(get(o, path))}", not the Cluster's name "${show(clusterName)}"`,
          "cluster-name-consistent",
        );
    const label = o.metadata?.labels?.[LABEL.clusterName];
    if (CAPI_GROUPS.test(groupOf(o.apiVersion)) && o.kind !== "Cluster" && label !== undefined && label !== clusterName)
      push(
        o,
        `metadata.labels.${LABEL.clusterName}`,
        `label is "${show(label)}", not the Cluster's name "${show(clusterName)}"`,
        "cluster-name-consistent",
      );
  }

  // A MachineHealthCheck must select something. A machine carries its pool's template labels, or (control plane)
  // KCP's machineTemplate labels plus control-plane "" and control-plane-name; CAPI adds cluster-name to both.
  const withCluster = (l: unknown): Record<string, string> => ({
    ...(l as Record<string, string> | undefined),
    [LABEL.clusterName]: clusterName,
  });
  const machineLabels = [
    ...objs
      .filter((o) => o.kind === "MachinePool" || o.kind === "MachineDeployment")
      .map((o) => withCluster(get(o, "spec.template.metadata.labels"))),
    ...objs
      .filter((o) => o.kind === "KubeadmControlPlane")
      .map((o) =>
        withCluster({
          ...(get(o, "spec.machineTemplate.metadata.labels") as object | undefined),
          [LABEL.controlPlane]: "",
          [LABEL.controlPlaneName]: o.metadata?.name ?? "",
        }),
      ),
  ];
  for (const o of objs.filter((x) => x.kind === "MachineHealthCheck")) {
    const entries = Object.entries((get(o, "spec.selector.matchLabels") ?? {}) as Record<string, string>);
    const expressions = (get(o, "spec.selector.matchExpressions") ?? []) as unknown[];
    if (entries.length === 0 && expressions.length === 0) {
      push(o, "spec.selector", "selector is empty (the MHC webhook rejects it)", "mhc-selects");
      continue;
    }
    // matchExpressions are not evaluated here: a selector that has them is only checked for emptiness.
    if (expressions.length === 0 && !machineLabels.some((l) => entries.every(([k, v]) => l[k] === v)))
      push(
        o,
        "spec.selector.matchLabels",
        `selects no machines of this cluster (${entries.map(([k, v]) => `${k}=${show(v)}`).join(", ")})`,
        "mhc-selects",
      );
  }
  return findings;
}
