/**
 * Pure part of `npm run leftovers`: what a cluster's renders along the Git history left on the management cluster.
 *
 * Every generated object carries Argo CD's `Prune=false` and Flux's `prune: disabled` (plan/capi.ts SYNC_SAFE): an
 * object Git stops rendering is never removed by the sync engine. That is what keeps old hash-named templates alive
 * while machines still use them, and what leaves them behind for good afterwards. This module compares the renders of
 * a cluster at each commit (oldest first, the last one being the current head) and lists the objects rendered once
 * and no longer, with the commit that last rendered each, the commit that dropped it, what still uses it after that
 * commit is synced (the roll-out it started), how to check it is unused, and the `kubectl delete` line to run then.
 * It never deletes anything. No fs, no processes, no git: the caller renders the commits.
 */
import { ARGO_COMPARE_OPTIONS, ARGO_SYNC_OPTIONS, FLUX_PRUNE } from "../core/vocabulary.js";
import { GROUP, LABEL } from "../k8s/capi.js";
import { groupOf, recsAt, strAt, type K8sObject } from "../k8s/object.js";

export interface CommitInfo {
  sha: string;
  /** Committer date, ISO 8601. */
  date: string;
  subject: string;
}

/** One commit's renders: cluster name → its rendered objects (a cluster that did not render is absent). */
export interface Snapshot {
  commit: CommitInfo;
  clusters: ReadonlyMap<string, readonly K8sObject[]>;
}

export type LeftoverRole = "pool" | "pool-part" | "template" | "bootstrap-config" | "addon-payload" | "other";

export interface Leftover {
  cluster: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  role: LeftoverRole;
  /** The last commit that rendered it. */
  lastRendered: CommitInfo;
  /** The first commit after that one: from its sync on, Git no longer has the object. */
  droppedBy: CommitInfo;
  /** In words: when it becomes unused. */
  unusedWhen: string;
  /** A read-only shell command that prints 0 once it is unused (absent when no live object can say). */
  check?: string;
  /** The command to run once it is unused (printed, never run). */
  deleteCommand: string;
  /**
   * Argo CD: whether it keeps its Application OutOfSync until deleted — true unless its live copy carries
   * `compare-options: IgnoreExtraneous` (argo-cd v3.5.7 controller/state.go), as every generated object does.
   */
  holdsAppOutOfSync: boolean;
}

export interface LeftoverReport {
  /** Clusters of the head commit, each with its leftovers in the order to delete them. */
  clusters: { cluster: string; leftovers: Leftover[] }[];
  /** How many commits were compared. */
  commits: number;
}

/** Argo CD or Flux leaves the object in place when Git drops it (objects without this are pruned by the engine). */
export function keptWhenDropped(o: K8sObject): boolean {
  const ann = o.metadata.annotations ?? {};
  const argo = (ann[ARGO_SYNC_OPTIONS] ?? "").split(",").map((s) => s.trim());
  return argo.includes("Prune=false") || ann[FLUX_PRUNE] === "disabled";
}

/** Argo CD leaves the Application's sync status alone for this object once it needs pruning. */
export function ignoredWhenExtraneous(o: K8sObject): boolean {
  return (o.metadata.annotations?.[ARGO_COMPARE_OPTIONS] ?? "")
    .split(",")
    .map((s) => s.trim())
    .includes("IgnoreExtraneous");
}

const idOf = (o: K8sObject): string =>
  `${groupOf(o.apiVersion)}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** `kubectl delete` of one object: `<kind>.<group>` so kubectl never picks another group's kind of that name. */
export function deleteCommand(o: { apiVersion: string; kind: string; name: string; namespace?: string }): string {
  const group = groupOf(o.apiVersion);
  const resource = group ? `${o.kind.toLowerCase()}.${group}` : o.kind.toLowerCase();
  return `kubectl delete ${resource} ${o.name}${o.namespace ? ` -n ${o.namespace}` : ""}`;
}

/** The order to delete them: pools first (their machines go with them), then what only they used. */
const ROLE_ORDER: readonly LeftoverRole[] = [
  "pool",
  "pool-part",
  "bootstrap-config",
  "template",
  "addon-payload",
  "other",
];

const refName = (o: K8sObject | undefined, path: string): string | undefined => strAt(o, path);

const find = (objects: readonly K8sObject[], kind: string, name?: string) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

/** The MachineDeployments (or the KubeadmControlPlane) that referenced a template, in the render that last held it. */
function templateReferrer(t: K8sObject, objects: readonly K8sObject[]): K8sObject | undefined {
  const infra = t.kind === "AWSMachineTemplate";
  return objects.find(
    (o) =>
      (o.kind === "KubeadmControlPlane" &&
        infra &&
        refName(o, "spec.machineTemplate.spec.infrastructureRef.name") === t.metadata.name) ||
      (o.kind === "MachineDeployment" &&
        refName(
          o,
          infra ? "spec.template.spec.infrastructureRef.name" : "spec.template.spec.bootstrap.configRef.name",
        ) === t.metadata.name),
  );
}

const quoteJsonPath = (p: string) => `'${p}'`;

/** kubectl get … -o jsonpath, one value a line, counted against a name: prints how many still use it. */
const countCheck = (what: string, ns: string | undefined, jsonpath: string, name: string, selector?: string) =>
  `kubectl get ${what}${ns ? ` -n ${ns}` : ""}${selector ? ` -l ${selector}` : ""} ` +
  `-o jsonpath=${quoteJsonPath(jsonpath)} | grep -cxF ${name}`;

const CLONED_FROM = String.raw`{range .items[*]}{.metadata.annotations.cluster\.x-k8s\.io/cloned-from-name}{"\n"}{end}`;

function describe(
  o: K8sObject,
  last: readonly K8sObject[],
  head: readonly K8sObject[],
  dropped: CommitInfo,
): Pick<Leftover, "role" | "unusedWhen" | "check"> {
  const ns = o.metadata.namespace;
  const name = o.metadata.name;
  const by = `${dropped.sha.slice(0, 12)} (${dropped.subject})`;
  const group = groupOf(o.apiVersion);
  if ((o.kind === "MachinePool" || o.kind === "MachineDeployment") && group === GROUP.core) {
    const drain =
      o.kind === "MachineDeployment"
        ? "deleting it deletes its MachineSets and Machines, and CAPI drains each node first"
        : "deleting it deletes its AWSMachinePool and the Auto Scaling group, which terminates the instances " +
          "without draining them: cordon and drain its nodes first";
    return {
      role: "pool",
      unusedWhen:
        `still runs the nodes of a pool Git no longer has (removed or renamed by ${by}): ` +
        `move its workloads to the other pools, then delete it (${drain})`,
    };
  }
  if (o.kind === "AWSMachinePool" || o.kind === "MachineHealthCheck") {
    const pool = find(last, "MachinePool", name) ?? find(last, "MachineDeployment", name);
    return {
      role: "pool-part",
      unusedWhen:
        o.kind === "AWSMachinePool"
          ? `belongs to MachinePool ${name}, which Git dropped with it (${by}); ` +
            "CAPI deletes it with that MachinePool — delete it only if it is still there afterwards"
          : `checks machines of a pool Git no longer has (${by}); ` +
            `delete it with ${pool ? `${pool.kind} ${pool.metadata.name}` : "that pool"}`,
    };
  }
  if (o.kind === "AWSMachineTemplate" || o.kind === "KubeadmConfigTemplate") {
    const referrer = templateReferrer(o, last);
    const stillThere = referrer && find(head, referrer.kind, referrer.metadata.name);
    if (referrer?.kind === "KubeadmControlPlane")
      return {
        role: "template",
        unusedWhen:
          "the control plane's previous machine template: unused once the KubeadmControlPlane's roll-out " +
          `started by ${by} has replaced every machine made from it (no AWSMachine cloned from it)`,
        check: countCheck("awsmachines.infrastructure.cluster.x-k8s.io", ns, CLONED_FROM, name),
      };
    if (referrer?.kind === "MachineDeployment") {
      const field =
        o.kind === "AWSMachineTemplate"
          ? ".spec.template.spec.infrastructureRef.name"
          : ".spec.template.spec.bootstrap.configRef.name";
      return {
        role: "template",
        unusedWhen: stillThere
          ? `MachineDeployment ${referrer.metadata.name}'s previous template: ` +
            `unused once its roll-out started by ${by} has finished and no MachineSet uses it`
          : `template of MachineDeployment ${referrer.metadata.name}, which Git no longer has (${by}): ` +
            "unused once that MachineDeployment is deleted",
        check: countCheck(
          "machinesets.cluster.x-k8s.io",
          ns,
          `{range .items[*]}{${field}}{"\\n"}{end}`,
          name,
          `${LABEL.deploymentName}=${referrer.metadata.name}`,
        ),
      };
    }
    return {
      role: "template",
      unusedWhen: `no longer rendered since ${by}; unused once no MachineSet or machine uses it`,
      check: countCheck(
        "machinesets.cluster.x-k8s.io",
        ns,
        String.raw`{range .items[*]}{.spec.template.spec.infrastructureRef.name}{"\n"}` +
          String.raw`{.spec.template.spec.bootstrap.configRef.name}{"\n"}{end}`,
        name,
      ),
    };
  }
  if (o.kind === "KubeadmConfig") {
    const pool = last.find(
      (p) => p.kind === "MachinePool" && refName(p, "spec.template.spec.bootstrap.configRef.name") === name,
    );
    const poolName = pool?.metadata.name;
    const stillThere = poolName !== undefined && find(head, "MachinePool", poolName);
    return {
      role: "bootstrap-config",
      unusedWhen: stillThere
        ? `MachinePool ${poolName}'s previous bootstrap config: unused once the MachinePool references the new one ` +
          `(the sync of ${by}) and CAPA has written the launch template version with the new user data ` +
          "(the instance refresh it starts)"
        : `bootstrap config of MachinePool ${poolName ?? "(unknown)"}, which Git no longer has (${by}): ` +
          "CAPI deletes it with that MachinePool — delete it only if it is still there afterwards",
      check: poolName
        ? `kubectl get machinepools.cluster.x-k8s.io${ns ? ` -n ${ns}` : ""} -o jsonpath=` +
          quoteJsonPath(String.raw`{range .items[*]}{.spec.template.spec.bootstrap.configRef.name}{"\n"}{end}`) +
          ` | grep -cxF ${name}`
        : undefined,
    };
  }
  if (o.kind === "ConfigMap" && group === "") {
    const crs = last.find(
      (c) => c.kind === "ClusterResourceSet" && recsAt(c, "spec.resources").some((r) => r.name === name),
    );
    return {
      role: "addon-payload",
      unusedWhen: crs
        ? `an add-on payload ClusterResourceSet ${crs.metadata.name} stopped listing with ${by}: ` +
          "unused as soon as that change is synced (a ClusterResourceSet never deletes what it applied: " +
          "the workload cluster keeps its objects either way)"
        : `no longer rendered since ${by}; unused once no ClusterResourceSet lists it`,
      check: countCheck(
        "clusterresourcesets.addons.cluster.x-k8s.io",
        ns,
        String.raw`{range .items[*]}{range .spec.resources[*]}{.name}{"\n"}{end}{end}`,
        name,
      ),
    };
  }
  return { role: "other", unusedWhen: `no longer rendered since ${by}; make sure nothing uses it before deleting it` };
}

/**
 * The leftovers of every cluster of the newest snapshot: objects a snapshot rendered with Prune=false / prune
 * disabled that the newest does not render. Snapshots are oldest first; the last one is the head.
 */
export function findLeftovers(snapshots: readonly Snapshot[]): LeftoverReport {
  const head = snapshots.at(-1);
  if (!head) return { clusters: [], commits: 0 };
  const clusters = [...head.clusters.keys()].sort().map((cluster) => {
    const headObjects = head.clusters.get(cluster) ?? [];
    const now = new Set(headObjects.map(idOf));
    // Each identity's last rendering snapshot (index), with the object as then rendered.
    const last = new Map<string, { index: number; object: K8sObject }>();
    snapshots.forEach((s, index) => {
      for (const o of s.clusters.get(cluster) ?? []) last.set(idOf(o), { index, object: o });
    });
    const leftovers: Leftover[] = [];
    for (const [id, { index, object }] of last) {
      if (now.has(id) || !keptWhenDropped(object)) continue;
      const lastSnapshot = snapshots[index];
      const dropped = snapshots[index + 1]?.commit;
      // The head renders every object of its own, so an object dropped was last rendered before it.
      if (lastSnapshot === undefined || dropped === undefined) continue;
      const m = object.metadata;
      leftovers.push({
        cluster,
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: m.name,
        namespace: m.namespace,
        ...describe(object, lastSnapshot.clusters.get(cluster) ?? [], headObjects, dropped),
        lastRendered: lastSnapshot.commit,
        droppedBy: dropped,
        deleteCommand: deleteCommand({
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: m.name,
          namespace: m.namespace,
        }),
        holdsAppOutOfSync: !ignoredWhenExtraneous(object),
      });
    }
    leftovers.sort(
      (a, b) =>
        ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) ||
        (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    return { cluster, leftovers };
  });
  return { clusters, commits: snapshots.length };
}

export const LEFTOVER_FORMATS = ["text", "json"] as const;

/** The report as text: per cluster, each leftover with its history and check, then the delete lines in order. */
export function formatLeftovers(report: LeftoverReport, format: (typeof LEFTOVER_FORMATS)[number]): string {
  if (format === "json") return JSON.stringify(report, null, 2);
  const short = (c: CommitInfo) => `${c.sha.slice(0, 12)} ${c.date.slice(0, 10)} "${c.subject}"`;
  const lines: string[] = [
    `# compared ${report.commits} commit(s); nothing is deleted: run each line yourself once its check prints 0`,
  ];
  for (const { cluster, leftovers } of report.clusters) {
    if (!leftovers.length) {
      lines.push(`cluster ${cluster}: nothing left behind`);
      continue;
    }
    lines.push(`cluster ${cluster}: ${leftovers.length} object(s) left behind`);
    for (const l of leftovers) {
      lines.push(`  ${l.kind} ${l.namespace ? `${l.namespace}/` : ""}${l.name}`);
      lines.push(`    last rendered by ${short(l.lastRendered)}; dropped by ${short(l.droppedBy)}`);
      lines.push(`    ${l.unusedWhen}`);
      if (l.check) lines.push(`    check (prints 0 when unused): ${l.check}`);
      if (l.holdsAppOutOfSync)
        lines.push("    Argo CD: no IgnoreExtraneous on it, so it keeps the Application OutOfSync until deleted");
    }
    lines.push(`  # delete, in this order, each once unused:`);
    for (const l of leftovers) lines.push(`  ${l.deleteCommand}`);
  }
  return lines.join("\n");
}
