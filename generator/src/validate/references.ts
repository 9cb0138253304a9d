/**
 * Rule: every CAPI reference in one rendered cluster resolves to an object of the same build.
 * Mirrors what the controllers need at run time: the Cluster's refs (internal/webhooks/cluster.go requires them),
 * KCP's machineTemplate.spec.infrastructureRef, MachinePool/MachineDeployment bootstrap.configRef and
 * infrastructureRef, clusterName fields, the cluster-name label, and MachineHealthCheck selectors.
 */
import { clusterDir } from "../core/layout.js";
import type { Finding } from "../core/findings.js";
import { CAPI_GROUPS, GROUP, LABEL } from "../k8s/capi.js";
import { get, groupOf, type K8sObject, list, record } from "../k8s/object.js";
import type { RuleId } from "../core/rules.js";
import { defineRule, finding, type Rule } from "./rule.js";
import { idOf, objectsOf, show, stringOf } from "./read.js";

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

/** The field paths of the references an object of kind `kind` holds (v1beta1's where it differs). */
function refPaths(o: K8sObject): [string, string][] {
  const v1beta1 = typeof o.apiVersion === "string" && o.apiVersion.endsWith("/v1beta1");
  return REF_FIELDS.filter(([kind]) => o.kind === kind).map(([kind, v1beta2Path]) => [
    kind,
    (v1beta1 ? V1BETA1_PATHS[v1beta2Path] : undefined) ?? v1beta2Path,
  ]);
}

/** A reference's parts as the rule reads them: its group (apiGroup, else apiVersion's), kind and name. */
function refParts(ref: unknown): { group: unknown; kind: unknown; name: unknown } {
  return {
    group: get(ref, "apiGroup") ?? groupOf(get(ref, "apiVersion")),
    kind: get(ref, "kind"),
    name: get(ref, "name"),
  };
}

/** The CAPI references an object holds (REF_FIELDS), as identities in the referrer's namespace. */
export function referencesOf(o: K8sObject): { group: string; kind: string; namespace: string; name: string }[] {
  const out: { group: string; kind: string; namespace: string; name: string }[] = [];
  for (const [, p] of refPaths(o)) {
    const ref = get(o, p);
    const { group, kind, name } = refParts(ref);
    if (ref && typeof kind === "string" && typeof name === "string" && group)
      out.push({ group: stringOf(group), kind, namespace: show(o.metadata?.namespace ?? ""), name });
  }
  return out;
}

/** What the reference rules of one build read, and how they report (a field of `o`, or the build as a whole). */
interface ReferenceCheck {
  readonly objs: readonly K8sObject[];
  /** The cluster's directory name, when the build is a cluster's. */
  readonly dir: string | undefined;
  /** The build's Clusters (one-cluster wants exactly one; the rules after it read that one). */
  readonly clusters: readonly K8sObject[];
  readonly report: (o: K8sObject | undefined, path: string, message: string) => void;
}

/** The build's one Cluster, or undefined when it has none or several (one-cluster reports that). */
const theCluster = ({ clusters }: ReferenceCheck): K8sObject | undefined =>
  clusters.length === 1 ? clusters[0] : undefined;

const referenceResolves = defineRule<ReferenceCheck>("reference-resolves", ({ objs, report }) => {
  const key = (group: unknown, kind: unknown, ns: unknown, name: unknown) =>
    `${stringOf(group)}|${show(kind)}|${show(ns ?? "")}|${show(name)}`;
  const index = new Set(
    objs.map((o) => key(groupOf(o.apiVersion), o.kind ?? "", o.metadata?.namespace, o.metadata?.name ?? "")),
  );
  for (const o of objs) {
    for (const [kind, path] of refPaths(o)) {
      const ref = get(o, path);
      if (!ref) {
        report(o, path, `${kind} has no ${path}`);
        continue;
      }
      const parts = refParts(ref);
      if (!parts.kind || !parts.name || !parts.group) report(o, path, `reference needs apiGroup, kind and name`);
      else if (!index.has(key(parts.group, parts.kind, o.metadata?.namespace, parts.name)))
        report(
          o,
          `${path}.name`,
          `refers to ${show(parts.kind)} "${show(parts.name)}" (${stringOf(parts.group)}) which is not in this build`,
        );
    }
  }
});

const oneCluster = defineRule<ReferenceCheck>("one-cluster", ({ clusters, report }) => {
  if (clusters.length !== 1)
    report(undefined, "", `a cluster overlay must render exactly one Cluster object, found ${clusters.length}`);
});

const clusterNameMatches = defineRule<ReferenceCheck>("cluster-name-matches", (ctx) => {
  const cluster = theCluster(ctx);
  const clusterName = cluster?.metadata?.name ?? "";
  if (cluster && ctx.dir && clusterName !== ctx.dir)
    ctx.report(
      cluster,
      "metadata.name",
      `Cluster is named "${show(clusterName)}" but its directory is ${clusterDir(ctx.dir)}`,
    );
});

const clusterNameConsistent = defineRule<ReferenceCheck>("cluster-name-consistent", (ctx) => {
  const cluster = theCluster(ctx);
  if (!cluster) return;
  const clusterName = cluster.metadata?.name ?? "";
  for (const o of ctx.objs) {
    for (const [kind, path] of CLUSTER_NAME_FIELDS)
      if (o.kind === kind && get(o, path) !== clusterName)
        ctx.report(o, path, `is "${show(get(o, path))}", not the Cluster's name "${show(clusterName)}"`);
    const label = o.metadata?.labels?.[LABEL.clusterName];
    if (CAPI_GROUPS.test(groupOf(o.apiVersion)) && o.kind !== "Cluster" && label !== undefined && label !== clusterName)
      ctx.report(
        o,
        `metadata.labels.${LABEL.clusterName}`,
        `label is "${show(label)}", not the Cluster's name "${show(clusterName)}"`,
      );
  }
});

const mhcSelects = defineRule<ReferenceCheck>("mhc-selects", (ctx) => {
  const cluster = theCluster(ctx);
  if (!cluster) return;
  const { objs, report } = ctx;
  const clusterName = cluster.metadata?.name ?? "";
  // A MachineHealthCheck must select something. A machine carries its pool's template labels, or (control plane)
  // KCP's machineTemplate labels plus control-plane "" and control-plane-name; CAPI adds cluster-name to both.
  const withCluster = (l: Record<string, unknown>): Record<string, unknown> => ({
    ...l,
    [LABEL.clusterName]: clusterName,
  });
  const machineLabels = [
    ...objs
      .filter((o) => o.kind === "MachinePool" || o.kind === "MachineDeployment")
      .map((o) => withCluster(record(get(o, "spec.template.metadata.labels")))),
    ...objs
      .filter((o) => o.kind === "KubeadmControlPlane")
      .map((o) =>
        withCluster({
          ...record(get(o, "spec.machineTemplate.metadata.labels")),
          [LABEL.controlPlane]: "",
          [LABEL.controlPlaneName]: o.metadata?.name ?? "",
        }),
      ),
  ];
  for (const o of objs.filter((x) => x.kind === "MachineHealthCheck")) {
    const entries = Object.entries(record(get(o, "spec.selector.matchLabels") ?? {}));
    const expressions = list(get(o, "spec.selector.matchExpressions"));
    if (entries.length === 0 && expressions.length === 0) {
      report(o, "spec.selector", "selector is empty (the MHC webhook rejects it)");
      continue;
    }
    // matchExpressions are not evaluated here: a selector that has them is only checked for emptiness.
    if (expressions.length === 0 && !machineLabels.some((l) => entries.every(([k, v]) => l[k] === v)))
      report(
        o,
        "spec.selector.matchLabels",
        `selects no machines of this cluster (${entries.map(([k, v]) => `${k}=${show(v)}`).join(", ")})`,
      );
  }
});

/** The rules of this file, in the order they report; the ones after one-cluster need the build's one Cluster. */
export const REFERENCE_RULES: readonly Rule<RuleId, ReferenceCheck>[] = [
  referenceResolves,
  oneCluster,
  clusterNameMatches,
  clusterNameConsistent,
  mhcSelects,
];

export function checkReferences(objects: readonly unknown[], ctx: { cluster?: string; file?: string } = {}): Finding[] {
  // Odd input (a hand-edited overlay) never makes the rule throw: only mappings are objects.
  const objs = objectsOf(objects);
  const findings: Finding[] = [];
  const clusters = objs.filter((o) => o.kind === "Cluster" && groupOf(o.apiVersion) === GROUP.core);
  for (const rule of REFERENCE_RULES)
    rule.check({
      objs,
      dir: ctx.cluster,
      clusters,
      report: (o, path, message) =>
        findings.push(
          finding(
            rule.id,
            o
              ? { cluster: ctx.cluster, file: ctx.file, path: `${idOf(o)}:${path}` }
              : { cluster: ctx.cluster, file: ctx.file },
            message,
          ),
        ),
    });
  return findings;
}
