/**
 * `import`, the pure part: the objects of a cluster made by `clusterctl generate cluster` (any kubeadm flavor of
 * CAPA) or by a Helm chart like the seed document's (CAPI v1beta1/v1beta2, CAPA v1beta1/v1beta2) → a cluster spec
 * input, the fields kept for patches (import/patches.ts turns them into strategic-merge patches on the rendered
 * objects once the spec is parsed), a report of every field (mapped, kept as a patch, dropped, and why), and
 * findings for what cannot be imported at all. No fs, no processes.
 *
 * Each consumed source object is cloned and every field the importer understands is taken out of the clone
 * (`take`); what is left is, for CAPA kinds (the same shape in v1beta1 and v1beta2), a patch on the rendered object,
 * and for CAPI kinds a patch when the source is v1beta2 (the rendered API) or dropped when it is v1beta1, whose
 * fields may have another v1beta2 form (e.g. nodeDrainTimeout → deletion.nodeDrainTimeoutSeconds).
 */
import { type Finding, quote } from "../core/findings.js";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";
import { checkVersion } from "../cluster-spec/parse.js";
import { DNS_LABEL, LIMITS, SPOT_ALLOCATION_STRATEGIES, TAINT_EFFECTS } from "../cluster-spec/types.js";
import { reservedNamespaceProblem } from "../cluster-spec/reserved.js";
import { defaultZones, zonesOf } from "../cluster-spec/regions.js";
import { AUTOSCALER, AUTOSCALER_CAPACITY, AWS_ACCOUNT_ANNOTATION, GROUP, LABEL } from "../k8s/capi.js";
import { CONTROLLER_IDENTITY } from "../plan/identity.js";
import { launchesGpu } from "../cluster-spec/gpu.js";
import { get, groupOf, isRecord, list, record } from "../k8s/object.js";
import { IAM_PROFILE } from "../plan/capi.js";
import { BASE_OBJECTS } from "../plan/base.js";
import { nodeLabelArgs } from "../cluster-spec/kubelet.js";
import { imageFollowsVersion } from "../schemas/ami-inventory.js";

type Rec = Record<string, unknown>;
type Arg = { name: string; value: string };

export type ReportAction = "mapped" | "patch" | "dropped" | "note";
export interface ReportEntry {
  action: ReportAction;
  /** `Kind/name` of the source object, or "" for the cluster as a whole. */
  source: string;
  /** The source field (dotted), when the entry is about one. */
  field?: string;
  detail: string;
}

/** Where a kept field lands: a rendered object, named once the spec is known (hash-named ones by a name pattern). */
export type Role =
  | "Cluster"
  | "AWSCluster"
  | "KubeadmControlPlane"
  | "ControlPlaneTemplate"
  | "MachinePool"
  | "AWSMachinePool"
  | "KubeadmConfig"
  | "MachineDeployment"
  | "AWSMachineTemplate"
  | "KubeadmConfigTemplate";
/** A source field kept for a patch on a rendered object (strategic merge: maps merge, lists replace). */
export interface KeptField {
  role: Role;
  /** The pool, for pool-level roles. */
  pool?: string;
  /** `Kind/name` of the source object. */
  source: string;
  /** Where it lands in the rendered object (keys, since label and tag keys may hold dots). */
  keys: string[];
  value: unknown;
  why: string;
}

export interface ImportOptions {
  /** The source file as the user named it (for findings). */
  file: string;
  /** --name: the cluster's name in this repository (default: the source Cluster's). */
  name?: string;
  /** --namespace: the cluster's namespace here (default: the source's, unless reserved; else the name). */
  namespace?: string;
  /** --kubernetes-version: the version to import at (required when the source's is outside the supported range). */
  kubernetesVersion?: string;
  /** --identity-account: the AWS account of a static identity's credentials. */
  identityAccount?: string;
}

export interface ImportMapping {
  /** The spec input (before defaults), when nothing refused the import. */
  spec?: Rec;
  /** Fields for patches: `settleKept` drops those the render already has and makes the patches. */
  kept: KeptField[];
  report: ReportEntry[];
  findings: Finding[];
}

const CAPI_VERSIONS = new Set(["v1beta1", "v1beta2"]);
const CAPA_VERSIONS = new Set(["v1beta1", "v1beta2"]);
const HOSTNAME = "{{ ds.meta_data.local_hostname }}";
/**
 * Sub-trees of a kubeadm config whose v1beta1 shape is the v1beta2 shape (CAPI bootstrap/kubeadm/api): carried as
 * patches.
 */
const SAME_SHAPE = [
  "files",
  "preKubeadmCommands",
  "postKubeadmCommands",
  "users",
  "ntp",
  "mounts",
  "clusterConfiguration.apiServer.certSANs",
  "clusterConfiguration.imageRepository",
  "clusterConfiguration.featureGates",
];
const CLOUD_PROVIDER = "cloud-provider";
const EXTERNAL_CCM =
  "the render runs cloud-provider=external with the AWS cloud-controller-manager installed from Git (addons)";

/** A manifest value as text: a scalar as written (the source's values are scalars where this is used). */
const text = (v: unknown): string => String(v);
const id = (o: Rec): string => `${text(o.kind)}/${text(get(o, "metadata.name") ?? "")}`;
const versionOf = (o: Rec): string => text(o.apiVersion ?? "").split("/")[1] ?? "";
const str = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
export const clone = <T>(v: T): T => structuredClone(v);

/** Removes the value at a dotted path and returns it; parents left empty are removed too. */
/**
 * The object without its null fields. A field written `sshKeyName:` (or `sshKeyName: ${AWS_SSH_KEY_NAME}` substituted
 * empty, as clusterctl writes it) is YAML null, which the API server decodes as absent (a nil pointer, an omitted
 * field): it is not the string "null" and no patch should set it.
 */
function withoutNulls(o: Rec): Rec {
  const prune = (v: unknown): unknown => (Array.isArray(v) ? v.map(prune) : isRecord(v) ? withoutNulls(v) : v);
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, prune(x)]),
  );
}

/**
 * An instance type the spec can take: a non-empty string. CAPA requires one (AWSMachineSpec.instanceType); a missing,
 * null or empty value (e.g. `${CP_TYPE}` given an empty --var) is refused, never mapped as "undefined".
 */
function mapInstanceType(m: Mapper, source: string, field: string, value: unknown, to: string): value is string {
  if (typeof value === "string" && value.trim() !== "") {
    m.say("mapped", source, field, `→ ${to}: ${value}`);
    return true;
  }
  const shown =
    value === undefined || value === null || (typeof value === "string" && value.trim() === "")
      ? "missing or empty"
      : `not a string (${JSON.stringify(value)})`;
  m.refuse(
    source,
    field,
    `the instance type is ${shown}; CAPA requires one (AWSMachineSpec.instanceType): set it in the manifest, ` +
      "or give the variable that fills it a value (--var NAME=m6i.large)",
  );
  return false;
}

/** kubeadm taints the spec can say (core/v1 Taint without timeAdded): `{key, value?, effect}` each. */
function isPoolTaints(v: unknown): v is Rec[] {
  return (
    Array.isArray(v) &&
    v.every(
      (t) =>
        isRecord(t) &&
        Object.keys(t).every((k) => ["key", "value", "effect"].includes(k)) &&
        typeof t.key === "string" &&
        (t.value === undefined || typeof t.value === "string") &&
        TAINT_EFFECTS.some((e) => e === t.effect),
    )
  );
}

/**
 * How the pool buys its instances (cluster-spec/types.ts CAPACITY_TYPES): an AWSMachineTemplate's or launch template's
 * spotMarketOptions → spot (its maxPrice → spotMaxPrice); an AWSMachinePool's mixedInstancesPolicy (CAPA
 * exp/api/v1beta2/types.go) whose overrides start with the launch template's instance type → mixed, or spot when it
 * buys no on-demand instance and lists further types (as the render writes a multi-type spot pool). AWS's defaults
 * for an absent distribution field (base 0, 100 % on-demand above it, lowest-price) are written out. Anything else
 * stays in the manifest, kept as a patch.
 */
function mapCapacity(m: Mapper, src: string, t: unknown, isMp: boolean, pool: Rec, i: number, type: unknown): void {
  const at = isMp ? "awsLaunchTemplate" : "template.spec";
  const spot = get(t, `${at}.spotMarketOptions`);
  const maxPrice = get(spot, "maxPrice");
  if (
    isRecord(spot) &&
    Object.keys(spot).every((k) => k === "maxPrice") &&
    ["string", "undefined"].includes(typeof maxPrice)
  ) {
    take(t, `${at}.spotMarketOptions`);
    pool.capacityType = "spot";
    if (typeof maxPrice === "string") pool.spotMaxPrice = maxPrice;
    m.say("mapped", src, `spec.${at}.spotMarketOptions`, `→ nodePools[${i}].capacityType: spot`);
    return;
  }
  const mixed = get(t, "mixedInstancesPolicy");
  if (!isMp || !isRecord(mixed)) return;
  const overrides = list(get(mixed, "overrides"));
  const types = overrides.map((o) => get(o, "instanceType"));
  const dist = record(get(mixed, "instancesDistribution"));
  const strategy = dist.spotAllocationStrategy ?? "lowest-price";
  const [first, ...others] = types;
  const num = (v: unknown, fallback: number) => (v === undefined ? fallback : typeof v === "number" ? v : NaN);
  const base = num(dist.onDemandBaseCapacity, 0);
  const pct = num(dist.onDemandPercentageAboveBaseCapacity, 100);
  if (
    first !== type ||
    !overrides.every((o) => isRecord(o) && Object.keys(o).length === 1) ||
    !types.every((x) => typeof x === "string") ||
    !SPOT_ALLOCATION_STRATEGIES.some((x) => x === strategy) ||
    !Number.isInteger(base) ||
    !Number.isInteger(pct)
  ) {
    m.say(
      "note",
      src,
      "spec.mixedInstancesPolicy",
      "kept as written: the spec says a mixed pool's overrides starting with the launch template's instance type, " +
        "one instanceType each, and a known spot allocation strategy",
    );
    return;
  }
  for (const f of [
    "overrides",
    "instancesDistribution.spotAllocationStrategy",
    "instancesDistribution.onDemandBaseCapacity",
    "instancesDistribution.onDemandPercentageAboveBaseCapacity",
  ])
    take(t, `mixedInstancesPolicy.${f}`);
  const multiSpot = base === 0 && pct === 0 && others.length > 0;
  pool.capacityType = multiSpot ? "spot" : "mixed";
  if (others.length) pool.instanceTypes = others;
  pool.spotAllocationStrategy = strategy;
  if (!multiSpot) {
    pool.onDemandBase = base;
    pool.onDemandPercentageAboveBase = pct;
  }
  m.say(
    "mapped",
    src,
    "spec.mixedInstancesPolicy",
    `→ nodePools[${i}].capacityType: ${String(pool.capacityType)}` +
      (others.length ? `, instanceTypes: ${others.join(", ")}` : ""),
  );
}

function take(o: unknown, path: string): unknown {
  const keys = path.split(".");
  const last = keys.pop() ?? "";
  const trail: [Rec, string][] = [];
  let cur: unknown = o;
  for (const k of keys) {
    if (!isRecord(cur)) return undefined;
    trail.push([cur, k]);
    cur = cur[k];
  }
  if (!isRecord(cur)) return undefined;
  const v = cur[last];
  delete cur[last];
  let child: Rec = cur;
  for (const [parent, key] of trail.reverse()) {
    if (Object.keys(child).length > 0) break;
    delete parent[key];
    child = parent;
  }
  return v;
}

/** Sets the value at `keys` in a nested object, creating the parents. */
export function put(o: Rec, keys: readonly string[], value: unknown): void {
  const [last, ...up] = [...keys].reverse();
  if (last === undefined) return;
  let cur = o;
  for (const k of up.reverse()) {
    const next = cur[k];
    if (isRecord(next)) cur = next;
    else {
      const made: Rec = {};
      cur[k] = made;
      cur = made;
    }
  }
  cur[last] = value;
}

/** Every leaf (a scalar, a list, an empty object) of a value with its keys. */
function leaves(v: unknown, at: readonly string[] = []): [string[], unknown][] {
  if (isRecord(v) && Object.keys(v).length > 0) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, k]));
  return [[[...at], v]];
}
const dotted = (path: string): string[] => path.split(".");

/** kubeadm extra arguments in either form: a v1beta1 map, or a v1beta2 list of {name, value}. */
function argsOf(v: unknown): Arg[] {
  if (Array.isArray(v)) return v.filter(isRecord).map((a) => ({ name: String(a.name), value: text(a.value ?? "") }));
  if (isRecord(v)) return Object.entries(v).map(([name, value]) => ({ name, value: String(value) }));
  return [];
}

/** The base's arguments at a path of the base KubeadmControlPlane (plan/capi.ts: the one source of them). */
function baseKcpArgs(path: string): Arg[] {
  const kcp = BASE_OBJECTS.cluster().find((o) => o.kind === "KubeadmControlPlane");
  return argsOf(get(kcp, path));
}

class Mapper {
  readonly report: ReportEntry[] = [];
  readonly findings: Finding[] = [];
  readonly kept: KeptField[] = [];
  constructor(readonly file: string) {}

  say(action: ReportAction, source: string, field: string | undefined, detail: string): void {
    this.report.push({ action, source, field, detail });
  }
  refuse(source: string, field: string | undefined, message: string): void {
    this.findings.push({
      file: this.file,
      path: field ? `${source}:${field}` : source || undefined,
      rule: "import",
      severity: "error",
      message,
    });
  }
  /** Keeps `value` for the patch of a rendered object (`path`: dotted, or keys). */
  keep(
    role: Role,
    pool: string | undefined,
    source: string,
    path: string | string[],
    value: unknown,
    why = "the cluster spec has no field for it",
  ): void {
    this.kept.push({ role, pool, source, keys: Array.isArray(path) ? path : dotted(path), value: clone(value), why });
  }

  /**
   * What is left of a source object after its known fields were taken: CAPA kinds and v1beta2 CAPI kinds become a
   * patch (same API as the render); v1beta1 CAPI fields are dropped with the reason.
   */
  rest(o: Rec, left: unknown, role: Role, pool: string | undefined): void {
    const capa = groupOf(o.apiVersion) === GROUP.infra;
    for (const [keys, value] of leaves(left, ["spec"])) {
      if (isRecord(value) && Object.keys(value).length === 0) continue;
      if (value === null || value === undefined) continue;
      if (capa || versionOf(o) === "v1beta2") this.keep(role, pool, id(o), keys, value);
      else
        this.say(
          "dropped",
          id(o),
          keys.join("."),
          `${quote(value)}: a CAPI v1beta1 field whose v1beta2 form the importer does not convert; add it by ` +
            "hand in v1beta2 form to clusters/<name>/kustomization.yaml if you need it",
        );
    }
  }

  /** Labels and annotations: the cluster-name label and kubectl's bookkeeping are the render's; others are kept. */
  metadata(o: Rec, role: Role, pool?: string, handled: readonly string[] = []): void {
    for (const part of ["labels", "annotations"] as const) {
      const m = get(o, `metadata.${part}`);
      if (!isRecord(m)) continue;
      for (const [k, v] of Object.entries(m)) {
        if (handled.includes(k)) continue;
        if (k === LABEL.clusterName || k === "kubectl.kubernetes.io/last-applied-configuration") {
          this.say("dropped", id(o), `metadata.${part}.${k}`, "set by the render or by kubectl");
          continue;
        }
        this.keep(role, pool, id(o), ["metadata", part, k], v, `${part} the spec cannot say`);
      }
    }
  }

  /**
   * A kubeadm config (KCP kubeadmConfigSpec, KubeadmConfig spec, KubeadmConfigTemplate spec.template.spec) in either
   * CAPI version. Returns the node labels of a worker's kubelet and its kubeadm taints (they become the pool's labels
   * and taints).
   */
  kubeadm(
    o: Rec,
    cfg: unknown,
    at: string,
    role: Role,
    pool: string | undefined,
    worker: boolean,
  ): { labels: Record<string, string>; taints?: Rec[] } {
    const src = id(o);
    let workerTaints: Rec[] | undefined;
    const v1beta2 = versionOf(o) === "v1beta2";
    const labels: Record<string, string> = {};
    const format = take(cfg, "format");
    if (format === "ignition" || take(cfg, "ignition") !== undefined)
      this.refuse(
        src,
        `${at}.format`,
        "Ignition bootstrap (Flatcar) cannot be imported: the management cluster's providers " +
          "(management/providers) run without CAPI's KubeadmBootstrapFormatIgnition and CAPA's " +
          "BootstrapFormatIgnition gates, so the render would not validate",
      );
    if (take(cfg, "useExperimentalRetryJoin") !== undefined)
      this.say("dropped", src, `${at}.useExperimentalRetryJoin`, "removed in CAPI v1beta2");
    if (worker) {
      for (const part of ["clusterConfiguration", "initConfiguration"]) {
        const v = take(cfg, part);
        if (v !== undefined) this.say("dropped", src, `${at}.${part}`, "a worker only joins: kubeadm ignores it there");
      }
    } else {
      for (const comp of ["apiServer", "controllerManager", "scheduler"]) {
        const path = `clusterConfiguration.${comp}.extraArgs`;
        const extras = this.args(src, `${at}.${path}`, argsOf(take(cfg, path)), false).extras;
        if (extras.length)
          this.keep(
            role,
            pool,
            src,
            `spec.kubeadmConfigSpec.${path}`,
            [...baseKcpArgs(`spec.kubeadmConfigSpec.${path}`), ...extras],
            "extra arguments the spec cannot say; the list includes the render's own",
          );
      }
    }
    const registrations = worker
      ? ["joinConfiguration.nodeRegistration"]
      : ["initConfiguration.nodeRegistration", "joinConfiguration.nodeRegistration"];
    const into =
      role === "KubeadmControlPlane"
        ? "spec.kubeadmConfigSpec"
        : role === "KubeadmConfigTemplate"
          ? "spec.template.spec"
          : "spec";
    let workerArgs: Arg[] = [];
    for (const reg of registrations) {
      const name = take(cfg, `${reg}.name`);
      if (name !== undefined && name !== HOSTNAME) this.keep(role, pool, src, `${into}.${reg}.name`, name);
      const { extras, nodeLabels } = this.args(
        src,
        `${at}.${reg}.kubeletExtraArgs`,
        argsOf(take(cfg, `${reg}.kubeletExtraArgs`)),
        worker,
      );
      Object.assign(labels, nodeLabels);
      if (worker) workerArgs = extras;
      else if (extras.length)
        this.keep(
          role,
          pool,
          src,
          `${into}.${reg}.kubeletExtraArgs`,
          [...baseKcpArgs(`spec.kubeadmConfigSpec.${reg}.kubeletExtraArgs`), ...extras],
          "kubelet arguments the spec cannot say; the list includes the render's own",
        );
      const taints = take(cfg, `${reg}.taints`);
      if (worker && isPoolTaints(taints)) {
        workerTaints = taints;
        this.say("mapped", src, `${at}.${reg}.taints`, `→ nodePools[].taints (${taints.length})`);
      } else if (taints !== undefined) this.keep(role, pool, src, `${into}.${reg}.taints`, taints);
    }
    if (workerArgs.length)
      this.keep(
        role,
        pool,
        src,
        `${into}.joinConfiguration.nodeRegistration.kubeletExtraArgs`,
        [
          ...baseKcpArgs("spec.kubeadmConfigSpec.joinConfiguration.nodeRegistration.kubeletExtraArgs"),
          ...nodeLabelArgs(labels),
          ...workerArgs,
        ],
        "kubelet arguments the spec cannot say; the list includes the render's own and the pool's node-labels",
      );
    for (const path of SAME_SHAPE) {
      const v = take(cfg, path);
      if (v !== undefined)
        this.keep(role, pool, src, `${into}.${path}`, v, "the spec has no field for it; same shape in CAPI v1beta2");
    }
    for (const [keys, value] of leaves(cfg)) {
      if (!keys.length || value === null || (isRecord(value) && Object.keys(value).length === 0)) continue;
      if (v1beta2) this.keep(role, pool, src, [...dotted(into), ...keys], value);
      else
        this.say(
          "dropped",
          src,
          `${at}.${keys.join(".")}`,
          `${quote(value)}: a CAPI v1beta1 kubeadm field whose v1beta2 form the importer does not convert; ` +
            "add it by hand in v1beta2 form to clusters/<name>/kustomization.yaml if you need it",
        );
    }
    return { labels, taints: workerTaints };
  }

  /** Sorts kubeadm arguments: cloud-provider (the render's), node-labels of a worker (the pool's labels), the rest. */
  args(src: string, at: string, args: Arg[], worker: boolean): { extras: Arg[]; nodeLabels: Record<string, string> } {
    const extras: Arg[] = [];
    const nodeLabels: Record<string, string> = {};
    for (const a of args) {
      if (a.name === CLOUD_PROVIDER) {
        if (a.value !== "external")
          this.say(
            "dropped",
            src,
            `${at}.${a.name}`,
            `"${a.value}": the in-tree cloud provider was removed in Kubernetes 1.27; ${EXTERNAL_CCM}`,
          );
      } else if (a.name === "node-labels" && worker) {
        for (const kv of a.value.split(",").filter(Boolean)) {
          const eq = kv.indexOf("=");
          nodeLabels[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? "" : kv.slice(eq + 1);
        }
        this.say("mapped", src, `${at}.node-labels`, `→ nodePools[].labels`);
      } else extras.push(a);
    }
    return { extras, nodeLabels };
  }
}

/** The ClusterResourceSets' payloads: which CNI and CSI the source installs (DaemonSet / CSIDriver names). */
function addonsOf(objects: Rec[], parse: (text: string) => unknown[]): { cni?: string; ebs: boolean } {
  let cni: string | undefined;
  let ebs = false;
  for (const cm of objects.filter((o) => o.kind === "ConfigMap")) {
    for (const text of Object.values(isRecord(cm.data) ? cm.data : {})) {
      let docs: unknown[] = [];
      try {
        docs = parse(String(text));
      } catch {
        continue;
      }
      for (const d of docs.filter(isRecord)) {
        const name = str(get(d, "metadata.name"));
        if (d.kind === "DaemonSet" && (name === "cilium" || name === "calico-node"))
          cni = name === "cilium" ? "cilium" : "calico";
        if (d.kind === "CSIDriver" && name === "ebs.csi.aws.com") ebs = true;
      }
    }
  }
  return { cni, ebs };
}

const AZ = /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/;
/** The API groups of Cluster API's own kinds (CAPA's is GROUP.infra). */
const CAPI_GROUPS: readonly string[] = [GROUP.core, GROUP.bootstrap, GROUP.controlPlane];

/**
 * Maps the source objects (YAML documents, already parsed) to a spec input, patches and a report. `parse` reads the
 * YAML of ConfigMap payloads (passed in so this module stays free of the YAML reader's options).
 */
export function mapManifests(docs: unknown[], opts: ImportOptions, parse: (text: string) => unknown[]): ImportMapping {
  const m = new Mapper(opts.file);
  const objects = docs.filter(isRecord).map(withoutNulls);
  const notObjects = docs.length - objects.length;
  if (notObjects)
    m.refuse(
      "",
      undefined,
      `${notObjects} YAML document(s) are not Kubernetes objects (a mapping with apiVersion and kind)`,
    );
  const used = new Set<Rec>();
  const of = (kind: string, group: string) => objects.filter((o) => o.kind === kind && groupOf(o.apiVersion) === group);
  const byRef = (ref: unknown, kinds: readonly string[]): Rec | undefined => {
    if (!isRecord(ref)) return undefined;
    return objects.find(
      (o) => o.kind === ref.kind && kinds.includes(String(o.kind)) && get(o, "metadata.name") === ref.name,
    );
  };
  const done = (): ImportMapping => ({ kept: m.kept, report: m.report, findings: m.findings });

  // API versions the pinned CAPI / CAPA serve or convert.
  for (const o of objects) {
    const g = groupOf(o.apiVersion);
    const v = versionOf(o);
    if (CAPI_GROUPS.includes(g) && !CAPI_VERSIONS.has(v))
      m.refuse(
        id(o),
        "apiVersion",
        `${String(o.apiVersion)} is not a CAPI version the importer reads (v1beta1, v1beta2); upgrade the ` +
          "manifests with clusterctl first",
      );
    if (g === GROUP.infra && !CAPA_VERSIONS.has(v))
      m.refuse(
        id(o),
        "apiVersion",
        `${String(o.apiVersion)} is not a CAPA version the importer reads (v1beta1, v1beta2)`,
      );
    if (g === "exp.cluster.x-k8s.io" || g === "exp.infrastructure.cluster.x-k8s.io")
      m.refuse(
        id(o),
        "apiVersion",
        `${String(o.apiVersion)} is an experimental API of CAPI v1alpha releases; upgrade the manifests with ` +
          "clusterctl first",
      );
  }
  const clusters = of("Cluster", GROUP.core);
  const [cluster] = clusters;
  if (clusters.length !== 1 || !cluster) {
    m.refuse(
      "",
      undefined,
      clusters.length === 0
        ? "no Cluster (cluster.x-k8s.io) in the file; import reads the manifests of one cluster, as " +
            "`clusterctl generate cluster` writes them"
        : `${clusters.length} Clusters in the file (${clusters.map(id).join(", ")}); import one cluster per file`,
    );
    return done();
  }
  used.add(cluster);
  const sourceName = str(get(cluster, "metadata.name")) ?? "";
  const name = opts.name ?? sourceName;
  if (get(cluster, "spec.topology") !== undefined)
    m.refuse(
      id(cluster),
      "spec.topology",
      "a ClusterClass (topology) cluster cannot be imported: this repository renders explicit objects, not a " +
        "ClusterClass",
    );
  const awsCluster = byRef(get(cluster, "spec.infrastructureRef"), ["AWSCluster"]);
  const kcp = byRef(get(cluster, "spec.controlPlaneRef"), ["KubeadmControlPlane"]);
  const infraKind = str(get(cluster, "spec.infrastructureRef.kind"));
  const cpKind = str(get(cluster, "spec.controlPlaneRef.kind"));
  if (!awsCluster)
    m.refuse(
      id(cluster),
      "spec.infrastructureRef",
      infraKind && infraKind !== "AWSCluster"
        ? `${infraKind} cannot be imported: only AWSCluster (CAPA with a kubeadm control plane) is`
        : "the AWSCluster it references is not in the file",
    );
  if (!kcp)
    m.refuse(
      id(cluster),
      "spec.controlPlaneRef",
      cpKind && cpKind !== "KubeadmControlPlane"
        ? `${cpKind} cannot be imported: this repository renders a KubeadmControlPlane (EKS and ROSA clusters ` +
            "are not supported)"
        : "the KubeadmControlPlane it references is not in the file",
    );
  if (!awsCluster || !kcp || m.findings.length) return done();
  used.add(awsCluster).add(kcp);
  const spec: Rec = { apiVersion: CAPI_GITOPS_API_VERSION, kind: "ClusterSpec", name };
  if (opts.name && opts.name !== sourceName)
    m.say("note", id(cluster), "metadata.name", `named ${name} (--name) instead of ${sourceName}`);
  else m.say("mapped", id(cluster), "metadata.name", `→ name: ${name}`);

  // Namespace: kept unless it is one this repository never uses (the clusterctl quickstart's "default").
  const ns = str(get(cluster, "metadata.namespace"));
  if (opts.namespace !== undefined) {
    spec.namespace = opts.namespace;
    m.say("note", id(cluster), "metadata.namespace", `${ns ?? "(none)"} → namespace: ${opts.namespace} (--namespace)`);
  } else if (ns && !reservedNamespaceProblem(ns)) {
    spec.namespace = ns;
    m.say("mapped", id(cluster), "metadata.namespace", `→ namespace: ${ns}`);
  } else
    m.say(
      "note",
      id(cluster),
      "metadata.namespace",
      `${ns ? `"${ns}" is reserved here` : "no namespace in the source"}; the cluster gets its own namespace ` +
        `"${name}" (a live cluster moves with \`clusterctl move\` or is recreated there)`,
    );

  // --- Cluster --------------------------------------------------------------------------------------------------
  const c = clone(cluster.spec ?? {});
  for (const f of ["controlPlaneRef", "infrastructureRef"]) take(c, f);
  const network: Rec = {};
  for (const [part, key] of [
    ["pods", "podCidr"],
    ["services", "serviceCidr"],
  ] as const) {
    const blocks = take(c, `clusterNetwork.${part}.cidrBlocks`);
    if (Array.isArray(blocks) && blocks.length > 0) {
      if (blocks.length > 1 || blocks.some((b) => String(b).includes(":")))
        m.refuse(
          id(cluster),
          `spec.clusterNetwork.${part}.cidrBlocks`,
          `${quote(blocks)}: IPv6 and dual-stack clusters cannot be imported; the cluster spec is IPv4 only`,
        );
      else {
        network[key] = String(blocks[0]);
        m.say(
          "mapped",
          id(cluster),
          `spec.clusterNetwork.${part}.cidrBlocks`,
          `→ network.${key}: ${String(blocks[0])}`,
        );
      }
    } else
      m.say(
        "note",
        id(cluster),
        `spec.clusterNetwork.${part}.cidrBlocks`,
        `not set in the source; network.${key} takes the spec's default`,
      );
  }
  const domain = take(c, "clusterNetwork.serviceDomain");
  if (domain !== undefined && domain !== "cluster.local")
    m.keep("Cluster", undefined, id(cluster), "spec.clusterNetwork.serviceDomain", domain);
  const endpoint = take(c, "controlPlaneEndpoint");
  if (isRecord(endpoint) && endpoint.host)
    m.say("dropped", id(cluster), "spec.controlPlaneEndpoint", "CAPI copies it from the AWSCluster");
  if (take(c, "paused") !== undefined)
    m.say("dropped", id(cluster), "spec.paused", "a pause is an operation, not part of the cluster's description");
  m.rest(cluster, c, "Cluster", undefined);
  m.metadata(cluster, "Cluster", undefined, ["ccm", "csi"]);
  for (const k of ["ccm", "csi"])
    if (get(cluster, `metadata.labels.${k}`) !== undefined)
      m.say(
        "dropped",
        id(cluster),
        `metadata.labels.${k}`,
        "selected the source's add-on ClusterResourceSets; the render labels the Cluster for its own",
      );

  // --- AWSCluster -----------------------------------------------------------------------------------------------
  const a = clone(awsCluster.spec ?? {});
  const aid = id(awsCluster);
  const region = str(take(a, "region"));
  if (!region) m.refuse(aid, "spec.region", "the AWSCluster has no region");
  else {
    spec.region = region;
    m.say("mapped", aid, "spec.region", `→ region: ${region}`);
  }
  const ssh = take(a, "sshKeyName");
  // CAPA uses the key pair "default" when sshKeyName is absent; "" means no key (pkg/cloud/services/ec2/instances.go,
  // bastion.go defaultSSHKeyName).
  const sshKeyName = ssh === undefined ? "default" : text(ssh);
  if (sshKeyName) spec.sshKeyName = sshKeyName;
  m.say(
    "mapped",
    aid,
    "spec.sshKeyName",
    ssh === undefined
      ? `not set: CAPA uses the key pair "default" → sshKeyName: default`
      : sshKeyName
        ? `→ sshKeyName: ${sshKeyName}`
        : `"" (no key) → no sshKeyName`,
  );
  const vpcCidr = take(a, "network.vpc.cidrBlock");
  network.vpcCidr = vpcCidr === undefined ? "10.0.0.0/16" : text(vpcCidr);
  m.say(
    "mapped",
    aid,
    "spec.network.vpc.cidrBlock",
    vpcCidr === undefined
      ? "not set: CAPA's default 10.0.0.0/16 → network.vpcCidr: 10.0.0.0/16"
      : `→ network.vpcCidr: ${text(vpcCidr)}`,
  );
  if (get(a, "network.vpc.ipv6") !== undefined)
    m.refuse(
      aid,
      "spec.network.vpc.ipv6",
      "IPv6 and dual-stack clusters cannot be imported; the cluster spec is IPv4 only",
    );
  if (get(a, "s3Bucket") !== undefined)
    m.refuse(
      aid,
      "spec.s3Bucket",
      "the S3 bucket serves Ignition bootstrap data (Flatcar), which cannot be imported (see the " +
        "KubeadmControlPlane's format)",
    );
  const scheme = take(a, "controlPlaneLoadBalancer.scheme");
  if (scheme !== undefined) {
    spec.apiServer = { scheme };
    m.say("mapped", aid, "spec.controlPlaneLoadBalancer.scheme", `→ apiServer.scheme: ${text(scheme)}`);
  }
  if (scheme === "internal") {
    // A live cluster with an internal API is reached by its management cluster already, whichever way.
    spec.apiServer = { scheme, managementReachAcknowledged: true };
    m.say(
      "note",
      aid,
      "spec.controlPlaneLoadBalancer.scheme",
      "internal: the management cluster reaches it today → apiServer.managementReachAcknowledged: true; name the " +
        "peering or transit gateway attachment in apiServer.managementConnection instead if there is one",
    );
  }
  const identity = mapIdentity(m, aid, take(a, "identityRef"), opts.identityAccount, (ref) => {
    const found = byRef(ref, ["AWSClusterRoleIdentity", "AWSClusterStaticIdentity"]);
    if (found) used.add(found);
    return found;
  });
  if (identity) spec.identity = identity;
  const bastion = take(a, "bastion");
  if (isRecord(bastion) && bastion.enabled === true) {
    const cidrs = list(take(bastion, "allowedCIDRBlocks"));
    const type = take(bastion, "instanceType");
    take(bastion, "enabled");
    spec.access = "bastion";
    spec.bastion = { allowedCidrs: cidrs, ...(type === undefined ? {} : { instanceType: type }) };
    m.say(
      "mapped",
      aid,
      "spec.bastion",
      `enabled → access: bastion, bastion.allowedCidrs: [${cidrs.map(text).join(", ")}]` +
        (type === undefined ? "" : `, bastion.instanceType: ${text(type)}`),
    );
    // What else the bastion says (ami, disableIngressRules) stays a patch.
    for (const [k, v] of Object.entries(bastion)) m.keep("AWSCluster", undefined, aid, ["spec", "bastion", k], v);
  } else if (isRecord(bastion) && (bastion.enabled === false || bastion.enabled === undefined))
    m.say("dropped", aid, "spec.bastion", "not enabled: no bastion → access: none");
  // Anything else is not a bastion the spec can say: kept as it is, for the validation of the landed cluster to judge.
  else if (isRecord(bastion))
    for (const [k, v] of Object.entries(bastion)) m.keep("AWSCluster", undefined, aid, ["spec", "bastion", k], v);
  else if (bastion !== undefined) m.keep("AWSCluster", undefined, aid, ["spec", "bastion"], bastion);
  const lbType = get(a, "controlPlaneLoadBalancer.loadBalancerType");
  if (lbType === undefined || lbType === "nlb") {
    take(a, "controlPlaneLoadBalancer.loadBalancerType");
    if (lbType === undefined)
      m.say(
        "note",
        aid,
        "spec.controlPlaneLoadBalancer.loadBalancerType",
        "not set (CAPA's deprecated classic ELB); the render uses an NLB",
      );
  }
  if (get(a, "controlPlaneLoadBalancer.healthCheckProtocol") === "HTTPS")
    take(a, "controlPlaneLoadBalancer.healthCheckProtocol");
  const subnetZones = list(get(a, "network.subnets"))
    .map((s) => str(get(s, "availabilityZone")))
    .filter((z): z is string => Boolean(z));
  if (get(a, "network.subnets") === undefined)
    m.say(
      "note",
      aid,
      "spec.network.subnets",
      "not set: CAPA chose the subnets; the render declares one private and one public subnet per zone — for " +
        "a live cluster, pin its subnets with a patch on /spec/network/subnets",
    );
  const cniRules = take(a, "network.cni");
  m.rest(awsCluster, a, "AWSCluster", undefined);
  m.metadata(awsCluster, "AWSCluster", undefined, [AWS_ACCOUNT_ANNOTATION]);

  // --- Control plane -------------------------------------------------------------------------------------------
  const k = clone(kcp.spec ?? {});
  const kid = id(kcp);
  const replicas = take(k, "replicas");
  const controlPlane: Rec = { replicas: replicas ?? 1 };
  spec.controlPlane = controlPlane;
  if (replicas !== undefined) m.say("mapped", kid, "spec.replicas", `→ controlPlane.replicas: ${text(replicas)}`);
  else m.say("mapped", kid, "spec.replicas", "not set: CAPI's default 1 → controlPlane.replicas: 1");
  const sourceVersion = str(take(k, "version"));
  const version = resolveVersion(m, kid, sourceVersion, opts.kubernetesVersion);
  if (version) spec.kubernetesVersion = version;
  const cpRef = take(k, "machineTemplate.infrastructureRef") ?? take(k, "machineTemplate.spec.infrastructureRef");
  const cpTemplate = byRef(cpRef, ["AWSMachineTemplate"]);
  if (!cpTemplate) m.refuse(kid, "spec.machineTemplate", "the AWSMachineTemplate it references is not in the file");
  for (const f of ["rolloutStrategy", "rollout", "rolloutBefore", "rolloutAfter", "remediationStrategy", "remediation"])
    if (take(k, f) !== undefined)
      m.say(
        "dropped",
        kid,
        `spec.${f}`,
        "the profile (overlays/profiles) sets roll-out and remediation; set profile in cluster.yaml or patch " +
          "it by hand",
      );
  const cfg = take(k, "kubeadmConfigSpec") ?? {};
  m.kubeadm(kcp, cfg, "spec.kubeadmConfigSpec", "KubeadmControlPlane", undefined, false);
  m.rest(kcp, k, "KubeadmControlPlane", undefined);
  m.metadata(kcp, "KubeadmControlPlane");
  let image: Rec | undefined;
  if (cpTemplate) {
    used.add(cpTemplate);
    const t = clone(cpTemplate.spec ?? {});
    const tid = id(cpTemplate);
    const instanceType = take(t, "template.spec.instanceType");
    if (mapInstanceType(m, tid, "spec.template.spec.instanceType", instanceType, "controlPlane.instanceType"))
      controlPlane.instanceType = instanceType;
    image = machine(
      m,
      cpTemplate,
      t,
      "template.spec",
      "ControlPlaneTemplate",
      undefined,
      sshKeyName,
      IAM_PROFILE.controlPlane,
    );
    if (image) {
      spec.image = image;
      m.say("mapped", tid, "spec.template.spec (image)", `→ image: ${JSON.stringify(image)}`);
    }
    m.rest(cpTemplate, t, "ControlPlaneTemplate", undefined);
    m.metadata(cpTemplate, "ControlPlaneTemplate");
  }

  // --- Workers --------------------------------------------------------------------------------------------------
  const forCluster = (o: Rec) => get(o, "spec.clusterName") === sourceName;
  const deployments = of("MachineDeployment", GROUP.core).filter(forCluster);
  const machinePools = of("MachinePool", GROUP.core).filter(forCluster);
  if (deployments.length && machinePools.length)
    m.refuse(
      "",
      undefined,
      `the source has both MachineDeployments (${deployments.map(id).join(", ")}) and MachinePools ` +
        `(${machinePools.map(id).join(", ")}); a cluster spec has one kind of workers — import one kind and ` +
        "add the others by hand",
    );
  spec.workers = machinePools.length ? "MachinePool" : "MachineDeployment";
  const pools: Rec[] = [];
  const taken = new Set<string>();
  const poolName = (o: Rec, i: number): string => {
    const full = text(get(o, "metadata.name") ?? "");
    const short = full.startsWith(`${sourceName}-`) ? full.slice(sourceName.length + 1) : full;
    const ok = new RegExp(DNS_LABEL).test(short) && short.length <= LIMITS.poolName && !taken.has(short);
    const n = ok ? short : `pool-${i}`;
    taken.add(n);
    m.say(
      ok ? "mapped" : "note",
      id(o),
      "metadata.name",
      ok
        ? `→ nodePools[${i}].name: ${n}`
        : `→ nodePools[${i}].name: ${n} ("${short}" is not a pool name: lowercase DNS label of at most ` +
            `${LIMITS.poolName} characters, unique)`,
    );
    return n;
  };
  const zonesUsed: string[] = [];
  for (const [i, md] of [...machinePools, ...deployments].entries()) {
    used.add(md);
    const isMp = md.kind === "MachinePool";
    const pid = id(md);
    const pname = poolName(md, i);
    const pool: Rec = { name: pname };
    const s = clone(md.spec ?? {});
    for (const f of ["clusterName", "selector", "template.spec.clusterName"]) take(s, f);
    const mdReplicas = take(s, "replicas");
    const annotations = get(md, "metadata.annotations");
    const ann = isRecord(annotations) ? annotations : {};
    const pv = str(take(s, "template.spec.version"));
    if (pv !== undefined && pv !== sourceVersion) {
      const ok = typeof checkVersion(pv) !== "string" && !opts.kubernetesVersion;
      if (ok) pool.kubernetesVersion = pv;
      m.say(
        ok ? "mapped" : "note",
        pid,
        "spec.template.spec.version",
        ok
          ? `→ nodePools[${i}].kubernetesVersion: ${pv}`
          : `${pv} differs from the control plane's ${sourceVersion ?? "(none)"}; the pool follows the control ` +
              `plane at ${version ?? "(none)"}`,
      );
    }
    const infraKind = isMp ? "AWSMachinePool" : "AWSMachineTemplate";
    const bootKind: Role = isMp ? "KubeadmConfig" : "KubeadmConfigTemplate";
    const infra = byRef(take(s, "template.spec.infrastructureRef"), [infraKind]);
    const boot = byRef(take(s, "template.spec.bootstrap.configRef"), [bootKind]);
    const missing = (field: string, kind: string) =>
      m.refuse(pid, `spec.template.spec.${field}`, `the ${kind} it references is not in the file`);
    let zones: string[] = [];
    const fd = take(s, isMp ? "template.spec.failureDomains" : "template.spec.failureDomain");
    const fds = (Array.isArray(fd) ? fd : fd === undefined ? [] : [fd]).map(String);
    if (!infra) missing("infrastructureRef", infraKind);
    else {
      used.add(infra);
      const t = clone(infra.spec ?? {});
      const tid = id(infra);
      const at = isMp ? "awsLaunchTemplate" : "template.spec";
      const poolType = take(t, `${at}.instanceType`);
      if (mapInstanceType(m, tid, `spec.${at}.instanceType`, poolType, `nodePools[${i}].instanceType`))
        pool.instanceType = poolType;
      mapCapacity(m, tid, t, isMp, pool, i, poolType);
      const pImage = machine(m, infra, t, at, infraKind, pname, sshKeyName, IAM_PROFILE.nodes);
      if (pImage && JSON.stringify(pImage) !== JSON.stringify(image)) {
        pool.image = pImage;
        m.say("mapped", tid, `spec.${at} (image)`, `→ nodePools[${i}].image: ${JSON.stringify(pImage)}`);
      }
      if (isMp) {
        const az = take(t, "availabilityZones");
        if (Array.isArray(az) && az.length) {
          zones = az.map(String);
          m.say("mapped", tid, "spec.availabilityZones", `→ nodePools[${i}].availabilityZones: ${zones.join(", ")}`);
        }
        const subnetType = take(t, "availabilityZoneSubnetType");
        if (subnetType !== "private")
          m.say(
            "note",
            tid,
            "spec.availabilityZoneSubnetType",
            `${subnetType === undefined ? "not set (CAPA may use public subnets)" : quote(subnetType)}; the ` +
              "render places the pool's nodes in private subnets",
          );
        const min = take(t, "minSize");
        const max = take(t, "maxSize");
        sizes(
          m,
          pid,
          i,
          pool,
          mdReplicas,
          ann,
          typeof min === "number" ? min : 1,
          typeof max === "number" ? max : undefined,
          0,
        );
        m.say(
          "mapped",
          tid,
          "spec.minSize/maxSize",
          `→ nodePools[${i}].minSize/maxSize: ${String(pool.minSize)}..${String(pool.maxSize)}`,
        );
      }
      m.rest(infra, t, infraKind, pname);
      m.metadata(infra, infraKind, pname);
    }
    if (!zones.length && fds.length) {
      zones = fds;
      m.say(
        "mapped",
        pid,
        isMp ? "spec.template.spec.failureDomains" : "spec.template.spec.failureDomain",
        `→ nodePools[${i}].availabilityZones: ${zones.join(", ")}`,
      );
    }
    if (zones.length) {
      pool.availabilityZones = zones;
      for (const z of zones) if (!zonesUsed.includes(z)) zonesUsed.push(z);
    } else if (!isMp)
      m.say(
        "note",
        pid,
        "spec.template.spec.failureDomain",
        "not set (CAPA put every machine in one subnet); the render spreads the pool over the cluster's " +
          "zones, one MachineDeployment per zone",
      );
    if (!isMp) sizes(m, pid, i, pool, mdReplicas, ann, undefined, undefined, zones.length);
    if (!boot) missing("bootstrap.configRef", bootKind);
    else {
      used.add(boot);
      const b = clone(boot.spec ?? {});
      const inner = isMp ? b : (take(b, "template.spec") ?? {});
      const { labels, taints } = m.kubeadm(boot, inner, isMp ? "spec" : "spec.template.spec", bootKind, pname, true);
      if (Object.keys(labels).length) pool.labels = labels;
      // A GPU pool without taints says so: the spec's default would add the GPU taint.
      if (taints) pool.taints = taints;
      else if (launchesGpu(pool)) pool.taints = [];
      m.rest(boot, b, bootKind, pname);
      m.metadata(boot, bootKind, pname);
    }
    for (const f of ["template.metadata.labels", "template.metadata.annotations"]) {
      const v = take(s, f);
      if (v !== undefined)
        m.keep(
          isMp ? "MachinePool" : "MachineDeployment",
          pname,
          pid,
          `spec.${f}`,
          v,
          "Machine labels/annotations the spec cannot say",
        );
    }
    m.rest(md, s, isMp ? "MachinePool" : "MachineDeployment", pname);
    // The scale-from-zero labels and taints are the pool's own, written again by the render.
    m.metadata(md, isMp ? "MachinePool" : "MachineDeployment", pname, [
      AUTOSCALER.min,
      AUTOSCALER.max,
      AUTOSCALER_CAPACITY.labels,
      AUTOSCALER_CAPACITY.taints,
    ]);
    pools.push(pool);
  }
  if (pools.length) spec.nodePools = pools;
  else m.say("note", "", undefined, "the source has no workers; the spec's default pool is added");
  // A fixed image (an AMI id, a lookup format without {{.K8sVersion}}) says which Kubernetes version it holds: the
  // version of the machines that use it in the source (cluster-spec/parse.ts checks they agree).
  const stateVersion = (image: unknown, version: unknown, at: string) => {
    if (
      !isRecord(image) ||
      typeof version !== "string" ||
      imageFollowsVersion({ id: str(image.id), lookupFormat: str(image.lookupFormat) }) ||
      image.kubernetesVersion !== undefined
    )
      return;
    image.kubernetesVersion = version;
    m.say(
      "mapped",
      "",
      `${at}.kubernetesVersion`,
      "the image is fixed (an AMI id or a format without {{.K8sVersion}}): it holds the version of its " +
        `machines, ${version}`,
    );
  };
  stateVersion(spec.image, spec.kubernetesVersion, "image");
  pools.forEach((p, i) =>
    stateVersion(p.image, p.kubernetesVersion ?? spec.kubernetesVersion, `nodePools[${i}].image`),
  );
  const zones = [...zonesUsed, ...subnetZones.filter((z) => !zonesUsed.includes(z))];
  const regionZones = region ? zonesOf(region) : undefined;
  // The region's order (the zone letters), so the subnets sit where the render's slots put them.
  const specZones = !zones.length ? undefined : regionZones ? [...zones].sort((x, y) => (x < y ? -1 : 1)) : zones;
  if (specZones) {
    spec.availabilityZones = specZones;
    m.say("mapped", "", "availabilityZones", `the zones the source uses → availabilityZones: ${specZones.join(", ")}`);
  } else m.say("note", "", "availabilityZones", "the source names no zone; the spec takes the region's first three");
  // A MachineDeployment pool without zones spreads over the cluster's, one MachineDeployment per zone, each with room
  // for a machine: a fixed pool gets that room; an autoscaled one whose maximum is smaller keeps to its first zones.
  const clusterZones = specZones ?? (region ? defaultZones(region) : undefined) ?? [];
  if (spec.workers === "MachineDeployment")
    for (const [i, p] of pools.entries()) {
      if (p.availabilityZones || !clusterZones.length) continue;
      if (p.autoscaling === false) p.maxSize = Math.max(Number(p.maxSize), clusterZones.length);
      else if (Number(p.maxSize) < clusterZones.length) {
        const spread = clusterZones.slice(0, Math.max(1, Number(p.maxSize)));
        p.availabilityZones = spread;
        m.say(
          "note",
          "",
          `nodePools[${i}].availabilityZones`,
          `maxSize ${String(p.maxSize)} leaves room for a machine in ${spread.length} zone(s): ` +
            `the pool spreads over ${spread.join(", ")}`,
        );
      }
    }
  for (const z of zones)
    if (!AZ.test(z)) m.refuse("", "availabilityZones", `${quote(z)} is not an availability zone name`);

  // --- Add-ons, health checks and everything else -----------------------------------------------------------------
  const addons = addonsOf(objects, parse);
  network.cni = addons.cni === "cilium" ? "cilium" : "none";
  m.say(
    addons.cni === "calico" ? "note" : "mapped",
    "",
    "network.cni",
    addons.cni === "cilium"
      ? "the source installs Cilium → network.cni: cilium (the pinned version)"
      : addons.cni === "calico"
        ? "the source installs Calico, which this repository does not ship → network.cni: none; add Calico's " +
          "ClusterResourceSet and ConfigMap as resources of clusters/<name>/kustomization.yaml to keep it"
        : "the source installs no CNI (it was applied by hand) → network.cni: none, so the render adds none",
  );
  if (cniRules !== undefined) {
    if (network.cni === "none")
      m.keep("AWSCluster", undefined, aid, "spec.network.cni", cniRules, "the CNI's ingress rules");
    else m.say("dropped", aid, "spec.network.cni", "the render sets Cilium's ingress rules");
  }
  spec.storage = addons.ebs ? "ebs" : "none";
  m.say(
    "mapped",
    "",
    "storage",
    addons.ebs
      ? "the source installs the EBS CSI driver → storage: ebs (the pinned version)"
      : "the source installs no EBS CSI driver → storage: none",
  );
  spec.network = network;
  for (const o of objects) {
    if (used.has(o)) continue;
    const why =
      o.kind === "ClusterResourceSet" || o.kind === "ConfigMap"
        ? "add-ons: the render installs the AWS cloud-controller-manager at the control plane's minor, and the " +
          "CNI and CSI chosen above, with its own ClusterResourceSets"
        : o.kind === "MachineHealthCheck"
          ? "the render has one where an owner remediates (each MachineDeployment pool, a control plane of " +
            "more than one replica; none for MachinePools); the profile (overlays/profiles) sets its strictness"
          : o.kind === "Secret"
            ? "Secrets are never kept in Git here"
            : /cluster-autoscaler/.test(String(get(o, "metadata.name"))) &&
                ["Deployment", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"].includes(
                  String(o.kind),
                )
              ? "the render runs its own cluster-autoscaler (least-privilege RBAC) for autoscaled pools"
              : o.kind === "Namespace"
                ? "the render makes the cluster's namespace"
                : (o.kind === "MachineDeployment" || o.kind === "MachinePool") && !forCluster(o)
                  ? `it belongs to another cluster (spec.clusterName ${quote(get(o, "spec.clusterName"))})`
                  : "not an object of the cluster this repository renders, or not referenced by one; add it as " +
                    "a resource of clusters/<name>/kustomization.yaml if you still need it";
    m.say("dropped", id(o), undefined, why);
  }
  m.say(
    "note",
    "",
    undefined,
    `object names follow this repository's scheme (${name}-control-plane, <cluster>-<pool>, hash-named ` +
      "templates): for a live cluster the render's objects are new ones beside the source's",
  );
  if (m.findings.length) return done();
  return { spec, kept: m.kept, report: m.report, findings: m.findings };
}

/** The control plane's version: the source's when supported, else --kubernetes-version, else a finding. */
function resolveVersion(
  m: Mapper,
  kid: string,
  source: string | undefined,
  override: string | undefined,
): string | undefined {
  if (override !== undefined) {
    const ok = checkVersion(override);
    if (typeof ok === "string") {
      m.findings.push({ file: "--kubernetes-version", rule: "import", severity: "error", message: ok });
      return undefined;
    }
    const minor = Number(/^v?1\.(\d+)\./.exec(source ?? "")?.[1]);
    const jump = Number.isFinite(minor) ? Math.abs(ok.minor - minor) : 0;
    m.say(
      "note",
      kid,
      "spec.version",
      `${source ?? "(none)"} → kubernetesVersion: ${override} (--kubernetes-version)` +
        (jump > 1
          ? `; for a live cluster that is ${jump} minors at once, which Cluster API refuses — ` +
            "upgrade it there one minor at a time first"
          : ""),
    );
    return override;
  }
  if (source === undefined) {
    m.refuse(kid, "spec.version", "the KubeadmControlPlane has no version; pass --kubernetes-version");
    return undefined;
  }
  const v = source.startsWith("v") ? source : `v${source}`;
  const ok = checkVersion(v);
  if (typeof ok === "string") {
    m.refuse(
      kid,
      "spec.version",
      `${ok}; pass --kubernetes-version <version> to import it at a supported version (for a live cluster, ` +
        "upgrade it there first, one minor at a time)",
    );
    return undefined;
  }
  m.say("mapped", kid, "spec.version", `→ kubernetesVersion: ${v}`);
  return v;
}

/**
 * A pool's sizes: autoscaler annotations → autoscaling between them; else fixed replicas (CAPI's default 1) within
 * the ASG bounds of a MachinePool, or min = max = replicas for a MachineDeployment (at least one per zone of room).
 */
function sizes(
  m: Mapper,
  pid: string,
  i: number,
  pool: Rec,
  replicas: unknown,
  ann: Rec,
  asgMin: number | undefined,
  asgMax: number | undefined,
  zones: number,
): void {
  const min = Number(ann[AUTOSCALER.min]);
  const max = Number(ann[AUTOSCALER.max]);
  if (
    ann[AUTOSCALER.min] !== undefined &&
    ann[AUTOSCALER.max] !== undefined &&
    Number.isInteger(min) &&
    Number.isInteger(max)
  ) {
    Object.assign(pool, { autoscaling: true, minSize: min, maxSize: max });
    m.say(
      "mapped",
      pid,
      "metadata.annotations (autoscaler)",
      `→ nodePools[${i}].autoscaling: true, minSize ${min}, maxSize ${max}`,
    );
    if (replicas !== undefined)
      m.say("dropped", pid, "spec.replicas", "the autoscaler owns the replicas of an autoscaled pool");
    return;
  }
  const r = typeof replicas === "number" ? replicas : 1;
  if (asgMin !== undefined || asgMax !== undefined)
    Object.assign(pool, {
      autoscaling: false,
      replicas: r,
      minSize: Math.min(asgMin ?? r, r),
      maxSize: Math.max(asgMax ?? r, r, 1),
    });
  // A MachineDeployment pool is one MachineDeployment per zone: maxSize leaves room for one per zone (fixed up once the
  // cluster's zones are known).
  else Object.assign(pool, { autoscaling: false, replicas: r, minSize: r, maxSize: Math.max(r, zones, 1) });
  m.say(
    "mapped",
    pid,
    "spec.replicas",
    `${replicas === undefined ? "not set: CAPI's default 1" : String(r)} → nodePools[${i}].replicas: ${r} ` +
      "(autoscaling: false)",
  );
}

/**
 * A machine's fields (AWSMachineTemplate spec.template.spec or AWSMachinePool spec.awsLaunchTemplate): the image, the
 * SSH key and the instance profile are mapped or equal to the render's; the rest stays for `rest`. Returns the image.
 */
function machine(
  m: Mapper,
  o: Rec,
  t: unknown,
  at: string,
  role: Role,
  pool: string | undefined,
  sshKeyName: string,
  profile: string,
): Rec | undefined {
  const src = id(o);
  const ssh = take(t, `${at}.sshKeyName`);
  if (ssh !== undefined && ssh !== sshKeyName)
    m.keep(role, pool, src, `spec.${at}.sshKeyName`, ssh, "differs from the cluster's key");
  const iam = get(t, `${at}.iamInstanceProfile`);
  if (iam === profile) take(t, `${at}.iamInstanceProfile`);
  for (const [f, what] of [
    ["rootVolume", "an 80 GiB encrypted gp3 root volume"],
    ["instanceMetadataOptions", "IMDSv2 only"],
  ] as const)
    if (get(t, `${at}.${f}`) === undefined)
      m.say("note", src, `spec.${at}.${f}`, `not set (CAPA's default); the render sets ${what}`);
  const amiId = str(get(t, `${at}.ami.id`));
  const image: Rec = {};
  const ami = get(t, `${at}.ami`);
  if (amiId && /^ami-[0-9a-f]{8,17}$/.test(amiId) && isRecord(ami) && Object.keys(ami).length === 1) {
    take(t, `${at}.ami`);
    image.id = amiId;
  }
  const lookups: [string, string, RegExp][] = [
    ["imageLookupOrg", "lookupOrg", /^[0-9]{12}$/],
    ["imageLookupFormat", "lookupFormat", /^.{1,200}$/],
    ["imageLookupBaseOS", "lookupBaseOS", /^[a-z0-9][a-z0-9.-]{0,62}$/],
  ];
  if (!image.id)
    for (const [field, key, ok] of lookups) {
      const v = str(get(t, `${at}.${field}`));
      if (v !== undefined && ok.test(v)) {
        take(t, `${at}.${field}`);
        image[key] = v;
      }
    }
  return Object.keys(image).length ? image : undefined;
}

/**
 * AWSCluster `spec.identityRef` → the spec's `identity` (plan/identity.ts renders it back): the controller identity is
 * the default (no identity); a role or static identity is read from the object in the file — its role ARN or Secret
 * name. The render names the identity object after what it points at, and gives it the namespaces of every cluster
 * that names it.
 */
function mapIdentity(
  m: Mapper,
  aid: string,
  ref: unknown,
  account: string | undefined,
  find: (ref: unknown) => Rec | undefined,
): Rec | undefined {
  if (ref === undefined) return undefined;
  const kind = str(get(ref, "kind"));
  if (kind === CONTROLLER_IDENTITY.kind) {
    m.say("mapped", aid, "spec.identityRef", `the controller's own identity (${text(get(ref, "name"))}) → no identity`);
    return undefined;
  }
  const found = find(ref);
  if (!found) {
    m.refuse(
      aid,
      "spec.identityRef",
      `the ${kind ?? "identity"} it references (${text(get(ref, "name"))}) is not in the file: add it ` +
        "(kubectl get <kind> <name> -o yaml) so that its role or Secret can be mapped",
    );
    return undefined;
  }
  const fid = id(found);
  const roleArn = str(get(found, "spec.roleARN"));
  const secretRef = str(get(found, "spec.secretRef"));
  // What the render's identity would not carry: refused rather than silently widened or narrowed.
  const unmapped = ["externalID", "inlinePolicy", "policyARNs", "durationSeconds"].filter(
    (f) => get(found, `spec.${f}`) !== undefined,
  );
  for (const f of unmapped)
    m.refuse(
      fid,
      `spec.${f}`,
      "the cluster spec's identity has no field for it; remove it or keep the identity by hand",
    );
  const source = get(found, "spec.sourceIdentityRef");
  if (roleArn !== undefined && source !== undefined && get(source, "kind") !== CONTROLLER_IDENTITY.kind)
    m.refuse(
      fid,
      "spec.sourceIdentityRef",
      "a chain of assumed roles cannot be imported: the render chains every role to the controller identity",
    );
  m.say(
    "note",
    fid,
    "spec.allowedNamespaces",
    "the render allows the namespaces labelled for it: those of the clusters naming it",
  );
  if (roleArn !== undefined) {
    m.say("mapped", fid, "spec.roleARN", `→ identity.roleArn: ${roleArn}`);
    return { roleArn };
  }
  if (secretRef !== undefined) {
    m.say("mapped", fid, "spec.secretRef", `→ identity.secretRef: ${secretRef}`);
    if (account === undefined) {
      m.refuse(
        fid,
        "spec.secretRef",
        "a static identity's AWS account is not in the manifests: name it with --identity-account <12 digits>",
      );
      return undefined;
    }
    m.say("mapped", fid, "spec.secretRef", `--identity-account → identity.account: ${account}`);
    return { secretRef, account };
  }
  m.refuse(fid, "spec", "the identity names neither a role (roleARN) nor a Secret (secretRef)");
  return undefined;
}
