/**
 * Staged Kubernetes upgrades (`npm run upgrade`), pure: a spec and a target version in, the next step out, and the
 * spec file's text with that step applied. The order follows what upstream allows:
 * - the control plane first, one minor at a time: CAPI's KubeadmControlPlane webhook refuses a version jump of more
 *   than one minor (controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go), and kubeadm upgrades one minor per
 *   step;
 * - the pools afterwards, in a change of their own: a kubelet must not be newer than kube-apiserver, and may be up to
 *   three minors older (https://kubernetes.io/releases/version-skew-policy/#kubelet; three since Kubernetes v1.28,
 *   KEP-3935 — `MAX_KUBELET_SKEW` in cluster-spec/parse.ts). While the control plane moves, each pool is pinned
 *   (`nodePools[].kubernetesVersion`, written explicitly in cluster.yaml); the next step moves the pools to the control
 *   plane's version and removes the pins, so a pool records a version only while it differs from the control plane;
 * - version-bound add-ons move with the control plane, in the same render: the CCM and the cluster-autoscaler follow
 *   the control plane's minor (plan/addons.ts, plan/autoscaler.ts); a target minor without a pinned one is refused;
 * - a target for which CAPA publishes no machine image in the cluster's region is refused when a machine relies on
 *   CAPA's public image lookup (schemas/capa-images/inventory.json, the same rule as validate's `image-published`).
 */
import semver from "semver";
import { isMap, isScalar, isSeq, type Document, type YAMLMap, parseDocument } from "yaml";
import type { Finding } from "../findings.js";
import { checkVersion } from "../cluster-spec/parse.js";
import { type ClusterSpec, ClusterSpecDefinition, type ImageSpec } from "../cluster-spec/types.js";
import { type ImageInventory, isPublished, publicLookupOs, publishedVersions } from "../schemas/ami-inventory.js";
import { clusterSpecPath } from "../repo/paths.js";
import type { Pins } from "../versions.js";
import { ccmVersion, minorOf } from "./addons.js";
import { autoscales } from "./autoscaler.js";

export interface PoolVersion {
  name: string;
  /** The kubelet version the pool runs: its own `kubernetesVersion`, else the control plane's. */
  version: string;
  /** Whether cluster.yaml states the pool's version. */
  pinned: boolean;
}

export interface ClusterVersions {
  controlPlane: string;
  pools: PoolVersion[];
}

export function specVersions(spec: ClusterSpec): ClusterVersions {
  return {
    controlPlane: spec.kubernetesVersion,
    pools: spec.nodePools.map((p) => ({ name: p.name, version: p.kubernetesVersion ?? spec.kubernetesVersion, pinned: p.kubernetesVersion !== undefined })),
  };
}

/** Compares two `vX.Y.Z` versions (both valid: the spec passed its schema). */
const compare = (a: string, b: string): number => semver.compare(a.replace(/^v/, ""), b.replace(/^v/, ""));
const parsed = (v: string): semver.SemVer => semver.parse(v.replace(/^v/, ""))!;

/** Where a cluster is in its upgrade: every pool at the control plane's version, or some pools still behind it. */
export interface UpgradeState {
  stage: "current" | "pools-behind";
  controlPlane: string;
  /** Pools older than the control plane: the next `upgrade` moves them. */
  behind: PoolVersion[];
}

export function upgradeState(spec: ClusterSpec): UpgradeState {
  const v = specVersions(spec);
  const behind = v.pools.filter((p) => compare(p.version, v.controlPlane) < 0);
  return { stage: behind.length ? "pools-behind" : "current", controlPlane: v.controlPlane, behind };
}

const poolList = (pools: readonly PoolVersion[]): string => pools.map((p) => `${p.name} (${p.version})`).join(", ");

/** One line saying where the cluster is in its upgrade (validate's `upgrade-state` finding, inventory). */
export function describeUpgradeState(spec: ClusterSpec): string {
  const s = upgradeState(spec);
  if (s.stage === "current") return `current: control plane and every pool at ${s.controlPlane}`;
  return `upgrade in progress: control plane at ${s.controlPlane}, pool${s.behind.length > 1 ? "s" : ""} ${poolList(s.behind)} behind it; once the control plane has rolled out, \`npm run upgrade -- --name ${spec.name}\` moves ${s.behind.length > 1 ? "them" : "it"} to ${s.controlPlane}`;
}

/** validate's info line for a cluster in the middle of an upgrade (nothing when every pool is at the control plane's version). */
export function upgradeStateFindings(spec: ClusterSpec): Finding[] {
  const s = upgradeState(spec);
  if (s.stage === "current") return [];
  return [{ cluster: spec.name, file: clusterSpecPath(spec.name), path: "nodePools[].kubernetesVersion", rule: "upgrade-state", severity: "info", message: describeUpgradeState(spec) }];
}

export type StepKind = "control-plane" | "pools" | "none";

export interface UpgradeStep {
  cluster: string;
  kind: StepKind;
  /** The version the cluster is upgraded to. */
  target: string;
  before: ClusterVersions;
  after: ClusterVersions;
  /** What the step does, in one line. */
  summary: string;
  /** What to do after it. */
  next: string;
}

export interface UpgradeContext {
  pins: Pick<Pins, "addons" | "clusterAutoscaler">;
  /** CAPA's published images; without it the image check is skipped. */
  inventory?: ImageInventory;
  /** `--all`: a cluster whose control plane is already newer than the target is left as it is instead of refused. */
  skipNewer?: boolean;
}

/** The machines of a spec with the image they use and the version they run after a step. */
function machines(spec: ClusterSpec, after: ClusterVersions): { what: string; image?: ImageSpec; version: string }[] {
  return [
    { what: "the control plane", image: spec.image, version: after.controlPlane },
    ...spec.nodePools.map((p, i) => ({ what: `pool ${p.name}`, image: p.image ?? spec.image, version: after.pools[i]!.version })),
  ];
}

/**
 * The next step of a cluster's upgrade towards `target` (default: the control plane's version, i.e. only the pools'
 * step): the pools when some are behind the control plane, else the control plane (at most one minor up), else
 * nothing. Findings (errors) when the step is refused; nothing is written then.
 */
export function planUpgradeStep(spec: ClusterSpec, target: string | undefined, ctx: UpgradeContext): { step?: UpgradeStep; findings: Finding[] } {
  const file = clusterSpecPath(spec.name);
  const refuse = (rule: string, message: string, path = "--to"): { findings: Finding[] } => ({ findings: [{ cluster: spec.name, file, path, rule, severity: "error", message }] });
  const to = target ?? spec.kubernetesVersion;
  const checked = checkVersion(to);
  if (typeof checked === "string") return refuse("upgrade-target", checked);
  const before = specVersions(spec);
  const cp = before.controlPlane;
  const again = `npm run upgrade -- --name ${spec.name}${target ? ` --to ${to}` : ""}`;

  if (compare(to, cp) < 0) {
    const message = `the control plane already runs ${cp}, newer than ${to}; Cluster API does not downgrade a control plane`;
    if (ctx.skipNewer) return { step: { cluster: spec.name, kind: "none", target: to, before, after: before, summary: `left as it is: ${message}`, next: "" }, findings: [] };
    return refuse("upgrade-downgrade", `${message}; pick ${cp} or newer`);
  }

  const behind = before.pools.filter((p) => compare(p.version, cp) < 0);
  let kind: StepKind;
  let after: ClusterVersions;
  if (behind.length) {
    // The pools catch up first: they take the control plane's version, and their pins go.
    kind = "pools";
    after = { controlPlane: cp, pools: before.pools.map((p) => (compare(p.version, cp) < 0 ? { name: p.name, version: cp, pinned: false } : p)) };
  } else if (compare(to, cp) === 0) {
    return { step: { cluster: spec.name, kind: "none", target: to, before, after: before, summary: `nothing to do: control plane and every pool at ${cp}`, next: "" }, findings: [] };
  } else {
    const from = parsed(cp);
    const want = parsed(to);
    if (want.minor > from.minor + 1) {
      const path = singleSteps(spec, from, want, ctx.inventory);
      return refuse(
        "upgrade-one-minor",
        `${to} is ${want.minor - from.minor} minors above the control plane (${cp}); Kubernetes upgrades one minor at a time (the KubeadmControlPlane webhook refuses more, kubeadm upgrades one minor per step). ` +
          `The single steps: ${[cp, ...path].join(" → ")}; for each, run \`npm run upgrade -- --name ${spec.name} --to <version>\` twice (the control plane, then the pools once it has rolled out): ${path.map((v) => `--to ${v}`).join(", then ")}`,
      );
    }
    // The control plane moves; every pool stays where it is, pinned in cluster.yaml.
    kind = "control-plane";
    after = { controlPlane: to, pools: before.pools.map((p) => ({ name: p.name, version: p.version, pinned: true })) };
    const problems = addonProblems(spec, cp, to, ctx.pins);
    if (problems.length) return refuse("upgrade-addons", problems.join("; "));
  }

  // Images: every machine that will run the target (the pools too: they follow in the next step) must find one.
  if (ctx.inventory) {
    const inventory = ctx.inventory;
    const eventually: ClusterVersions = { controlPlane: after.controlPlane, pools: after.pools.map((p) => ({ ...p, version: after.controlPlane })) };
    const missing = new Map<string, string[]>();
    for (const m of machines(spec, eventually)) {
      const os = publicLookupOs(m.image ?? {}, inventory);
      if (!os || isPublished(inventory, m.version, spec.region, os)) continue;
      const key = `${m.version} ${os}`;
      missing.set(key, [...(missing.get(key) ?? []), m.what]);
    }
    if (missing.size) {
      const lines = [...missing].map(([key, what]) => {
        const [version, os] = key.split(" ") as [string, string];
        const here = publishedVersions(inventory, spec.region, os);
        return `${what.join(", ")} would run ${version} with CAPA's public image lookup (capa-ami-${os}-?${version}-*), and CAPA publishes no such image in ${spec.region} (${inventory.source} ami-inventory.md; published ${os} versions there: ${here.length ? here.join(", ") : "none"})`;
      });
      return refuse("upgrade-image", `${lines.join("; ")}. Pick a published version, or set \`image\` in ${file} (an AMI id in ${spec.region}, or your own image-builder lookup) first`);
    }
  }

  const moved = after.pools.filter((p, i) => p.version !== before.pools[i]!.version);
  const summary =
    kind === "control-plane"
      ? `control plane ${cp} → ${to}; pools stay at ${[...new Set(before.pools.map((p) => p.version))].join(", ")} (pinned in cluster.yaml); the CCM and the cluster-autoscaler follow to ${minorOf(to)}`
      : `pool${moved.length > 1 ? "s" : ""} ${moved.map((p) => p.name).join(", ")} ${[...new Set(behind.map((p) => p.version))].join(", ")} → ${cp} (their pins removed: they follow the control plane)`;
  const next =
    kind === "control-plane"
      ? `once the control plane has rolled out, run \`${again}\` again to move the pools`
      : compare(to, cp) > 0
        ? `once the pools have rolled out, run \`${again}\` again to move the control plane to ${to}`
        : `the upgrade to ${cp} is complete once the pools have rolled out`;
  return { step: { cluster: spec.name, kind, target: to, before, after, summary, next }, findings: [] };
}

/** Why the version-bound add-ons cannot follow the control plane to `to` (nothing when they can). */
function addonProblems(spec: ClusterSpec, from: string, to: string, pins: UpgradeContext["pins"]): string[] {
  const problems: string[] = [];
  if (ccmVersion(from, pins.addons) && !ccmVersion(to, pins.addons))
    problems.push(`no AWS cloud-controller-manager is pinned for Kubernetes ${minorOf(to)} (versions.json addons.cloudControllerManager.byMinor has ${Object.keys(pins.addons.cloudControllerManager.byMinor).join(", ")}), so the cluster would lose its CCM and new nodes would keep the uninitialized taint; pin one there first`);
  if (autoscales(spec) && !pins.clusterAutoscaler.byMinor[minorOf(to)])
    problems.push(`no cluster-autoscaler is pinned for Kubernetes ${minorOf(to)} (versions.json clusterAutoscaler.byMinor); pin one there first`);
  return problems;
}

/**
 * The versions of a path of single-minor steps from `from` to `to`: for each minor in between, the newest version
 * CAPA publishes in the cluster's region when the control plane uses the public lookup, else `v1.<minor>.x`.
 */
function singleSteps(spec: ClusterSpec, from: semver.SemVer, to: semver.SemVer, inventory: ImageInventory | undefined): string[] {
  const os = inventory ? publicLookupOs(spec.image ?? {}, inventory) : undefined;
  const published = inventory && os ? publishedVersions(inventory, spec.region, os) : [];
  const steps: string[] = [];
  for (let m = from.minor + 1; m < to.minor; m++) {
    const ofMinor = published.filter((v) => parsed(v).major === to.major && parsed(v).minor === m).sort(compare);
    steps.push(ofMinor.at(-1) ?? `v${to.major}.${m}.x`);
  }
  return [...steps, `v${to.version}`];
}

/** Keys of a mapping in the order the spec's definition lists them. */
const SPEC_ORDER = Object.keys(ClusterSpecDefinition.properties);
const POOL_ORDER = Object.keys((ClusterSpecDefinition.properties.nodePools as unknown as { items: { properties: Record<string, unknown> } }).items.properties);

/** Sets `key` in a YAML mapping: in place when present, else before the first key the definition lists after it. */
function setInOrder(doc: Document, map: YAMLMap, key: string, value: unknown, order: readonly string[]): void {
  const node = map.get(key, true);
  // An existing scalar keeps its comment and style; only its value changes.
  if (isScalar(node) && typeof value === "string") return void (node.value = value);
  if (map.has(key)) return void map.set(key, doc.createNode(value));
  const later = new Set(order.slice(order.indexOf(key) + 1));
  const at = map.items.findIndex((p) => later.has(String(isScalar(p.key) ? p.key.value : p.key)));
  const pair = doc.createPair(key, value);
  if (at < 0) map.items.push(pair as never);
  else map.items.splice(at, 0, pair as never);
}

/**
 * cluster.yaml's text with the step applied: the control plane's version, and each pool's `kubernetesVersion` set
 * while it differs from the control plane, removed otherwise. The rest of the file (comments, order, quoting) is kept.
 * `spec` is the text's spec (pools in the same order).
 */
export function applyUpgradeStep(text: string, spec: ClusterSpec, step: UpgradeStep): string {
  const doc = parseDocument(text);
  const root = doc.contents;
  if (!isMap(root)) throw new Error(`internal error: ${clusterSpecPath(spec.name)} is not a mapping`);
  if (step.after.controlPlane !== spec.kubernetesVersion || !root.has("kubernetesVersion")) setInOrder(doc, root, "kubernetesVersion", step.after.controlPlane, SPEC_ORDER);
  const wanted = step.after.pools.map((p) => (p.version === step.after.controlPlane ? undefined : p.version));
  const changes = spec.nodePools.some((p, i) => p.kubernetesVersion !== wanted[i]);
  if (!changes) return doc.toString({ lineWidth: 0 });
  // Without nodePools the spec has its one default pool: write it out to give it a version.
  if (!root.has("nodePools")) setInOrder(doc, root, "nodePools", spec.nodePools.map((p) => ({ name: p.name })), SPEC_ORDER);
  const pools = root.get("nodePools");
  if (!isSeq(pools)) throw new Error(`internal error: nodePools of ${clusterSpecPath(spec.name)} is not a list`);
  spec.nodePools.forEach((p, i) => {
    const item = pools.items[i];
    if (!isMap(item)) throw new Error(`internal error: nodePools.${i} of ${clusterSpecPath(spec.name)} is not a mapping`);
    const want = wanted[i];
    if (want === undefined) item.delete("kubernetesVersion");
    else setInOrder(doc, item, "kubernetesVersion", want, POOL_ORDER);
  });
  return doc.toString({ lineWidth: 0 });
}
