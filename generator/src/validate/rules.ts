/**
 * Our rules over one rendered cluster (and the fleet): what no upstream webhook checks — references across objects,
 * one namespace per cluster, version skew across objects, zones in the region, CIDR overlaps, pool sizes, sync
 * safety, secrets, add-on coverage, the autoscaler. What a single object's webhook or CRD rejects is left to the
 * upstream admission layer (validate/admission.ts); the checks removed from here for it are listed in
 * validate/upstream-replaced.ts. Rules are small functions that push findings; none throws on odd input.
 */
import { isIPv6 } from "node:net";
import semver from "semver";
import type { Finding, Severity } from "../core/findings.js";
import { checkIpv4Cidr, cidrsOverlap } from "../cluster-spec/cidr.js";
import { MAX_KUBELET_SKEW, checkVersion } from "../cluster-spec/parse.js";
import { knownRegions, zonesOf } from "../cluster-spec/regions.js";
import { checkReferences, show } from "./references.js";
import { findSecretField } from "../core/secrets.js";
import type { RenderedCluster, RenderedObject } from "../render/render.js";
import { AUTOSCALER, CAPI_GROUPS, GROUP, kubeconfigSecret } from "../k8s/capi.js";
import { get as getPath, groupOf, isRecord } from "../k8s/object.js";
import { clusterKustomizationPath, clusterSpecPath } from "../core/layout.js";
import { addonMinorFits, addonRules } from "./addon-rules.js";
import { type ClusterSpec, PROFILE_DEFAULTS } from "../cluster-spec/types.js";
import { objectNames } from "../plan/cluster.js";

type Push = (o: RenderedObject | undefined, path: string, rule: string, message: string, severity?: Severity) => void;
/** Rules read odd input as `any` (a missing field is undefined, never a throw). */
const get = (o: unknown, p: string): any => getPath(o, p);
/** Odd input (a hand-edited overlay, a CRD field kustomize does not check) never makes a rule throw. */
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const objectsOf = (objs: readonly unknown[]): RenderedObject[] => objs.filter((o): o is RenderedObject => isRecord(o));
const is = (o: RenderedObject, g: string, kind: string) => o.kind === kind && groupOf(o.apiVersion) === g;
const { core: CORE, infra: INFRA, controlPlane: CP } = GROUP;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const { min: AUTOSCALER_MIN, max: AUTOSCALER_MAX } = AUTOSCALER;
/** A Cluster's pod/service CIDRs may be IPv6 (IPv6-only and dual-stack clusters, e.g. CAPA's cluster-template-ipv6.yaml). */
const isIpv6Cidr = (v: string): boolean => {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(v);
  return Boolean(m && isIPv6(m[1]!) && Number(m[2]) <= 128);
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

export function clusterRules(rc: RenderedCluster, file: string): Finding[] {
  const findings: Finding[] = [];
  const objs = objectsOf(rc.objects);
  const push: Push = (o, path, rule, message, severity = "error") => {
    const i = o ? rc.objects.indexOf(o) : -1;
    findings.push({
      cluster: rc.cluster,
      file: (i >= 0 ? rc.origins[i] : undefined) ?? file,
      path: o ? `${show(o.kind)}/${show(o.metadata?.name)}:${path}` : path,
      rule,
      severity,
      message,
    });
  };

  findings.push(...checkReferences(objs, { cluster: rc.cluster, file }));

  for (const o of objs) {
    // Deprecated CAPI API versions still served by v1.13 but planned to stop in v1.16.
    if (CAPI_V1BETA1.has(o.apiVersion))
      push(
        o,
        "apiVersion",
        "deprecated-api",
        `${o.apiVersion} is deprecated (CAPI ≥ v1.11 stores v1beta2); use ${o.apiVersion.replace("v1beta1", "v1beta2")}`,
        "warning",
      );
    // Plaintext secrets: a Secret with data in Git, or key material anywhere in what is synced.
    if (o.kind === "Secret" && groupOf(o.apiVersion) === "" && (o.data !== undefined || o.stringData !== undefined))
      push(
        o,
        o.data !== undefined ? "data" : "stringData",
        "no-plaintext-secrets",
        "a Secret with data is committed to Git; keep credentials out of the repository (see README, Safety) and reference Secrets by name",
      );
    const leaked = findSecretField(o, textOf(o));
    if (leaked)
      push(o, leaked.path, "no-key-material", `contains what looks like ${leaked.what}; never commit credentials`);
  }

  // One namespace per cluster: the Argo CD project allows only the cluster's namespace, and CAPI resolves every
  // reference inside the Cluster's namespace (internal/webhooks/cluster.go, refs carry no namespace).
  const theCluster = objs.find((o) => is(o, CORE, "Cluster"));
  const clusterNs = theCluster?.metadata?.namespace;
  if (theCluster && typeof clusterNs === "string")
    for (const o of objs) {
      const ns = o.metadata?.namespace;
      if (o.kind === "Namespace" && groupOf(o.apiVersion) === "") {
        if (o.metadata?.name !== clusterNs)
          push(
            o,
            "metadata.name",
            "namespace-mismatch",
            `a cluster overlay may only create its own namespace "${clusterNs}"`,
          );
      } else if (ns !== clusterNs)
        push(
          o,
          "metadata.namespace",
          "namespace-mismatch",
          `${ns === undefined ? "has no namespace" : `is in namespace "${String(ns)}"`}, but the cluster's objects live in "${clusterNs}"`,
        );
    }

  // The control plane's version, for the skew rules (a version that is not one is the KCP webhook's finding).
  const kcp = objs.find((o) => is(o, CP, "KubeadmControlPlane"));
  const kcpVersion = kcp ? checkVersion(show(get(kcp, "spec.version"))) : undefined;
  const cpVersion = typeof kcpVersion === "string" ? undefined : kcpVersion;

  // Pools: version skew against the control plane (kubernetes.io version-skew-policy), autoscaler ownership of replicas
  // (internal/webhooks/machinepool.go defaults replicas from the annotations).
  for (const o of objs.filter((x) => is(x, CORE, "MachinePool") || is(x, CORE, "MachineDeployment"))) {
    const ver = get(o, "spec.template.spec.version");
    if (ver !== undefined) {
      const v = checkVersion(show(ver));
      if (typeof v !== "string" && cpVersion) {
        if (v.minor > cpVersion.minor)
          push(
            o,
            "spec.template.spec.version",
            "kubelet-skew",
            `${show(ver)} is a newer minor than the control plane (v${cpVersion.version}); kubelets must not be newer than the API server (version-skew-policy)`,
          );
        else if (cpVersion.minor - v.minor > MAX_KUBELET_SKEW)
          push(
            o,
            "spec.template.spec.version",
            "kubelet-skew",
            `${show(ver)} is more than ${MAX_KUBELET_SKEW} minors older than the control plane (v${cpVersion.version})`,
          );
      }
    }
    const ann = record(o.metadata?.annotations);
    if ((AUTOSCALER_MIN in ann || AUTOSCALER_MAX in ann) && get(o, "spec.replicas") !== undefined)
      push(
        o,
        "spec.replicas",
        "autoscaled-no-replicas",
        "the pool is autoscaled (autoscaler annotations) but sets replicas; Git and the autoscaler would fight — remove spec.replicas",
      );
    // A MachinePool's Machines carry its name as a label value (cluster.x-k8s.io/pool-name, api/core/v1beta2/
    // machine_types.go); the v1.13 MachinePool webhook does not check it (the MachineDeployment webhook does).
    if (o.kind === "MachinePool" && (!LABEL_VALUE.test(show(o.metadata?.name)) || show(o.metadata?.name).length > 63))
      push(
        o,
        "metadata.name",
        "name-length",
        "a MachinePool name must be a valid label value (≤ 63 characters): its Machines carry it in the label cluster.x-k8s.io/pool-name",
      );
  }

  // An upgrade in progress: a pool still runs an older minor than the control plane (plan/upgrade.ts step 1 done, step
  // 2 not yet). The version-bound add-ons may then be exactly one minor behind (plan/addon-version.ts).
  const upgrading =
    cpVersion !== undefined &&
    objs.some((x) => {
      if (!is(x, CORE, "MachinePool") && !is(x, CORE, "MachineDeployment")) return false;
      const v = checkVersion(show(get(x, "spec.template.spec.version")));
      return typeof v !== "string" && v.major === cpVersion.major && v.minor < cpVersion.minor;
    });
  autoscalerRules(
    objs,
    objs.find((o) => is(o, CORE, "Cluster")),
    cpVersion,
    upgrading,
    push,
  );
  findings.push(
    ...addonRules(objs, {
      cluster: rc.cluster,
      cpVersion,
      upgrading,
      fileOf: (o) => rc.origins[rc.objects.indexOf(o)] ?? file,
    }),
  );

  // Placement: zones in the AWSCluster's region (pkg/cloud/scope/shared.go picks subnets by zone).
  const cluster = objs.find((o) => is(o, CORE, "Cluster"));
  const infraName = get(cluster, "spec.infrastructureRef.name");
  const awsCluster = objs.find(
    (o) => is(o, INFRA, "AWSCluster") && (infraName === undefined || o.metadata?.name === infraName),
  );
  const regionValue = get(awsCluster, "spec.region");
  const region = regionValue === undefined || regionValue === null ? undefined : show(regionValue);
  // Only own keys of the region table: "constructor" or "__proto__" are no regions.
  const regionZones = region && knownRegions().includes(region) ? zonesOf(region) : undefined;
  if (awsCluster && region && !regionZones)
    push(awsCluster, "spec.region", "region-known", `unknown AWS region "${region}"`);
  const inRegion = (o: RenderedObject, path: string, z: unknown) => {
    if (regionZones && typeof z === "string" && !regionZones.includes(z))
      push(o, path, "az-in-region", `zone "${z}" is not in the cluster's region ${region}`);
  };
  list(get(awsCluster, "spec.network.subnets")).forEach((s: any, i: number) =>
    inRegion(awsCluster!, `spec.network.subnets.${i}.availabilityZone`, s?.availabilityZone),
  );
  for (const o of objs.filter((x) => is(x, CORE, "MachineDeployment")))
    inRegion(o, "spec.template.spec.failureDomain", get(o, "spec.template.spec.failureDomain"));

  // AWSMachinePool: zones in the region and distinct, minSize ≤ maxSize (neither is checked by its webhook,
  // exp/webhooks/awsmachinepool_webhook.go, nor by its CRD).
  for (const o of objs.filter((x) => is(x, INFRA, "AWSMachinePool"))) {
    const zones = list(get(o, "spec.availabilityZones"));
    zones.forEach((z, i) => inRegion(o, `spec.availabilityZones.${i}`, z));
    if (new Set(zones).size !== zones.length)
      push(o, "spec.availabilityZones", "az-distinct", "zones must be distinct");
    const min = get(o, "spec.minSize");
    const max = get(o, "spec.maxSize");
    if (typeof min === "number" && typeof max === "number" && min > max)
      push(o, "spec.minSize", "pool-size", `minSize ${min} is larger than maxSize ${max}`);
  }

  if (awsCluster && get(awsCluster, "spec.controlPlaneLoadBalancer.loadBalancerType") === undefined)
    push(
      awsCluster,
      "spec.controlPlaneLoadBalancer.loadBalancerType",
      "nlb",
      "no loadBalancerType: CAPA defaults to the deprecated classic ELB; set nlb",
      "warning",
    );

  // Networks: pods/services/VPC disjoint (a CIDR that is not one is the Cluster or AWSCluster webhook's finding).
  const nets: [RenderedObject | undefined, string, unknown][] = [
    [awsCluster, "spec.network.vpc.cidrBlock", get(awsCluster, "spec.network.vpc.cidrBlock")],
    ...list(get(cluster, "spec.clusterNetwork.pods.cidrBlocks")).map(
      (c, i): [RenderedObject | undefined, string, unknown] => [cluster, `spec.clusterNetwork.pods.cidrBlocks.${i}`, c],
    ),
    ...list(get(cluster, "spec.clusterNetwork.services.cidrBlocks")).map(
      (c, i): [RenderedObject | undefined, string, unknown] => [
        cluster,
        `spec.clusterNetwork.services.cidrBlocks.${i}`,
        c,
      ],
    ),
  ];
  const valid: [RenderedObject | undefined, string, string][] = [];
  for (const [o, p, v] of nets) {
    if (v === undefined) continue;
    if (o === cluster && show(v).includes(":") ? isIpv6Cidr(show(v)) : checkIpv4Cidr(show(v)).ok)
      valid.push([o, p, show(v)]);
  }
  for (let a = 0; a < valid.length; a++)
    for (let b = a + 1; b < valid.length; b++)
      if (cidrsOverlap(valid[a]![2], valid[b]![2]))
        push(valid[b]![0], valid[b]![1], "cidr-overlap", `${valid[b]![2]} overlaps ${valid[a]![1]} (${valid[a]![2]})`);
  return findings;
}

/**
 * The cluster-autoscaler (plan/autoscaler.ts): one exists iff a pool carries the autoscaler annotations, it reaches
 * only this cluster (auto-discovery `clusterName=`, the cluster's own kubeconfig Secret) and runs at the control
 * plane's minor, or exactly one minor behind while a pool is (an upgrade in progress, plan/addon-version.ts)
 * (cluster-autoscaler is released per Kubernetes minor and supports that minor:
 * kubernetes/autoscaler cluster-autoscaler/README.md "Releases"). Deployments are found by their
 * `--cloud-provider=clusterapi` argument, whoever made them.
 */
function autoscalerRules(
  objs: RenderedObject[],
  cluster: RenderedObject | undefined,
  cpVersion: semver.SemVer | undefined,
  upgrading: boolean,
  push: Push,
): void {
  const name = cluster?.metadata?.name;
  if (typeof name !== "string") return;
  const autoscaled = objs.filter(
    (o) =>
      (is(o, CORE, "MachinePool") || is(o, CORE, "MachineDeployment")) &&
      AUTOSCALER_MIN in record(o.metadata?.annotations) &&
      AUTOSCALER_MAX in record(o.metadata?.annotations),
  );
  const containers = (o: RenderedObject): any[] =>
    list(get(o, "spec.template.spec.containers")).filter((c) =>
      list(c?.args).map(show).concat(list(c?.command).map(show)).includes("--cloud-provider=clusterapi"),
    );
  const scalers = objs.filter((o) => is(o, "apps", "Deployment") && containers(o).length > 0);
  const discovery = (c: any): Record<string, string> | undefined => {
    const arg = list(c?.args)
      .map(show)
      .find((a) => a.startsWith("--node-group-auto-discovery=clusterapi:"));
    if (arg === undefined) return undefined;
    return Object.fromEntries(
      arg
        .slice("--node-group-auto-discovery=clusterapi:".length)
        .split(",")
        .map((kv) => [kv.split("=")[0] ?? "", kv.split("=").slice(1).join("=")]),
    );
  };
  const mine = scalers.filter((o) => containers(o).some((c) => discovery(c)?.clusterName === name));
  for (const o of scalers.filter((x) => !mine.includes(x)))
    push(
      o,
      "spec.template.spec.containers",
      "autoscaler-discovery",
      `a clusterapi cluster-autoscaler in cluster ${name}'s overlay must limit auto-discovery to it: --node-group-auto-discovery=clusterapi:namespace=<namespace>,clusterName=${name}`,
    );
  if (autoscaled.length > 0 && mine.length === 0)
    push(
      autoscaled[0],
      "metadata.annotations",
      "autoscaler-present",
      `${autoscaled.length} pool(s) carry the autoscaler annotations but no cluster-autoscaler serves cluster ${name}; nothing would scale them (generate adds one; or set autoscaling: false)`,
    );
  if (autoscaled.length === 0 && mine.length > 0)
    push(
      mine[0],
      "",
      "autoscaler-unused",
      `no pool of cluster ${name} is autoscaled; this cluster-autoscaler has nothing to scale`,
      "warning",
    );
  if (mine.length > 1)
    push(
      mine[1],
      "",
      "autoscaler-unique",
      `${mine.length} cluster-autoscalers serve cluster ${name}; they would fight over its pools`,
    );
  for (const o of mine) {
    const secrets = list(get(o, "spec.template.spec.volumes"))
      .map((v) => get(v, "secret.secretName"))
      .filter((v) => v !== undefined)
      .map(show);
    if (!secrets.includes(kubeconfigSecret(name).name))
      push(
        o,
        "spec.template.spec.volumes",
        "autoscaler-kubeconfig",
        `the autoscaler must reach cluster ${name} through its kubeconfig Secret ${kubeconfigSecret(name).name} (mounted, passed with --kubeconfig)`,
      );
    for (const c of containers(o)) {
      const tag = /:v?(\d+)\.(\d+)\.\d+[^:/]*$/.exec(show(c?.image));
      if (!tag)
        push(
          o,
          "spec.template.spec.containers",
          "autoscaler-minor",
          `image ${show(c?.image)} has no version tag; pin the cluster-autoscaler release of the cluster's minor`,
        );
      else if (cpVersion && !addonMinorFits(Number(tag[1]), Number(tag[2]), cpVersion, upgrading))
        push(
          o,
          "spec.template.spec.containers",
          "autoscaler-minor",
          `image ${show(c?.image)} is cluster-autoscaler ${tag[1]}.${tag[2]}, but the control plane runs v${cpVersion.version}; run the autoscaler of the cluster's minor (versions.json clusterAutoscaler.byMinor)${upgrading ? ", or during an upgrade exactly one minor behind it" : ""}`,
        );
    }
  }
}

/**
 * Fleet rules: unique Cluster names and namespaces; VPC CIDRs disjoint across the fleet. An overlap is a warning
 * (clusters with live VPCs, e.g. imported ones on CAPA's default 10.0.0.0/16, exist and cannot move) except on a
 * cluster in `newVpc` — its VPC CIDR is new since the base (validate --changed-since: an added cluster, or a changed
 * network.vpcCidr) — where it is an error: two pull requests cut from the same main that took overlapping ranges, the
 * second fails CI rather than merging a fleet whose VPCs can never be peered. The clash is reported on the later
 * cluster (with --changed-since: the changed one).
 */
export function fleetRules(rendered: readonly RenderedCluster[], newVpc: ReadonlySet<string> = new Set()): Finding[] {
  const findings: Finding[] = [];
  const seenName = new Map<string, string>();
  const seenVpc: [cidr: string, owner: string][] = [];
  for (const rc of rendered) {
    const cluster = objectsOf(rc.objects).find((o) => is(o, CORE, "Cluster") && typeof o.metadata?.name === "string");
    if (cluster) {
      const other = seenName.get(cluster.metadata.name);
      if (other)
        findings.push({
          cluster: rc.cluster,
          file: clusterKustomizationPath(rc.cluster),
          path: `Cluster/${cluster.metadata.name}:metadata.name`,
          rule: "fleet-unique-name",
          severity: "error",
          message: `Cluster name "${cluster.metadata.name}" is also rendered by clusters/${other}`,
        });
      else seenName.set(cluster.metadata.name, rc.cluster);
    }
    const aws = objectsOf(rc.objects).find((o) => is(o, INFRA, "AWSCluster"));
    const vpc = get(aws, "spec.network.vpc.cidrBlock");
    const region = get(aws, "spec.region");
    if (typeof vpc === "string") {
      const other = seenVpc.find(([cidr]) => {
        try {
          return cidrsOverlap(cidr, vpc);
        } catch {
          return false; // an invalid CIDR has its own finding
        }
      });
      if (other)
        findings.push({
          cluster: rc.cluster,
          file: clusterSpecPath(rc.cluster),
          path: "network.vpcCidr",
          rule: "fleet-unique-vpc-cidr",
          severity: newVpc.has(rc.cluster) ? "error" : "warning",
          message: `VPC CIDR ${vpc} ${other[0] === vpc ? "is also used" : `overlaps ${other[0]}, used`} by cluster ${other[1]}; VPCs that overlap can never be peered or joined by a transit gateway. ${newVpc.has(rc.cluster) ? `Give clusters/${rc.cluster} another network.vpcCidr before its VPC exists (new-cluster picks a free one from the name; if another pull request took it meanwhile, rebase and run new-cluster again)` : "Unique CIDRs keep peering and transit gateways possible"}`,
        });
      else seenVpc.push([vpc, `${rc.cluster}${region ? ` (${show(region)})` : ""}`]);
    }
  }
  return findings;
}

const ARGO_SYNC_OPTIONS = "argocd.argoproj.io/sync-options";
const FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune";

/**
 * Sync safety of a cluster's objects: a CAPI/CAPA object Argo CD could prune/delete or Flux could prune would be
 * deleted on its own, out of CAPI's teardown order, when it leaves Git (see plan/sync.ts).
 */
export function syncSafetyRules(rc: RenderedCluster): Finding[] {
  const findings: Finding[] = [];
  rc.objects.forEach((o, i) => {
    if (o === null || typeof o !== "object" || !CAPI_GROUPS.test(groupOf(o.apiVersion))) return;
    const ann = record(o.metadata?.annotations);
    const argo = show(ann[ARGO_SYNC_OPTIONS] ?? "")
      .split(",")
      .map((s) => s.trim());
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
      findings.push({
        cluster: rc.cluster,
        file: rc.origins[i] ?? clusterKustomizationPath(rc.cluster),
        path: `${show(o.kind)}/${show(o.metadata?.name)}:metadata.annotations`,
        rule: "sync-safety",
        severity: "warning",
        message: `Argo CD or Flux could delete this object on its own; add ${missing.join(", ")}`,
      });
  });
  return [...findings, ...extraneousRule(rc)];
}

const ARGO_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options";

/**
 * An object Argo CD never prunes (Prune=false) stays on the management cluster when Git stops rendering it; without
 * `compare-options: IgnoreExtraneous` it then holds its Application OutOfSync until deleted by hand, hiding real drift
 * (argo-cd v3.5.7 controller/state.go: only that option keeps an object needing pruning out of the app's status).
 */
function extraneousRule(rc: RenderedCluster): Finding[] {
  return rc.objects.flatMap((o, i): Finding[] => {
    if (o === null || typeof o !== "object") return [];
    const ann = record(o.metadata?.annotations);
    const prune = show(ann[ARGO_SYNC_OPTIONS] ?? "")
      .split(",")
      .map((s) => s.trim());
    const compare = show(ann[ARGO_COMPARE_OPTIONS] ?? "")
      .split(",")
      .map((s) => s.trim());
    if (!prune.includes("Prune=false") || compare.includes("IgnoreExtraneous")) return [];
    const value = [...compare.filter(Boolean), "IgnoreExtraneous"].join(",");
    return [
      {
        cluster: rc.cluster,
        file: rc.origins[i] ?? clusterKustomizationPath(rc.cluster),
        path: `${show(o.kind)}/${show(o.metadata?.name)}:metadata.annotations`,
        rule: "sync-extraneous",
        severity: "warning",
        message: `Argo CD never prunes this object (Prune=false), so once Git stops rendering it it keeps the Application OutOfSync; add ${ARGO_COMPARE_OPTIONS}: ${value} (then \`npm run leftovers\` lists it for deletion)`,
      },
    ];
  });
}

/** The management manifests: sync objects that can never cascade-delete clusters, providers with MachinePool on. */
export function managementRules(objects: readonly RenderedObject[], file: string): Finding[] {
  const findings: Finding[] = [];
  const push = (o: RenderedObject, path: string, rule: string, message: string, severity: Severity = "error") =>
    findings.push({ file, path: `${show(o.kind)}/${show(o.metadata?.name)}:${path}`, rule, severity, message });
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
        );
      const finalizers = list(get(o, "spec.template.metadata.finalizers"));
      if (finalizers.some((f) => show(f).includes("resources-finalizer")))
        push(
          o,
          "spec.template.metadata.finalizers",
          "sync-safety",
          "the resources finalizer makes deleting an Application cascade to the CAPI objects",
        );
      const options = list(get(o, "spec.template.spec.syncPolicy.syncOptions"));
      if (!options.includes("ServerSideApply=true"))
        push(
          o,
          "spec.template.spec.syncPolicy.syncOptions",
          "sync-ssa",
          "use ServerSideApply=true (CAPI controllers own parts of these objects)",
          "warning",
        );
      const ignored = list(get(o, "spec.template.spec.ignoreDifferences"))
        .filter((d) => list(d?.jsonPointers).includes("/spec/replicas"))
        .map((d) => d.kind);
      if (!ignored.includes("MachinePool") || !options.includes("RespectIgnoreDifferences=true"))
        push(
          o,
          "spec.template.spec.ignoreDifferences",
          "sync-autoscaler",
          "ignore /spec/replicas of MachinePools (RespectIgnoreDifferences=true) so Argo CD does not fight the autoscaler",
          "warning",
        );
    }
    if (
      o.kind === "Application" &&
      groupOf(o.apiVersion) === "argoproj.io" &&
      list(get(o, "metadata.finalizers")).some((f) => show(f).includes("resources-finalizer"))
    )
      push(
        o,
        "metadata.finalizers",
        "sync-safety",
        "the resources finalizer makes deleting this Application cascade to the CAPI objects",
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
      );
  }
  return findings;
}

/**
 * Rules that judge a field against a field of another object of the cluster: that other field. A patch that set it
 * caused the finding as much as the field the finding names (validate/attribution.ts).
 */
export const RULE_INPUTS: Readonly<Record<string, readonly { kind: string; field: string }[]>> = {
  "az-in-region": [{ kind: "AWSCluster", field: "spec.region" }],
  "kubelet-skew": [{ kind: "KubeadmControlPlane", field: "spec.version" }],
  "autoscaler-minor": [{ kind: "KubeadmControlPlane", field: "spec.version" }],
  "addons-ccm-minor": [{ kind: "KubeadmControlPlane", field: "spec.version" }],
  // A fixed image against the version its machines run (validate/images.ts).
  "image-version": [
    { kind: "KubeadmControlPlane", field: "spec.version" },
    { kind: "MachinePool", field: "spec.template.spec.version" },
    { kind: "MachineDeployment", field: "spec.template.spec.version" },
  ],
};

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
export const coreObjectOf = (o: RenderedObject): CoreObject => ({
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
  return missing.map((m) => ({
    cluster: rc.cluster,
    file: clusterKustomizationPath(rc.cluster),
    path: `${m.kind}/${m.name}`,
    rule: "render-complete",
    severity: "error" as const,
    message: `${empty ? "the cluster renders no objects at all: " : ""}${m.kind} ${m.namespace}/${m.name} (from clusters/${rc.cluster}/cluster.yaml) is not in the render of clusters/${rc.cluster}; keep \`generated\` in its resources and do not delete generated objects with patches (remove a pool from cluster.yaml instead)`,
  }));
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
  const kcp = objectsOf(rc.objects).find((o) => is(o, CP, "KubeadmControlPlane") && o.metadata?.name === name);
  const replicas = get(kcp, "spec.replicas");
  if (!kcp || typeof replicas !== "number" || replicas >= HA_CONTROL_PLANE) return [];
  const fromSpec = replicas === spec.controlPlane.replicas;
  return [
    {
      cluster: rc.cluster,
      file: fromSpec ? clusterSpecPath(rc.cluster) : clusterKustomizationPath(rc.cluster),
      path: fromSpec ? "controlPlane.replicas" : `KubeadmControlPlane/${name}:spec.replicas`,
      rule: "prod-control-plane-ha",
      severity: "error",
      message: `a profile: prod cluster runs ${replicas} control-plane machine(s); with fewer than ${HA_CONTROL_PLANE} one failure stops the API server and etcd loses its quorum. Set controlPlane.replicas to ${HA_CONTROL_PLANE} (or 5), or use profile: dev`,
    },
  ];
}
