/**
 * Add-ons (ClusterResourceSets whose ConfigMaps hold the manifests; plan/addons.ts). What reaches a cluster is what
 * the ClusterResourceSets in its namespace whose clusterSelector matches its labels apply (CAPI
 * internal/controllers/clusterresourceset/clusterresourceset_controller.go getClustersByClusterResourceSetSelector:
 * same namespace, an empty selector selects nothing). The payloads are classified by what they hold, as
 * `npm run addons` renders them (addons/<addon>/<version>/): a CNI (the `cilium` DaemonSet, or Calico's `calico-node`
 * when brought by hand), the AWS cloud-controller-manager (the `aws-cloud-controller-manager` DaemonSet of
 * cloud-provider-aws's chart; its image's minor must be the control plane's: the CCM is released per Kubernetes
 * minor), the EBS CSI driver (CSIDriver `ebs.csi.aws.com`). Exactly one of each. No CCM is an error (nodes keep the
 * uninitialized taint and get no providerID, CAPI never links Machines to Nodes); no CNI or no CSI is the spec's
 * opt-out (network.cni / storage: none): a warning pointing at that field. A ConfigMap a ClusterResourceSet names
 * must be in the render. Rules never throw on odd input.
 */
import type semver from "semver";
import type { Finding, Severity } from "../core/findings.js";
import { GROUP } from "../k8s/capi.js";
import { get, groupOf, isRecord, type K8sObject, list, record } from "../k8s/object.js";
import { parseMachineYaml } from "../core/yaml.js";
import { clusterSpecPath } from "../core/layout.js";
import { ADDON_LABEL, type AddonRole } from "../plan/addons.js";
import { versions } from "../pins/versions.js";
import type { RuleId } from "../core/rules.js";
import { finding } from "./rule.js";
import { idOf, show } from "./read.js";

/**
 * Does a label selector (matchLabels, matchExpressions) select these labels? Empty selects nothing (CAPI's CRS
 * rule).
 */
function selects(selector: unknown, labels: Record<string, unknown>): boolean {
  const ml = record(get(selector, "matchLabels"));
  const me = list(get(selector, "matchExpressions"));
  if (Object.keys(ml).length === 0 && me.length === 0) return false;
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  return me.every((e) => {
    const has = Object.hasOwn(labels, show(get(e, "key")));
    const v = labels[show(get(e, "key"))];
    const values = list(get(e, "values"));
    switch (get(e, "operator")) {
      case "In":
        return has && values.includes(v);
      case "NotIn":
        return !has || !values.includes(v);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}

/** The add-on role a manifest is (by the objects the rendered payloads hold), if any. */
function roleOf(doc: Record<string, unknown>): CheckedRole | undefined {
  const name = show(get(doc, "metadata.name"));
  if (doc.kind === "DaemonSet" && (name === "cilium" || name === "calico-node")) return "cni";
  if (doc.kind === "DaemonSet" && name === "aws-cloud-controller-manager") return "ccm";
  if (doc.kind === "CSIDriver" && name === "ebs.csi.aws.com") return "csi";
  return undefined;
}

/**
 * The roles every cluster needs (or opts out of in its spec). The GPU device plugin is not one: plan/addons.ts gives it
 * to exactly the clusters with a GPU pool.
 */
type CheckedRole = Exclude<AddonRole, "gpu">;
const ROLES: readonly CheckedRole[] = ["cni", "ccm", "csi"] satisfies (keyof typeof ADDON_LABEL)[];
/** The rule of each role. */
const ADDON_RULE = { cni: "addons-cni", ccm: "addons-ccm", csi: "addons-csi" } as const satisfies Record<
  CheckedRole,
  RuleId
>;
const WHAT: Record<CheckedRole, string> = { cni: "CNI", ccm: "AWS cloud-controller-manager", csi: "EBS CSI driver" };
/**
 * When no payload of a role reaches the cluster: the spec field that opts out of it (the finding points there), or an
 * error.
 */
const MISSING: Record<CheckedRole, { optOut?: string; severity: Severity; message: string }> = {
  cni: {
    optOut: "network.cni",
    severity: "warning",
    message: "no CNI is installed from Git (network.cni: none): nodes stay NotReady until you install one",
  },
  ccm: {
    severity: "error",
    message:
      "no cloud-controller-manager reaches this cluster: nodes keep the uninitialized taint and get no providerID; " +
      "use a Kubernetes minor that versions.json addons.cloudControllerManager.byMinor pins, " +
      "and keep its ClusterResourceSet",
  },
  csi: {
    optOut: "storage",
    severity: "warning",
    message: "no EBS CSI driver is installed from Git (storage: none): PersistentVolumeClaims stay Pending",
  },
};

export interface AddonContext {
  /** The cluster directory's name (findings' cluster, and its cluster.yaml for opt-out findings). */
  cluster: string;
  /** The file an object comes from (kustomize's origin, or the cluster's kustomization). */
  fileOf: (o: K8sObject) => string;
  /** The control plane's version, when valid (the CCM must be its minor). */
  cpVersion?: semver.SemVer;
  /** A pool runs an older minor than the control plane: the CCM may be exactly one minor behind it. */
  upgrading?: boolean;
}

/**
 * Whether a version-bound add-on's minor fits the control plane: the same minor, or exactly one behind during an
 * upgrade (kube-apiserver at most one minor newer than the CCM, version-skew-policy; plan/addon-version.ts).
 */
export function addonMinorFits(major: number, minor: number, cp: semver.SemVer, upgrading: boolean): boolean {
  return major === cp.major && (minor === cp.minor || (upgrading && minor === cp.minor - 1));
}

/**
 * The add-on documents of a ConfigMap payload with their roles. Every cluster of a fleet carries the same few
 * payloads (one per add-on version), each hundreds of KiB of YAML: parsed once per process, by content.
 */
type Classified = { role: CheckedRole; doc: Record<string, unknown> };
const classifiedByText = new Map<string, Classified[]>();
function classified(text: string): Classified[] {
  let out = classifiedByText.get(text);
  if (!out) {
    let docs: unknown[] = [];
    try {
      docs = parseMachineYaml(text);
    } catch {
      // not YAML: no add-on in it
    }
    out = docs.filter(isRecord).flatMap((doc) => {
      const role = roleOf(doc);
      return role ? [{ role, doc }] : [];
    });
    if (classifiedByText.size >= 64) classifiedByText.clear(); // a fleet has a few payloads; odd input cannot grow it
    classifiedByText.set(text, out);
  }
  return out;
}

export function addonRules(objs: readonly K8sObject[], ctx: AddonContext): Finding[] {
  const findings: Finding[] = [];
  const push = (o: K8sObject, path: string, rule: RuleId, message: string, severity?: Severity) =>
    findings.push(
      finding(rule, { cluster: ctx.cluster, file: ctx.fileOf(o), path: `${idOf(o)}:${path}` }, message, severity),
    );
  const cluster = objs.find((o) => o.kind === "Cluster" && groupOf(o.apiVersion) === GROUP.core);
  if (!cluster) return findings;
  const labels = record(cluster.metadata?.labels);
  const ns = cluster.metadata?.namespace;
  const sets = objs.filter(
    (o) =>
      o.kind === "ClusterResourceSet" &&
      groupOf(o.apiVersion) === GROUP.addons &&
      o.metadata?.namespace === ns &&
      selects(get(o, "spec.clusterSelector"), labels),
  );

  type Found = { set: K8sObject; doc: Record<string, unknown> };
  const found: Record<CheckedRole, Found[]> = { cni: [], ccm: [], csi: [] };
  /** Roles whose ClusterResourceSet names a resource missing from the render: reported once, as that resource. */
  const unresolved = new Set<CheckedRole>();
  for (const set of sets)
    list(get(set, "spec.resources")).forEach((r, i) => {
      const kind = show(get(r, "kind") ?? "Secret");
      const res = objs.find(
        (o) =>
          o.kind === kind &&
          groupOf(o.apiVersion) === "" &&
          o.metadata?.name === get(r, "name") &&
          o.metadata?.namespace === ns,
      );
      if (!res) {
        // The role its selector names (plan/addons.ts labels); a set naming none could have brought any add-on.
        const keys = [
          ...Object.keys(record(get(set, "spec.clusterSelector.matchLabels"))),
          ...list(get(set, "spec.clusterSelector.matchExpressions")).map((e) => show(get(e, "key"))),
        ];
        const roles = ROLES.filter((k) => keys.includes(ADDON_LABEL[k]));
        (roles.length ? roles : ROLES).forEach((k) => unresolved.add(k));
        const [only] = roles;
        push(
          set,
          `spec.resources.${i}`,
          only !== undefined && roles.length === 1 ? ADDON_RULE[only] : "addons-resources",
          `${kind} ${show(get(r, "name"))} is not in the render (run \`npm run generate\`)`,
          "error",
        );
        return;
      }
      if (kind !== "ConfigMap") return;
      for (const text of Object.values(record(res.data)))
        for (const { role, doc } of classified(show(text))) found[role].push({ set, doc });
    });

  const name = show(cluster.metadata?.name);
  for (const k of ROLES) {
    if (found[k].length === 0 && !unresolved.has(k)) {
      const m = MISSING[k];
      if (k === "ccm") {
        // Say what is true of this cluster: its minor has no pinned CCM, or its ClusterResourceSet is gone.
        const pinned = Object.keys(versions().addons.cloudControllerManager.byMinor);
        const minor = ctx.cpVersion ? `${ctx.cpVersion.major}.${ctx.cpVersion.minor}` : undefined;
        const restore =
          `restore the ccm ClusterResourceSet and the Cluster's ${ADDON_LABEL.ccm} label ` + "(run `npm run generate`)";
        const why =
          minor === undefined
            ? `it pins ${pinned.join(", ")}`
            : pinned.includes(minor)
              ? `it pins ${minor}: ${restore}`
              : `it pins ${pinned.join(", ")}, not ${minor}`;
        push(cluster, "metadata.labels", "addons-ccm", `${m.message} (${why})`, m.severity);
        continue;
      }
      if (m.optOut)
        findings.push(
          finding(
            ADDON_RULE[k],
            { cluster: ctx.cluster, file: clusterSpecPath(ctx.cluster), path: m.optOut },
            m.message,
            m.severity,
          ),
        );
      else push(cluster, "metadata.labels", ADDON_RULE[k], m.message, m.severity);
    }
    const [, second] = found[k];
    if (second)
      push(
        second.set,
        "spec.resources",
        ADDON_RULE[k],
        `${found[k].length} ${WHAT[k]}s reach cluster ${name} ` +
          `(${found[k].map((f) => show(f.set.metadata?.name)).join(", ")}); exactly one may`,
        "error",
      );
  }
  const cp = ctx.cpVersion;
  // Calico is tested on a few Kubernetes minors per release (versions.json addons.calico.kubernetes): outside them,
  // a warning on the spec's choice of CNI.
  const calico = versions().addons.calico;
  const rank = (m: string) =>
    m
      .split(".")
      .map(Number)
      .reduce((major, minor) => major * 1000 + minor);
  const pinnedCalico = ({ doc }: Found) =>
    show(get(doc, "metadata.name")) === "calico-node" &&
    list(get(doc, "spec.template.spec.containers")).some((c) => show(get(c, "image")).endsWith(`:${calico.release}`));
  const cpRank = cp ? cp.major * 1000 + cp.minor : undefined;
  const untested =
    cpRank !== undefined && (cpRank < rank(calico.kubernetes.min) || cpRank > rank(calico.kubernetes.max));
  if (cp && untested && found.cni.some(pinnedCalico))
    findings.push(
      finding(
        "addons-cni-tested",
        { cluster: ctx.cluster, file: clusterSpecPath(ctx.cluster), path: "network.cni" },
        `Calico ${calico.release} is tested on Kubernetes ${calico.kubernetes.min}–${calico.kubernetes.max} ` +
          `(Calico's system requirements), but the control plane runs v${cp.version}; ` +
          "prefer cni: cilium, or run it knowing it is untested there",
      ),
    );
  for (const { set, doc } of found.ccm)
    for (const c of list(get(doc, "spec.template.spec.containers"))) {
      const image = show(get(c, "image"));
      const [, major, minor] = /:v?(\d+)\.(\d+)\.\d+[^:/]*$/.exec(image) ?? [];
      if (major && minor && cp && !addonMinorFits(Number(major), Number(minor), cp, ctx.upgrading ?? false))
        push(
          set,
          "spec.resources",
          "addons-ccm-minor",
          `the cloud-controller-manager it applies is ${image}, but the control plane runs v${cp.version}; the ` +
            "CCM must be the cluster's minor (versions.json addons.cloudControllerManager.byMinor)" +
            (ctx.upgrading ? ", or during an upgrade exactly one minor behind it (never newer)" : ""),
        );
    }
  return findings;
}
