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
 * - subnet-cidr-changed: an AWSCluster subnet (same id) gets another cidrBlock; an AWS subnet's CIDR cannot change, so
 *   CAPA cannot apply it to a live VPC (subnets are addressed by zone slot, plan/cluster.ts subnets()).
 * - vpc-cidr-changed: spec.network.vpc.cidrBlock changes; CAPA does not change a live VPC's CIDR (it copies the live
 *   VPC's CIDR back into the spec), so subnets carved from the new range fall outside the VPC.
 * - pool-removed (warning): a MachinePool / MachineDeployment leaves Git while the cluster stays; nothing is pruned,
 *   so the old pool keeps running beside any new one until it is deleted by hand.
 * - pool-upgraded-with-control-plane: a pool's Kubernetes minor rises in the same change as the control plane's, so
 *   kubelets can be newer than the API server during the roll-out. Error for a MachinePool (nothing holds it back);
 *   warning for a MachineDeployment, whose MachineSets hold new machines until the control plane is upgraded
 *   (CAPI v1.13 MachineSet preflight checks, internal/controllers/machineset/machineset_preflight.go, feature
 *   MachineSetPreflightChecks on by default).
 * - cluster-moved: a cluster directory removed and another added with the same region and VPC CIDR, i.e. a rename by
 *   moving the directory. Nothing is pruned, so the old cluster keeps running and a second one is created beside it.
 * - image-version-mismatch: a machine's Kubernetes version changes while its image is fixed (an AMI id, or a lookup
 *   format without {{.K8sVersion}}: CAPA pkg/cloud/services/ec2/ami.go GenerateAmiName) and stays the same, or the
 *   version the image states (image.kubernetesVersion) is not the one its machines run: new machines would boot the
 *   old kubelet (a v1.34 kubelet joining a v1.35 control plane).
 * - cluster-renamed: the Cluster object of a cluster directory gets another name or namespace. Nothing is pruned
 *   (every object carries Prune=false,Delete=false / prune: disabled), so the old Cluster keeps running and a second
 *   cluster is created beside it; CAPI cannot rename a Cluster (its name is in every object, label and AWS tag).
 */
import semver from "semver";
import type { Finding } from "../findings.js";
import type { RenderedObject } from "../validate/render.js";
import { GROUP, IMAGE_VERSION_ANNOTATION } from "../k8s/capi.js";
import { groupOf, isRecord } from "../k8s/object.js";
import { imageFollowsVersion } from "../schemas/ami-inventory.js";
import { type Machine, machineImage, machines } from "../validate/images.js";
import { clusterSpecPath } from "../repo/paths.js";
import { changedPaths, labelOf, sameValue, type ObjectChange } from "./objects.js";

const { infra: INFRA, bootstrap: BOOTSTRAP, controlPlane: CONTROLPLANE, core: CORE } = GROUP;

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
      file: clusterSpecPath(cluster),
      path: `Cluster/${o.slice(o.indexOf("/") + 1)}:metadata`,
      rule: "cluster-renamed",
      severity: "error" as const,
      message: `the Cluster ${o} becomes ${now.join(", ")}: Cluster API cannot rename a cluster. The sync deletes nothing (every object is kept from pruning), so the old cluster keeps running and a second cluster with new machines and AWS infrastructure is created beside it. Keep the name and namespace; to replace the cluster, create the new one, move the workloads, then delete the old one with \`kubectl delete cluster.cluster.x-k8s.io/${o.slice(o.indexOf("/") + 1)} -n ${o.slice(0, o.indexOf("/"))}\` (README "Deleting a cluster")`,
    }));
}

interface Subnet {
  id?: string;
  cidrBlock?: string;
  availabilityZone?: string;
  isPublic?: boolean;
}

const subnetsOf = (o: RenderedObject): Map<string, Subnet> => {
  const list = o.spec?.network?.subnets;
  const out = new Map<string, Subnet>();
  if (Array.isArray(list)) for (const s of list as Subnet[]) if (s && typeof s === "object") out.set(s.id ?? `${s.availabilityZone}/${s.isPublic ? "public" : "private"}`, s);
  return out;
};

function networkCidrs(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, INFRA, "AWSCluster") || !is(c.after, INFRA, "AWSCluster")) return [];
  const out: Finding[] = [];
  const oldVpc = c.before.spec?.network?.vpc?.cidrBlock;
  const newVpc = c.after.spec?.network?.vpc?.cidrBlock;
  if (oldVpc !== undefined && !sameValue(oldVpc, newVpc))
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.network.vpc.cidrBlock"),
      rule: "vpc-cidr-changed",
      severity: "error",
      message: `the VPC CIDR changes from ${oldVpc} to ${newVpc ?? "(unset)"}; CAPA does not change a live VPC's CIDR (it copies the VPC's CIDR back into the AWSCluster), so the subnets carved from the new range fall outside the VPC and cannot be created. Keep network.vpcCidr ${oldVpc} in clusters/${cluster}/cluster.yaml; a cluster in another range is a new cluster`,
    });
  const before = subnetsOf(c.before);
  for (const [id, now] of subnetsOf(c.after)) {
    const was = before.get(id);
    if (!was || was.cidrBlock === undefined || was.cidrBlock === now.cidrBlock) continue;
    out.push({
      cluster,
      file: c.file,
      path: at(c, `spec.network.subnets[id=${id}].cidrBlock`),
      rule: "subnet-cidr-changed",
      severity: "error",
      message: `subnet ${id} changes its CIDR from ${was.cidrBlock} to ${now.cidrBlock ?? "(unset)"}; an AWS subnet's CIDR cannot change, so CAPA cannot apply it to the live VPC. Keep ${was.cidrBlock}: undo the change of network.vpcCidr in clusters/${cluster}/cluster.yaml or of the patch in clusters/${cluster}/kustomization.yaml; if it comes from \`npm run generate\` on a cluster created before subnets were addressed by zone slot (README "Subnets"), pin the live subnets with a patch on /spec/network/subnets in clusters/${cluster}/kustomization.yaml`,
    });
  }
  return out;
}

const POOL_KINDS = ["MachinePool", "MachineDeployment"];
const isPool = (o: RenderedObject | undefined): o is RenderedObject => !!o && POOL_KINDS.includes(o.kind) && groupOf(o.apiVersion) === CORE;

function poolRemoved(cluster: string, c: ObjectChange): Finding[] {
  if (c.type !== "removed" || !isPool(c.before)) return [];
  const resource = `${c.id.kind.toLowerCase()}.cluster.x-k8s.io/${c.id.name}`;
  const replaced = c.pairedWith ? ` (replaced by ${c.pairedWith.name})` : "";
  return [
    {
      cluster,
      file: c.file,
      path: at(c, "metadata"),
      rule: "pool-removed",
      severity: "warning",
      message: `${labelOf(c.id)}${replaced} is removed from Git, but the sync deletes nothing (every object is kept from pruning): its machines keep running${replaced ? " beside the new pool" : ""}. Manual step after the merge, once any new pool is ready: \`kubectl delete ${resource} -n ${c.id.namespace}\` (Cluster API drains and deletes its machines and infrastructure); its MachineHealthCheck and templates stay until deleted the same way`,
    },
  ];
}

const minorOf = (v: unknown) => semver.coerce(String(v ?? ""), { includePrerelease: false });

function poolsWithControlPlane(cluster: string, changes: readonly ObjectChange[]): Finding[] {
  const kcp = changes.find((c) => c.type === "changed" && is(c.before, CONTROLPLANE, "KubeadmControlPlane") && is(c.after, CONTROLPLANE, "KubeadmControlPlane"));
  const cpFrom = minorOf(kcp?.before?.spec?.version);
  const cpTo = minorOf(kcp?.after?.spec?.version);
  if (!kcp || !cpFrom || !cpTo || cpTo.major !== cpFrom.major || cpTo.minor <= cpFrom.minor) return [];
  const out: Finding[] = [];
  for (const c of changes) {
    if (c.type !== "changed" || !isPool(c.before) || !isPool(c.after)) continue;
    const fromV = c.before.spec?.template?.spec?.version;
    const toV = c.after.spec?.template?.spec?.version;
    const from = minorOf(fromV);
    const to = minorOf(toV);
    if (!from || !to || to.major !== from.major || to.minor <= from.minor) continue;
    const md = c.id.kind === "MachineDeployment";
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.template.spec.version"),
      rule: "pool-upgraded-with-control-plane",
      severity: md ? "warning" : "error",
      message: `${labelOf(c.id)} moves from ${fromV} to ${toV} in the same change as the control plane (${kcp.before!.spec.version} to ${kcp.after!.spec.version}): ${md ? "its new machines wait until the control plane is upgraded (MachineSet preflight checks), so the pool's roll-out stalls meanwhile" : "its instances roll at once, and kubelets newer than the API server are outside the version-skew policy while the control plane rolls"}. Upgrade in two changes (\`npm run upgrade -- --name ${cluster} --to ${kcp.after!.spec.version}\` makes them, one per run): first the control plane, with each pool pinned to its current version (nodePools[].kubernetesVersion: ${fromV} in clusters/${cluster}/cluster.yaml); once the control plane has rolled out, remove the pin`,
    });
  }
  return out;
}

const CLUSTER_KIND = (o: RenderedObject) => is(o, CORE, "Cluster");
const clusterId = (objs: readonly RenderedObject[]) => {
  const c = objs.find(CLUSTER_KIND);
  return c ? { name: c.metadata.name as string, namespace: (c.metadata.namespace as string | undefined) ?? "" } : undefined;
};
/** Region and VPC CIDR of a cluster's AWSCluster: what identifies its network when the directory name changes. */
const networkKey = (objs: readonly RenderedObject[]): string | undefined => {
  const a = objs.find((o) => is(o, INFRA, "AWSCluster"));
  const region = a?.spec?.region;
  const vpc = a?.spec?.network?.vpc?.cidrBlock;
  return region && vpc ? `${region}|${vpc}` : undefined;
};

/**
 * Rename by directory move: each added cluster whose region and VPC CIDR equal those of a removed cluster (pure;
 * `removed` holds the base side's objects, `added` the working tree's). The finding goes to the added cluster.
 */
export function clustersMoved(removed: ReadonlyMap<string, readonly RenderedObject[]>, added: ReadonlyMap<string, readonly RenderedObject[]>): Finding[] {
  const out: Finding[] = [];
  for (const [now, objs] of [...added].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = networkKey(objs);
    const match = key && [...removed].filter(([, o]) => networkKey(o) === key).map(([name]) => name).sort()[0];
    if (!match) continue;
    const oldId = clusterId(removed.get(match)!);
    const newId = clusterId(objs);
    const [region, vpc] = key.split("|");
    const old = oldId ? `${oldId.namespace}/${oldId.name}` : match;
    out.push({
      cluster: now,
      file: clusterSpecPath(now),
      path: newId ? `Cluster/${newId.name}:metadata` : "metadata",
      rule: "cluster-moved",
      severity: "error",
      message: `clusters/${now}/ looks like clusters/${match}/ moved (same region ${region} and VPC CIDR ${vpc}), but moving the directory does not rename a cluster: Cluster API cannot rename a Cluster. The sync deletes nothing (every object is kept from pruning), so the old Cluster ${old} keeps running and a second cluster${newId ? ` ${newId.namespace}/${newId.name}` : ""} with new machines and its own VPC ${vpc} is created beside it. To keep the cluster, move the directory back to clusters/${match}/. To replace it, give the new cluster its own network.vpcCidr, create it, move the workloads, then delete the old one with \`kubectl delete cluster.cluster.x-k8s.io/${oldId?.name ?? match} -n ${oldId?.namespace ?? match}\` (README "Deleting a cluster")`,
    });
  }
  return out;
}

/** The image/version flag (image-version-mismatch), kept apart from the other rules: see the header. */
export function imageVersionFlags(cluster: string, before: readonly RenderedObject[], after: readonly RenderedObject[]): Finding[] {
  const out: Finding[] = [];
  const awsOf = (objs: readonly RenderedObject[]) => objs.find((o) => is(o, INFRA, "AWSCluster"));
  const key = (m: Machine) => `${m.owner.kind}/${String(m.owner.metadata?.name)}`;
  const old = new Map(machines(before).map((m) => [key(m), m]));
  for (const m of machines(after)) {
    const image = machineImage(m, awsOf(after));
    if (imageFollowsVersion(image) || !m.version) continue;
    const annotations = m.object.metadata?.annotations;
    const stated = isRecord(annotations) && typeof annotations[IMAGE_VERSION_ANNOTATION] === "string" ? (annotations[IMAGE_VERSION_ANNOTATION] as string) : undefined;
    const was = old.get(key(m));
    const kept = was && was.version && was.version !== m.version && sameValue(machineImage(was, awsOf(before)), image);
    if (!kept && (stated === undefined || stated === m.version)) continue;
    const what = image.id ? `AMI ${image.id}` : `the image format ${JSON.stringify(image.lookupFormat)}`;
    out.push({
      cluster,
      file: clusterSpecPath(cluster),
      path: `${m.object.kind}/${String(m.object.metadata?.name)}:${m.at}`,
      rule: "image-version-mismatch",
      severity: "error",
      message: kept
        ? `${m.owner.kind} ${String(m.owner.metadata?.name)} moves from ${was!.version} to ${m.version} but keeps ${what}, one image whatever the version: its new machines would boot the old kubelet. Give the step the image built for ${m.version} (\`npm run upgrade -- --name ${cluster} --image-id <ami-…>\`)`
        : `${what} holds Kubernetes ${stated}, but ${m.owner.kind} ${String(m.owner.metadata?.name)} runs ${m.version}: its machines would boot a ${stated} kubelet`,
    });
  }
  return out;
}

/** Findings for one cluster's changes; `before`/`after` are its whole rendered object lists. */
export function flagChanges(cluster: string, changes: readonly ObjectChange[], before: readonly RenderedObject[], after: readonly RenderedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const c of changes) if (c.type === "changed") out.push(...inPlace(cluster, c), ...awsCluster(cluster, c), ...networkCidrs(cluster, c), ...versionJump(cluster, c));
  // A removed cluster's pools go with it (README "Deleting a cluster"); flag only pools removed from a cluster that stays.
  if (after.length) for (const c of changes) out.push(...poolRemoved(cluster, c));
  out.push(...poolsWithControlPlane(cluster, changes));
  out.push(...clusterRenamed(cluster, before, after));
  out.push(...imageVersionFlags(cluster, before, after));
  return out;
}
