/**
 * Our rules over one rendered cluster (and the fleet): what no upstream webhook checks — references across objects,
 * one namespace per cluster, version skew across objects, zones in the region, CIDR overlaps, pool sizes, sync
 * safety, secrets, add-on coverage, the autoscaler. What a single object's webhook or CRD rejects is left to the
 * upstream admission layer (validate/admission.ts); the checks removed from here for it are listed in
 * validate/upstream-replaced.ts. Each rule is registered once (validate/registry.ts: severity, inputs, docs); the
 * cluster's rules are small checks (CLUSTER_RULES, made with defineRule) that report through their context, none
 * throws on odd input.
 */
import { isGroupKind } from "../k8s/kinds.js";
import { isIPv6 } from "node:net";
import type semver from "semver";
import type { Finding, Severity } from "../core/findings.js";
import { checkIpv4Cidr, cidrRange, cidrsOverlap } from "../cluster-spec/cidr.js";
import { MAX_KUBELET_SKEW, checkVersion } from "../cluster-spec/parse.js";
import { knownRegions, zonesOf } from "../cluster-spec/regions.js";
import { checkReferences } from "./references.js";
import { findSecretField } from "../core/secrets.js";
import type { RenderedCluster } from "../render/render.js";
import { AUTOSCALER, AWS_ACCOUNT_ANNOTATION, CAPI_GROUPS, GROUP, kubeconfigSecret } from "../k8s/capi.js";
import { get, groupOf, type K8sObject, list, record, strAt } from "../k8s/object.js";
import { ARGO_COMPARE_OPTIONS, ARGO_SYNC_OPTIONS, FLUX_PRUNE } from "../core/vocabulary.js";
import { clusterDir, clusterKustomizationPath, clusterSpecPath } from "../core/layout.js";
import { addonMinorFits, addonRules } from "./addon-rules.js";
import { type ClusterSpec, PROFILE_DEFAULTS } from "../cluster-spec/types.js";
import { objectNames } from "../plan/cluster.js";
import { staticIdentitySecrets } from "../plan/identity.js";
import type { RuleId } from "../core/rules.js";
import { defineRule, finding, type Rule, severityOf } from "./rule.js";
import { idOf, objectsOf, show } from "./read.js";

const { core: CORE, infra: INFRA, controlPlane: CP } = GROUP;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const { min: AUTOSCALER_MIN, max: AUTOSCALER_MAX } = AUTOSCALER;
/** Pod/service CIDRs may be IPv6 (IPv6-only and dual-stack clusters, e.g. CAPA's cluster-template-ipv6.yaml). */
const isIpv6Cidr = (v: string): boolean => {
  const [, address, length] = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(v) ?? [];
  return address !== undefined && isIPv6(address) && Number(length) <= 128;
};

/** The CAPI groups whose v1beta1 is deprecated since CAPI v1.11 (docs/book/src/reference/versions.md). */
const CAPI_V1BETA1 = new Set(
  [GROUP.core, GROUP.bootstrap, GROUP.controlPlane, GROUP.addons].map((g) => `${g}/v1beta1`),
);

export { findSecrets } from "../core/secrets.js";

/**
 * Every string of an object as `key: value` lines, for findSecrets: a key stays next to its value, and line breaks
 * inside values stay real (in JSON.stringify output, `\nAKIA…` has no word boundary before the key id).
 */
function textOf(v: unknown, key = ""): string {
  if (typeof v === "string") return `${key}: ${v}\n`;
  if (v === null || typeof v !== "object") return "";
  return Object.entries(v)
    .map(([k, x]) => `${k}\n${textOf(x, Array.isArray(v) ? key : k)}`)
    .join("");
}

/** What the rules of one cluster read, computed once per render; `report` files a finding of the rule that runs. */
export interface ClusterCheck {
  objs: K8sObject[];
  /** The Cluster (CAPI core group). */
  cluster: K8sObject | undefined;
  /** The AWSCluster the Cluster refers to (any AWSCluster when the Cluster names none). */
  awsCluster: K8sObject | undefined;
  /** The AWSCluster's region, and its zones when the region is known. */
  region: string | undefined;
  regionZones: readonly string[] | undefined;
  /** The control plane's version when valid (a version that is not one is the KCP webhook's finding). */
  cpVersion: semver.SemVer | undefined;
  /** A pool runs an older minor than the control plane (plan/upgrade.ts step 1 done, step 2 not yet). */
  upgrading: boolean;
  report: (o: K8sObject | undefined, path: string, message: string, severity?: Severity) => void;
}

type ClusterRule = Rule<RuleId, ClusterCheck>;
const clusterRule = (id: RuleId, check: (c: ClusterCheck) => void): ClusterRule => defineRule(id, check);

const pools = (objs: readonly K8sObject[]) =>
  objs.filter((x) => isGroupKind(x, CORE, "MachinePool") || isGroupKind(x, CORE, "MachineDeployment"));
const hasAnnotation = (o: K8sObject, key: string) => key in record(o.metadata?.annotations);

/** Deprecated CAPI API versions still served by v1.13 but planned to stop in v1.16. */
const deprecatedApi = clusterRule("deprecated-api", (c) => {
  for (const o of c.objs)
    if (CAPI_V1BETA1.has(o.apiVersion))
      c.report(
        o,
        "apiVersion",
        `${o.apiVersion} is deprecated (CAPI ≥ v1.11 stores v1beta2); ` +
          `use ${o.apiVersion.replace("v1beta1", "v1beta2")}`,
      );
});

/** Plaintext secrets: a Secret with data in Git. */
const noPlaintextSecrets = clusterRule("no-plaintext-secrets", (c) => {
  for (const o of c.objs)
    if (o.kind === "Secret" && groupOf(o.apiVersion) === "" && (o.data !== undefined || o.stringData !== undefined))
      c.report(
        o,
        o.data !== undefined ? "data" : "stringData",
        "a Secret with data is committed to Git; keep credentials out of the repository (see README, Safety) and " +
          "reference Secrets by name",
      );
});

/** Key material anywhere in what is synced. */
const noKeyMaterial = clusterRule("no-key-material", (c) => {
  for (const o of c.objs) {
    const leaked = findSecretField(o, textOf(o));
    if (leaked) c.report(o, leaked.path, `contains what looks like ${leaked.what}; never commit credentials`);
  }
});

/**
 * One namespace per cluster: the Argo CD project allows only the cluster's namespace, and CAPI resolves every
 * reference inside the Cluster's namespace (internal/webhooks/cluster.go, refs carry no namespace).
 */
const namespaceMismatch = clusterRule("namespace-mismatch", (c) => {
  const clusterNs = c.cluster?.metadata?.namespace;
  if (typeof clusterNs !== "string") return;
  for (const o of c.objs) {
    const ns = o.metadata?.namespace;
    if (o.kind === "Namespace" && groupOf(o.apiVersion) === "") {
      if (o.metadata?.name !== clusterNs)
        c.report(o, "metadata.name", `a cluster overlay may only create its own namespace "${clusterNs}"`);
    } else if (ns !== clusterNs)
      c.report(
        o,
        "metadata.namespace",
        `${ns === undefined ? "has no namespace" : `is in namespace "${String(ns)}"`}, ` +
          `but the cluster's objects live in "${clusterNs}"`,
      );
  }
});

/** Pools: version skew against the control plane (kubernetes.io version-skew-policy). */
const kubeletSkew = clusterRule("kubelet-skew", (c) => {
  const cp = c.cpVersion;
  if (!cp) return;
  for (const o of pools(c.objs)) {
    const ver = get(o, "spec.template.spec.version");
    if (ver === undefined) continue;
    const v = checkVersion(show(ver));
    if (typeof v === "string") continue;
    if (v.minor > cp.minor)
      c.report(
        o,
        "spec.template.spec.version",
        `${show(ver)} is a newer minor than the control plane (v${cp.version}); kubelets must not be newer than ` +
          "the API server (version-skew-policy)",
      );
    else if (cp.minor - v.minor > MAX_KUBELET_SKEW)
      c.report(
        o,
        "spec.template.spec.version",
        `${show(ver)} is more than ${MAX_KUBELET_SKEW} minors older than the control plane (v${cp.version})`,
      );
  }
});

/**
 * A MachineDeployment pool on another minor than the control plane (between `upgrade`'s two steps): CAPI's MachineSet
 * preflight check KubeadmVersionSkew (internal/controllers/machineset/machineset_preflight.go) creates no machine for
 * it — no roll-out, no autoscaler scale-up, no MachineHealthCheck replacement — until it runs the control plane's
 * minor, because kubeadm joins only at that minor. MachinePools have no such check. The box (`npm run e2e`) showed a
 * pool roll-out held this way.
 */
const kubeadmJoinSkew = clusterRule("kubeadm-join-skew", (c) => {
  const cp = c.cpVersion;
  if (!cp) return;
  for (const o of c.objs.filter((x) => isGroupKind(x, CORE, "MachineDeployment"))) {
    if (strAt(o, "spec.template.spec.bootstrap.configRef.kind") !== "KubeadmConfigTemplate") continue;
    const ver = get(o, "spec.template.spec.version");
    const v = ver === undefined ? undefined : checkVersion(show(ver));
    if (v === undefined || typeof v === "string" || v.minor >= cp.minor) continue;
    c.report(
      o,
      "spec.template.spec.version",
      `${show(ver)} is not the control plane's minor (v${cp.version}): CAPI creates no new machine for this pool ` +
        "(roll-out, autoscaler scale-up, MachineHealthCheck replacement) until it is — MachineSet preflight check " +
        "KubeadmVersionSkew; finish the upgrade (`npm run upgrade`, the pools' step) as soon as the control plane " +
        "has rolled, and change nothing else of the pool meanwhile",
    );
  }
});

/** Autoscaler ownership of replicas (internal/webhooks/machinepool.go defaults replicas from the annotations). */
const autoscaledNoReplicas = clusterRule("autoscaled-no-replicas", (c) => {
  for (const o of pools(c.objs))
    if ((hasAnnotation(o, AUTOSCALER_MIN) || hasAnnotation(o, AUTOSCALER_MAX)) && get(o, "spec.replicas") !== undefined)
      c.report(
        o,
        "spec.replicas",
        "the pool is autoscaled (autoscaler annotations) but sets replicas; Git and the autoscaler would fight — " +
          "remove spec.replicas",
      );
});

/**
 * A MachinePool's Machines carry its name as a label value (cluster.x-k8s.io/pool-name, api/core/v1beta2/
 * machine_types.go); the v1.13 MachinePool webhook does not check it (the MachineDeployment webhook does).
 */
const nameLength = clusterRule("name-length", (c) => {
  for (const o of c.objs.filter((x) => isGroupKind(x, CORE, "MachinePool"))) {
    const name = show(o.metadata?.name);
    if (!LABEL_VALUE.test(name) || name.length > 63)
      c.report(
        o,
        "metadata.name",
        "a MachinePool name must be a valid label value (≤ 63 characters): its Machines carry it in the label " +
          "cluster.x-k8s.io/pool-name",
      );
  }
});

/**
 * The cluster-autoscaler (plan/autoscaler.ts): one exists iff a pool carries the autoscaler annotations, it reaches
 * only this cluster (auto-discovery `clusterName=`, the cluster's own kubeconfig Secret) and runs at the control
 * plane's minor, or exactly one minor behind while a pool is (an upgrade in progress, plan/addon-version.ts)
 * (cluster-autoscaler is released per Kubernetes minor and supports that minor:
 * kubernetes/autoscaler cluster-autoscaler/README.md "Releases"). Deployments are found by their
 * `--cloud-provider=clusterapi` argument, whoever made them.
 */
const DISCOVERY = "--node-group-auto-discovery=clusterapi:";
const scalerContainers = (o: K8sObject): unknown[] =>
  list(get(o, "spec.template.spec.containers")).filter((x) =>
    [...list(get(x, "args")), ...list(get(x, "command"))].map(show).includes("--cloud-provider=clusterapi"),
  );
const discovery = (container: unknown): Record<string, string> | undefined => {
  const arg = list(get(container, "args"))
    .map(show)
    .find((a) => a.startsWith(DISCOVERY));
  if (arg === undefined) return undefined;
  return Object.fromEntries(
    arg
      .slice(DISCOVERY.length)
      .split(",")
      .map((kv) => [kv.split("=")[0] ?? "", kv.split("=").slice(1).join("=")]),
  );
};
/** The cluster's name, its autoscaled pools, every clusterapi autoscaler, and those that serve the cluster. */
function autoscaling(c: ClusterCheck) {
  const name = c.cluster?.metadata?.name;
  if (typeof name !== "string") return undefined;
  const autoscaled = pools(c.objs).filter((o) => hasAnnotation(o, AUTOSCALER_MIN) && hasAnnotation(o, AUTOSCALER_MAX));
  const scalers = c.objs.filter((o) => isGroupKind(o, "apps", "Deployment") && scalerContainers(o).length > 0);
  const mine = scalers.filter((o) => scalerContainers(o).some((x) => discovery(x)?.clusterName === name));
  return { name, autoscaled, scalers, mine };
}
const autoscalerDiscovery = clusterRule("autoscaler-discovery", (c) => {
  const a = autoscaling(c);
  if (!a) return;
  for (const o of a.scalers.filter((x) => !a.mine.includes(x)))
    c.report(
      o,
      "spec.template.spec.containers",
      `a clusterapi cluster-autoscaler in cluster ${a.name}'s overlay must limit auto-discovery to it: ` +
        `${DISCOVERY}namespace=<namespace>,clusterName=${a.name}`,
    );
});
const autoscalerPresent = clusterRule("autoscaler-present", (c) => {
  const a = autoscaling(c);
  const [first] = a?.autoscaled ?? [];
  if (a && first && a.mine.length === 0)
    c.report(
      first,
      "metadata.annotations",
      `${a.autoscaled.length} pool(s) carry the autoscaler annotations but no cluster-autoscaler serves cluster ` +
        `${a.name}; nothing would scale them (generate adds one; or set autoscaling: false)`,
    );
});
const autoscalerUnused = clusterRule("autoscaler-unused", (c) => {
  const a = autoscaling(c);
  const [first] = a?.mine ?? [];
  if (a && first && a.autoscaled.length === 0)
    c.report(first, "", `no pool of cluster ${a.name} is autoscaled; this cluster-autoscaler has nothing to scale`);
});
const autoscalerUnique = clusterRule("autoscaler-unique", (c) => {
  const a = autoscaling(c);
  const [, second] = a?.mine ?? [];
  if (a && second)
    c.report(
      second,
      "",
      `${a.mine.length} cluster-autoscalers serve cluster ${a.name}; they would fight over its pools`,
    );
});
const autoscalerKubeconfig = clusterRule("autoscaler-kubeconfig", (c) => {
  const a = autoscaling(c);
  if (!a) return;
  const secret = kubeconfigSecret(a.name).name;
  for (const o of a.mine) {
    const secrets = list(get(o, "spec.template.spec.volumes"))
      .map((v) => get(v, "secret.secretName"))
      .filter((v) => v !== undefined)
      .map(show);
    if (!secrets.includes(secret))
      c.report(
        o,
        "spec.template.spec.volumes",
        `the autoscaler must reach cluster ${a.name} through its kubeconfig Secret ${secret} ` +
          "(mounted, passed with --kubeconfig)",
      );
  }
});
const autoscalerMinor = clusterRule("autoscaler-minor", (c) => {
  const a = autoscaling(c);
  for (const o of a?.mine ?? [])
    for (const x of scalerContainers(o)) {
      const image = show(get(x, "image"));
      const [, major, minor] = /:v?(\d+)\.(\d+)\.\d+[^:/]*$/.exec(image) ?? [];
      if (major === undefined || minor === undefined)
        c.report(
          o,
          "spec.template.spec.containers",
          `image ${image} has no version tag; pin the cluster-autoscaler release of the cluster's minor`,
        );
      else if (c.cpVersion && !addonMinorFits(Number(major), Number(minor), c.cpVersion, c.upgrading))
        c.report(
          o,
          "spec.template.spec.containers",
          `image ${image} is cluster-autoscaler ${major}.${minor}, but the control plane runs ` +
            `v${c.cpVersion.version}; run the autoscaler of the cluster's minor (versions.json ` +
            `clusterAutoscaler.byMinor)${c.upgrading ? ", or during an upgrade exactly one minor behind it" : ""}`,
        );
    }
});

/** Placement: zones in the AWSCluster's region (pkg/cloud/scope/shared.go picks subnets by zone). */
const regionKnown = clusterRule("region-known", (c) => {
  if (c.awsCluster && c.region && !c.regionZones)
    c.report(c.awsCluster, "spec.region", `unknown AWS region "${c.region}"`);
});
const azInRegion = clusterRule("az-in-region", (c) => {
  const inRegion = (o: K8sObject, path: string, z: unknown) => {
    if (c.regionZones && typeof z === "string" && !c.regionZones.includes(z))
      c.report(o, path, `zone "${z}" is not in the cluster's region ${c.region}`);
  };
  const aws = c.awsCluster;
  if (aws)
    list(get(aws, "spec.network.subnets")).forEach((s, i) =>
      inRegion(aws, `spec.network.subnets.${i}.availabilityZone`, get(s, "availabilityZone")),
    );
  for (const o of c.objs.filter((x) => isGroupKind(x, CORE, "MachineDeployment")))
    inRegion(o, "spec.template.spec.failureDomain", get(o, "spec.template.spec.failureDomain"));
  for (const o of c.objs.filter((x) => isGroupKind(x, INFRA, "AWSMachinePool")))
    list(get(o, "spec.availabilityZones")).forEach((z, i) => inRegion(o, `spec.availabilityZones.${i}`, z));
});

/**
 * AWSMachinePool: zones distinct, minSize ≤ maxSize (neither is checked by its webhook,
 * exp/webhooks/awsmachinepool_webhook.go, nor by its CRD).
 */
const azDistinct = clusterRule("az-distinct", (c) => {
  for (const o of c.objs.filter((x) => isGroupKind(x, INFRA, "AWSMachinePool"))) {
    const zones = list(get(o, "spec.availabilityZones"));
    if (new Set(zones).size !== zones.length) c.report(o, "spec.availabilityZones", "zones must be distinct");
  }
});
const poolSize = clusterRule("pool-size", (c) => {
  for (const o of c.objs.filter((x) => isGroupKind(x, INFRA, "AWSMachinePool"))) {
    const min = get(o, "spec.minSize");
    const max = get(o, "spec.maxSize");
    if (typeof min === "number" && typeof max === "number" && min > max)
      c.report(o, "spec.minSize", `minSize ${min} is larger than maxSize ${max}`);
  }
});

const nlb = clusterRule("nlb", (c) => {
  if (c.awsCluster && get(c.awsCluster, "spec.controlPlaneLoadBalancer.loadBalancerType") === undefined)
    c.report(
      c.awsCluster,
      "spec.controlPlaneLoadBalancer.loadBalancerType",
      "no loadBalancerType: CAPA defaults to the deprecated classic ELB; set nlb",
    );
});

/** Networks: pods/services/VPC disjoint (a CIDR that is not one is the Cluster or AWSCluster webhook's finding). */
const cidrOverlap = clusterRule("cidr-overlap", (c) => {
  type Net = { o: K8sObject | undefined; path: string; value: unknown };
  const blocks = (which: string): Net[] =>
    list(get(c.cluster, `spec.clusterNetwork.${which}.cidrBlocks`)).map((value, i) => ({
      o: c.cluster,
      path: `spec.clusterNetwork.${which}.cidrBlocks.${i}`,
      value,
    }));
  const nets: Net[] = [
    { o: c.awsCluster, path: "spec.network.vpc.cidrBlock", value: get(c.awsCluster, "spec.network.vpc.cidrBlock") },
    ...blocks("pods"),
    ...blocks("services"),
  ];
  const valid = nets.flatMap(({ o, path, value }) => {
    if (value === undefined) return [];
    const v = show(value);
    return (o === c.cluster && v.includes(":") ? isIpv6Cidr(v) : checkIpv4Cidr(v).ok) ? [{ o, path, v }] : [];
  });
  valid.forEach((b, j) => {
    for (const a of valid.slice(0, j))
      if (cidrsOverlap(a.v, b.v)) c.report(b.o, b.path, `${b.v} overlaps ${a.path} (${a.v})`);
  });
});

/** The rules run over each cluster's render, one by one (references and add-ons have their own modules). */
export const CLUSTER_RULES: readonly ClusterRule[] = [
  deprecatedApi,
  noPlaintextSecrets,
  noKeyMaterial,
  namespaceMismatch,
  kubeletSkew,
  kubeadmJoinSkew,
  autoscaledNoReplicas,
  nameLength,
  autoscalerDiscovery,
  autoscalerPresent,
  autoscalerUnused,
  autoscalerUnique,
  autoscalerKubeconfig,
  autoscalerMinor,
  regionKnown,
  azInRegion,
  azDistinct,
  poolSize,
  nlb,
  cidrOverlap,
];

/** What every rule of a cluster reads: its Cluster, AWSCluster and region, the control plane's version. */
function clusterFacts(objs: K8sObject[]): Omit<ClusterCheck, "report"> {
  const cluster = objs.find((o) => isGroupKind(o, CORE, "Cluster"));
  const kcp = objs.find((o) => isGroupKind(o, CP, "KubeadmControlPlane"));
  const kcpVersion = kcp ? checkVersion(show(get(kcp, "spec.version"))) : undefined;
  const cpVersion = typeof kcpVersion === "string" ? undefined : kcpVersion;
  // An upgrade in progress: a pool still runs an older minor than the control plane. The version-bound add-ons may
  // then be exactly one minor behind (plan/addon-version.ts).
  const upgrading =
    cpVersion !== undefined &&
    pools(objs).some((x) => {
      const v = checkVersion(show(get(x, "spec.template.spec.version")));
      return typeof v !== "string" && v.major === cpVersion.major && v.minor < cpVersion.minor;
    });
  const infraName = get(cluster, "spec.infrastructureRef.name");
  const awsCluster = objs.find(
    (o) => isGroupKind(o, INFRA, "AWSCluster") && (infraName === undefined || o.metadata?.name === infraName),
  );
  const regionValue = get(awsCluster, "spec.region");
  const region = regionValue === undefined || regionValue === null ? undefined : show(regionValue);
  // Only own keys of the region table: "constructor" or "__proto__" are no regions.
  const regionZones = region && knownRegions().includes(region) ? zonesOf(region) : undefined;
  return { objs, cluster, awsCluster, region, regionZones, cpVersion, upgrading };
}

export function clusterRules(rc: RenderedCluster, file: string): Finding[] {
  const findings: Finding[] = [];
  const objs = objectsOf(rc.objects);
  const facts = clusterFacts(objs);
  const fileOf = (o: K8sObject) => rc.origins[rc.objects.indexOf(o)] ?? file;
  findings.push(...checkReferences(objs, { cluster: rc.cluster, file }));
  for (const rule of CLUSTER_RULES)
    rule.check({
      ...facts,
      report: (o, path, message, severity) =>
        findings.push({
          cluster: rc.cluster,
          file: o ? fileOf(o) : file,
          path: o ? `${idOf(o)}:${path}` : path,
          rule: rule.id,
          severity: severityOf(rule, severity),
          message,
        }),
    });
  findings.push(
    ...addonRules(objs, { cluster: rc.cluster, cpVersion: facts.cpVersion, upgrading: facts.upgrading, fileOf }),
  );
  return findings;
}

/** The account of clusters without an identity: the one CAPA's controller runs in. */
const CONTROLLER_ACCOUNT = "the controller's account";

/**
 * Fleet rules: unique Cluster names and namespaces; VPC CIDRs disjoint between the clusters of one AWS account, in
 * every region (clusters in different accounts may reuse a range). An overlap is a warning
 * (clusters with live VPCs, e.g. imported ones on CAPA's default 10.0.0.0/16, exist and cannot move) except on a
 * cluster in `newVpc` — its VPC CIDR is new since the base (validate --changed-since: an added cluster, or a changed
 * network.vpcCidr) — where it is an error: two pull requests cut from the same main that took overlapping ranges, the
 * second fails CI rather than merging a fleet whose VPCs can never be peered. The clash is reported on the later
 * cluster (with --changed-since: the changed one).
 */
export function fleetRules(rendered: readonly RenderedCluster[], newVpc: ReadonlySet<string> = new Set()): Finding[] {
  const findings: Finding[] = [];
  const seenName = new Map<string, string>();
  const seenVpc: [cidr: string, owner: string, range: { start: bigint; end: bigint }, place: string][] = [];
  for (const rc of rendered) {
    const objs = objectsOf(rc.objects);
    const cluster = objs.find((o) => isGroupKind(o, CORE, "Cluster") && typeof o.metadata?.name === "string");
    if (cluster) {
      const name = cluster.metadata.name;
      const other = seenName.get(name);
      if (other)
        findings.push(
          finding(
            "fleet-unique-name",
            { cluster: rc.cluster, file: clusterKustomizationPath(rc.cluster), path: `Cluster/${name}:metadata.name` },
            `Cluster name "${name}" is also rendered by ${clusterDir(other)}`,
            "error",
          ),
        );
      else seenName.set(name, rc.cluster);
    }
    const aws = objs.find((o) => isGroupKind(o, INFRA, "AWSCluster"));
    const vpc = strAt(aws, "spec.network.vpc.cidrBlock");
    const region = get(aws, "spec.region");
    // The account CAPA creates the VPC in: the identity's (plan/identity.ts annotates it), else the controller's.
    const account = show(record(aws?.metadata?.annotations)[AWS_ACCOUNT_ANNOTATION] ?? CONTROLLER_ACCOUNT);
    // An invalid CIDR has its own finding.
    const range = vpc === undefined ? undefined : cidrRange(vpc);
    if (vpc === undefined || range === undefined) continue;
    // VPCs of different accounts may reuse a range (each account is its own address plan); within one account,
    // regions too are compared, since inter-region peering and transit gateways join them.
    const place = account;
    const other = seenVpc.find(([, , r, p]) => p === place && r.start <= range.end && range.start <= r.end);
    if (!other) {
      const where = [
        region ? show(region) : undefined,
        account === CONTROLLER_ACCOUNT ? undefined : `account ${account}`,
      ];
      const label = where.filter(Boolean).join(", ");
      seenVpc.push([vpc, `${rc.cluster}${label ? ` (${label})` : ""}`, range, place]);
      continue;
    }
    const isNew = newVpc.has(rc.cluster);
    findings.push(
      finding(
        "fleet-unique-vpc-cidr",
        { cluster: rc.cluster, file: clusterSpecPath(rc.cluster), path: "network.vpcCidr" },
        `VPC CIDR ${vpc} ${other[0] === vpc ? "is also used" : `overlaps ${other[0]}, used`} by cluster ` +
          `${other[1]} in the same AWS account; VPCs that overlap can never be peered or joined by a ` +
          "transit gateway. " +
          (isNew
            ? `Give ${clusterDir(rc.cluster)} another network.vpcCidr before its VPC exists (new-cluster picks a ` +
              "free one from the name; if another pull request took it meanwhile, rebase and run new-cluster again)"
            : "Unique CIDRs keep peering and transit gateways possible"),
        isNew ? "error" : "warning",
      ),
    );
  }
  return findings;
}

/**
 * A Secret in Git named like a static identity's `secretRef` (plan/identity.ts): the identity's AWS credentials
 * belong in CAPA's namespace only, created outside Git — refused even without data (the next edit would add it).
 */
export function staticIdentitySecretRules(
  specs: readonly ClusterSpec[],
  renders: readonly { objects: readonly K8sObject[]; file: string }[],
): Finding[] {
  const names = new Set(staticIdentitySecrets(specs));
  if (names.size === 0) return [];
  return renders.flatMap((r) =>
    objectsOf(r.objects)
      .filter((o) => o.kind === "Secret" && groupOf(o.apiVersion) === "" && names.has(o.metadata.name))
      .map((o) =>
        finding(
          "static-identity-secret",
          { file: r.file, path: `${idOf(o)}:metadata.name` },
          `Secret ${o.metadata.name} is a static identity's credentials (identity.secretRef): create it in CAPA's ` +
            "namespace outside Git (README, Account identities) and remove it from the repository",
        ),
      ),
  );
}

/** The comma-separated options of an annotation. */
const optionsOf = (ann: Record<string, unknown>, key: string): string[] =>
  show(ann[key] ?? "")
    .split(",")
    .map((s) => s.trim());

/**
 * Sync safety of a cluster's objects: a CAPI/CAPA object Argo CD could prune/delete or Flux could prune would be
 * deleted on its own, out of CAPI's teardown order, when it leaves Git (see plan/sync.ts).
 */
export function syncSafetyRules(rc: RenderedCluster): Finding[] {
  const findings: Finding[] = [];
  rc.objects.forEach((o, i) => {
    if (o === null || typeof o !== "object" || !CAPI_GROUPS.test(groupOf(o.apiVersion))) return;
    const ann = record(o.metadata?.annotations);
    const argo = optionsOf(ann, ARGO_SYNC_OPTIONS);
    // One annotation key carries both Argo CD options: the hint names it once, with the value it should have.
    const argoMissing = ["Prune=false", "Delete=false"].filter((x) => !argo.includes(x));
    const argoValue = [...argo.filter((x) => x && !/^(Prune|Delete)=/.test(x)), "Prune=false", "Delete=false"].join(
      ",",
    );
    const missing = [
      argoMissing.length ? `${ARGO_SYNC_OPTIONS}: ${argoValue}` : undefined,
      ann[FLUX_PRUNE] === "disabled" ? undefined : `${FLUX_PRUNE}: disabled`,
    ].filter(Boolean);
    if (missing.length)
      findings.push(
        finding(
          "sync-safety",
          {
            cluster: rc.cluster,
            file: rc.origins[i] ?? clusterKustomizationPath(rc.cluster),
            path: `${idOf(o)}:metadata.annotations`,
          },
          `Argo CD or Flux could delete this object on its own; add ${missing.join(", ")}`,
          "warning",
        ),
      );
  });
  return [...findings, ...extraneousRule(rc)];
}

/**
 * An object Argo CD never prunes (Prune=false) stays on the management cluster when Git stops rendering it; without
 * `compare-options: IgnoreExtraneous` it then holds its Application OutOfSync until deleted by hand, hiding real drift
 * (argo-cd v3.5.7 controller/state.go: only that option keeps an object needing pruning out of the app's status).
 */
function extraneousRule(rc: RenderedCluster): Finding[] {
  return rc.objects.flatMap((o, i): Finding[] => {
    if (o === null || typeof o !== "object") return [];
    const ann = record(o.metadata?.annotations);
    const compare = optionsOf(ann, ARGO_COMPARE_OPTIONS);
    if (!optionsOf(ann, ARGO_SYNC_OPTIONS).includes("Prune=false") || compare.includes("IgnoreExtraneous")) return [];
    const value = [...compare.filter(Boolean), "IgnoreExtraneous"].join(",");
    return [
      finding(
        "sync-extraneous",
        {
          cluster: rc.cluster,
          file: rc.origins[i] ?? clusterKustomizationPath(rc.cluster),
          path: `${idOf(o)}:metadata.annotations`,
        },
        "Argo CD never prunes this object (Prune=false), so once Git stops rendering it it keeps the Application " +
          `OutOfSync; add ${ARGO_COMPARE_OPTIONS}: ${value} (then \`npm run leftovers\` lists it for deletion)`,
      ),
    ];
  });
}

const hasResourcesFinalizer = (o: K8sObject, path: string) =>
  list(get(o, path)).some((f) => show(f).includes("resources-finalizer"));

/** The management manifests: sync objects that can never cascade-delete clusters, providers with MachinePool on. */
export function managementRules(objects: readonly K8sObject[], file: string): Finding[] {
  const findings: Finding[] = [];
  const push = (o: K8sObject, path: string, rule: RuleId, message: string, severity?: Severity) =>
    findings.push(finding(rule, { file, path: `${idOf(o)}:${path}` }, message, severity));
  for (const o of objectsOf(objects)) {
    if (o.kind === "Secret" && (o.data !== undefined || o.stringData !== undefined))
      push(
        o,
        "data",
        "no-plaintext-secrets",
        "a Secret with data is committed to Git; reference credentials by Secret name only",
      );
    const leaked = findSecretField(o, textOf(o));
    if (leaked)
      push(o, leaked.path, "no-key-material", `contains what looks like ${leaked.what}; never commit credentials`);
    if (o.kind === "ApplicationSet" && groupOf(o.apiVersion) === "argoproj.io") {
      if (get(o, "spec.syncPolicy.preserveResourcesOnDeletion") !== true)
        push(
          o,
          "spec.syncPolicy.preserveResourcesOnDeletion",
          "sync-safety",
          "must be true: removing a cluster directory would otherwise delete every object of the cluster at once",
          "error",
        );
      if (hasResourcesFinalizer(o, "spec.template.metadata.finalizers"))
        push(
          o,
          "spec.template.metadata.finalizers",
          "sync-safety",
          "the resources finalizer makes deleting an Application cascade to the CAPI objects",
          "error",
        );
      const options = list(get(o, "spec.template.spec.syncPolicy.syncOptions"));
      if (!options.includes("ServerSideApply=true"))
        push(
          o,
          "spec.template.spec.syncPolicy.syncOptions",
          "sync-ssa",
          "use ServerSideApply=true (CAPI controllers own parts of these objects)",
        );
      const ignored = list(get(o, "spec.template.spec.ignoreDifferences"))
        .filter((d) => list(get(d, "jsonPointers")).includes("/spec/replicas"))
        .map((d) => get(d, "kind"));
      if (!ignored.includes("MachinePool") || !options.includes("RespectIgnoreDifferences=true"))
        push(
          o,
          "spec.template.spec.ignoreDifferences",
          "sync-autoscaler",
          "ignore /spec/replicas of MachinePools (RespectIgnoreDifferences=true) so Argo CD does not fight the " +
            "autoscaler",
        );
    }
    if (
      o.kind === "Application" &&
      groupOf(o.apiVersion) === "argoproj.io" &&
      hasResourcesFinalizer(o, "metadata.finalizers")
    )
      push(
        o,
        "metadata.finalizers",
        "sync-safety",
        "the resources finalizer makes deleting this Application cascade to the CAPI objects",
        "error",
      );
    if (
      o.kind === "Kustomization" &&
      groupOf(o.apiVersion) === "kustomize.toolkit.fluxcd.io" &&
      get(o, "spec.deletionPolicy") !== "Orphan"
    )
      push(
        o,
        "spec.deletionPolicy",
        "sync-safety",
        "must be Orphan: deleting this Kustomization would otherwise delete the cluster's objects at once",
        "error",
      );
  }
  return findings;
}

/** A CAPI object's identity as diff keys it (group, kind, namespace, name). */
export interface CoreObject {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * What every render of a cluster must contain, by its spec: its Cluster and AWSCluster (both named like the cluster),
 * its KubeadmControlPlane and each spec'd pool — a MachinePool, or one MachineDeployment per zone of the pool
 * (plan/cluster.ts objectNames). Their templates and bootstrap configs are what these reference (checkReferences).
 */
export function expectedCoreObjects(spec: ClusterSpec): CoreObject[] {
  const names = objectNames(spec);
  const at = (group: string, kind: string, name: string): CoreObject => ({
    group,
    kind,
    namespace: spec.namespace,
    name,
  });
  return [
    at(CORE, "Cluster", names.cluster),
    at(INFRA, "AWSCluster", names.cluster),
    at(CP, "KubeadmControlPlane", names.controlPlane),
    ...spec.nodePools.flatMap((p) =>
      spec.workers === "MachineDeployment"
        ? p.availabilityZones.map((z) => at(CORE, "MachineDeployment", names.zoneDeployment(p, z)))
        : [at(CORE, "MachinePool", names.pool(p))],
    ),
  ];
}

const coreKey = (o: CoreObject) => `${o.group}|${o.kind}|${o.namespace}|${o.name}`;
export const coreObjectOf = (o: K8sObject): CoreObject => ({
  group: groupOf(o.apiVersion),
  kind: show(o.kind),
  namespace: show(o.metadata?.namespace ?? ""),
  name: show(o.metadata?.name ?? ""),
});

/** The expected core objects (expectedCoreObjects) a render lacks. */
export function missingCoreObjects(objects: readonly unknown[], spec: ClusterSpec): CoreObject[] {
  const present = new Set(objectsOf(objects).map((o) => coreKey(coreObjectOf(o))));
  return expectedCoreObjects(spec).filter((e) => !present.has(coreKey(e)));
}

/**
 * Rule `render-complete`: a cluster's render holds its Cluster, AWSCluster, control plane and every spec'd pool. A
 * cluster layer with `resources: []`, a `$patch: delete` or a dropped resource renders an empty or partial cluster
 * that kustomize, kubeconform and the webhooks all accept (nothing is left to reject) — and that the sync would
 * apply as "nothing to do" while the live cluster keeps running unmanaged. Only for builds that succeeded.
 */
export function renderCompleteness(rc: RenderedCluster, spec: ClusterSpec): Finding[] {
  const missing = missingCoreObjects(rc.objects, spec);
  const empty = objectsOf(rc.objects).length === 0;
  return missing.map((m) =>
    finding(
      "render-complete",
      { cluster: rc.cluster, file: clusterKustomizationPath(rc.cluster), path: `${m.kind}/${m.name}` },
      `${empty ? "the cluster renders no objects at all: " : ""}${m.kind} ${m.namespace}/${m.name} (from ` +
        `${clusterSpecPath(rc.cluster)}) is not in the render of ${clusterDir(rc.cluster)}; keep \`generated\` in ` +
        "its resources and do not delete generated objects with patches (remove a pool from cluster.yaml instead)",
    ),
  );
}

/** The smallest control plane that keeps etcd's quorum when one machine fails. */
export const HA_CONTROL_PLANE = PROFILE_DEFAULTS.prod.controlPlaneReplicas;

/**
 * Rule `prod-control-plane-ha`: a `profile: prod` cluster runs at least HA_CONTROL_PLANE control-plane machines — with
 * one, a single failure stops the API server and loses etcd (no quorum survives). The KCP webhook allows any odd
 * count, so nothing upstream says it. Reported on cluster.yaml when the spec sets it, on the cluster's own
 * kustomization.yaml when a patch does.
 */
export function controlPlaneHaRule(rc: RenderedCluster, spec: ClusterSpec): Finding[] {
  if (spec.profile !== "prod") return [];
  const name = objectNames(spec).controlPlane;
  const kcp = objectsOf(rc.objects).find((o) => isGroupKind(o, CP, "KubeadmControlPlane") && o.metadata?.name === name);
  const replicas = get(kcp, "spec.replicas");
  if (!kcp || typeof replicas !== "number" || replicas >= HA_CONTROL_PLANE) return [];
  const fromSpec = replicas === spec.controlPlane.replicas;
  return [
    finding(
      "prod-control-plane-ha",
      {
        cluster: rc.cluster,
        file: fromSpec ? clusterSpecPath(rc.cluster) : clusterKustomizationPath(rc.cluster),
        path: fromSpec ? "controlPlane.replicas" : `KubeadmControlPlane/${name}:spec.replicas`,
      },
      `a profile: prod cluster runs ${replicas} control-plane machine(s); with fewer than ${HA_CONTROL_PLANE} one ` +
        "failure stops the API server and etcd loses its quorum. Set controlPlane.replicas to " +
        `${HA_CONTROL_PLANE} (or 5), or use profile: dev`,
    ),
  ];
}
