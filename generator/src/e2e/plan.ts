/**
 * The pure part of `npm run e2e`: the spec changes applied to a second render, the steps handed to the Go suite
 * (e2e/, as JSON) with the verdict the tool gives each object, and the reading of the suite's `go test -json`
 * events. No fs, no processes.
 */
import semver from "semver";
import { parseDocument, isMap, isScalar, isSeq, type Document } from "yaml";
import { AUTOSCALER } from "../k8s/capi.js";
import { groupOf, recAt, type K8sObject } from "../k8s/object.js";
import { SUPPORTED_MINORS } from "../cluster-spec/parse.js";
import { clusterDir } from "../core/layout.js";
import type { AdmissionResult } from "../tools/admission.js";
import type { RingsInput } from "./rings.js";
import type { GoTestEvent } from "../tools/go.js";
import type { BoxInput } from "./box.js";

/** What the Go suite reads (E2E_INPUT); e2e/e2e_test.go `input` is its other half. */
export interface SuiteInput {
  assets: string;
  crdDirs: string[];
  featureGates: string;
  steps: Step[];
  /** The management layer in order (e2e/management.ts; e2e/management_test.go applies it after `steps`). */
  managementLayer?: Step[];
  /** The clusters the real controllers reconcile (e2e/box.ts; e2e/box_input_test.go `boxInput`). */
  box?: BoxInput;
  /** The rollout rings synced by the real kustomize-controller (e2e/rings.ts; e2e/rings_test.go `ringsInput`). */
  rings?: RingsInput;
}

export interface Step {
  name: string;
  cluster: string;
  objects: StepObject[];
}

export interface StepObject {
  object: K8sObject;
  file?: string;
  expect: "allow" | "deny";
  because?: string;
  defaults?: Record<string, unknown>;
  /** The cluster's own kustomization files (not generated/) whose patches touched the object: a failure names them. */
  patchedBy?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Spec changes (on the YAML text of clusters/<name>/cluster.yaml, comments kept)

/** A spec change the tool accepts, or one it flags, by name. */
export type SpecChange = "accepted" | "region" | "two-minor-jump";

const BIGGER: Record<string, string> = { medium: "large", large: "xlarge", xlarge: "2xlarge", "2xlarge": "4xlarge" };
/** Another instance type of the same family (t3.large → t3.xlarge). */
export const otherInstanceType = (t: string): string => {
  const [family, size] = t.split(".");
  return family && size && BIGGER[size] ? `${family}.${BIGGER[size]}` : "m5.large";
};

const minorUp = (v: string, by: number): string => {
  const s = semver.parse(v);
  if (!s) throw new Error(`kubernetesVersion ${v} is not a semantic version`);
  return `v${s.major}.${s.minor + by}.0`;
};

/** Each pool keeps the version it runs now (a pool's kubelet may lag the control plane, not lead it). */
function pinPools(doc: Document, version: string): void {
  const pools = doc.get("nodePools");
  if (!isSeq(pools)) return;
  for (const p of pools.items) if (isMap(p) && !p.has("kubernetesVersion")) p.set("kubernetesVersion", version);
}

/** Another region and its zones with the same letters (us-east-1a → us-west-2a). */
const OTHER_REGION: Record<string, string> = { "us-east-1": "us-west-2" };
const otherRegion = (r: string): string => OTHER_REGION[r] ?? "us-east-1";

/**
 * The spec after a change:
 * - accepted: the first pool's instance type changes, its zones are reordered, a pool is added, the Kubernetes
 *   minor rises by one unless it is the newest the pinned CAPI supports; pools without a version of their own
 *   follow it (a MachineDeployment kept a minor behind would get no new machine: CAPI's MachineSet preflight
 *   KubeadmVersionSkew — validate's kubeadm-join-skew), a pool with its own version keeps it;
 * - region: another region (zones with the same letters) — CAPA's AWSCluster webhook forbids it;
 * - two-minor-jump: the minor rises by two — CAPI's KubeadmControlPlane webhook forbids it.
 */
export function changeSpec(text: string, change: SpecChange): string {
  const doc = parseDocument(text);
  const version = String(doc.get("kubernetesVersion"));
  if (change === "accepted") {
    const pools = doc.get("nodePools");
    if (!isSeq(pools) || !isMap(pools.items[0])) throw new Error("the spec has no node pool");
    const first = pools.items[0];
    first.set("instanceType", otherInstanceType(String(first.get("instanceType"))));
    const zones = first.get("availabilityZones");
    if (isSeq(zones) && zones.items.length > 1) zones.items.reverse();
    const added = first.clone();
    added.set("name", `${String(first.get("name"))}-added`.slice(0, 40));
    pools.items.push(added);
    // A cluster already at the newest minor the pinned CAPI supports keeps its version (the rest of the change stays).
    const up = minorUp(version, 1);
    if (semver.minor(up) <= SUPPORTED_MINORS.max) doc.set("kubernetesVersion", up);
  } else if (change === "two-minor-jump") {
    pinPools(doc, version);
    doc.set("kubernetesVersion", minorUp(version, 2));
  } else {
    const from = String(doc.get("region"));
    const to = otherRegion(from);
    doc.set("region", to);
    const swap = (seq: unknown) => {
      if (isSeq(seq))
        seq.items = seq.items.map((z) =>
          doc.createNode(String((isScalar(z) ? z.value : undefined) ?? z).replace(from, to)),
        );
    };
    swap(doc.get("availabilityZones"));
    const pools = doc.get("nodePools");
    if (isSeq(pools)) for (const p of pools.items) if (isMap(p)) swap(p.get("availabilityZones"));
  }
  return doc.toString();
}

/**
 * The cluster's own kustomization.yaml with a patch that edits its control plane's AWSMachineTemplate in place (the
 * root volume grows, the name stays) — CAPA's AWSMachineTemplate webhook forbids it (spec immutable).
 */
export function templateEditInPlace(kustomizationText: string, cluster: string): string {
  const doc = parseDocument(kustomizationText);
  const patch = {
    target: { kind: "AWSMachineTemplate", name: `${cluster}-control-plane.*` },
    patch: JSON.stringify([{ op: "replace", path: "/spec/template/spec/rootVolume/size", value: 123 }]),
  };
  const patches = doc.get("patches");
  if (isSeq(patches)) patches.items.push(doc.createNode(patch));
  else doc.set("patches", [patch]);
  return doc.toString();
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster shapes

/** The pool sizes of the shape matrix: the default pool, one that may scale to zero, a fixed one, a large one. */
export const SHAPE_POOLS = [
  "name=default",
  // Spot and tainted: AWSMachineTemplate / launch template spotMarketOptions, kubeadm taints, the autoscaler's
  // scale-from-zero taints annotation, through the real API server and webhooks.
  "name=zero,min-size=0,max-size=3,capacity-type=spot,taints=dedicated=zero:NoSchedule",
  "name=fixed,autoscaling=false,replicas=2",
  "name=big,min-size=4,max-size=7",
] as const;

/** The `new-cluster` flags of one shape (the flags the command's NewClusterFlags takes, as `--flag value` text). */
export interface ShapeFlags {
  name: string;
  region: string;
  workers: "MachinePool" | "MachineDeployment";
  zones: string;
  pool: string[];
}

/**
 * The cluster shapes `new-cluster` writes that `npm run e2e` applies besides the fixtures: each kind of workers ×
 * one, two and three zones, each with every pool size of SHAPE_POOLS (so every per-zone split of a count — 1 over 2
 * zones gives one zone 0 — is created, updated with the zones reordered, and checked against CAPI's defaulting).
 */
export function shapeMatrix(): ShapeFlags[] {
  const zones = ["us-east-2a", "us-east-2b", "us-east-2c"];
  return (["MachinePool", "MachineDeployment"] as const).flatMap((workers) =>
    [1, 2, 3].map((n) => ({
      name: `e2e-${workers === "MachinePool" ? "mp" : "md"}-${n}z`,
      region: "us-east-2",
      workers,
      zones: zones.slice(0, n).join(","),
      pool: [...SHAPE_POOLS],
    })),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Steps

/**
 * Defaults the server must fill in that the render leaves out: a MachinePool / MachineDeployment without replicas
 * (CAPI v1.13 internal/webhooks/machinepool.go calculateMachinePoolReplicas, machinedeployment.go
 * calculateMachineDeploymentReplicas). With both autoscaler size annotations: a new object gets the min size; an
 * existing one (`old`, as the server holds it) keeps its replicas when they are within [min, max], else is clamped
 * to them. Without both annotations: 1, on create and on update alike.
 */
export function expectedDefaults(o: K8sObject, old?: K8sObject): Record<string, unknown> | undefined {
  if (o.kind !== "MachinePool" && o.kind !== "MachineDeployment") return undefined;
  if (o.spec?.replicas !== undefined) return undefined;
  const min = o.metadata.annotations?.[AUTOSCALER.min];
  const max = o.metadata.annotations?.[AUTOSCALER.max];
  if (min === undefined || max === undefined) return { "spec.replicas": 1 };
  const was = old?.spec?.replicas;
  if (typeof was !== "number") return { "spec.replicas": Number(min) };
  return { "spec.replicas": Math.min(Math.max(was, Number(min)), Number(max)) };
}

/** The object as the server holds it after admission: the render with `expectedDefaults` filled in. */
export function asStored(o: K8sObject, old?: K8sObject): K8sObject {
  const d = expectedDefaults(o, old);
  return d ? { ...o, spec: { ...o.spec, replicas: d["spec.replicas"] } } : o;
}

/**
 * The files of the cluster's own layer (clusters/<name>/, outside generated/) among those that transformed an
 * object.
 */
export function ownPatches(cluster: string, transformations: readonly string[] | undefined): string[] | undefined {
  const own = (transformations ?? []).filter(
    (f) => f.startsWith(`${clusterDir(cluster)}/`) && !f.startsWith(`${clusterDir(cluster)}/generated/`),
  );
  return own.length ? own : undefined;
}

/** A create step: every object must be accepted (the repository is clean), read back intact, defaulted. */
export function createStep(
  name: string,
  cluster: string,
  objects: readonly K8sObject[],
  origins: readonly (string | undefined)[],
  transformations?: readonly (string[] | undefined)[],
): Step {
  return {
    name,
    cluster,
    objects: objects.map((object, i) => ({
      object,
      file: origins[i],
      expect: "allow",
      defaults: expectedDefaults(object),
      patchedBy: ownPatches(cluster, transformations?.[i]),
    })),
  };
}

/**
 * The detail of a denial's first message, as the API server words it too. A field error "Invalid value: <value>:
 * <detail>" carries the object as the webhook saw it (uid, resourceVersion differ on a real server): only the detail.
 */
export const denialText = (r: AdmissionResult): string => {
  const m = r.messages[0]?.message ?? "";
  const rest =
    /^(?:Invalid value|Forbidden|Required value|Unsupported value|Duplicate value|Too long|Too many): (.*)$/s.exec(
      m,
    )?.[1];
  if (rest === undefined) return m.trim();
  if (!/^[{["]/.test(rest)) return rest.trim();
  const cut = Math.max(rest.lastIndexOf("}: "), rest.lastIndexOf("]: "), rest.lastIndexOf('": '));
  return (cut >= 0 ? rest.slice(cut + 3) : rest).trim();
};

/**
 * An update step: each object expects what the tool's upstream admission (UPDATE against the previous render) says;
 * `stored` holds each object as the server has it before the update (asStored of the previous step; undefined: new).
 */
export function updateStep(
  name: string,
  cluster: string,
  objects: readonly K8sObject[],
  origins: readonly (string | undefined)[],
  verdicts: readonly AdmissionResult[],
  transformations?: readonly (string[] | undefined)[],
  stored?: readonly (K8sObject | undefined)[],
): Step {
  if (verdicts.length !== objects.length)
    throw new Error(`${name}: ${verdicts.length} verdicts for ${objects.length} objects`);
  return {
    name,
    cluster,
    objects: objects.map((object, i) => {
      const v = verdicts[i];
      if (v === undefined) throw new Error(`${name}: no verdict for object ${i}`);
      const patchedBy = ownPatches(cluster, transformations?.[i]);
      return v.allowed
        ? { object, file: origins[i], expect: "allow", defaults: expectedDefaults(object, stored?.[i]), patchedBy }
        : { object, file: origins[i], expect: "deny", because: denialText(v), patchedBy };
    }),
  };
}

/** The feature gates management/providers gives the providers ("MachinePool=true,..."), merged. */
export function featureGates(providers: readonly K8sObject[]): string {
  const gates = new Map<string, string>();
  for (const p of providers) {
    if (groupOf(p.apiVersion) !== "operator.cluster.x-k8s.io") continue;
    for (const [k, v] of Object.entries(recAt(p, "spec.manager.featureGates") ?? {})) gates.set(k, String(v));
  }
  return [...gates]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

// ---------------------------------------------------------------------------------------------------------------
// Results of `go test -json`

export interface SuiteFailure {
  test: string;
  output: string;
}
export interface SuiteSummary {
  passed: number;
  failed: number;
  failures: SuiteFailure[];
  /** Lines the suite printed outside any test (start-up, teardown). */
  log: string[];
}

/** The teardown line e2e/e2e_test.go prints when nothing was left behind. */
export const TEARDOWN_OK = "e2e: teardown left no process and no port behind";

/**
 * Counts the leaf tests (one per applied object, plus the suite's own checks) and the teardown check; a failed leaf
 * keeps its output (the suite's message names cluster, object, file and the server's answer).
 */
export function summarize(events: readonly GoTestEvent[]): SuiteSummary {
  const result = new Map<string, "pass" | "fail" | "skip">();
  const output = new Map<string, string[]>();
  const log: string[] = [];
  let packageFailed = false;
  for (const e of events) {
    if (e.Test === undefined) {
      if (e.Action === "output" && e.Output && !/^(=== |--- |PASS|FAIL|ok |coverage:)/.test(e.Output.trim()))
        log.push(e.Output.replace(/\n$/, ""));
      if (e.Action === "fail") packageFailed = true;
      continue;
    }
    if (e.Action === "pass" || e.Action === "fail" || e.Action === "skip") result.set(e.Test, e.Action);
    if (e.Action === "output" && e.Output) output.set(e.Test, [...(output.get(e.Test) ?? []), e.Output]);
  }
  const names = [...result.keys()];
  const below = (n: string) => names.filter((m) => m.startsWith(`${n}/`));
  const leaves = names.filter((n) => below(n).length === 0);
  // A test that failed by its own errors while every test under it passed (TestBox's health checks over all the
  // clusters) is a failure too, with its own output.
  const failedItself = names
    .filter((n) => result.get(n) === "fail" && below(n).length > 0)
    .filter((n) => below(n).every((m) => result.get(m) !== "fail"));
  const failures: SuiteFailure[] = [];
  let passed = 0;
  for (const n of [...leaves, ...failedItself]) {
    if (result.get(n) === "pass") passed++;
    else if (result.get(n) === "fail") {
      const text = (output.get(n) ?? [])
        .filter((l) => !/^\s*(=== (RUN|PAUSE|CONT)|--- (FAIL|PASS))/.test(l))
        .join("")
        .trim();
      failures.push({ test: n, output: text });
    }
  }
  if (log.some((l) => l.includes(TEARDOWN_OK))) passed++;
  else
    failures.push({
      test: "teardown",
      output:
        log.filter((l) => /teardown|starting|E2E_INPUT/.test(l)).join("\n") ||
        (packageFailed ? "the suite failed before or during teardown" : "the suite did not report its teardown"),
    });
  return { passed, failed: failures.length, failures, log };
}
