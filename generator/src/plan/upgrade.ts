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
 * - version-bound add-ons move with the pools, in step 2: the CCM and the cluster-autoscaler stay one minor behind
 * while
 *   a pool is (plan/addon-version.ts), because a ClusterResourceSet with strategy Reconcile applies a new CCM the
 *   moment the change merges, while the API servers are still rolling, and the CCM must not be newer than
 *   kube-apiserver; a target minor without a pinned one is refused before step 1;
 * - a target for which CAPA publishes no machine image in the cluster's region is refused when a machine relies on
 *   CAPA's public image lookup (schemas/capa-images/inventory.json, the same rule as validate's `image-published`);
 * - a machine whose image is fixed (an AMI id, or a lookup format without {{.K8sVersion}}: one image whatever the
 *   version, ami.go GenerateAmiName) would boot its old kubelet at the new version: the step is refused unless it
 *   supplies the new image (`--image-id`, `--pool-image-id <pool>=<ami>`), written as `image: {id, kubernetesVersion}`.
 *   In step 1 the new image goes to the cluster's `image` (the control plane); pools that used the cluster's image
 *   keep the old one as their own `image` while they are pinned, and step 2 gives them the new one (an id equal to
 *   the cluster's removes the pool's own image again).
 */
import semver from "semver";
import { isMap, isScalar, isSeq, type Document, type YAMLMap, parseDocument } from "yaml";
import { PlanError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import { checkVersion } from "../cluster-spec/parse.js";
import { type ClusterSpec, ClusterSpecDefinition, type ImageSpec } from "../cluster-spec/types.js";
import {
  type ImageInventory,
  imageFollowsVersion,
  isPublished,
  publicLookupOs,
  publishedVersions,
} from "../schemas/ami-inventory.js";
import { clusterSpecPath } from "../core/layout.js";
import type { Pins } from "../pins/versions.js";
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
    pools: spec.nodePools.map((p) => ({
      name: p.name,
      version: p.kubernetesVersion ?? spec.kubernetesVersion,
      pinned: p.kubernetesVersion !== undefined,
    })),
  };
}

/** Compares two `vX.Y.Z` versions (both valid: the spec passed its schema). */
const compare = (a: string, b: string): number => semver.compare(a.replace(/^v/, ""), b.replace(/^v/, ""));
const parsed = (v: string): semver.SemVer => new semver.SemVer(v.replace(/^v/, ""));

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

/** Pool `i` of versions made from one spec (specVersions keeps the spec's pool order). */
function poolAt(versions: ClusterVersions, i: number): PoolVersion {
  const pool = versions.pools[i];
  if (!pool) throw new PlanError(`internal error: the versions have no pool ${i}`);
  return pool;
}

const poolList = (pools: readonly PoolVersion[]): string => pools.map((p) => `${p.name} (${p.version})`).join(", ");

/** One line saying where the cluster is in its upgrade (validate's `upgrade-state` finding, inventory). */
export function describeUpgradeState(spec: ClusterSpec): string {
  const s = upgradeState(spec);
  if (s.stage === "current") return `current: control plane and every pool at ${s.controlPlane}`;
  return (
    `upgrade in progress: control plane at ${s.controlPlane}, pool${s.behind.length > 1 ? "s" : ""} ` +
    `${poolList(s.behind)} behind it; once the control plane has rolled out, \`npm run upgrade -- --name ` +
    `${spec.name}\` moves ${s.behind.length > 1 ? "them" : "it"} to ${s.controlPlane}`
  );
}

/**
 * validate's info line for a cluster in the middle of an upgrade (nothing when every pool is at the control plane's
 * version).
 */
export function upgradeStateFindings(spec: ClusterSpec): Finding[] {
  const s = upgradeState(spec);
  if (s.stage === "current") return [];
  return [
    {
      cluster: spec.name,
      file: clusterSpecPath(spec.name),
      path: "nodePools[].kubernetesVersion",
      rule: "upgrade-state",
      severity: "info",
      message: describeUpgradeState(spec),
    },
  ];
}

export type StepKind = "control-plane" | "pools" | "none";

/** The images after a step: the cluster's `image` and each pool's own (undefined: none / the cluster's). */
export interface StepImages {
  cluster: ImageSpec | undefined;
  pools: (ImageSpec | undefined)[];
}

export interface UpgradeStep {
  cluster: string;
  kind: StepKind;
  /** The version the cluster is upgraded to. */
  target: string;
  before: ClusterVersions;
  after: ClusterVersions;
  /** The images after the step (the spec's when the step changes none). */
  images: StepImages;
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
  /**
   * The new image the step supplies: `--image-id` (every machine that moves), `--pool-image-id <pool>=<ami>` (one
   * pool).
   */
  imageId?: string;
  poolImageIds?: Readonly<Record<string, string>>;
}

/** The machines of a spec with the image they use and the version they run after a step. */
function machines(
  images: StepImages,
  names: readonly string[],
  after: ClusterVersions,
): { what: string; image?: ImageSpec; version: string }[] {
  return [
    { what: "the control plane", image: images.cluster, version: after.controlPlane },
    ...names.map((name, i) => ({
      what: `pool ${name}`,
      image: images.pools[i] ?? images.cluster,
      version: poolAt(after, i).version,
    })),
  ];
}

const describeImage = (image: ImageSpec): string =>
  image.id
    ? `AMI ${image.id}${image.kubernetesVersion ? ` (Kubernetes ${image.kubernetesVersion})` : ""}`
    : `the lookup format ${JSON.stringify(image.lookupFormat)}`;

/**
 * The images after a step, or why it is refused: every machine that moves to a new version with a fixed image needs
 * the new one from the step (`ctx.imageId`, `ctx.poolImageIds`).
 */
function stepImages(
  spec: ClusterSpec,
  kind: StepKind,
  after: ClusterVersions,
  ctx: UpgradeContext,
): { images: StepImages; problems: string[] } {
  const images: StepImages = { cluster: spec.image, pools: spec.nodePools.map((p) => p.image) };
  const problems: string[] = [];
  const unknownPools = Object.keys(ctx.poolImageIds ?? {}).filter((n) => !spec.nodePools.some((p) => p.name === n));
  if (unknownPools.length)
    problems.push(
      `--pool-image-id names no pool of ${spec.name}: ${unknownPools.join(", ")} (pools: ` +
        `${spec.nodePools.map((p) => p.name).join(", ")})`,
    );
  const fixed = (image: ImageSpec | undefined): image is ImageSpec =>
    image !== undefined && !imageFollowsVersion(image);
  if (kind === "control-plane") {
    const id = ctx.imageId;
    if (Object.keys(ctx.poolImageIds ?? {}).length)
      problems.push(
        "--pool-image-id belongs to the pools' step (the next run); this step moves the control plane only " +
          "(its image: --image-id)",
      );
    if (id === undefined) {
      if (fixed(spec.image))
        problems.push(
          `the control plane's image is fixed (${describeImage(spec.image)}): its new machines would boot ` +
            `that kubelet at ${after.controlPlane}. Give the step an image built for ${after.controlPlane} in ` +
            `${spec.region}: \`--image-id <ami-…>\` (image-builder: ` +
            "https://image-builder.sigs.k8s.io/capi/providers/aws), or use a lookup with {{.K8sVersion}}",
        );
      return { images, problems };
    }
    images.cluster = { id, kubernetesVersion: after.controlPlane };
    // Pools that used the cluster's image stay at their version: they keep that image as their own while pinned.
    images.pools = spec.nodePools.map((p) => p.image ?? spec.image ?? {});
    return { images, problems };
  }
  if (kind === "pools") {
    spec.nodePools.forEach((p, i) => {
      const version = poolAt(after, i).version;
      const moves = version !== (p.kubernetesVersion ?? spec.kubernetesVersion);
      const given = ctx.poolImageIds?.[p.name] ?? (moves ? ctx.imageId : undefined);
      if (!moves) {
        if (ctx.poolImageIds?.[p.name])
          problems.push(`pool ${p.name} does not move in this step; --pool-image-id ${p.name}=… has nothing to do`);
        return;
      }
      const current = p.image ?? spec.image;
      if (given === undefined) {
        if (fixed(current)) {
          const clusterId = spec.image?.id && spec.image.kubernetesVersion === version ? spec.image.id : undefined;
          problems.push(
            `pool ${p.name}'s image is fixed (${describeImage(current)}): its new machines would boot that ` +
              `kubelet at ${version}. Give the step the pool's new image: \`--image-id <ami-…>\` (every pool ` +
              `that moves) or \`--pool-image-id ${p.name}=<ami-…>\`` +
              (clusterId
                ? ` (the control plane's is ${clusterId}: --image-id ${clusterId} makes the pool use the ` +
                  "cluster's image again)"
                : ""),
          );
        }
        return;
      }
      const same = spec.image?.id === given && spec.image.kubernetesVersion === version;
      images.pools[i] = same ? undefined : { id: given, kubernetesVersion: version };
    });
    if (
      ctx.imageId !== undefined &&
      !spec.nodePools.some((p, i) => poolAt(after, i).version !== (p.kubernetesVersion ?? spec.kubernetesVersion))
    )
      problems.push("--image-id has nothing to do: no pool moves in this step");
    return { images, problems };
  }
  if (ctx.imageId !== undefined || Object.keys(ctx.poolImageIds ?? {}).length)
    problems.push("--image-id / --pool-image-id have nothing to do: nothing moves");
  return { images, problems };
}

/**
 * The next step of a cluster's upgrade towards `target` (default: the control plane's version, i.e. only the pools'
 * step): the pools when some are behind the control plane, else the control plane (at most one minor up), else
 * nothing. Findings (errors) when the step is refused; nothing is written then.
 */
export function planUpgradeStep(
  spec: ClusterSpec,
  target: string | undefined,
  ctx: UpgradeContext,
): { step?: UpgradeStep; findings: Finding[] } {
  const file = clusterSpecPath(spec.name);
  const refuse = (rule: RuleId, message: string, path = "--to"): { findings: Finding[] } => ({
    findings: [{ cluster: spec.name, file, path, rule, severity: "error", message }],
  });
  const to = target ?? spec.kubernetesVersion;
  const checked = checkVersion(to);
  if (typeof checked === "string") return refuse("upgrade-target", checked);
  const before = specVersions(spec);
  const cp = before.controlPlane;
  const unchanged: StepImages = { cluster: spec.image, pools: spec.nodePools.map((p) => p.image) };
  const again = `npm run upgrade -- --name ${spec.name}${target ? ` --to ${to}` : ""}`;
  /** No step: the cluster stays as it is, for the reason `summary` says. */
  const nothing = (summary: string): { step: UpgradeStep; findings: Finding[] } => ({
    step: { cluster: spec.name, kind: "none", target: to, before, after: before, images: unchanged, summary, next: "" },
    findings: [],
  });

  if (compare(to, cp) < 0) {
    const message =
      `the control plane already runs ${cp}, newer than ${to}; ` + "Cluster API does not downgrade a control plane";
    if (ctx.skipNewer) return nothing(`left as it is: ${message}`);
    return refuse("upgrade-downgrade", `${message}; pick ${cp} or newer`);
  }

  const behind = before.pools.filter((p) => compare(p.version, cp) < 0);
  let kind: StepKind;
  let after: ClusterVersions;
  if (behind.length) {
    // The pools catch up first: they take the control plane's version, and their pins go.
    kind = "pools";
    after = {
      controlPlane: cp,
      pools: before.pools.map((p) => (compare(p.version, cp) < 0 ? { name: p.name, version: cp, pinned: false } : p)),
    };
  } else if (compare(to, cp) === 0) {
    if (ctx.imageId !== undefined || Object.keys(ctx.poolImageIds ?? {}).length)
      return refuse(
        "upgrade-image",
        "--image-id / --pool-image-id have nothing to do: control plane and every pool are at the target",
        "--image-id",
      );
    return nothing(`nothing to do: control plane and every pool at ${cp}`);
  } else {
    const from = parsed(cp);
    const want = parsed(to);
    if (want.minor > from.minor + 1) {
      const path = singleSteps(spec, from, want, ctx.inventory);
      return refuse(
        "upgrade-one-minor",
        `${to} is ${want.minor - from.minor} minors above the control plane (${cp}); Kubernetes upgrades one ` +
          "minor at a time (the KubeadmControlPlane webhook refuses more, kubeadm upgrades one minor per " +
          "step). " +
          (`The single steps: ${[cp, ...path].join(" → ")}; for each, run \`npm run upgrade -- --name ` +
            `${spec.name} --to <version>\` twice (the control plane, then the pools once it has rolled out): ` +
            `${path.map((v) => `--to ${v}`).join(", then ")}`),
      );
    }
    // The control plane moves; every pool stays where it is, pinned in cluster.yaml.
    kind = "control-plane";
    after = { controlPlane: to, pools: before.pools.map((p) => ({ name: p.name, version: p.version, pinned: true })) };
    const problems = addonProblems(spec, cp, to, ctx.pins);
    if (problems.length) return refuse("upgrade-addons", problems.join("; "));
  }

  // Fixed images: the step must bring the new one for every machine that moves.
  const { images, problems } = stepImages(spec, kind, after, ctx);
  if (problems.length)
    return refuse(
      "upgrade-image",
      problems.join("; "),
      ctx.imageId !== undefined || ctx.poolImageIds ? "--image-id" : "image",
    );

  // Public images: every machine that will run the target (the pools too: they follow in the next step) must find one.
  if (ctx.inventory) {
    const inventory = ctx.inventory;
    const eventually: ClusterVersions = {
      controlPlane: after.controlPlane,
      pools: after.pools.map((p) => ({ ...p, version: after.controlPlane })),
    };
    const missing = new Map<string, { version: string; os: string; what: string[] }>();
    for (const m of machines(
      images,
      spec.nodePools.map((p) => p.name),
      eventually,
    )) {
      const os = publicLookupOs(m.image ?? {}, inventory);
      if (!os || isPublished(inventory, m.version, spec.region, os)) continue;
      const key = `${m.version} ${os}`;
      const entry = missing.get(key) ?? { version: m.version, os, what: [] };
      missing.set(key, { ...entry, what: [...entry.what, m.what] });
    }
    if (missing.size) {
      const lines = [...missing.values()].map(({ version, os, what }) => {
        const here = publishedVersions(inventory, spec.region, os);
        return (
          `${what.join(", ")} would run ${version} with CAPA's public image lookup ` +
          `(capa-ami-${os}-?${version}-*), and CAPA publishes no such image in ${spec.region} ` +
          `(${inventory.source} ami-inventory.md; published ${os} versions there: ` +
          `${here.length ? here.join(", ") : "none"})`
        );
      });
      return refuse(
        "upgrade-image",
        `${lines.join("; ")}. Pick a published version, or set \`image\` in ${file} (an AMI id in ` +
          `${spec.region}, or your own image-builder lookup) first`,
      );
    }
  }

  const moved = after.pools.filter((p, i) => p.version !== poolAt(before, i).version);
  const summary =
    kind === "control-plane"
      ? `control plane ${cp} → ${to}${images.cluster !== spec.image ? ` (image ${images.cluster?.id})` : ""}; ` +
        `pools stay at ${[...new Set(before.pools.map((p) => p.version))].join(", ")} (pinned in ` +
        `cluster.yaml); the CCM and the cluster-autoscaler stay at ${minorOf(cp)} until the pools' step`
      : `pool${moved.length > 1 ? "s" : ""} ${moved.map((p) => p.name).join(", ")} ` +
        `${[...new Set(behind.map((p) => p.version))].join(", ")} → ${cp} (their pins removed: they follow the ` +
        `control plane); the CCM and the cluster-autoscaler follow to ${minorOf(cp)}`;
  const next =
    kind === "control-plane"
      ? `once the control plane has rolled out, run \`${again}\` again to move the pools`
      : compare(to, cp) > 0
        ? `once the pools have rolled out, run \`${again}\` again to move the control plane to ${to}`
        : `the upgrade to ${cp} is complete once the pools have rolled out`;
  return { step: { cluster: spec.name, kind, target: to, before, after, images, summary, next }, findings: [] };
}

/** Why the version-bound add-ons cannot follow the control plane to `to` (nothing when they can). */
function addonProblems(spec: ClusterSpec, from: string, to: string, pins: UpgradeContext["pins"]): string[] {
  const problems: string[] = [];
  if (ccmVersion(from, pins.addons) && !ccmVersion(to, pins.addons))
    problems.push(
      `no AWS cloud-controller-manager is pinned for Kubernetes ${minorOf(to)} (versions.json ` +
        "addons.cloudControllerManager.byMinor has " +
        `${Object.keys(pins.addons.cloudControllerManager.byMinor).join(", ")}), so the cluster would lose its ` +
        "CCM and new nodes would keep the uninitialized taint; pin one there first",
    );
  if (autoscales(spec) && !pins.clusterAutoscaler.byMinor[minorOf(to)])
    problems.push(
      `no cluster-autoscaler is pinned for Kubernetes ${minorOf(to)} (versions.json ` +
        "clusterAutoscaler.byMinor); pin one there first",
    );
  return problems;
}

/**
 * The versions of a path of single-minor steps from `from` to `to`: for each minor in between, the newest version
 * CAPA publishes in the cluster's region when the control plane uses the public lookup, else `v1.<minor>.x`.
 */
function singleSteps(
  spec: ClusterSpec,
  from: semver.SemVer,
  to: semver.SemVer,
  inventory: ImageInventory | undefined,
): string[] {
  const os = inventory ? publicLookupOs(spec.image ?? {}, inventory) : undefined;
  const published = inventory && os ? publishedVersions(inventory, spec.region, os) : [];
  const steps: string[] = [];
  for (let m = from.minor + 1; m < to.minor; m++) {
    const ofMinor = published.filter((v) => parsed(v).major === to.major && parsed(v).minor === m).sort(compare);
    steps.push(ofMinor.at(-1) ?? `v${to.major}.${m}.x`);
  }
  return [...steps, `v${to.version}`];
}

/** An image as written in cluster.yaml: its fields in the definition's order, none undefined. */
const imageObject = (image: ImageSpec): Record<string, string> => {
  const fields = new Map(Object.entries(image));
  return Object.fromEntries(
    IMAGE_ORDER.flatMap((k) => {
      const v = fields.get(k);
      return v === undefined ? [] : [[k, v]];
    }),
  );
};

/** Keys of a mapping in the order the spec's definition lists them. */
const SPEC_ORDER = Object.keys(ClusterSpecDefinition.properties);
const IMAGE_ORDER = Object.keys(ClusterSpecDefinition.properties.image.properties);
const POOL_ORDER = Object.keys(ClusterSpecDefinition.properties.nodePools.items.properties);

/** Sets `key` in a YAML mapping: in place when present, else before the first key the definition lists after it. */
function setInOrder(doc: Document, map: YAMLMap, key: string, value: unknown, order: readonly string[]): void {
  const node = map.get(key, true);
  // An existing scalar keeps its comment and style; only its value changes.
  if (isScalar(node) && typeof value === "string") return void (node.value = value);
  if (map.has(key)) return void map.set(key, doc.createNode(value));
  const later = new Set(order.slice(order.indexOf(key) + 1));
  const at = map.items.findIndex((p) => later.has(String(isScalar(p.key) ? p.key.value : p.key)));
  const pair = doc.createPair(key, value);
  if (at < 0) map.items.push(pair);
  else map.items.splice(at, 0, pair);
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
  if (step.after.controlPlane !== spec.kubernetesVersion || !root.has("kubernetesVersion"))
    setInOrder(doc, root, "kubernetesVersion", step.after.controlPlane, SPEC_ORDER);
  // A new image is written whole (the object the step made), never merged into the old one.
  if (step.images.cluster !== spec.image) {
    if (step.images.cluster === undefined) root.delete("image");
    else setInOrder(doc, root, "image", imageObject(step.images.cluster), SPEC_ORDER);
  }
  const wanted = step.after.pools.map((p) => (p.version === step.after.controlPlane ? undefined : p.version));
  const changes = spec.nodePools.some((p, i) => p.kubernetesVersion !== wanted[i] || step.images.pools[i] !== p.image);
  if (!changes) return doc.toString({ lineWidth: 0 });
  // Without nodePools the spec has its one default pool: write it out to give it a version.
  if (!root.has("nodePools"))
    setInOrder(
      doc,
      root,
      "nodePools",
      spec.nodePools.map((p) => ({ name: p.name })),
      SPEC_ORDER,
    );
  const pools = root.get("nodePools");
  if (!isSeq(pools)) throw new Error(`internal error: nodePools of ${clusterSpecPath(spec.name)} is not a list`);
  spec.nodePools.forEach((p, i) => {
    const item = pools.items[i];
    if (!isMap(item))
      throw new Error(`internal error: nodePools.${i} of ${clusterSpecPath(spec.name)} is not a mapping`);
    const want = wanted[i];
    if (want === undefined) item.delete("kubernetesVersion");
    else setInOrder(doc, item, "kubernetesVersion", want, POOL_ORDER);
    const image = step.images.pools[i];
    if (image === p.image) return;
    if (image === undefined) item.delete("image");
    else setInOrder(doc, item, "image", imageObject(image), POOL_ORDER);
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * The clusters `upgrade --all` acts on: every one, or with `--ring` the clusters of that ring only (one ring at a
 * time, in the rings' order, as a release moves). An unknown ring is refused by name.
 */
export function upgradeRingSelection(
  specs: readonly ClusterSpec[],
  ring: string | undefined,
  rings: readonly string[],
  ringOf: (spec: ClusterSpec) => string,
): { specs: ClusterSpec[]; findings: Finding[] } {
  if (ring === undefined) return { specs: [...specs], findings: [] };
  if (!rings.includes(ring))
    return {
      specs: [],
      findings: [
        {
          path: "--ring",
          rule: "flag",
          severity: "error",
          message: `"${ring}" is not a ring; the rings are ${rings.join(", ")} (capi-gitops.yaml rollout.rings)`,
        },
      ],
    };
  return { specs: specs.filter((s) => ringOf(s) === ring), findings: [] };
}
