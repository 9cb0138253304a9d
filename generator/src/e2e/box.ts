/**
 * The box part of `npm run e2e`: what the Go suite's box (real CAPI controllers, a stand-in CAPA, one workload API
 * server per cluster) reconciles — E2E_INPUT `box`, e2e/box_input_test.go `boxInput` is its other half, field for
 * field — and the reading of what the box reports. Pure: specs, renders and events in, data out.
 */
import { isSeq, parseDocument } from "yaml";
import { LABEL } from "../k8s/capi.js";
import { isRecord, recAt, recsAt, strAt, type K8sObject } from "../k8s/object.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { zonesOf } from "../cluster-spec/regions.js";
import { parseYamlStream, toYaml } from "../core/yaml.js";
import type { FluxHealthExpr, HealthChecks } from "../plan/health-checks.js";
import type { GoTestEvent } from "../tools/go.js";

export interface BoxObjRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface BoxPool {
  name: string;
  kind: "MachineDeployment" | "MachinePool";
  zones: string[];
  instanceType: string;
  /** The replicas the pool starts with: its fixed replicas, or the autoscaler's minimum. */
  replicas: number;
}

export interface BoxAddon {
  /** The ClusterResourceSet's name (in the cluster's namespace). */
  clusterResourceSet: string;
  objects: BoxObjRef[];
}

export interface BoxUpgradeExpect {
  controlPlane: boolean;
  poolsRolled: string[];
  poolsAdded: string[];
}

/** The controller-level faults the webhooks admit (e2e/box_input_test.go boxFault). */
export const BOX_FAULTS = ["failure-domain", "addon-invalid", "crs-no-cluster"] as const;
export type BoxFaultKind = (typeof BOX_FAULTS)[number];

export interface BoxFault {
  kind: BoxFaultKind;
  /** "<Kind>/<name>" of the object the box's failure must name. */
  object: string;
}

export interface BoxCluster {
  name: string;
  namespace: string;
  fixture: string;
  kubernetesVersion: string;
  controlPlaneReplicas: number;
  zones: string[];
  pools: BoxPool[];
  create: K8sObject[];
  addons: BoxAddon[];
  upgrade?: K8sObject[];
  upgradeExpect?: BoxUpgradeExpect;
  poolRemoved?: K8sObject[];
  faults?: BoxFault[];
}

export interface BoxInput {
  healthBinary: string;
  checks: HealthChecks;
  tablePath: string;
  clusters: BoxCluster[];
}

// ---------------------------------------------------------------------------------------------------------------
// The clusters

/** The spec's pools as the box starts them. */
export function boxPools(spec: ClusterSpec): BoxPool[] {
  return spec.nodePools.map((p) => ({
    name: p.name,
    kind: spec.workers,
    zones: [...p.availabilityZones],
    instanceType: p.instanceType,
    replicas: p.autoscaling ? p.minSize : (p.replicas ?? p.minSize),
  }));
}

/** What the cluster is, for the per-cluster outcome ("dev, MachineDeployment, cilium, 2 pools, namespace x"). */
export function describeCluster(spec: ClusterSpec, origin: string): string {
  const n = spec.nodePools.length;
  return [
    origin,
    spec.profile,
    spec.workers,
    spec.network.cni,
    `${n} pool${n === 1 ? "" : "s"}`,
    `${spec.availabilityZones.length} zone${spec.availabilityZones.length === 1 ? "" : "s"}`,
    ...(spec.namespace !== spec.name ? [`namespace ${spec.namespace}`] : []),
  ].join(", ");
}

const payloadDocs = (text: string): BoxObjRef[] =>
  parseYamlStream(text)
    .filter(isRecord)
    .flatMap((d): BoxObjRef[] => {
      const apiVersion = strAt(d, "apiVersion");
      const kind = strAt(d, "kind");
      const name = strAt(d, "metadata.name");
      if (!apiVersion || !kind || !name) return [];
      const namespace = strAt(d, "metadata.namespace");
      return [{ apiVersion, kind, ...(namespace ? { namespace } : {}), name }];
    });

/**
 * The payload texts of a ConfigMap or Secret a ClusterResourceSet applies, in the order CAPI reads them (the data
 * keys sorted: exp/addons/internal/controllers/clusterresourceset_helpers.go normalizeData); a Secret's data is
 * base64.
 */
function payloadTexts(o: K8sObject): string[] {
  const data = recAt(o, "data") ?? {};
  return Object.keys(data)
    .sort()
    .flatMap((k) => {
      const v = data[k];
      if (typeof v !== "string") return [];
      return [o.kind === "Secret" ? Buffer.from(v, "base64").toString("utf8") : v];
    });
}

const sameNamespace = (a: K8sObject, b: K8sObject) => (a.metadata.namespace ?? "") === (b.metadata.namespace ?? "");

/**
 * Per ClusterResourceSet of the render, the objects its payloads hold (ConfigMaps and Secrets of its namespace, in
 * its `resources` order). A resource the render lacks is an error of the render.
 */
export function addonsOf(objects: readonly K8sObject[]): BoxAddon[] {
  return objects
    .filter((o) => o.kind === "ClusterResourceSet")
    .map((crs) => ({
      clusterResourceSet: crs.metadata.name,
      objects: recsAt(crs, "spec.resources").flatMap((r) => {
        const found = objects.find((o) => o.kind === r.kind && o.metadata.name === r.name && sameNamespace(o, crs));
        if (!found)
          throw new Error(
            `ClusterResourceSet ${crs.metadata.name}: its ${String(r.kind)} ${String(r.name)} is not in the render`,
          );
        return payloadTexts(found).flatMap(payloadDocs);
      }),
    }));
}

const templateOf = (o: K8sObject | undefined): string =>
  JSON.stringify([
    strAt(o, "spec.version"),
    strAt(o, "spec.machineTemplate.spec.infrastructureRef.name"),
    strAt(o, "spec.template.spec.version"),
    strAt(o, "spec.template.spec.infrastructureRef.name"),
    strAt(o, "spec.template.spec.bootstrap.configRef.name"),
  ]);

const poolOf = (o: K8sObject): string | undefined => {
  const v = recAt(o, "spec.template.metadata.labels")?.[LABEL.nodePool];
  return typeof v === "string" ? v : undefined;
};

/**
 * What a pool's machines are made from in a render: its MachineDeployments' or MachinePool's template (version,
 * infrastructure template, bootstrap config) and, for a MachinePool, its AWSMachinePool's launch template (CAPA
 * starts an instance refresh when that changes; zones and sizes do not replace instances).
 */
function poolTemplates(objects: readonly K8sObject[]): Map<string, string> {
  const out = new Map<string, string[]>();
  for (const o of objects) {
    if (o.kind !== "MachineDeployment" && o.kind !== "MachinePool") continue;
    const pool = poolOf(o);
    if (pool === undefined) continue;
    const parts = [templateOf(o)];
    if (o.kind === "MachinePool") {
      const infra = objects.find(
        (x) =>
          x.kind === "AWSMachinePool" &&
          x.metadata.name === strAt(o, "spec.template.spec.infrastructureRef.name") &&
          sameNamespace(x, o),
      );
      parts.push(JSON.stringify(recAt(infra, "spec.awsLaunchTemplate") ?? {}));
    }
    out.set(pool, [...(out.get(pool) ?? []), ...parts]);
  }
  return new Map([...out].map(([k, v]) => [k, v.sort().join("\n")]));
}

/**
 * What the accepted change must roll, read from the two renders: the control plane when its version or machine
 * template changes; every pool that existed before whose machine template changes; pools that are new.
 */
export function upgradeExpect(before: readonly K8sObject[], after: readonly K8sObject[]): BoxUpgradeExpect {
  const kcp = (objs: readonly K8sObject[]) => objs.find((o) => o.kind === "KubeadmControlPlane");
  const was = poolTemplates(before);
  const now = poolTemplates(after);
  return {
    controlPlane: templateOf(kcp(before)) !== templateOf(kcp(after)),
    poolsRolled: [...now].filter(([p, t]) => was.has(p) && was.get(p) !== t).map(([p]) => p),
    poolsAdded: [...now.keys()].filter((p) => !was.has(p)),
  };
}

/** The spec with its last node pool removed; undefined when it has fewer than two. */
export function removeLastPool(specText: string): string | undefined {
  const doc = parseDocument(specText);
  const pools = doc.get("nodePools");
  if (!isSeq(pools) || pools.items.length < 2) return undefined;
  pools.items.pop();
  return doc.toString();
}

export interface BoxRenders {
  spec: ClusterSpec;
  /** "repository" or "fixture": where the cluster comes from. */
  origin: string;
  create: readonly K8sObject[];
  upgrade?: readonly K8sObject[];
  poolRemoved?: readonly K8sObject[];
}

/** One cluster of the box from its spec and its renders. */
export function boxCluster(r: BoxRenders): BoxCluster {
  const { spec } = r;
  return {
    name: spec.name,
    namespace: spec.namespace,
    fixture: describeCluster(spec, r.origin),
    kubernetesVersion: spec.kubernetesVersion,
    controlPlaneReplicas: spec.controlPlane.replicas,
    zones: [...spec.availabilityZones],
    pools: boxPools(spec),
    create: [...r.create],
    addons: addonsOf(r.create),
    ...(r.upgrade?.length ? { upgrade: [...r.upgrade], upgradeExpect: upgradeExpect(r.create, r.upgrade) } : {}),
    ...(r.poolRemoved?.length ? { poolRemoved: [...r.poolRemoved] } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Planted faults

const ref = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/** A zone of the cluster's region it has no subnet in (a made-up letter when every known zone is used). */
export function zoneWithoutSubnet(zones: readonly string[]): string {
  const first = zones[0] ?? "us-east-1a";
  const region = first.slice(0, -1);
  return (zonesOf(region) ?? []).find((z) => !zones.includes(z)) ?? `${region}z`;
}

/** Why a fault cannot be planted in a cluster (undefined: it can). */
export function cannotPlant(c: BoxCluster, kind: BoxFaultKind): string | undefined {
  const crs = c.create.filter((o) => o.kind === "ClusterResourceSet");
  if (kind === "failure-domain")
    return c.create.some((o) => o.kind === "MachineDeployment") ? undefined : "it has no MachineDeployment";
  if (kind === "addon-invalid")
    return crs.some((s) => recsAt(s, "spec.resources").some((r) => r.kind === "ConfigMap"))
      ? undefined
      : "no ClusterResourceSet applies a ConfigMap";
  return crs.length ? undefined : "it has no ClusterResourceSet";
}

/** A Deployment every API server refuses (its selector does not match its template's labels). */
const invalidDeployment = (cluster: string): K8sObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: `${cluster}-planted-invalid`, namespace: "kube-system" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "planted" } },
    template: {
      metadata: { labels: { app: "something-else" } },
      spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] },
    },
  },
});

/**
 * A copy of the cluster with one fault planted in its create render (the webhooks admit each, the controllers or
 * the workload's API server cannot act on it):
 * - failure-domain: the first MachineDeployment's machines go to a zone the cluster has no subnet in;
 * - addon-invalid: the last ConfigMap of the first ClusterResourceSet that applies one also carries a Deployment
 *   the workload's API server refuses (listed among that CRS's add-on objects, since it must be applied);
 * - crs-no-cluster: a copy of the first ClusterResourceSet whose clusterSelector matches no Cluster.
 * The copy has no upgrade and no pool removal: its run stops at the fault.
 */
export function plantFault(c: BoxCluster, kind: BoxFaultKind): BoxCluster {
  const why = cannotPlant(c, kind);
  if (why) throw new Error(`cannot plant ${kind} in ${c.namespace}/${c.name}: ${why}`);
  const create = structuredClone(c.create);
  let addons = structuredClone(c.addons);
  let fault: BoxFault;
  if (kind === "failure-domain") {
    const i = create.findIndex((o) => o.kind === "MachineDeployment");
    const md = create[i];
    if (!md) throw new Error("unreachable: no MachineDeployment");
    const spec = recAt(md, "spec.template.spec") ?? {};
    create[i] = {
      ...md,
      spec: {
        ...md.spec,
        template: { ...recAt(md, "spec.template"), spec: { ...spec, failureDomain: zoneWithoutSubnet(c.zones) } },
      },
    };
    fault = { kind, object: ref(md) };
  } else if (kind === "addon-invalid") {
    const crs = create.find(
      (o) => o.kind === "ClusterResourceSet" && recsAt(o, "spec.resources").some((r) => r.kind === "ConfigMap"),
    );
    const cmName = recsAt(crs, "spec.resources")
      .filter((r) => r.kind === "ConfigMap")
      .map((r) => r.name)
      .at(-1);
    const i = create.findIndex(
      (o) => o.kind === "ConfigMap" && o.metadata.name === cmName && crs && sameNamespace(o, crs),
    );
    const cm = create[i];
    if (!crs || !cm) throw new Error("unreachable: no ConfigMap payload");
    const data = { ...(recAt(cm, "data") ?? {}) };
    const key = Object.keys(data).sort().at(-1) ?? "planted.yaml";
    const bad = invalidDeployment(c.name);
    const before = typeof data[key] === "string" ? data[key] : "";
    data[key] = `${before.trimEnd()}${before.trim() ? "\n---\n" : ""}${toYaml(bad)}`;
    create[i] = { ...cm, data };
    addons = addons.map((a) =>
      a.clusterResourceSet === crs.metadata.name
        ? {
            ...a,
            objects: [
              ...a.objects,
              { apiVersion: bad.apiVersion, kind: bad.kind, namespace: "kube-system", name: bad.metadata.name },
            ],
          }
        : a,
    );
    fault = { kind, object: ref(bad) };
  } else {
    const i = create.findIndex((o) => o.kind === "ClusterResourceSet");
    const crs = create[i];
    if (!crs) throw new Error("unreachable: no ClusterResourceSet");
    const orphan: K8sObject = {
      ...crs,
      metadata: { ...crs.metadata, name: `${c.name}-planted-orphan` },
      spec: { ...crs.spec, clusterSelector: { matchLabels: { [LABEL.clusterName]: `${c.name}-absent` } } },
    };
    create.splice(i + 1, 0, orphan);
    fault = { kind, object: ref(orphan) };
  }
  const { upgrade: _u, upgradeExpect: _e, poolRemoved: _p, ...rest } = c;
  return { ...rest, create, addons, faults: [...(c.faults ?? []), fault] };
}

/**
 * The box with each fault planted in a copy of its own cluster: the first cluster (fixtures before the repository's,
 * see `order`) that can carry it and carries no other fault yet, so one fault cannot hide another; when none is
 * free, the first that can carry it.
 */
export function plantFaults(clusters: readonly BoxCluster[], kinds: readonly BoxFaultKind[]): BoxCluster[] {
  const out = [...clusters];
  for (const kind of kinds) {
    const fits = out.map((c, i) => ({ c, i })).filter(({ c }) => cannotPlant(c, kind) === undefined);
    const pick = fits.find(({ c }) => !c.faults?.length) ?? fits[0];
    if (!pick) {
      const why = out.map((c) => `${c.name}: ${cannotPlant(c, kind)}`).join("; ");
      throw new Error(`no cluster of the box can carry the fault ${kind} (${why || "the box is empty"})`);
    }
    out[pick.i] = plantFault(pick.c, kind);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Health checks from the render of management/sync

const HEALTH_KEY = /^resource\.customizations\.health\.(.+)$/;

/**
 * The health checks a render of management/sync carries: Argo CD's `resource.customizations.health.<group>_<Kind>`
 * keys of its ConfigMaps, and the `healthCheckExprs` of Flux Kustomizations (one entry per apiVersion/kind, the
 * first seen). Empty when the render has none.
 */
export function healthChecksOf(objects: readonly K8sObject[]): HealthChecks {
  const argo: Record<string, string> = {};
  const flux: FluxHealthExpr[] = [];
  for (const o of objects) {
    if (o.kind === "ConfigMap")
      for (const [k, v] of Object.entries(recAt(o, "data") ?? {})) {
        const key = HEALTH_KEY.exec(k)?.[1];
        if (key && typeof v === "string" && !(key in argo)) argo[key] = v;
      }
    if (o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/"))
      for (const e of recsAt(o, "spec.healthCheckExprs")) {
        const apiVersion = strAt(e, "apiVersion");
        const kind = strAt(e, "kind");
        const current = strAt(e, "current");
        if (!apiVersion || !kind || current === undefined) continue;
        if (flux.some((f) => f.apiVersion === apiVersion && f.kind === kind)) continue;
        const inProgress = strAt(e, "inProgress");
        const failed = strAt(e, "failed");
        flux.push({
          apiVersion,
          kind,
          current,
          ...(inProgress !== undefined ? { inProgress } : {}),
          ...(failed !== undefined ? { failed } : {}),
        });
      }
  }
  return { argo, flux };
}

// ---------------------------------------------------------------------------------------------------------------
// The box's outcome (go test -json)

export interface BoxOutcome {
  /** Whether the suite ran the box at all (a TestBox event). */
  ran: boolean;
  /** The lines the box printed ("box: …"), in order. */
  lines: string[];
  /** TestBox/<cluster> subtests passed and failed. */
  passed: string[];
  failed: string[];
}

/** A `t.Log` line carries "<file>.go:<line>: " before the text. */
const BOX_LINE = /^\s*(?:[\w.-]+\.go:\d+: )?(box: .*)$/;

/** Reads the box's part of the suite's events: its "box: " lines and its per-cluster subtests. */
export function boxOutcome(events: readonly GoTestEvent[]): BoxOutcome {
  const lines: string[] = [];
  const result = new Map<string, string>();
  let ran = false;
  for (const e of events) {
    if (e.Test === "TestBox" || e.Test?.startsWith("TestBox/")) ran = true;
    if (e.Action === "output" && e.Output)
      for (const l of e.Output.split("\n")) {
        const m = BOX_LINE.exec(l)?.[1];
        if (m) lines.push(m);
      }
    const sub = /^TestBox\/([^/]+)$/.exec(e.Test ?? "")?.[1];
    if (sub && (e.Action === "pass" || e.Action === "fail")) result.set(sub, e.Action);
  }
  const of = (a: string) => [...result].filter(([, r]) => r === a).map(([n]) => n);
  return { ran, lines, passed: of("pass"), failed: of("fail") };
}

// ---------------------------------------------------------------------------------------------------------------
// The health table in README

export const TABLE_BEGIN = "<!-- health-table:begin -->";
export const TABLE_END = "<!-- health-table:end -->";

/** README's health table (between the markers, trimmed); undefined without the markers. */
export function readmeTable(readme: string): string | undefined {
  const a = readme.indexOf(TABLE_BEGIN);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) return undefined;
  return readme.slice(a + TABLE_BEGIN.length, b).trim();
}

/**
 * The run's table reduced to the fixtures' rows (header kept): README documents the fixtures, whatever clusters the
 * repository the run was made in has. A row's second cell is the cluster as `<namespace>/<name>`.
 */
export function fixtureTable(table: string, fixtures: ReadonlySet<string>): string {
  const lines = table.trim().split("\n");
  return [...lines.slice(0, 2), ...lines.slice(2).filter((l) => fixtures.has(l.split("|").at(2)?.trim() ?? ""))].join(
    "\n",
  );
}

/** README with the table between the markers replaced; undefined without the markers. */
export function withReadmeTable(readme: string, table: string): string | undefined {
  const a = readme.indexOf(TABLE_BEGIN);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) return undefined;
  return `${readme.slice(0, a + TABLE_BEGIN.length)}\n${table.trim()}\n${readme.slice(b)}`;
}

/** Steps a run passes through only when its timing lets a snapshot fall into them. */
const TRANSIENT_STEPS = new Set([
  "infrastructure provisioning",
  "control plane initializing",
  "workers joining",
  "rolling out",
]);

const rowKey = (line: string): string | undefined => {
  const cells = line.split("|").map((c) => c.trim());
  const [, step, cluster] = cells;
  return step && cluster && !step.startsWith("---") && step !== "Step" ? `${step}|${cluster}` : undefined;
};

/**
 * Where the run's table disagrees with README's: a row for the same step and cluster that differs, a settled step's
 * row one side lacks. A transient step (a snapshot taken only when the timing lets one fall into it) may be missing
 * on either side; where both have it, it must agree. The contract itself is checked by the suite on every
 * snapshot; this keeps README's table true.
 */
export function tableMismatches(readme: string, run: string): string[] {
  const rows = (t: string) =>
    new Map(
      t
        .trim()
        .split("\n")
        .flatMap((l) => {
          const k = rowKey(l);
          return k ? [[k, l.trim()] as const] : [];
        }),
    );
  const a = rows(readme);
  const b = rows(run);
  const out: string[] = [];
  for (const [k, l] of a) {
    const other = b.get(k);
    if (other === undefined) {
      if (!TRANSIENT_STEPS.has(k.split("|")[0] ?? "")) out.push(`- ${l}`);
    } else if (other !== l) out.push(`- ${l}`, `+ ${other}`);
  }
  for (const [k, l] of b) if (!a.has(k) && !TRANSIENT_STEPS.has(k.split("|")[0] ?? "")) out.push(`+ ${l}`);
  return out;
}

/** The lines README has that the run's table lacks ("- …") and those the run adds ("+ …"); empty when equal. */
export function tableDiff(readme: string, run: string): string[] {
  const a = readme.trim().split("\n");
  const b = run.trim().split("\n");
  return [
    ...a.filter((l) => !b.includes(l)).map((l) => `- ${l}`),
    ...b.filter((l) => !a.includes(l)).map((l) => `+ ${l}`),
  ];
}
