/**
 * Changes the management cluster would reject, or that would not roll out (pure). Each rule mirrors an upstream
 * webhook or documented behaviour:
 * - template-changed-in-place: CAPA's AWSMachineTemplate webhook rejects spec changes (the spec is immutable), and
 *   Cluster API rolls machines only when a MachineDeployment / KubeadmControlPlane / MachinePool points at a template
 *   or bootstrap config with a new name (CAPI book, tasks/updating-machine-templates.md).
 * - awscluster-immutable: CAPA's AWSCluster webhook rejects changes of spec.region and of
 *   spec.controlPlaneLoadBalancer.scheme (unset reads as the default, internet-facing).
 * - version-jump: CAPI's KubeadmControlPlane webhook rejects an upgrade of more than one minor; kubeadm cannot
 *   downgrade a control plane.
 * - cluster-renamed: the Cluster object of a cluster directory gets another name or namespace. Nothing is pruned
 *   (every object carries Prune=false,Delete=false / prune: disabled), so the old Cluster keeps running and a second
 *   cluster is created beside it; CAPI cannot rename a Cluster (its name is in every object, label and AWS tag).
 */
import semver from "semver";
import type { Finding } from "../findings.js";
import type { RenderedObject } from "../validate/render.js";
import { changedPaths, groupOf, labelOf, sameValue, type ObjectChange } from "./objects.js";

const INFRA = "infrastructure.cluster.x-k8s.io";
const BOOTSTRAP = "bootstrap.cluster.x-k8s.io";
const CONTROLPLANE = "controlplane.cluster.x-k8s.io";
const CORE = "cluster.x-k8s.io";

const IN_PLACE: Record<string, { group: string; why: string }> = {
  AWSMachineTemplate: {
    group: INFRA,
    why: "CAPA rejects changes to an AWSMachineTemplate's spec (it is immutable), and an edited template rolls out no machines. Change it under a new name and point the KubeadmControlPlane / MachineDeployment at the new name (`npm run generate` does both when the change comes from cluster.yaml)",
  },
  KubeadmConfigTemplate: {
    group: BOOTSTRAP,
    why: "existing machines keep the old bootstrap configuration: Cluster API rolls out machines only when the MachineDeployment references a template with a new name. Change it under a new name and update the reference (`npm run generate` does both when the change comes from cluster.yaml)",
  },
  KubeadmConfig: {
    group: BOOTSTRAP,
    why: "the MachinePool's instances keep the old bootstrap data: it is rolled out only when the MachinePool references a config with a new name. Change it under a new name and update the reference (`npm run generate` does both when the change comes from cluster.yaml)",
  },
};

const DEFAULT_SCHEME = "internet-facing";

const is = (o: RenderedObject | undefined, group: string, kind: string): o is RenderedObject => !!o && o.kind === kind && groupOf(o.apiVersion) === group;

/** `Kind/name:field`, the path form findings use. */
const at = (c: ObjectChange, field: string) => `${c.id.kind}/${c.id.name}:${field}`;

function inPlace(cluster: string, c: ObjectChange): Finding[] {
  const rule = IN_PLACE[c.id.kind];
  if (!rule || !is(c.before, rule.group, c.id.kind) || !is(c.after, rule.group, c.id.kind)) return [];
  if (sameValue(c.before.spec, c.after.spec)) return [];
  const fields = changedPaths(c.before.spec, c.after.spec, "spec");
  return [
    {
      cluster,
      file: c.file,
      path: at(c, fields[0] ?? "spec"),
      rule: "template-changed-in-place",
      severity: "error",
      message: `${labelOf(c.id)}: ${fields.join(", ")} changed but the name did not; ${rule.why}`,
    },
  ];
}

function awsCluster(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, INFRA, "AWSCluster") || !is(c.after, INFRA, "AWSCluster")) return [];
  const out: Finding[] = [];
  const oldRegion = c.before.spec?.region;
  const newRegion = c.after.spec?.region;
  if (!sameValue(oldRegion, newRegion))
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.region"),
      rule: "awscluster-immutable",
      severity: "error",
      message: `region changes from ${oldRegion ?? "(unset)"} to ${newRegion ?? "(unset)"}; CAPA rejects it (spec.region is immutable). A cluster cannot move: create a new cluster in ${newRegion ?? "the new region"} and move the workloads`,
    });
  const oldScheme = c.before.spec?.controlPlaneLoadBalancer?.scheme ?? DEFAULT_SCHEME;
  const newScheme = c.after.spec?.controlPlaneLoadBalancer?.scheme ?? DEFAULT_SCHEME;
  if (oldScheme !== newScheme)
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.controlPlaneLoadBalancer.scheme"),
      rule: "awscluster-immutable",
      severity: "error",
      message: `control-plane load balancer scheme changes from ${oldScheme} to ${newScheme}; CAPA rejects it (the scheme is immutable once the cluster exists)`,
    });
  return out;
}

function versionJump(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, CONTROLPLANE, "KubeadmControlPlane") || !is(c.after, CONTROLPLANE, "KubeadmControlPlane")) return [];
  const from = semver.coerce(String(c.before.spec?.version ?? ""), { includePrerelease: false });
  const to = semver.coerce(String(c.after.spec?.version ?? ""), { includePrerelease: false });
  if (!from || !to || semver.eq(from, to)) return [];
  const base = { cluster, file: c.file, path: at(c, "spec.version"), rule: "version-jump", severity: "error" as const };
  const range = `${c.before.spec.version} to ${c.after.spec.version}`;
  if (to.major !== from.major || to.minor > from.minor + 1) {
    const next = `v${from.major}.${from.minor + 1}`;
    return [{ ...base, message: `Kubernetes version moves from ${range}, more than one minor; the KubeadmControlPlane webhook rejects it. Upgrade one minor at a time (first to ${next}.x, let it roll out, then on)` }];
  }
  if (semver.lt(to, from)) return [{ ...base, message: `Kubernetes version moves down from ${range}; kubeadm cannot downgrade a control plane. Keep ${c.before.spec.version} or build a new cluster` }];
  return [];
}

function clusterRenamed(cluster: string, before: readonly RenderedObject[], after: readonly RenderedObject[]): Finding[] {
  const clusters = (objs: readonly RenderedObject[]) => objs.filter((o) => is(o, CORE, "Cluster")).map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
  const old = clusters(before);
  const now = clusters(after);
  if (old.length === 0 || now.length === 0) return [];
  return old
    .filter((o) => !now.includes(o))
    .map((o) => ({
      cluster,
      file: `clusters/${cluster}/cluster.yaml`,
      path: `Cluster/${o.slice(o.indexOf("/") + 1)}:metadata`,
      rule: "cluster-renamed",
      severity: "error" as const,
      message: `the Cluster ${o} becomes ${now.join(", ")}: Cluster API cannot rename a cluster. The sync deletes nothing (every object is kept from pruning), so the old cluster keeps running and a second cluster with new machines and AWS infrastructure is created beside it. Keep the name and namespace; to replace the cluster, create the new one, move the workloads, then delete the old one with \`kubectl delete cluster.cluster.x-k8s.io/${o.slice(o.indexOf("/") + 1)} -n ${o.slice(0, o.indexOf("/"))}\` (README "Deleting a cluster")`,
    }));
}

/** Findings for one cluster's changes; `before`/`after` are its whole rendered object lists. */
export function flagChanges(cluster: string, changes: readonly ObjectChange[], before: readonly RenderedObject[], after: readonly RenderedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const c of changes) if (c.type === "changed") out.push(...inPlace(cluster, c), ...awsCluster(cluster, c), ...versionJump(cluster, c));
  out.push(...clusterRenamed(cluster, before, after));
  return out;
}
