/**
 * The pull-request summary's pictures (pure): each touched cluster as a Mermaid flowchart drawn from its render — the
 * VPC, its zones and subnets, the control plane and the pools with their sizes and instance types, each placed in
 * the subnets CAPA would put its machines in — and the rings a change reaches. GitHub renders a ```mermaid block as
 * the diagram. Deterministic: zones, subnets and pools sorted, node ids given in that order, every label escaped.
 *
 * Where CAPA v2.13.0 puts machines (what the arrows say):
 * - a Machine with a failure domain: the private subnets of that zone, the public ones with `publicIP: true`
 *   (pkg/cloud/services/ec2/instances.go findSubnet); the control plane's failure domains are the zones of the
 *   private subnets (controllers/awscluster_controller.go, SetFailureDomain over Subnets().FilterPrivate());
 * - an AWSMachinePool: the subnets of its `availabilityZones` of its `availabilityZoneSubnetType` (unset: every
 *   subnet of the zone), without zones the private subnets (pkg/cloud/scope/shared.go getSubnetsForAZs).
 * Subnets are drawn only as the render states them: without `spec.network.subnets` CAPA picks the zones and CIDRs
 * at reconcile (pkg/cloud/services/network/subnets.go getDefaultSubnets, from the region's zones), which no render
 * can show.
 */
import { autoscalerBound, num, poolOf } from "../fleet/applied.js";
import { GROUP } from "../k8s/capi.js";
import { isKind } from "../k8s/kinds.js";
import { boolAt, get, recsAt, strAt, strsAt, type K8sObject } from "../k8s/object.js";

/** At most this many cluster pictures in one summary (the rest are counted and named, not drawn). */
export const MAX_CLUSTER_PICTURES = 10;
/** At most this many cluster names in one ring of the rings picture. */
export const MAX_RING_NAMES = 12;
/**
 * At most this many pools in one cluster's picture (the rest counted in one box): with 8 zone slots that stays far
 * below the 500 edges Mermaid draws at most (its `maxEdges` default).
 */
const MAX_POOLS = 20;

type SubnetType = "private" | "public" | "all";

interface Subnet {
  id: string;
  zone: string | null;
  cidr: string | null;
  isPublic: boolean;
}

/** Where a pool's (or the control plane's) machines go: a zone ("" none), which subnets there, the zone's size. */
interface Placement {
  zone: string;
  subnets: SubnetType;
  size: string | null;
}

interface PoolShape {
  name: string;
  kind: "MachineDeployment" | "MachinePool";
  instanceTypes: string[];
  versions: string[];
  size: string;
  placements: Placement[];
}

/** A cluster as its render states it (the input of the picture). */
export interface ClusterShape {
  cluster: string;
  region: string | null;
  vpcCidr: string | null;
  /** null: the render states no subnets. */
  subnets: Subnet[] | null;
  controlPlane: {
    replicas: number | null;
    instanceType: string | null;
    version: string | null;
    subnets: "private" | "public";
  } | null;
  /** The API server's load balancer as the AWSCluster states it (type, scheme); empty: CAPA's defaults. */
  apiLoadBalancer: string[];
  pools: PoolShape[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const distinct = (xs: readonly (string | undefined)[]) =>
  [...new Set(xs.filter((x): x is string => x !== undefined))].sort(byName);

/** The count at a path (a number or a string of digits), null otherwise. */
const countAt = (o: unknown, path: string) => num(get(o, path));

/** `min..max` from the autoscaler bounds, or undefined when the object has none. */
function bounds(o: K8sObject): { min: number | null; max: number | null } | undefined {
  const min = autoscalerBound(o, "min");
  const max = autoscalerBound(o, "max");
  return min === null && max === null ? undefined : { min, max };
}
const shown = (n: number | null) => (n === null ? "?" : String(n));
const sumOf = (xs: readonly (number | null)[]) =>
  xs.every((x): x is number => x !== null) ? xs.reduce((a, b) => a + b, 0) : null;

/**
 * The zones of the private subnets: the control plane's failure domains, and where an AWSMachinePool without zones
 * goes (CAPA awscluster_controller.go, scope/shared.go).
 */
const privateZonesOf = (subnets: readonly Subnet[]) =>
  distinct(subnets.filter((x) => !x.isPublic).map((x) => x.zone ?? undefined));

/** Reads the cluster's shape from its render (the typed v1beta2 objects; others are not drawn). */
export function shapeOf(cluster: string, objects: readonly K8sObject[]): ClusterShape {
  const named = <T extends K8sObject>(xs: T[], name: unknown): T | undefined =>
    xs.find((x) => x.metadata.name === name) ?? (name === undefined ? xs[0] : undefined);
  const sorted = <T extends K8sObject>(xs: T[]) => xs.sort((a, b) => byName(a.metadata.name, b.metadata.name));
  const clusterObj = objects.find((o) => isKind(o, GROUP.core, "Cluster"));
  const awsClusters = sorted(objects.filter((o) => isKind(o, GROUP.infra, "AWSCluster")));
  const kcps = sorted(objects.filter((o) => isKind(o, GROUP.controlPlane, "KubeadmControlPlane")));
  const templates = objects.filter((o) => isKind(o, GROUP.infra, "AWSMachineTemplate"));
  const awsPools = objects.filter((o) => isKind(o, GROUP.infra, "AWSMachinePool"));
  const aws = named(awsClusters, strAt(clusterObj, "spec.infrastructureRef.name")) ?? awsClusters[0];
  const kcp = named(kcps, strAt(clusterObj, "spec.controlPlaneRef.name")) ?? kcps[0];
  const stated = aws
    ? get(aws, "spec.network.subnets") === undefined
      ? null
      : recsAt(aws, "spec.network.subnets")
    : null;
  const subnets = stated?.map((s, i): Subnet => ({
    id: strAt(s, "id") ?? `#${i + 1}`,
    zone: strAt(s, "availabilityZone") ?? null,
    cidr: strAt(s, "cidrBlock") ?? null,
    isPublic: boolAt(s, "isPublic") ?? false,
  }));
  const privateZones = privateZonesOf(subnets ?? []);
  const cpTemplate = kcp && named(templates, strAt(kcp, "spec.machineTemplate.spec.infrastructureRef.name"));
  const controlPlane = kcp
    ? {
        replicas: countAt(kcp, "spec.replicas"),
        instanceType: strAt(cpTemplate, "spec.template.spec.instanceType") ?? null,
        version: strAt(kcp, "spec.version") ?? null,
        subnets: boolAt(cpTemplate, "spec.template.spec.publicIP") ? ("public" as const) : ("private" as const),
      }
    : null;

  const pools: PoolShape[] = [];
  for (const mp of sorted(objects.filter((o) => isKind(o, GROUP.core, "MachinePool")))) {
    const infra = named(awsPools, strAt(mp, "spec.template.spec.infrastructureRef.name"));
    const zones = distinct(infra ? strsAt(infra, "spec.availabilityZones") : strsAt(mp, "spec.failureDomains"));
    const type = strAt(infra, "spec.availabilityZoneSubnetType");
    const b = bounds(mp);
    pools.push({
      name: poolOf(mp) ?? mp.metadata.name,
      kind: "MachinePool",
      instanceTypes: distinct([strAt(infra, "spec.awsLaunchTemplate.instanceType")]),
      versions: distinct([strAt(mp, "spec.template.spec.version")]),
      size: b
        ? `${shown(b.min)}..${shown(b.max)} nodes, autoscaled`
        : `${shown(countAt(mp, "spec.replicas"))} nodes (ASG ${shown(countAt(infra, "spec.minSize"))}..` +
          `${shown(countAt(infra, "spec.maxSize"))})`,
      // No zones: every private subnet of the cluster (getSubnetsForAZs is not reached).
      placements: zones.length
        ? zones.map((zone) => ({ zone, subnets: type === "public" || type === "private" ? type : "all", size: null }))
        : privateZones.length
          ? privateZones.map((zone) => ({ zone, subnets: "private", size: null }))
          : [{ zone: "", subnets: "private", size: null }],
    });
  }
  const deployments = new Map<string, K8sObject[]>();
  for (const md of sorted(objects.filter((o) => isKind(o, GROUP.core, "MachineDeployment")))) {
    const name = poolOf(md) ?? md.metadata.name;
    deployments.set(name, [...(deployments.get(name) ?? []), md]);
  }
  for (const [name, mds] of deployments) {
    const tpls = mds.map((md) => named(templates, strAt(md, "spec.template.spec.infrastructureRef.name")));
    const sizes = mds.map((md) => {
      const b = bounds(md);
      return { b, replicas: countAt(md, "spec.replicas") };
    });
    const autoscaled = sizes.some((s) => s.b);
    const total = autoscaled
      ? `${shown(sumOf(sizes.map((s) => s.b?.min ?? null)))}..${shown(sumOf(sizes.map((s) => s.b?.max ?? null)))} ` +
        "nodes, autoscaled"
      : `${shown(sumOf(sizes.map((s) => s.replicas)))} nodes`;
    pools.push({
      name,
      kind: "MachineDeployment",
      instanceTypes: distinct(tpls.map((t) => strAt(t, "spec.template.spec.instanceType"))),
      versions: distinct(mds.map((md) => strAt(md, "spec.template.spec.version"))),
      size: total,
      placements: mds
        .map((md, i) => {
          const s = sizes[i];
          return {
            zone: strAt(md, "spec.template.spec.failureDomain") ?? "",
            subnets: boolAt(tpls[i], "spec.template.spec.publicIP") ? ("public" as const) : ("private" as const),
            size: s?.b ? `${shown(s.b.min)}..${shown(s.b.max)}` : shown(s?.replicas ?? null),
          };
        })
        .sort((a, b) => byName(a.zone, b.zone)),
    });
  }
  pools.sort((a, b) => byName(a.name, b.name) || byName(a.kind, b.kind));
  return {
    cluster,
    region: strAt(aws, "spec.region") ?? null,
    vpcCidr: strAt(aws, "spec.network.vpc.cidrBlock") ?? null,
    subnets: subnets ?? null,
    controlPlane,
    apiLoadBalancer: [
      strAt(aws, "spec.controlPlaneLoadBalancer.loadBalancerType"),
      strAt(aws, "spec.controlPlaneLoadBalancer.scheme"),
    ].filter((x): x is string => x !== undefined),
    pools,
  };
}

/**
 * A label as Mermaid reads it inside `["…"]` / `|"…"|`: every character that could end the string (`"`, `|`), start
 * an entity code (`#`), a directive or comment (`%`), a Markdown string (a backtick) or be read as HTML (`<`, `>`,
 * `&`) is written as a numeric entity code (`#34;`), which Mermaid turns back into the character; `#` first, so a
 * literal `#34;` stays text. Line breaks and tabs are spaces (the caller joins lines with `<br/>`).
 */
export const mermaidText = (s: string): string =>
  s
    .replace(/#/g, "#35;")
    .replace(/["&<>`|%\\]/g, (c) => `#${c.charCodeAt(0)};`)
    .replace(/[\r\n\t]+/g, " ");

const label = (lines: readonly string[]) => `"${lines.map(mermaidText).join("<br/>")}"`;

interface DrawnNode {
  /** What the node stands for, the same on both sides of a change (the id is positional). */
  key: string;
  id: string;
  lines: string[];
  children?: DrawnNode[];
}
interface DrawnEdge {
  from: string;
  to: string;
  label?: string;
  dotted?: boolean;
  /** The cluster's own arrows to its parts: no part of what the cluster node says. */
  part?: boolean;
}
interface Drawing {
  nodes: DrawnNode[];
  edges: DrawnEdge[];
}

const vpcKey = "vpc";
const zoneKey = (zone: string) => `zone ${zone}`;
const subnetKey = (id: string) => `subnet ${id}`;
const poolKey = (p: PoolShape) => `pool ${p.kind} ${p.name}`;

function draw(s: ClusterShape): Drawing {
  const subnets = [...(s.subnets ?? [])].sort(
    (a, b) => Number(a.isPublic) - Number(b.isPublic) || byName(a.cidr ?? "", b.cidr ?? "") || byName(a.id, b.id),
  );
  const zones = distinct([
    ...subnets.map((x) => x.zone ?? undefined),
    ...s.pools.flatMap((p) => p.placements.map((x) => x.zone || undefined)),
  ]);
  const subnetNode = (x: Subnet, id: string): DrawnNode => ({
    key: subnetKey(x.id),
    id,
    lines: [`${x.isPublic ? "public" : "private"} ${x.cidr ?? "(no CIDR in the render)"}`],
  });
  const zoneNodes = zones.map((zone, i): DrawnNode => {
    const mine = subnets.filter((x) => x.zone === zone);
    const id = `z${i + 1}`;
    const missing = s.subnets && !mine.length ? ["no subnet in the render"] : [];
    return {
      key: zoneKey(zone),
      id,
      lines: [zone, ...missing],
      ...(mine.length ? { children: mine.map((x, j) => subnetNode(x, `${id}s${j + 1}`)) } : {}),
    };
  });
  const zoneless = subnets.filter((x) => x.zone === null).map((x, j) => subnetNode(x, `s${j + 1}`));
  const note: DrawnNode[] = s.subnets
    ? []
    : [{ key: "subnets", id: "nosubnets", lines: ["subnets not in the render:", "CAPA picks zones and CIDRs"] }];
  const vpc: DrawnNode = {
    key: vpcKey,
    id: "vpc",
    lines: [`VPC ${s.vpcCidr ?? "(no CIDR in the render)"}`],
    children: [...zoneNodes, ...zoneless, ...note],
  };
  const cp = s.controlPlane;
  const cpNode: DrawnNode[] = cp
    ? [
        {
          key: "control plane",
          id: "cp",
          lines: [
            "control plane",
            `${shown(cp.replicas)} × ${cp.instanceType ?? "?"}`,
            `Kubernetes ${cp.version ?? "?"}`,
            `API load balancer: ${s.apiLoadBalancer.join(", ") || "CAPA's default"}`,
          ],
        },
      ]
    : [{ key: "control plane", id: "cp", lines: ["no KubeadmControlPlane in the render"] }];
  const pools = s.pools.slice(0, MAX_POOLS);
  const more = s.pools.length - pools.length;
  const poolNodes = pools.map((p, i): DrawnNode => ({
    key: poolKey(p),
    id: `p${i + 1}`,
    lines: [
      `pool ${p.name} (${p.kind})`,
      p.instanceTypes.join(", ") || "instance type not in the render",
      p.size,
      `Kubernetes ${p.versions.join(", ") || "?"}`,
    ],
  }));
  if (more > 0) poolNodes.push({ key: "more pools", id: "pmore", lines: [`${more} more pools (not drawn)`] });
  const head: DrawnNode = {
    key: "cluster",
    id: "cl",
    lines: [`cluster ${s.cluster}`, s.region ?? "(no region in the render)"],
  };
  // The node an arrow to (zone, subnet type) points at: the zone's first subnet of that type, else the zone, else
  // the VPC (no zone, or subnets not stated).
  const target = (zone: string, type: SubnetType): string[] => {
    const z = zoneNodes.find((n) => n.key === zoneKey(zone));
    if (!s.subnets) return [z ? z.key : vpcKey];
    if (!zone) {
      const first = subnets.find((x) => !x.isPublic);
      return [first ? subnetKey(first.id) : vpcKey];
    }
    if (type === "all" || !z) return [z ? z.key : vpcKey];
    const first = subnets.find((x) => x.zone === zone && x.isPublic === (type === "public"));
    return [first ? subnetKey(first.id) : z.key];
  };
  const edges: DrawnEdge[] = [{ from: head.key, to: "control plane", part: true }];
  if (cp) {
    // The control plane's failure domains: the zones of the private subnets.
    const cpZones = privateZonesOf(subnets);
    const targets = cpZones.length ? cpZones.flatMap((z) => target(z, cp.subnets)) : [vpcKey];
    for (const to of distinct(targets)) edges.push({ from: "control plane", to, dotted: true });
  }
  for (const p of pools) {
    edges.push({ from: head.key, to: poolKey(p), part: true });
    for (const pl of p.placements)
      for (const to of target(pl.zone, pl.subnets))
        edges.push({ from: poolKey(p), to, ...(pl.size !== null ? { label: pl.size } : {}) });
  }
  return { nodes: [head, ...cpNode, ...poolNodes, vpc], edges };
}

const flatten = (nodes: readonly DrawnNode[]): DrawnNode[] => nodes.flatMap((n) => [n, ...flatten(n.children ?? [])]);

/** What a node says: its text and its arrows (so a pool moved to another zone counts as changed). */
function signatures(d: Drawing): Map<string, string> {
  return new Map(
    flatten(d.nodes).map((n) => [
      n.key,
      JSON.stringify([
        n.lines,
        d.edges
          .filter((e) => e.from === n.key && !e.part)
          .map((e) => `${e.to}|${e.label ?? ""}`)
          .sort(byName),
      ]),
    ]),
  );
}

/** One cluster's picture: the Mermaid text, and against a base what differs (node texts) and what went away. */
export interface ClusterPicture {
  cluster: string;
  mermaid: string;
  /** The first line of each node that differs from the base render (or is new there). */
  changed: string[];
  /** The first line of each node of the base render that this render no longer has. */
  gone: string[];
}

/** The picture of `now` (a cluster's render), with what differs from `base` (its render at the base) marked. */
export function clusterPicture(
  cluster: string,
  now: readonly K8sObject[],
  base?: readonly K8sObject[],
): ClusterPicture {
  const d = draw(shapeOf(cluster, now));
  const all = flatten(d.nodes);
  const before = base ? draw(shapeOf(cluster, base)) : undefined;
  const was = before ? signatures(before) : undefined;
  const is = signatures(d);
  const changed = was ? all.filter((n) => was.get(n.key) !== is.get(n.key)) : [];
  const gone = before ? flatten(before.nodes).filter((n) => !is.has(n.key)) : [];
  const idOf = new Map(all.map((n) => [n.key, n.id]));
  const out = ["flowchart LR"];
  const node = (n: DrawnNode, indent: string) => {
    if (!n.children) {
      out.push(`${indent}${n.id}[${label(n.lines)}]`);
      return;
    }
    out.push(`${indent}subgraph ${n.id}[${label(n.lines)}]`);
    for (const c of n.children) node(c, `${indent}  `);
    out.push(`${indent}end`);
  };
  for (const n of d.nodes) node(n, "  ");
  for (const e of d.edges) {
    const from = idOf.get(e.from);
    const to = idOf.get(e.to);
    if (from === undefined || to === undefined) continue;
    const arrow = e.dotted ? "-.->" : "-->";
    out.push(`  ${from} ${arrow}${e.label !== undefined ? `|${label([e.label])}|` : ""} ${to}`);
  }
  if (changed.length) {
    out.push("  classDef changed stroke:#d73a49,stroke-width:3px");
    out.push(`  class ${changed.map((n) => n.id).join(",")} changed`);
  }
  return {
    cluster,
    mermaid: out.join("\n"),
    changed: changed.map((n) => n.lines[0] ?? n.key),
    gone: gone.map((n) => n.lines[0] ?? n.key),
  };
}

/** The renders a picture reads: each cluster's objects. */
type Renders = ReadonlyMap<string, { objects: readonly K8sObject[] }>;

/** The pictures of a diff: the clusters drawn (at most `limit`, by name), the touched clusters not drawn, the rings. */
export interface Pictures {
  clusters: ClusterPicture[];
  notDrawn: string[];
  /** The rings of the touched clusters (the rings picture), when known. */
  rings?: RingMembers;
}

/**
 * Pictures of the touched clusters (`changed` ones marked against the base render, `new` ones as they are), in the
 * order given (the report's, by name); those past `limit` are only named.
 */
export function diffPictures(
  touched: readonly { cluster: string; status: string }[],
  before: Renders,
  after: Renders,
  opts: { rings?: RingMembers; limit?: number } = {},
): Pictures {
  const limit = opts.limit ?? MAX_CLUSTER_PICTURES;
  const drawable = touched.filter((t) => (t.status === "changed" || t.status === "new") && after.has(t.cluster));
  return {
    clusters: drawable
      .slice(0, limit)
      .map((t) =>
        clusterPicture(
          t.cluster,
          after.get(t.cluster)?.objects ?? [],
          t.status === "changed" ? before.get(t.cluster)?.objects : undefined,
        ),
      ),
    notDrawn: drawable.slice(limit).map((t) => t.cluster),
    ...(opts.rings ? { rings: opts.rings } : {}),
  };
}

/** The rings a change reaches: every ring in rollout order, each with the touched clusters that belong to it. */
export interface RingMembers {
  /** The rings in rollout order (the repository's declaration). */
  order: readonly string[];
  /** Each touched cluster's ring. */
  clusters: readonly { cluster: string; ring: string }[];
}

/**
 * The rings picture's input from the rings a change reaches (diff/rings.ts `ringsOfChange`: each reached ring with
 * its touched clusters) and every declared ring in order (cluster-spec/rollout.ts `ringOrder`).
 */
export function ringMembers(
  reached: readonly { ring: string; clusters: readonly string[] }[],
  order: readonly string[],
): RingMembers {
  return { order, clusters: reached.flatMap((r) => r.clusters.map((cluster) => ({ cluster, ring: r.ring }))) };
}

/**
 * The rings picture: one box per ring in rollout order, linked in that order, each listing the touched clusters of
 * that ring (at most MAX_RING_NAMES names, then a count); a ring the change does not reach says so. A cluster whose
 * ring is not declared is drawn in its own box after the declared ones.
 */
export function ringsMermaid(reach: RingMembers): string {
  const undeclared = distinct(reach.clusters.map((c) => c.ring).filter((r) => !reach.order.includes(r)));
  const rings = [...reach.order, ...undeclared];
  const out = ["flowchart LR"];
  rings.forEach((ring, i) => {
    const names = reach.clusters
      .filter((c) => c.ring === ring)
      .map((c) => c.cluster)
      .sort(byName);
    const head = `ring ${ring}${reach.order.includes(ring) ? "" : " (not declared)"}`;
    const body = names.length
      ? [
          `${names.length} touched cluster${names.length === 1 ? "" : "s"}`,
          ...names.slice(0, MAX_RING_NAMES),
          ...(names.length > MAX_RING_NAMES ? [`… and ${names.length - MAX_RING_NAMES} more`] : []),
        ]
      : ["not reached"];
    out.push(`  r${i + 1}[${label([head, ...body])}]`);
  });
  for (let i = 1; i < reach.order.length; i++) out.push(`  r${i} --> r${i + 1}`);
  const reached = rings.flatMap((r, i) => (reach.clusters.some((c) => c.ring === r) ? [`r${i + 1}`] : []));
  if (reached.length) {
    out.push("  classDef reached stroke:#d73a49,stroke-width:3px");
    out.push(`  class ${reached.join(",")} reached`);
  }
  return out.join("\n");
}
