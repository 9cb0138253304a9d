/**
 * Issue 11 item 2: every Cluster is reached by exactly one ClusterResourceSet per add-on role (CNI, CCM, CSI) in its
 * own namespace (a ClusterResourceSet selects Clusters in its own namespace only), and the ConfigMaps they name are
 * in the render. No CCM is an error (nodes keep the uninitialized taint, CAPI never links Machines to Nodes); no CNI
 * or no CSI is the spec's opt-out: a warning.
 */
import type { Finding } from "../findings.js";
import type { K8sObject } from "../k8s/object.js";
import { ADDON_LABEL, type AddonRole } from "../plan/addons.js";
import { clusterSpecPath } from "../repo/paths.js";

type Obj = K8sObject & { metadata: { name?: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

/** Rules never throw on odd input: anything that is not a plain object counts as empty. */
const record = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const matchLabels = (crs: Obj): Record<string, unknown> => record(record(record(crs.spec).clusterSelector).matchLabels);
const selects = (crs: Obj, labels: Record<string, unknown>): boolean => {
  const sel = matchLabels(crs);
  return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
};

/** The spec field that opts out of the add-on (its finding points there), if any. */
const OPT_OUT: Record<AddonRole, string | undefined> = { cni: "network.cni", ccm: undefined, csi: "storage" };

const WHAT: Record<AddonRole, { missing: string; severity: "error" | "warning" }> = {
  cni: { missing: "no CNI is installed from Git (network.cni: none): nodes stay NotReady until you install one", severity: "warning" },
  ccm: {
    missing:
      "no cloud-controller-manager reaches this cluster: nodes keep the uninitialized taint and get no providerID; use a Kubernetes minor that versions.json addons.cloudControllerManager.byMinor pins (1.32 has none), and keep its ClusterResourceSet",
    severity: "error",
  },
  csi: { missing: "no EBS CSI driver is installed from Git (storage: none): PersistentVolumeClaims stay Pending", severity: "warning" },
};

export function addonRules(objs: readonly Obj[], cluster: string, file: string): Finding[] {
  const findings: Finding[] = [];
  const c = objs.find((o) => o.kind === "Cluster" && typeof o.metadata === "object" && o.metadata !== null);
  if (!c) return findings;
  const labels = record(record(c.metadata).labels);
  const crss = objs.filter((o) => o.kind === "ClusterResourceSet" && record(o.metadata).namespace === record(c.metadata).namespace && selects(o, labels));
  for (const role of Object.keys(ADDON_LABEL) as AddonRole[]) {
    const mine = crss.filter((o) => ADDON_LABEL[role] in matchLabels(o));
    const path = `Cluster/${String(record(c.metadata).name)}:metadata.labels`;
    const optOut = OPT_OUT[role];
    if (mine.length === 0)
      findings.push({ cluster, ...(optOut ? { file: clusterSpecPath(cluster), path: optOut } : { file, path }), rule: `addon-${role}`, severity: WHAT[role].severity, message: WHAT[role].missing });
    else if (mine.length > 1) findings.push({ cluster, file, path, rule: `addon-${role}`, severity: "error", message: `${mine.length} ClusterResourceSets install a ${role} on this cluster (${mine.map((o) => String(record(o.metadata).name)).join(", ")}); keep one` });
    for (const crs of mine)
      for (const r of (Array.isArray(record(crs.spec).resources) ? record(crs.spec).resources : []) as { kind: string; name: string }[])
        if (!objs.some((o) => o.kind === record(r).kind && record(o.metadata).name === record(r).name && record(o.metadata).namespace === record(crs.metadata).namespace))
          findings.push({ cluster, file, path: `ClusterResourceSet/${String(record(crs.metadata).name)}:spec.resources`, rule: `addon-${role}`, severity: "error", message: `${String(record(r).kind)} ${String(record(r).name)} is not in the render (run \`npm run generate\`)` });
  }
  return findings;
}
