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
 * - rbac-changed: a Role, RoleBinding, ClusterRole, ClusterRoleBinding or ServiceAccount is added, removed or changed:
 *   access in the management cluster, whose cluster namespaces hold every workload cluster's admin kubeconfig, is
 *   for a reviewer to see (validate's user-layer rules refuse what `generate` does not write, validate/user-layer.ts).
 *   A warning (an info line in a new cluster); an error for cluster-wide RBAC or a binding to a ClusterRole (e.g.
 *   cluster-admin).
 * - core-object-removed: a staying cluster's render loses its Cluster, AWSCluster, control plane, a spec'd pool or what
 *   those reference (validate's render-complete).
 * - cni-switched / storage-removed (warning): an add-on label of the Cluster changes CNI or drops the EBS CSI driver; a
 *   ClusterResourceSet never removes what it applied, so the old add-on keeps running.
 * - control-plane-ha-lost: the KubeadmControlPlane shrinks below 3 machines from 3 or more.
 * - gitops-engine-switched: management/sync moves from Argo CD to Flux or back; both engines would apply everything.
 * - addon-changed: a ClusterResourceSet, ClusterResourceSetBinding or a ConfigMap a ClusterResourceSet applies is added
 *   or changed and is not as `generate` writes it (validate's user-layer-addons): it installs into the workload
 *   cluster with admin rights.
 * - secret-mounted (warning): a Deployment's pods read a Secret they did not read before (the cluster's namespace
 *   holds its admin kubeconfig; validate's user-layer-secret allows only the generated autoscaler's).
 * - identity-changed: the AWSCluster's identityRef changes: removed (CAPA rejects it) or to another account (the
 *   cluster's AWS resources stay in the old one) is an error; another identity of the same account a warning.
 * - bastion-toggled (warning): CAPA's bastion is turned on (an SSH entry into the VPC) or off (sessions cut).
 * - sync-source-changed: management/sync's repoURL, branch or Argo CD project changes (capi-gitops.yaml): every
 *   cluster would be synced from elsewhere, or under another project's rights.
 */
import semver from "semver";
import type { Finding } from "../core/findings.js";
import { AWS_ACCOUNT_ANNOTATION, GROUP, IMAGE_VERSION_ANNOTATION, LABEL } from "../k8s/capi.js";
import { get, groupOf, isRecord, strAt, textAt, type K8sObject } from "../k8s/object.js";
import { isGroupKind } from "../k8s/kinds.js";
import { imageFollowsVersion } from "../schemas/ami-inventory.js";
import { type Machine, machineImage, machines } from "../validate/images.js";
import { clusterDir, clusterKustomizationPath, clusterSpecPath } from "../core/layout.js";
import { changedPaths, labelOf, sameValue, type ObjectChange } from "./objects.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { ADDON_LABEL } from "../plan/addons.js";
import { appliedCapacity } from "../fleet/applied.js";
import { referencesOf } from "../validate/references.js";
import { coreObjectOf, expectedCoreObjects, HA_CONTROL_PLANE } from "../validate/rules.js";
import { addonDeviations, podSpecOf, secretRefs } from "../validate/user-layer.js";
import type { Pins } from "../pins/versions.js";

const { infra: INFRA, bootstrap: BOOTSTRAP, controlPlane: CONTROLPLANE, core: CORE } = GROUP;

const IN_PLACE: Record<string, { group: string; why: string }> = {
  AWSMachineTemplate: {
    group: INFRA,
    why:
      "CAPA rejects changes to an AWSMachineTemplate's spec (it is immutable), and an edited template " +
      "rolls out no machines. Change it under a new name and point the KubeadmControlPlane / " +
      "MachineDeployment at the new name (`npm run generate` does both when the change comes from " +
      "cluster.yaml)",
  },
  KubeadmConfigTemplate: {
    group: BOOTSTRAP,
    why:
      "existing machines keep the old bootstrap configuration: Cluster API rolls out machines only when " +
      "the MachineDeployment references a template with a new name. Change it under a new name and update " +
      "the reference (`npm run generate` does both when the change comes from cluster.yaml)",
  },
  KubeadmConfig: {
    group: BOOTSTRAP,
    why:
      "the MachinePool's instances keep the old bootstrap data: it is rolled out only when the " +
      "MachinePool references a config with a new name. Change it under a new name and update the " +
      "reference (`npm run generate` does both when the change comes from cluster.yaml)",
  },
};

const DEFAULT_SCHEME = "internet-facing";

const is = (o: K8sObject | undefined, group: string, kind: string): o is K8sObject =>
  o !== undefined && isGroupKind(o, group, kind);

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
  const oldRegion = textAt(c.before, "spec.region");
  const newRegion = textAt(c.after, "spec.region");
  if (!sameValue(get(c.before, "spec.region"), get(c.after, "spec.region")))
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.region"),
      rule: "awscluster-immutable",
      severity: "error",
      message:
        `region changes from ${oldRegion ?? "(unset)"} to ${newRegion ?? "(unset)"}; CAPA rejects it ` +
        `(spec.region is immutable). A cluster cannot move: create a new cluster in ` +
        `${newRegion ?? "the new region"} and move the workloads`,
    });
  const oldScheme = textAt(c.before, "spec.controlPlaneLoadBalancer.scheme") ?? DEFAULT_SCHEME;
  const newScheme = textAt(c.after, "spec.controlPlaneLoadBalancer.scheme") ?? DEFAULT_SCHEME;
  if (oldScheme !== newScheme)
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.controlPlaneLoadBalancer.scheme"),
      rule: "awscluster-immutable",
      severity: "error",
      message:
        `control-plane load balancer scheme changes from ${oldScheme} to ${newScheme}; CAPA rejects it (the ` +
        `scheme is immutable once the cluster exists)`,
    });
  return out;
}

function versionJump(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, CONTROLPLANE, "KubeadmControlPlane") || !is(c.after, CONTROLPLANE, "KubeadmControlPlane"))
    return [];
  const was = textAt(c.before, "spec.version") ?? "";
  const now = textAt(c.after, "spec.version") ?? "";
  const from = semver.coerce(was, { includePrerelease: false });
  const to = semver.coerce(now, { includePrerelease: false });
  if (!from || !to || semver.eq(from, to)) return [];
  const base = {
    cluster,
    file: c.file,
    path: at(c, "spec.version"),
    rule: "version-jump" as const,
    severity: "error" as const,
  };
  const range = `${was} to ${now}`;
  if (to.major !== from.major || to.minor > from.minor + 1) {
    const next = `v${from.major}.${from.minor + 1}`;
    return [
      {
        ...base,
        message:
          `Kubernetes version moves from ${range}, more than one minor; the KubeadmControlPlane webhook ` +
          `rejects it. Upgrade one minor at a time (first to ${next}.x, let it roll out, then on)`,
      },
    ];
  }
  if (semver.lt(to, from))
    return [
      {
        ...base,
        message:
          `Kubernetes version moves down from ${range}; kubeadm cannot downgrade a control plane. Keep ` +
          `${was} or build a new cluster`,
      },
    ];
  return [];
}

function clusterRenamed(cluster: string, before: readonly K8sObject[], after: readonly K8sObject[]): Finding[] {
  const clusters = (objs: readonly K8sObject[]) =>
    objs
      .filter((o) => is(o, CORE, "Cluster"))
      .map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`)
      .sort();
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
      message:
        `the Cluster ${o} becomes ${now.join(", ")}: Cluster API cannot rename a cluster. The sync deletes ` +
        `nothing (every object is kept from pruning), so the old cluster keeps running and a second cluster ` +
        `with new machines and AWS infrastructure is created beside it. Keep the name and namespace; to ` +
        `replace the cluster, create the new one, move the workloads, then delete the old one with \`kubectl ` +
        `delete cluster.cluster.x-k8s.io/${o.slice(o.indexOf("/") + 1)} -n ${o.slice(0, o.indexOf("/"))}\` ` +
        `(README "Deleting a cluster")`,
    }));
}

interface Subnet {
  id?: string;
  cidrBlock?: string;
  availabilityZone?: string;
  isPublic?: boolean;
}

const subnetsOf = (o: K8sObject): Map<string, Subnet> => {
  const list = get(o, "spec.network.subnets");
  const out = new Map<string, Subnet>();
  if (Array.isArray(list))
    for (const entry of list) {
      if (!isRecord(entry)) continue;
      const s: Subnet = {
        id: strAt(entry, "id"),
        cidrBlock: strAt(entry, "cidrBlock"),
        availabilityZone: strAt(entry, "availabilityZone"),
        isPublic: Boolean(entry.isPublic),
      };
      out.set(s.id ?? `${s.availabilityZone}/${s.isPublic ? "public" : "private"}`, s);
    }
  return out;
};

function networkCidrs(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, INFRA, "AWSCluster") || !is(c.after, INFRA, "AWSCluster")) return [];
  const out: Finding[] = [];
  const oldVpc = textAt(c.before, "spec.network.vpc.cidrBlock");
  const newVpc = textAt(c.after, "spec.network.vpc.cidrBlock");
  if (oldVpc !== undefined && !sameValue(oldVpc, newVpc))
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.network.vpc.cidrBlock"),
      rule: "vpc-cidr-changed",
      severity: "error",
      message:
        `the VPC CIDR changes from ${oldVpc} to ${newVpc ?? "(unset)"}; CAPA does not change a live VPC's ` +
        `CIDR (it copies the VPC's CIDR back into the AWSCluster), so the subnets carved from the new range ` +
        `fall outside the VPC and cannot be created. Keep network.vpcCidr ${oldVpc} in ` +
        `${clusterSpecPath(cluster)}; a cluster in another range is a new cluster`,
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
      message:
        `subnet ${id} changes its CIDR from ${was.cidrBlock} to ${now.cidrBlock ?? "(unset)"}; an AWS ` +
        `subnet's CIDR cannot change, so CAPA cannot apply it to the live VPC. Keep ${was.cidrBlock}: undo ` +
        `the change of network.vpcCidr in ${clusterSpecPath(cluster)} or of the patch in ` +
        `${clusterKustomizationPath(cluster)}; if it comes from \`npm run generate\` on a cluster created ` +
        `before subnets were addressed by zone slot (README "Subnets"), pin the live subnets with a patch on ` +
        `/spec/network/subnets in ${clusterKustomizationPath(cluster)}`,
    });
  }
  return out;
}

const POOL_KINDS = ["MachinePool", "MachineDeployment"];
const isPool = (o: K8sObject | undefined): o is K8sObject =>
  !!o && POOL_KINDS.includes(o.kind) && groupOf(o.apiVersion) === CORE;

const CAPI_DRAINS = "Cluster API drains and deletes its machines and infrastructure";

function poolRemoved(cluster: string, c: ObjectChange): Finding[] {
  if (c.type !== "removed" || !isPool(c.before)) return [];
  const resource = `${c.id.kind.toLowerCase()}.cluster.x-k8s.io/${c.id.name}`;
  const replaced = c.pairedWith ? ` (replaced by ${c.pairedWith.name})` : "";
  const drainFirst =
    "CAPA deletes its auto scaling group without draining the nodes (awsmachinepool_controller.go " +
    "DeleteASGAndWait) and Cluster API deletes their Nodes undrained, all at once: drain them first — their names " +
    `are \`kubectl get ${resource} -n ${c.id.namespace} -o jsonpath='{.status.nodeRefs[*].name}'\` on the ` +
    "management cluster (the Nodes carry no pool label unless nodePools[].labels set one, then `-l <label>`), then " +
    "`kubectl drain <nodes> --ignore-daemonsets --delete-emptydir-data` on the workload cluster, once the pools " +
    "left can take their pods";
  return [
    {
      cluster,
      file: c.file,
      path: at(c, "metadata"),
      rule: "pool-removed",
      severity: "warning",
      message:
        `${labelOf(c.id)}${replaced} is removed from Git, but the sync deletes nothing (every object is ` +
        `kept from pruning): its machines keep running${replaced ? " beside the new pool" : ""}. Manual step ` +
        `after the merge, once any new pool is ready: \`kubectl delete ${resource} -n ${c.id.namespace}\` ` +
        `(${c.id.kind === "MachinePool" ? drainFirst : CAPI_DRAINS}); ` +
        `its MachineHealthCheck (if any) and templates stay until deleted the same way`,
    },
  ];
}

const minorOf = (v: string | undefined) => semver.coerce(v ?? "", { includePrerelease: false });

function poolsWithControlPlane(cluster: string, changes: readonly ObjectChange[]): Finding[] {
  const kcp = changes.find(
    (c) =>
      c.type === "changed" &&
      is(c.before, CONTROLPLANE, "KubeadmControlPlane") &&
      is(c.after, CONTROLPLANE, "KubeadmControlPlane"),
  );
  const cpFromV = textAt(kcp?.before, "spec.version");
  const cpToV = textAt(kcp?.after, "spec.version");
  const cpFrom = minorOf(cpFromV);
  const cpTo = minorOf(cpToV);
  if (!kcp || !cpFrom || !cpTo || cpTo.major !== cpFrom.major || cpTo.minor <= cpFrom.minor) return [];
  const out: Finding[] = [];
  for (const c of changes) {
    if (c.type !== "changed" || !isPool(c.before) || !isPool(c.after)) continue;
    const fromV = textAt(c.before, "spec.template.spec.version");
    const toV = textAt(c.after, "spec.template.spec.version");
    const from = minorOf(fromV);
    const to = minorOf(toV);
    if (!from || !to || to.major !== from.major || to.minor <= from.minor) continue;
    const md = c.id.kind === "MachineDeployment";
    const mdStalls =
      "its new machines wait until the control plane is upgraded (MachineSet preflight checks), so the pool's " +
      "roll-out stalls meanwhile";
    const poolRolls =
      "its instances roll at once, and kubelets newer than the API server are outside the version-skew policy " +
      "while the control plane rolls";
    out.push({
      cluster,
      file: c.file,
      path: at(c, "spec.template.spec.version"),
      rule: "pool-upgraded-with-control-plane",
      severity: md ? "warning" : "error",
      message:
        `${labelOf(c.id)} moves from ${fromV} to ${toV} in the same change as the control plane ` +
        `(${cpFromV} to ${cpToV}): ` +
        `${md ? mdStalls : poolRolls}. ` +
        `Upgrade in two changes (\`npm run upgrade -- --name ${cluster} --to ${cpToV}\` ` +
        `makes them, one per run): first the control plane, with each pool pinned to its current version ` +
        `(nodePools[].kubernetesVersion: ${fromV} in ${clusterSpecPath(cluster)}); once the control ` +
        `plane has rolled out, remove the pin`,
    });
  }
  return out;
}

const CLUSTER_KIND = (o: K8sObject) => is(o, CORE, "Cluster");
const clusterId = (objs: readonly K8sObject[]) => {
  const c = objs.find(CLUSTER_KIND);
  return c ? { name: c.metadata.name, namespace: c.metadata.namespace ?? "" } : undefined;
};
/** Region and VPC CIDR of a cluster's AWSCluster: what identifies its network when the directory name changes. */
const networkKey = (objs: readonly K8sObject[]): string | undefined => {
  const a = objs.find((o) => is(o, INFRA, "AWSCluster"));
  const region = textAt(a, "spec.region");
  const vpc = textAt(a, "spec.network.vpc.cidrBlock");
  return region && vpc ? `${region}|${vpc}` : undefined;
};

/**
 * Rename by directory move: each added cluster whose region and VPC CIDR equal those of a removed cluster (pure;
 * `removed` holds the base side's objects, `added` the working tree's). The finding goes to the added cluster.
 */
export function clustersMoved(
  removed: ReadonlyMap<string, readonly K8sObject[]>,
  added: ReadonlyMap<string, readonly K8sObject[]>,
): Finding[] {
  const out: Finding[] = [];
  for (const [now, objs] of [...added].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = networkKey(objs);
    const match =
      key &&
      [...removed]
        .filter(([, o]) => networkKey(o) === key)
        .map(([name]) => name)
        .sort()[0];
    if (!match) continue;
    const oldId = clusterId(removed.get(match) ?? []);
    const newId = clusterId(objs);
    const [region, vpc] = key.split("|");
    const old = oldId ? `${oldId.namespace}/${oldId.name}` : match;
    out.push({
      cluster: now,
      file: clusterSpecPath(now),
      path: newId ? `Cluster/${newId.name}:metadata` : "metadata",
      rule: "cluster-moved",
      severity: "error",
      message:
        `${clusterDir(now)}/ looks like ${clusterDir(match)}/ moved (same region ${region} and VPC CIDR ${vpc}), ` +
        `but moving the directory does not rename a cluster: Cluster API cannot rename a Cluster. The sync ` +
        `deletes nothing (every object is kept from pruning), so the old Cluster ${old} keeps running and a ` +
        `second cluster${newId ? ` ${newId.namespace}/${newId.name}` : ""} with new machines and its own VPC ` +
        `${vpc} is created beside it. To keep the cluster, move the directory back to ${clusterDir(match)}/. To ` +
        `replace it, give the new cluster its own network.vpcCidr, create it, move the workloads, then ` +
        `delete the old one with \`kubectl delete cluster.cluster.x-k8s.io/${oldId?.name ?? match} -n ` +
        `${oldId?.namespace ?? match}\` (README "Deleting a cluster")`,
    });
  }
  return out;
}

const RBAC_GROUP = "rbac.authorization.k8s.io";
const isAccess = (o: K8sObject | undefined): o is K8sObject =>
  !!o &&
  ((groupOf(o.apiVersion) === RBAC_GROUP &&
    ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) ||
    (groupOf(o.apiVersion) === "" && o.kind === "ServiceAccount"));

const NEVER_GENERATED =
  "; a binding to a ClusterRole or cluster-wide RBAC is never what `generate` writes — remove it " +
  '(README "What a cluster layer may add")';

/** Any change of access (RBAC objects, ServiceAccounts) in a cluster that stays; in a new cluster, an `info` line. */
function rbacChanged(cluster: string, c: ObjectChange, newCluster: boolean): Finding[] {
  const o = c.after ?? c.before;
  if (!isAccess(o)) return [];
  const wide = (x: K8sObject | undefined) =>
    isAccess(x) &&
    (x.kind.startsWith("Cluster") || (x.kind === "RoleBinding" && get(x, "roleRef.kind") === "ClusterRole"));
  const fields =
    c.type === "changed" ? changedPaths(c.before, c.after).filter((f) => !f.startsWith("metadata.annotations")) : [];
  if (c.type === "changed" && fields.length === 0) return [];
  const grants = o.kind.endsWith("Binding")
    ? `roleRef ${textAt(o, "roleRef.kind") ?? "?"} ${textAt(o, "roleRef.name") ?? "?"}`
    : "";
  const what =
    c.type === "changed"
      ? `changes (${fields.join(", ")})`
      : c.type === "added"
        ? `is added${grants ? ` (${grants})` : ""}`
        : "is removed";
  const error = c.type !== "removed" && wide(c.after);
  return [
    {
      cluster,
      file: c.file,
      path: at(
        c,
        c.type === "changed"
          ? (fields[0] ?? "metadata")
          : o.kind.endsWith("Binding")
            ? "roleRef"
            : o.kind.endsWith("Role")
              ? "rules"
              : "metadata",
      ),
      rule: "rbac-changed",
      severity: error ? "error" : newCluster ? "info" : "warning",
      message:
        `${labelOf(c.id)} ${what}: access in the management cluster, where the cluster's namespace holds ` +
        `its admin kubeconfig${error ? NEVER_GENERATED : "; review who gets what"}`,
    },
  ];
}

const objKey = (o: { group: string; kind: string; namespace: string; name: string }) =>
  `${o.group}|${o.kind}|${o.namespace}|${o.name}`;
const CORE_KINDS: [string, string][] = [
  [CORE, "Cluster"],
  [INFRA, "AWSCluster"],
  [CONTROLPLANE, "KubeadmControlPlane"],
];

/**
 * core-object-removed: an object every render of a staying cluster must hold leaves it without a replacement — its
 * Cluster, AWSCluster or KubeadmControlPlane, a pool its spec still lists (validate/rules.ts expectedCoreObjects), or
 * a template, infrastructure or bootstrap object one of those references. The sync deletes nothing, so the live
 * objects stay, unmanaged by Git (validate reports the same render as `render-complete`). Returns the findings and
 * the keys flagged (pool-removed leaves those to this rule).
 */
function coreObjectsRemoved(
  cluster: string,
  changes: readonly ObjectChange[],
  before: readonly K8sObject[],
  spec: ClusterSpec | undefined,
): { findings: Finding[]; keys: Set<string> } {
  const wanted = new Set<string>(spec ? expectedCoreObjects(spec).map(objKey) : []);
  for (const o of before) if (CORE_KINDS.some(([g, k]) => is(o, g, k))) wanted.add(objKey(coreObjectOf(o)));
  // What the wanted objects reference (Cluster → AWSCluster, KCP → its AWSMachineTemplate, pool → its templates).
  for (let grew = true; grew;) {
    grew = false;
    for (const o of before)
      if (wanted.has(objKey(coreObjectOf(o))))
        for (const r of referencesOf(o))
          if (!wanted.has(objKey(r))) {
            wanted.add(objKey(r));
            grew = true;
          }
  }
  const findings: Finding[] = [];
  const keys = new Set<string>();
  for (const c of changes) {
    if (c.type !== "removed" || c.pairedWith || !c.before || !wanted.has(objKey(coreObjectOf(c.before)))) continue;
    keys.add(objKey(coreObjectOf(c.before)));
    findings.push({
      cluster,
      file: clusterKustomizationPath(cluster),
      path: at(c, "metadata"),
      rule: "core-object-removed",
      severity: "error",
      message:
        `${labelOf(c.id)} leaves the render of ${clusterDir(cluster)}, which stays: the sync deletes nothing, ` +
        `so the live object keeps running unmanaged by ` +
        `Git${spec ? ` while ${clusterSpecPath(cluster)} still describes it` : ""}. Keep \`generated\` ` +
        `in the resources of ${clusterKustomizationPath(cluster)} and delete no generated object with a ` +
        `patch; to remove a pool, remove it from cluster.yaml; to delete the cluster, remove its directory ` +
        `(README "Deleting a cluster")`,
    });
  }
  return { findings, keys };
}

/** The add-on a Cluster's add-on label names (`cilium-v1.20.2` → `cilium`), or undefined without the label. */
function addonOf(
  o: K8sObject | undefined,
  role: keyof typeof ADDON_LABEL,
): { name: string; value: string } | undefined {
  const value = o?.metadata?.labels?.[ADDON_LABEL[role]];
  return typeof value === "string" ? { name: value.replace(/-v?\d[\w.+-]*$/, ""), value } : undefined;
}

/** Why an add-on change on a live cluster leaves the old add-on running. */
const CRS_KEEPS =
  "a ClusterResourceSet only applies: it never removes what it applied from the workload cluster " +
  "(CAPI exp/addons, the resources stay when the ClusterResourceSet, its binding or the Cluster's " +
  "label goes)";

/**
 * cni-switched: the Cluster's CNI label names another CNI (cilium ↔ calico, or to/from `none`). The old CNI keeps
 * running (CRS_KEEPS) and the new one is installed beside it: two CNIs on one node network.
 */
function cniSwitched(cluster: string, c: ObjectChange): Finding[] {
  if (c.type !== "changed" || !is(c.before, CORE, "Cluster") || !is(c.after, CORE, "Cluster")) return [];
  const from = addonOf(c.before, "cni");
  const to = addonOf(c.after, "cni");
  if (from?.name === to?.name) return [];
  const was = from ? `${from.name} (${from.value})` : "none (a CNI of your own)";
  const now = to ? `${to.name} (${to.value})` : "none (a CNI of your own)";
  return [
    {
      cluster,
      file: clusterSpecPath(cluster),
      path: "network.cni",
      rule: "cni-switched",
      severity: "error",
      message:
        `the CNI changes from ${was} to ${now} on a running cluster: ${CRS_KEEPS}, so ` +
        `${from ? from.name : "your CNI"} keeps running and ${to ? to.name : "your CNI"} is installed beside ` +
        `it — two CNIs on one node network break pod networking. A CNI change is a migration, not a spec ` +
        `edit: keep network.cni${from ? `: ${from.name}` : ": none"} in ${clusterSpecPath(cluster)}, or ` +
        `create a new cluster with ${to ? to.name : "your CNI"} and move the workloads`,
    },
  ];
}

/**
 * storage-removed (warning): the EBS CSI label goes (`storage: ebs → none`): the driver stays, unmanaged (CRS_KEEPS).
 */
function storageRemoved(cluster: string, c: ObjectChange): Finding[] {
  if (c.type !== "changed" || !is(c.before, CORE, "Cluster") || !is(c.after, CORE, "Cluster")) return [];
  const from = addonOf(c.before, "csi");
  if (!from || addonOf(c.after, "csi")) return [];
  return [
    {
      cluster,
      file: clusterSpecPath(cluster),
      path: "storage",
      rule: "storage-removed",
      severity: "warning",
      message:
        `storage changes from ebs (${from.value}) to none: ${CRS_KEEPS}, so the EBS CSI driver and its gp3 ` +
        `StorageClass stay on the cluster, no longer managed or updated from Git, and volumes keep depending ` +
        `on them. Keep storage: ebs; to really remove the driver, first move every PersistentVolume off it, ` +
        `then delete it on the workload cluster by hand`,
    },
  ];
}

/**
 * control-plane-ha-lost: the KubeadmControlPlane goes from HA_CONTROL_PLANE or more machines to fewer — one machine
 * failure then stops the API server and etcd loses its quorum (validate's prod-control-plane-ha says the same of a
 * prod spec).
 */
function controlPlaneHaLost(cluster: string, c: ObjectChange): Finding[] {
  if (
    c.type !== "changed" ||
    !is(c.before, CONTROLPLANE, "KubeadmControlPlane") ||
    !is(c.after, CONTROLPLANE, "KubeadmControlPlane")
  )
    return [];
  const from = c.before.spec?.replicas;
  const to = c.after.spec?.replicas;
  if (typeof from !== "number" || typeof to !== "number" || from < HA_CONTROL_PLANE || to >= HA_CONTROL_PLANE)
    return [];
  return [
    {
      cluster,
      file: c.file,
      path: at(c, "spec.replicas"),
      rule: "control-plane-ha-lost",
      severity: "error",
      message:
        `the control plane shrinks from ${from} to ${to} machine(s): below ${HA_CONTROL_PLANE} one failure ` +
        `stops the API server and etcd loses its quorum (KCP removes etcd members as it scales down). Keep ` +
        `controlPlane.replicas at ${from} in ${clusterSpecPath(cluster)}`,
    },
  ];
}

/** The image/version flag (image-version-mismatch), kept apart from the other rules: see the header. */
export function imageVersionFlags(
  cluster: string,
  before: readonly K8sObject[],
  after: readonly K8sObject[],
): Finding[] {
  const out: Finding[] = [];
  const awsOf = (objs: readonly K8sObject[]) => objs.find((o) => is(o, INFRA, "AWSCluster"));
  const key = (m: Machine) => `${m.owner.kind}/${String(m.owner.metadata?.name)}`;
  const old = new Map(machines(before).map((m) => [key(m), m]));
  for (const m of machines(after)) {
    const image = machineImage(m, awsOf(after));
    if (imageFollowsVersion(image) || !m.version) continue;
    const annotations = m.object.metadata?.annotations;
    const statedValue = isRecord(annotations) ? annotations[IMAGE_VERSION_ANNOTATION] : undefined;
    const stated = typeof statedValue === "string" ? statedValue : undefined;
    const was = old.get(key(m));
    const wasVersion = was?.version;
    const kept = was && wasVersion && wasVersion !== m.version && sameValue(machineImage(was, awsOf(before)), image);
    if (!kept && (stated === undefined || stated === m.version)) continue;
    const what = image.id ? `AMI ${image.id}` : `the image format ${JSON.stringify(image.lookupFormat)}`;
    out.push({
      cluster,
      file: clusterSpecPath(cluster),
      path: `${m.object.kind}/${String(m.object.metadata?.name)}:${m.at}`,
      rule: "image-version-mismatch",
      severity: "error",
      message: kept
        ? `${m.owner.kind} ${String(m.owner.metadata?.name)} moves from ${wasVersion} to ${m.version} but ` +
          `keeps ${what}, one image whatever the version: its new machines would boot the old kubelet. Give ` +
          `the step the image built for ${m.version} (\`npm run upgrade -- --name ${cluster} --image-id ` +
          `<ami-…>\`)`
        : `${what} holds Kubernetes ${stated}, but ${m.owner.kind} ${String(m.owner.metadata?.name)} runs ` +
          `${m.version}: its machines would boot a ${stated} kubelet`,
    });
  }
  return out;
}

/**
 * addon-changed: the objects a change adds or changes that validate's user-layer-addons refuses (a ClusterResourceSet
 * or binding not as generated, an add-on ConfigMap whose data is not the pinned payload). Without the cluster's spec
 * or the pins, every added or changed ClusterResourceSet, binding or ConfigMap one lists.
 */
function addonChanged(
  cluster: string,
  changes: readonly ObjectChange[],
  after: readonly K8sObject[],
  spec: ClusterSpec | undefined,
  pins: Pins | undefined,
): Finding[] {
  const touched = changes.flatMap((c) => (c.type !== "removed" && c.after ? [{ c, o: c.after }] : []));
  const listed = new Set(
    after
      .filter((o) => is(o, GROUP.addons, "ClusterResourceSet"))
      .flatMap((o) => {
        const resources = get(o, "spec.resources");
        return Array.isArray(resources)
          ? resources.map((r: unknown) => `${String(get(r, "kind"))}/${String(get(r, "name"))}`)
          : [];
      }),
  );
  const deviations = spec && pins ? addonDeviations(after, spec, pins) : undefined;
  const out: Finding[] = [];
  for (const { c, o } of touched) {
    const addonObject =
      (groupOf(o.apiVersion) === GROUP.addons &&
        ["ClusterResourceSet", "ClusterResourceSetBinding"].includes(o.kind)) ||
      (groupOf(o.apiVersion) === "" && listed.has(`${o.kind}/${o.metadata.name}`));
    if (!addonObject) continue;
    const found = deviations
      ? deviations.filter((d) => d.object === o)
      : [{ path: "spec", message: "the cluster's spec could not be read to compare it with what `generate` writes" }];
    for (const d of found)
      out.push({
        cluster,
        file: c.file,
        path: at(c, d.path),
        rule: "addon-changed",
        severity: "error",
        message:
          `${labelOf(c.id)} ${c.type === "added" ? "is added" : "changes"}: it installs into the workload ` +
          `cluster with admin rights; ${d.message}`,
      });
  }
  return out;
}

/**
 * secret-mounted: a workload's pods (any kind podSpecOf knows) read a Secret they did not read before (added ones of a
 * staying cluster too).
 */
function secretMounted(cluster: string, c: ObjectChange): Finding[] {
  if (c.type === "removed" || !c.after || !podSpecOf(c.after)) return [];
  const refs = (o: K8sObject | undefined) => {
    const pod = o ? podSpecOf(o) : undefined;
    return pod ? secretRefs(pod.spec).map((r) => ({ ...r, path: `${pod.at}.${r.path}` })) : [];
  };
  const old = new Set(refs(c.before).map((r) => r.name));
  return refs(c.after)
    .filter((r) => !old.has(r.name))
    .map((r) => ({
      cluster,
      file: c.file,
      path: at(c, r.path),
      rule: "secret-mounted",
      severity: "warning" as const,
      message:
        `${labelOf(c.id)}'s pods now read Secret ${r.name}: the cluster's namespace holds its admin ` +
        `kubeconfig; review who runs there (validate's user-layer-secret allows only the generated ` +
        `autoscaler's kubeconfig volume)`,
    }));
}

/**
 * workers-switched: a pool's MachinePool leaves the render while MachineDeployments of the same pool (node-pool label)
 * arrive. The sync deletes nothing, so the old auto scaling group keeps its nodes beside the new machines (capacity
 * doubles) until someone drains and deletes it (pool-removed). An error when cluster.yaml does not write `workers`
 * out: then the tool's default changed the kind (now MachineDeployment), not the user; a warning otherwise.
 */
function workersSwitched(cluster: string, changes: readonly ObjectChange[], stated: boolean): Finding[] {
  const poolOf = (o: K8sObject | undefined) => {
    const labels = get(o, "spec.template.metadata.labels");
    const pool = isRecord(labels) ? labels[LABEL.nodePool] : undefined;
    return typeof pool === "string" ? pool : "";
  };
  const defaulted =
    `; ${clusterSpecPath(cluster)} does not write \`workers\` out, so the new default (MachineDeployment) ` +
    "chose this — add `workers: MachinePool` to keep the pool, or `workers: MachineDeployment` to migrate on purpose";
  const arrived = new Set(
    changes.filter((c) => c.type === "added" && is(c.after, CORE, "MachineDeployment")).map((c) => poolOf(c.after)),
  );
  return changes
    .filter(
      (c) =>
        c.type === "removed" &&
        is(c.before, CORE, "MachinePool") &&
        arrived.has(poolOf(c.before)) &&
        poolOf(c.before) !== "",
    )
    .map((c) => ({
      cluster,
      file: clusterSpecPath(cluster),
      path: "workers",
      rule: "workers-switched",
      severity: stated ? ("warning" as const) : ("error" as const),
      message:
        `pool ${poolOf(c.before)} moves from MachinePool ${c.id.name} to MachineDeployments: the ` +
        `MachinePool and its auto scaling group keep running beside them (nothing is pruned) until drained ` +
        `and deleted by hand (pool-removed)${stated ? "" : defaulted}`,
    }));
}

/**
 * capacity-changed: a pool's instances are bought otherwise (on-demand, spot, mixed) or from other instance types.
 * A MachineDeployment pool gets a new AWSMachineTemplate (its name is a hash of the content) and rolls every machine;
 * an AWSMachinePool's changed launch template or mixedInstancesPolicy makes CAPA update the auto scaling group and
 * refresh its instances (pkg/cloud/services/autoscaling/autoscalinggroup.go), undrained (validate/drain-rules.ts).
 */
function capacityChanged(
  cluster: string,
  changes: readonly ObjectChange[],
  before: readonly K8sObject[],
  after: readonly K8sObject[],
): Finding[] {
  const template = (objs: readonly K8sObject[], name: unknown) =>
    objs.find((o) => is(o, INFRA, "AWSMachineTemplate") && o.metadata?.name === name);
  const out: Finding[] = [];
  const say = (c: ObjectChange, field: string, was: string, now: string, how: string) =>
    out.push({
      cluster,
      file: c.file,
      path: at(c, field),
      rule: "capacity-changed",
      severity: "warning",
      message: `${labelOf(c.id)}: its instances change from ${was} to ${now}; ${how}`,
    });
  const text = (m: ReturnType<typeof appliedCapacity>, type: unknown) =>
    `${m.capacityType ?? "?"} ${[String(type), ...m.others].join("+")}`;
  for (const c of changes) {
    if (c.type !== "changed") continue;
    if (is(c.before, INFRA, "AWSMachinePool") && is(c.after, INFRA, "AWSMachinePool")) {
      const machine = "spec.awsLaunchTemplate";
      const [mb, ma] = [appliedCapacity(c.before, machine), appliedCapacity(c.after, machine)];
      if (mb.capacityType !== ma.capacityType || mb.others.join() !== ma.others.join())
        say(
          c,
          "spec.mixedInstancesPolicy",
          text(mb, get(c.before, `${machine}.instanceType`)),
          text(ma, get(c.after, `${machine}.instanceType`)),
          "CAPA updates the auto scaling group and refreshes every instance, without draining",
        );
    }
    if (is(c.before, CORE, "MachineDeployment") && is(c.after, CORE, "MachineDeployment")) {
      const field = "spec.template.spec.infrastructureRef.name";
      const [tb, ta] = [template(before, get(c.before, field)), template(after, get(c.after, field))];
      if (!tb || !ta) continue;
      const machine = "spec.template.spec";
      const [mb, ma] = [appliedCapacity(tb, machine), appliedCapacity(ta, machine)];
      if (mb.capacityType !== ma.capacityType)
        say(
          c,
          field,
          text(mb, get(tb, `${machine}.instanceType`)),
          text(ma, get(ta, `${machine}.instanceType`)),
          "the MachineDeployment rolls every machine through the new template",
        );
    }
  }
  return out;
}

/** Findings for one cluster's changes; `before`/`after` are its whole rendered object lists. */
const refText = (ref: unknown) => (isRecord(ref) ? `${String(ref.kind)}/${String(ref.name)}` : "none");
const accountOf = (o: K8sObject): string | undefined => {
  const v = o.metadata.annotations?.[AWS_ACCOUNT_ANNOTATION];
  return typeof v === "string" ? v : undefined;
};

/**
 * identity-changed: the AWSCluster's `spec.identityRef` (the account CAPA acts in, plan/identity.ts) changes. CAPA's
 * AWSCluster webhook refuses removing it (webhooks/awscluster_webhook.go ValidateUpdate); another account means CAPA
 * looks for the cluster's VPC, subnets and instances where they are not (an error); another identity of the same
 * account, or one added to a cluster of the controller's account, is for a reviewer to check (a warning).
 */
function identityChanged(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, INFRA, "AWSCluster") || !is(c.after, INFRA, "AWSCluster")) return [];
  const before = get(c.before, "spec.identityRef");
  const after = get(c.after, "spec.identityRef");
  if (sameValue(before, after)) return [];
  const [was, now] = [accountOf(c.before), accountOf(c.after)];
  const flag = (severity: "error" | "warning", message: string): Finding[] => [
    { cluster, file: c.file, path: at(c, "spec.identityRef"), rule: "identity-changed", severity, message },
  ];
  const change = `identityRef changes from ${refText(before)} to ${refText(after)}`;
  if (before !== undefined && after === undefined)
    return flag(
      "error",
      `${change}; CAPA rejects removing it (the field cannot be set to nil once set). Keep the identity, or name ` +
        "the controller's own (AWSClusterControllerIdentity default) in a patch",
    );
  if (was !== undefined && was !== now)
    return flag(
      "error",
      `${change}: from account ${was} to ${now ?? "the controller's"}. The cluster's VPC, subnets, load balancer ` +
        `and instances stay in ${was}; CAPA would look for them in the other account. Keep the account's identity`,
    );
  return flag(
    "warning",
    `${change}${now ? ` (account ${now})` : ""}: CAPA manages the running cluster with other credentials from the ` +
      "next reconcile. Check that the role (or Secret) is in the account the cluster's AWS resources are in, and " +
      "that its trust policy allows CAPA's controllers role",
  );
}

/**
 * bastion-toggled (warning): `spec.bastion.enabled` changes. CAPA creates the bastion instance (an SSH entry into
 * the VPC, open to allowedCIDRBlocks) or deletes it, cutting every session through it
 * (pkg/cloud/services/ec2/bastion.go).
 */
function bastionToggled(cluster: string, c: ObjectChange): Finding[] {
  if (!is(c.before, INFRA, "AWSCluster") || !is(c.after, INFRA, "AWSCluster")) return [];
  const was = get(c.before, "spec.bastion.enabled") === true;
  const now = get(c.after, "spec.bastion.enabled") === true;
  if (was === now) return [];
  return [
    {
      cluster,
      file: c.file,
      path: at(c, "spec.bastion.enabled"),
      rule: "bastion-toggled",
      severity: "warning",
      message: now
        ? "the bastion is turned on: CAPA starts an instance with SSH open to " +
          `${JSON.stringify(get(c.after, "spec.bastion.allowedCIDRBlocks") ?? [])} in a public subnet`
        : "the bastion is turned off: CAPA deletes its instance and every SSH session through it ends",
    },
  ];
}

export function flagChanges(
  cluster: string,
  changes: readonly ObjectChange[],
  before: readonly K8sObject[],
  after: readonly K8sObject[],
  /** `stays`: the cluster's directory is on both sides (default: it renders something now); `spec`: its spec now. */
  /** `workersStated`: cluster.yaml writes `workers` out (the default did not choose the kind). */
  opts: { stays?: boolean; spec?: ClusterSpec; pins?: Pins; workersStated?: boolean } = {},
): Finding[] {
  const out: Finding[] = [];
  for (const c of changes)
    if (c.type === "changed")
      out.push(
        ...inPlace(cluster, c),
        ...awsCluster(cluster, c),
        ...identityChanged(cluster, c),
        ...bastionToggled(cluster, c),
        ...networkCidrs(cluster, c),
        ...versionJump(cluster, c),
      );
  for (const c of changes)
    out.push(...cniSwitched(cluster, c), ...storageRemoved(cluster, c), ...controlPlaneHaLost(cluster, c));
  // A removed cluster's objects go with it (README "Deleting a cluster"); flag only removals from a cluster that stays.
  if (opts.stays ?? after.length > 0) {
    const core = coreObjectsRemoved(cluster, changes, before, opts.spec);
    out.push(...core.findings);
    for (const c of changes)
      if (!c.before || !core.keys.has(objKey(coreObjectOf(c.before)))) out.push(...poolRemoved(cluster, c));
    out.push(...workersSwitched(cluster, changes, opts.workersStated ?? true));
  }
  // Access changes of every cluster that renders something now (a new cluster's as info lines, rbacChanged).
  if (after.length > 0) for (const c of changes) out.push(...rbacChanged(cluster, c, before.length === 0));
  if (opts.stays ?? after.length > 0) for (const c of changes) out.push(...secretMounted(cluster, c));
  out.push(...addonChanged(cluster, changes, after, opts.spec, opts.pins));
  out.push(...poolsWithControlPlane(cluster, changes));
  out.push(...capacityChanged(cluster, changes, before, after));
  out.push(...clusterRenamed(cluster, before, after));
  out.push(...imageVersionFlags(cluster, before, after));
  return out;
}

/** The GitOps engine a management/sync render is for: Argo CD (an ApplicationSet), Flux (a GitRepository), or none. */
function engineOf(objects: readonly K8sObject[]): "argocd" | "flux" | undefined {
  if (objects.some((o) => o.kind === "ApplicationSet" && groupOf(o.apiVersion) === "argoproj.io")) return "argocd";
  if (objects.some((o) => o.kind === "GitRepository" && groupOf(o.apiVersion) === "source.toolkit.fluxcd.io"))
    return "flux";
  return undefined;
}

/**
 * gitops-engine-switched: management/sync changes from one GitOps engine's objects to the other's (`gitops:` in
 * capi-gitops.yaml). Nothing removes the old engine's objects (the self-syncing Application / Kustomization keeps
 * pruning off), so both engines apply every cluster's objects and fight over them.
 */
export function gitopsEngineSwitched(
  file: string,
  before: readonly K8sObject[],
  after: readonly K8sObject[],
): Finding[] {
  const from = engineOf(before);
  const to = engineOf(after);
  if (!from || !to || from === to) return [];
  const name = { argocd: "Argo CD", flux: "Flux" };
  return [
    {
      file: "capi-gitops.yaml",
      path: "gitops",
      rule: "gitops-engine-switched",
      severity: "error",
      message:
        `the GitOps engine changes from ${name[from]} to ${name[to]} (${file}): nothing removes ` +
        `${name[from]}'s objects from the management cluster (they are kept from pruning like every other), ` +
        `so ${name[from]} and ${name[to]} would both apply every cluster's objects and fight over them. ` +
        `Switch in steps: stop ${name[from]} syncing (delete its ` +
        `${
          from === "argocd"
            ? "ApplicationSet and Applications with --cascade=orphan"
            : "Kustomizations, " + "which orphan their objects"
        }), ` +
        `then merge the switch and bootstrap ${name[to]} (README "GitOps sync and the pull-request flow")`,
    },
  ];
}

/**
 * The fields of management/sync that say where and under which project every cluster is synced from, by
 * capi-gitops.yaml field.
 */
const SYNC_SOURCE_KEYS: Record<string, "repoURL" | "branch" | "argocd.project"> = {
  repoURL: "repoURL",
  url: "repoURL",
  revision: "branch",
  targetRevision: "branch",
  branch: "branch",
  project: "argocd.project",
};

/** Every value of SYNC_SOURCE_KEYS anywhere in the objects, by capi-gitops.yaml field (sorted, unique). */
function syncSources(objects: readonly K8sObject[]): Map<string, string[]> {
  const found = new Map<string, Set<string>>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isRecord(v))
      for (const [k, x] of Object.entries(v)) {
        const field = SYNC_SOURCE_KEYS[k];
        if (field && typeof x === "string") found.set(field, (found.get(field) ?? new Set()).add(x));
        else walk(x);
      }
  };
  objects.forEach((o) => walk({ spec: o.spec }));
  // An AppProject's own name is the project the Applications name.
  for (const o of objects)
    if (o.kind === "AppProject" && groupOf(o.apiVersion) === "argoproj.io")
      found.set("argocd.project", (found.get("argocd.project") ?? new Set()).add(o.metadata.name));
  return new Map([...found].map(([k, v]) => [k, [...v].sort()]));
}

/**
 * sync-source-changed: with the same engine, management/sync's repository URL, branch or Argo CD project changes
 * (capi-gitops.yaml repoURL, branch, argocd.project). The whole fleet would then be synced from another repository or
 * branch, or under another project's rights — for a reviewer to confirm, never a side effect.
 */
export function syncSourceChanged(file: string, before: readonly K8sObject[], after: readonly K8sObject[]): Finding[] {
  const from = engineOf(before);
  if (!from || from !== engineOf(after)) return [];
  const old = syncSources(before);
  const now = syncSources(after);
  const out: Finding[] = [];
  for (const field of ["repoURL", "branch", "argocd.project"] as const) {
    const a = old.get(field) ?? [];
    const b = now.get(field) ?? [];
    if (sameValue(a, b)) continue;
    const source = field === "repoURL" ? "repository" : "branch";
    out.push({
      file: "capi-gitops.yaml",
      path: field,
      rule: "sync-source-changed",
      severity: "error",
      message:
        `${field} changes from ${a.join(", ") || "(none)"} to ${b.join(", ") || "(none)"} (${file}): every ` +
        `cluster would be synced ` +
        `${field === "argocd.project" ? "under another Argo CD project's rights" : `from another ${source}`}, ` +
        `including every workload cluster's objects. Confirm the new source holds this repository's content ` +
        `before merging, or set it back in capi-gitops.yaml and run \`npm run generate\``,
    });
  }
  return out;
}
