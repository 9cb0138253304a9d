/**
 * Our rules (clusterRules, which includes checkReferences, and fleetRules: what no webhook checks) against really
 * rendered fixture clusters: the unmodified render is clean, and every rule id fires on one small mutation of it —
 * with the right rule, severity, cluster and a path naming the object and field.
 */
import { versions as pinnedVersions } from "../src/pins/versions.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Finding, Severity } from "../src/core/findings.js";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { checkReferences } from "../src/validate/references.js";
import type { RenderedCluster } from "../src/render/render.js";
import type { K8sObject } from "../src/k8s/object.js";
import {
  clusterRules,
  controlPlaneHaRule,
  expectedCoreObjects,
  findSecrets,
  fleetRules,
  managementRules,
  renderCompleteness,
} from "../src/validate/rules.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { fixtureSpecs, tempDir } from "./helpers.js";

type Objs = K8sObject[];
/** A rendered object whose spec the cases below read and mutate freely (tests may be loose; the rules may not). */
type Loose = K8sObject & { spec?: any };
const loose = (o: K8sObject): Loose => o;

/** Every rule id the functions under test emit; each needs a failing row below (checked by a test). */
const REFERENCE_RULE_IDS = [
  "reference-resolves",
  "one-cluster",
  "cluster-name-matches",
  "cluster-name-consistent",
  "mhc-selects",
];
const CLUSTER_RULE_IDS = [
  ...REFERENCE_RULE_IDS,
  "deprecated-api",
  "no-plaintext-secrets",
  "no-key-material",
  "kubelet-skew",
  "kubeadm-join-skew",
  "autoscaled-no-replicas",
  "name-length",
  "region-known",
  "az-in-region",
  "az-distinct",
  "pool-size",
  "nlb",
  "cidr-overlap",
];
const FLEET_RULE_IDS = ["fleet-unique-name", "fleet-unique-vpc-cidr"];

const specs = fixtureSpecs();
const baseline = new Map<string, Objs>();

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

beforeAll(async () => {
  const t = await tempDir();
  try {
    await writeTree(t.dir, planRepo({ specs }, pinnedVersions()));
    // Frozen: a case that forgot to clone would throw instead of leaking its mutation into the next case.
    for (const s of specs)
      baseline.set(s.name, deepFreeze(parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Objs));
  } finally {
    await t.cleanup();
  }
});

const fileOf = (cluster: string) => `clusters/${cluster}/kustomization.yaml`;

/** A deep clone of a fixture cluster's render, after `mutate`. */
function rendered(cluster: string, mutate: (objs: Objs) => void = () => {}): RenderedCluster {
  const base = baseline.get(cluster);
  if (!base) throw new Error(`no rendered fixture cluster ${cluster}`);
  const objects = structuredClone(base);
  mutate(objects);
  return { cluster, objects, origins: objects.map(() => undefined) };
}

/** The object of `kind` (named `name`, else the first); throws when absent, so no row can silently test nothing. */
function one(objs: Objs, kind: string, name?: string): Loose {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ""} in the render`);
  return loose(o);
}
const kcp = (objs: Objs) => one(objs, "KubeadmControlPlane");
const awsCluster = (objs: Objs) => one(objs, "AWSCluster");
const capiCluster = (objs: Objs) => one(objs, "Cluster");
const pool = (objs: Objs) => one(objs, "MachinePool", "demo-default");
const awsPool = (objs: Objs) => one(objs, "AWSMachinePool", "demo-default");
// MachineHealthChecks exist only where an owner remediates (plan/capi.ts): edge-md's pools and 3-replica control plane.
const mhc = (objs: Objs, name = "edge-md-web") => one(objs, "MachineHealthCheck", name);
const md = (objs: Objs) => one(objs, "MachineDeployment", "edge-md-web-a");
const versions = (objs: Objs, cp: string, workers: string, kind = "MachinePool") => {
  kcp(objs).spec.version = cp;
  for (const o of objs.filter((x) => x.kind === kind)) loose(o).spec.template.spec.version = workers;
};
const autoscaled = (o: K8sObject) => {
  o.metadata.annotations = {
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": "1",
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": "3",
  };
};
const add = (objs: Objs, o: { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown }) =>
  objs.push({ ...o, metadata: { namespace: "demo", ...o.metadata } });
const configMap = (data: Record<string, string>) => (objs: Objs) =>
  add(objs, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-config" }, data });
const AKID = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/**
 * [label, mutate, rule, severity, path (exact string, a RegExp for hash-named objects, or null: no path), cluster].
 * The cluster defaults to demo (MachinePool workers); edge-md has MachineDeployments.
 */
type Case = [
  label: string,
  mutate: (objs: Objs) => void,
  rule: string,
  severity: Severity,
  path: string | RegExp | null,
  cluster?: string,
];
const CASES: Case[] = [
  // deprecated-api
  [
    "a cluster.x-k8s.io/v1beta1 MachineHealthCheck",
    (o) => void (mhc(o).apiVersion = "cluster.x-k8s.io/v1beta1"),
    "deprecated-api",
    "warning",
    "MachineHealthCheck/edge-md-web:apiVersion",
    "edge-md",
  ],
  [
    "a bootstrap.cluster.x-k8s.io/v1beta1 KubeadmConfig",
    (o) => void (one(o, "KubeadmConfig").apiVersion = "bootstrap.cluster.x-k8s.io/v1beta1"),
    "deprecated-api",
    "warning",
    /^KubeadmConfig\/demo-default-[0-9a-f]{8}:apiVersion$/,
  ],
  // no-plaintext-secrets, no-key-material
  [
    "a Secret with data",
    (o) => add(o, { apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, data: { password: "aHVudGVyMg==" } }),
    "no-plaintext-secrets",
    "error",
    "Secret/db:data",
  ],
  [
    "a Secret with stringData",
    (o) => add(o, { apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, stringData: { password: "hunter2" } }),
    "no-plaintext-secrets",
    "error",
    "Secret/db:stringData",
  ],
  [
    "an AWS access key id in a ConfigMap",
    configMap({ AWS_ACCESS_KEY_ID: AKID }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.AWS_ACCESS_KEY_ID",
  ],
  [
    "an AWS secret access key under its own ConfigMap key",
    configMap({ aws_secret_access_key: SECRET_KEY }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.aws_secret_access_key",
  ],
  [
    "a PEM private key in the KCP's files",
    (o) =>
      void (kcp(o).spec.kubeadmConfigSpec.files = [
        {
          path: "/etc/kubernetes/pki/sa.key",
          content: "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
        },
      ]),
    "no-key-material",
    "error",
    "KubeadmControlPlane/demo-control-plane:spec.kubeadmConfigSpec.files[0].content",
  ],
  [
    "an access key id opening a line of a KubeadmConfig file",
    (o) => void (one(o, "KubeadmConfig").spec.files = [{ path: "/root/keys", content: `[default]\n${AKID}\n` }]),
    "no-key-material",
    "error",
    /^KubeadmConfig\/demo-default-[0-9a-f]{8}:spec\.files\[0\]\.content$/,
  ],
  // 20.10: the common tokens, each at its field (was: passed, and an empty path for the AWS ones).
  [
    "a GitHub token in a ConfigMap",
    configMap({ token: `ghp_${"a1B2".repeat(9)}` }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.token",
  ],
  [
    "a fine-grained GitHub token in a ConfigMap",
    configMap({ token: `github_pat_${"a1B2c3D4e5".repeat(4)}` }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.token",
  ],
  [
    "a Slack bot token in a ConfigMap",
    configMap({ "slack.conf": "channel: ops\nbot: xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp\n" }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.slack.conf",
  ],
  [
    "an AWS secret key under secretAccessKey",
    configMap({ secretAccessKey: SECRET_KEY }),
    "no-key-material",
    "error",
    "ConfigMap/aws-config:data.secretAccessKey",
  ],
  // Pools
  [
    "a MachinePool newer than the KCP",
    (o) => versions(o, "v1.34.2", "v1.35.0"),
    "kubelet-skew",
    "error",
    "MachinePool/demo-default:spec.template.spec.version",
  ],
  [
    "a MachinePool 4 minors older than the KCP",
    (o) => versions(o, "v1.34.2", "v1.30.0"),
    "kubelet-skew",
    "error",
    "MachinePool/demo-default:spec.template.spec.version",
  ],
  [
    "a MachineDeployment newer than the KCP",
    (o) => versions(o, "v1.34.2", "v1.35.0", "MachineDeployment"),
    "kubelet-skew",
    "error",
    "MachineDeployment/edge-md-web-a:spec.template.spec.version",
    "edge-md",
  ],
  [
    "a MachineDeployment one minor behind the KCP (kubeadm joins only at the control plane's minor)",
    (o) => versions(o, "v1.34.2", "v1.33.4", "MachineDeployment"),
    "kubeadm-join-skew",
    "warning",
    "MachineDeployment/edge-md-web-a:spec.template.spec.version",
    "edge-md",
  ],
  [
    "autoscaler annotations and replicas on a MachinePool",
    (o) => (autoscaled(pool(o)), (pool(o).spec.replicas = 3)),
    "autoscaled-no-replicas",
    "error",
    "MachinePool/demo-default:spec.replicas",
  ],
  [
    "autoscaler annotations and replicas on a MachineDeployment",
    (o) => (autoscaled(md(o)), (md(o).spec.replicas = 1)),
    "autoscaled-no-replicas",
    "error",
    "MachineDeployment/edge-md-web-a:spec.replicas",
    "edge-md",
  ],
  [
    "a MachinePool name over 63 characters",
    (o) => void (pool(o).metadata.name = `demo-${"x".repeat(59)}`),
    "name-length",
    "error",
    `MachinePool/demo-${"x".repeat(59)}:metadata.name`,
  ],
  // Placement
  [
    "an unknown region",
    (o) => void (awsCluster(o).spec.region = "mars-north-1"),
    "region-known",
    "error",
    "AWSCluster/demo:spec.region",
  ],
  [
    "an AWSMachinePool zone from another region",
    (o) => void (awsPool(o).spec.availabilityZones = ["ap-northeast-2a", "us-east-1a"]),
    "az-in-region",
    "error",
    "AWSMachinePool/demo-default:spec.availabilityZones.1",
  ],
  [
    "an AWSMachinePool zone letter the region lacks",
    (o) => void (awsPool(o).spec.availabilityZones = ["ap-northeast-2e"]),
    "az-in-region",
    "error",
    "AWSMachinePool/demo-default:spec.availabilityZones.0",
  ],
  [
    "an AWSCluster subnet in another region",
    (o) => void (awsCluster(o).spec.network.subnets[0].availabilityZone = "eu-west-1a"),
    "az-in-region",
    "error",
    "AWSCluster/demo:spec.network.subnets.0.availabilityZone",
  ],
  [
    "a MachineDeployment failureDomain in another region",
    (o) => void (md(o).spec.template.spec.failureDomain = "us-east-1a"),
    "az-in-region",
    "error",
    "MachineDeployment/edge-md-web-a:spec.template.spec.failureDomain",
    "edge-md",
  ],
  [
    "duplicate AWSMachinePool zones",
    (o) => void (awsPool(o).spec.availabilityZones = ["ap-northeast-2a", "ap-northeast-2a"]),
    "az-distinct",
    "error",
    "AWSMachinePool/demo-default:spec.availabilityZones",
  ],
  // AWSMachinePool
  [
    "minSize > maxSize",
    (o) => void Object.assign(awsPool(o).spec, { minSize: 5, maxSize: 3 }),
    "pool-size",
    "error",
    "AWSMachinePool/demo-default:spec.minSize",
  ],
  // AWSMachineTemplate
  // Names, load balancer
  [
    "an AWSCluster without loadBalancerType",
    (o) => void delete awsCluster(o).spec.controlPlaneLoadBalancer.loadBalancerType,
    "nlb",
    "warning",
    "AWSCluster/demo:spec.controlPlaneLoadBalancer.loadBalancerType",
  ],
  // Networks
  [
    "overlapping pod and service CIDRs",
    (o) => void (capiCluster(o).spec.clusterNetwork.pods.cidrBlocks = ["10.96.0.0/16"]),
    "cidr-overlap",
    "error",
    "Cluster/demo:spec.clusterNetwork.services.cidrBlocks.0",
  ],
  [
    "a VPC CIDR overlapping the pod CIDR",
    (o) => void (awsCluster(o).spec.network.vpc.cidrBlock = "192.168.0.0/20"),
    "cidr-overlap",
    "error",
    "Cluster/demo:spec.clusterNetwork.pods.cidrBlocks.0",
  ],
  // References (checkReferences)
  [
    "a dangling KCP infrastructureRef",
    (o) => void (kcp(o).spec.machineTemplate.spec.infrastructureRef.name = "missing"),
    "reference-resolves",
    "error",
    "KubeadmControlPlane/demo-control-plane:spec.machineTemplate.spec.infrastructureRef.name",
  ],
  [
    "a Cluster without controlPlaneRef",
    (o) => void delete capiCluster(o).spec.controlPlaneRef,
    "reference-resolves",
    "error",
    "Cluster/demo:spec.controlPlaneRef",
  ],
  [
    "a bootstrap configRef without kind",
    (o) => void delete pool(o).spec.template.spec.bootstrap.configRef.kind,
    "reference-resolves",
    "error",
    "MachinePool/demo-default:spec.template.spec.bootstrap.configRef",
  ],
  [
    "an infrastructureRef to the wrong group",
    (o) => void (md(o).spec.template.spec.infrastructureRef.apiGroup = "infrastructure.cluster.x-k8s.io.example"),
    "reference-resolves",
    "error",
    "MachineDeployment/edge-md-web-a:spec.template.spec.infrastructureRef.name",
    "edge-md",
  ],
  [
    "two Cluster objects",
    (o) => void o.push({ ...structuredClone(capiCluster(o)), metadata: { name: "demo-2", namespace: "demo" } }),
    "one-cluster",
    "error",
    null,
  ],
  ["no Cluster object", (o) => void o.splice(o.indexOf(capiCluster(o)), 1), "one-cluster", "error", null],
  [
    "a Cluster named unlike its directory",
    (o) => void (capiCluster(o).metadata.name = "demo2"),
    "cluster-name-matches",
    "error",
    "Cluster/demo2:metadata.name",
  ],
  [
    "a wrong MachinePool clusterName",
    (o) => void (pool(o).spec.clusterName = "other"),
    "cluster-name-consistent",
    "error",
    "MachinePool/demo-default:spec.clusterName",
  ],
  [
    "a wrong MachineDeployment template clusterName",
    (o) => void (md(o).spec.template.spec.clusterName = "other"),
    "cluster-name-consistent",
    "error",
    "MachineDeployment/edge-md-web-a:spec.template.spec.clusterName",
    "edge-md",
  ],
  [
    "a wrong MHC clusterName",
    (o) => void (mhc(o, "edge-md-control-plane").spec.clusterName = "other"),
    "cluster-name-consistent",
    "error",
    "MachineHealthCheck/edge-md-control-plane:spec.clusterName",
    "edge-md",
  ],
  [
    "a wrong cluster-name label",
    (o) => void (awsPool(o).metadata.labels = { "cluster.x-k8s.io/cluster-name": "other" }),
    "cluster-name-consistent",
    "error",
    "AWSMachinePool/demo-default:metadata.labels.cluster.x-k8s.io/cluster-name",
  ],
  [
    "an MHC selecting a pool that does not exist",
    (o) => void (mhc(o).spec.selector.matchLabels = { "capi-gitops.io/node-pool": "gpu" }),
    "mhc-selects",
    "error",
    "MachineHealthCheck/edge-md-web:spec.selector.matchLabels",
    "edge-md",
  ],
  [
    'an MHC selecting control-plane=true (CAPI sets it to "")',
    (o) =>
      void (mhc(o, "edge-md-control-plane").spec.selector.matchLabels = { "cluster.x-k8s.io/control-plane": "true" }),
    "mhc-selects",
    "error",
    "MachineHealthCheck/edge-md-control-plane:spec.selector.matchLabels",
    "edge-md",
  ],
  [
    "an MHC selecting another cluster's machines",
    (o) => void (mhc(o).spec.selector.matchLabels["cluster.x-k8s.io/cluster-name"] = "other"),
    "mhc-selects",
    "error",
    "MachineHealthCheck/edge-md-web:spec.selector.matchLabels",
    "edge-md",
  ],
  [
    "an MHC with an empty selector",
    (o) => void (mhc(o).spec.selector = {}),
    "mhc-selects",
    "error",
    "MachineHealthCheck/edge-md-web:spec.selector",
    "edge-md",
  ],
];

/** Valid variants next to a rule's boundary: the rule must stay quiet. [label, mutate, rule, cluster]. */
type Quiet = [label: string, mutate: (objs: Objs) => void, rule: string, cluster?: string];
const QUIET: Quiet[] = [
  ["a MachinePool exactly 3 minors older than the KCP", (o) => versions(o, "v1.34.2", "v1.31.9"), "kubelet-skew"],
  [
    "a fixed-size MachinePool with replicas and no autoscaler annotations",
    (o) => (delete pool(o).metadata.annotations, (pool(o).spec.replicas = 3)),
    "autoscaled-no-replicas",
  ],
  [
    "an AWSMachinePool in every zone of the region",
    (o) =>
      void (awsPool(o).spec.availabilityZones = [
        "ap-northeast-2a",
        "ap-northeast-2b",
        "ap-northeast-2c",
        "ap-northeast-2d",
      ]),
    "az-in-region",
  ],
  ["minSize = maxSize", (o) => void Object.assign(awsPool(o).spec, { minSize: 3, maxSize: 3 }), "pool-size"],
  [
    "adjacent pod and service CIDRs",
    (o) =>
      void Object.assign(capiCluster(o).spec.clusterNetwork, {
        pods: { cidrBlocks: ["10.112.0.0/12"] },
        services: { cidrBlocks: ["10.96.0.0/12"] },
      }),
    "cidr-overlap",
  ],
  [
    "an MHC selecting control-plane machines by control-plane-name",
    (o) =>
      void (mhc(o, "edge-md-control-plane").spec.selector.matchLabels = {
        "cluster.x-k8s.io/control-plane-name": "edge-md-control-plane",
      }),
    "mhc-selects",
    "edge-md",
  ],
  [
    "an MHC selecting a label of the KCP machine template",
    (o) => (
      (kcp(o).spec.machineTemplate.metadata = { labels: { role: "cp" } }),
      (mhc(o, "edge-md-control-plane").spec.selector.matchLabels = { role: "cp" })
    ),
    "mhc-selects",
    "edge-md",
  ],
  [
    "an MHC selector that adds this cluster's cluster-name",
    (o) => void (mhc(o).spec.selector.matchLabels["cluster.x-k8s.io/cluster-name"] = "edge-md"),
    "mhc-selects",
    "edge-md",
  ],
  [
    "an MHC selecting by matchExpressions only",
    (o) =>
      void (mhc(o).spec.selector = {
        matchExpressions: [{ key: "capi-gitops.io/node-pool", operator: "In", values: ["web"] }],
      }),
    "mhc-selects",
    "edge-md",
  ],
  [
    "a ConfigMap templating the secret key from a variable",
    configMap({ credentials: "[default]\naws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n" }),
    "no-key-material",
  ],
  [
    "a ConfigMap with a 20-character uppercase word and a certificate",
    configMap({
      note: "KUBERNETESCONTROLLER",
      "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    }),
    "no-key-material",
  ],
  [
    "a Secret without data (filled in by an operator)",
    (o) => add(o, { apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, type: "Opaque" }),
    "no-plaintext-secrets",
  ],
];

/** [label, build the fleet, rule, severity, path, the cluster the finding names, its file]. */
type FleetCase = [
  label: string,
  build: () => RenderedCluster[],
  rule: string,
  severity: Severity,
  path: string,
  cluster: string,
  file: string,
];
const FLEET_CASES: FleetCase[] = [
  [
    "two clusters rendering the same Cluster name",
    () => [rendered("demo"), { ...rendered("demo"), cluster: "demo-copy" }],
    "fleet-unique-name",
    "error",
    "Cluster/demo:metadata.name",
    "demo-copy",
    "clusters/demo-copy/kustomization.yaml",
  ],
  [
    "two clusters with the same VPC CIDR",
    () => [
      rendered("payments-prod"),
      rendered("demo", (o) => void (awsCluster(o).spec.network.vpc.cidrBlock = "10.20.0.0/20")),
    ],
    "fleet-unique-vpc-cidr",
    "warning",
    "network.vpcCidr",
    "demo",
    "clusters/demo/cluster.yaml",
  ],
  [
    "two clusters with overlapping VPC CIDRs",
    () => [
      rendered("payments-prod"),
      rendered("demo", (o) => void (awsCluster(o).spec.network.vpc.cidrBlock = "10.20.0.0/16")),
    ],
    "fleet-unique-vpc-cidr",
    "warning",
    "network.vpcCidr",
    "demo",
    "clusters/demo/cluster.yaml",
  ],
];

function describePath(f: Finding) {
  return `${f.rule} ${f.severity} [${f.cluster}] ${f.file} ${f.path}`;
}

describe("the unmodified render", () => {
  it("has no error findings from clusterRules or fleetRules", () => {
    const all = specs.map((s) => rendered(s.name));
    const findings = [...all.flatMap((rc) => clusterRules(rc, fileOf(rc.cluster))), ...fleetRules(all)];
    expect(findings.filter((f) => f.severity === "error").map(describePath)).toEqual([]);
  });

  it("warns kubeadm-join-skew only on the fixture pool that lags its control plane (a mid-upgrade state)", () => {
    expect(
      specs.flatMap((s) =>
        clusterRules(rendered(s.name), fileOf(s.name))
          .filter((f) => f.rule === "kubeadm-join-skew")
          .map(describePath),
      ),
    ).toEqual([
      "kubeadm-join-skew warning [payments-prod] clusters/payments-prod/kustomization.yaml " +
        "MachineDeployment/payments-prod-batch-a:spec.template.spec.version",
    ]);
  });

  it.each(CLUSTER_RULE_IDS.filter((r) => r !== "kubeadm-join-skew"))(
    "produces no %s finding on any fixture cluster",
    (rule) => {
      for (const s of specs)
        expect(
          clusterRules(rendered(s.name), fileOf(s.name))
            .filter((f) => f.rule === rule)
            .map(describePath),
        ).toEqual([]);
    },
  );

  it("produces no fleet finding for clusters with distinct names and VPC CIDRs", () => {
    expect(fleetRules([rendered("demo"), rendered("payments-prod")])).toEqual([]);
    expect(fleetRules(specs.map((s) => rendered(s.name))).filter((f) => f.rule === "fleet-unique-name")).toEqual([]);
  });
});

describe("each rule fires on one mutation", () => {
  it("the tables cover every rule id", () => {
    expect([...new Set(CASES.map((c) => c[2]))].sort()).toEqual([...CLUSTER_RULE_IDS].sort());
    expect([...new Set(FLEET_CASES.map((c) => c[2]))].sort()).toEqual([...FLEET_RULE_IDS].sort());
  });

  it.each(
    CASES.map(([label, mutate, rule, severity, path, cluster = "demo"]) => ({
      label,
      mutate,
      rule,
      severity,
      path,
      cluster,
    })),
  )("$rule: $label", ({ mutate, rule, severity, path, cluster }) => {
    const rc = rendered(cluster, mutate);
    const file = fileOf(cluster);
    const pathOk = (p: string | undefined) =>
      path === null ? p === undefined : typeof path === "string" ? p === path : p !== undefined && path.test(p);
    const hit = (f: Finding) =>
      f.rule === rule && f.severity === severity && f.cluster === cluster && f.file === file && pathOk(f.path);
    const findings = clusterRules(rc, file);
    expect(findings.filter(hit), findings.map(describePath).join("\n")).not.toEqual([]);
    if (REFERENCE_RULE_IDS.includes(rule))
      expect(checkReferences(rc.objects, { cluster, file }).filter(hit)).not.toEqual([]);
  });

  it("attributes a finding to the object's source file when kustomize recorded it", () => {
    const rc = rendered("demo", (o) => void Object.assign(awsPool(o).spec, { minSize: 5, maxSize: 3 }));
    rc.origins = rc.objects.map((o) => `base/cluster/${o.kind}.yaml`);
    const f = clusterRules(rc, fileOf("demo")).find((x) => x.rule === "pool-size");
    expect(f?.file).toBe("base/cluster/AWSMachinePool.yaml");
  });
});

describe("each rule stays quiet on valid variants at its boundary", () => {
  it.each(QUIET.map(([label, mutate, rule, cluster = "demo"]) => ({ label, mutate, rule, cluster })))(
    "$rule: $label",
    ({ mutate, rule, cluster }) => {
      const findings = clusterRules(rendered(cluster, mutate), fileOf(cluster));
      expect(findings.filter((f) => f.rule === rule).map(describePath)).toEqual([]);
    },
  );
});

describe("fleetRules", () => {
  it.each(
    FLEET_CASES.map(([label, build, rule, severity, path, cluster, file]) => ({
      label,
      build,
      rule,
      severity,
      path,
      cluster,
      file,
    })),
  )("$rule: $label", ({ build, rule, severity, path, cluster, file }) => {
    const findings = fleetRules(build());
    expect(
      findings.filter(
        (f) =>
          f.rule === rule && f.severity === severity && f.cluster === cluster && f.file === file && f.path === path,
      ),
      findings.map(describePath).join("\n"),
    ).toHaveLength(1);
  });
});

describe(`20.10: a VPC CIDR new since the base that overlaps the fleet is an error \
(the second of two pull requests)`, () => {
  it("error on the cluster whose range is new, a warning between live ones", () => {
    const fleet = () => [
      rendered("payments-prod"),
      rendered("demo", (o) => void (awsCluster(o).spec.network.vpc.cidrBlock = "10.20.0.0/16")),
    ];
    const vpc = (newVpc?: Set<string>) =>
      fleetRules(fleet(), newVpc)
        .filter((f) => f.rule === "fleet-unique-vpc-cidr")
        .map((f) => `${f.severity} ${f.cluster}`);
    expect(vpc(new Set(["demo"]))).toEqual(["error demo"]);
    expect(vpc(new Set(["payments-prod"]))).toEqual(["warning demo"]);
    expect(vpc()).toEqual(["warning demo"]);
  });
});

describe("findSecrets", () => {
  it.each([
    [AKID, "an AWS access key id"],
    ["aws_access_key_id = ASIAY34FZKBOKMUTVV7A", "an AWS access key id"],
    [`line one\n${AKID}\n`, "an AWS access key id"],
    [`aws_secret_access_key = ${SECRET_KEY}`, "an AWS secret access key"],
    [`AWS_SECRET_ACCESS_KEY: ${SECRET_KEY}`, "an AWS secret access key"],
    [JSON.stringify({ aws_secret_access_key: SECRET_KEY }), "an AWS secret access key"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", "a private key"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"],
    ["-----BEGIN PRIVATE KEY-----", "a private key"],
    [`token: ghp_${"a1B2".repeat(9)}`, "a GitHub token"],
    [`GITHUB_TOKEN=gho_${"Z9y8".repeat(9)}`, "a GitHub token"],
    ["SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "a Slack token"],
    ["glpat-AbCdEfGhIjKlMnOpQrSt", "a GitLab token"],
    [`secretAccessKey: ${SECRET_KEY}`, "an AWS secret access key"],
    [`AWS_SECRET_KEY="${SECRET_KEY}"`, "an AWS secret access key"],
  ])("finds %j", (text, what) => {
    expect(findSecrets(text)).toBe(what);
  });

  it.each([
    "KUBERNETESCONTROLLER",
    "AKIAIOSFODNN7EXAMPL",
    `X${AKID}`,
    "akiaiosfodnn7example",
    "-----BEGIN CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----",
    "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
    "aws_secret_access_key: short",
    "secretAccessKey: ${AWS_SECRET_ACCESS_KEY}",
    "secretKeyRef: aws-credentials",
    "ghp_short",
    "xoxb-",
    "the key lives in the Secret aws-credentials",
    "",
  ])("finds nothing in %j", (text) => {
    expect(findSecrets(text)).toBeUndefined();
  });

  it.each([
    ["repoURL: https://user:ghp_token123@github.com/org/repo.git", true],
    ["url: https://ghp_token123@github.com/org/repo.git", true],
    ["ssh://git:hunter2@git.example.com/org/repo.git", true],
    ["https://git.example.com/org/repo.git", false],
    ["ssh://git@git.example.com/org/repo.git", false],
    ["git@github.com:org/repo.git", false],
    ["https://git.example.com/org/repo@v1.git", false],
  ])("6: a URL with credentials in rendered output: %j → %s", (text, found) => {
    expect(findSecrets(text) !== undefined).toBe(found);
  });

  it("6: the secret scan of rendered management objects flags a repoURL with credentials", () => {
    const appset = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: "p", namespace: "argocd" },
      spec: { sourceRepos: ["https://user:token@git.example.com/x.git"] },
    };
    const findings = managementRules([appset], "management/sync/kustomization.yaml");
    expect(findings.map((f) => f.rule)).toContain("no-key-material");
    expect(findings.find((f) => f.rule === "no-key-material")?.message).toMatch(/URL with credentials/);
  });
});

describe(`issue 20: what a cluster's render must hold (render-complete) and a prod control plane \
(prod-control-plane-ha)`, () => {
  const spec = (name: string) => specs.find((s) => s.name === name)!;
  const rows = (f: Finding[]) => f.map((x) => `${x.rule} ${x.file} ${x.path}`).sort();

  it("every fixture's own render is complete, and a prod one is HA", () => {
    for (const s of specs)
      expect(rows([...renderCompleteness(rendered(s.name), s), ...controlPlaneHaRule(rendered(s.name), s)])).toEqual(
        [],
      );
  });

  it(`an empty render lacks the Cluster, AWSCluster, control plane and every pool \
(one MachineDeployment per zone)`, () => {
    const s = spec("edge-md");
    const found = renderCompleteness({ cluster: s.name, objects: [], origins: [] }, s);
    expect(found.map((f) => f.path)).toEqual(expectedCoreObjects(s).map((o) => `${o.kind}/${o.name}`));
    expect(found.filter((f) => f.path?.startsWith("MachineDeployment/")).length).toBe(
      s.nodePools.reduce((n, p) => n + p.availabilityZones.length, 0),
    );
    expect(found[0]?.message).toMatch(/renders no objects at all/);
  });

  it("a deleted pool or a renamed Cluster is missing; its file is the cluster's own layer", () => {
    const s = spec("demo");
    const noPool = rendered("demo", (objs) => objs.splice(objs.indexOf(one(objs, "MachinePool")), 1));
    expect(rows(renderCompleteness(noPool, s))).toEqual([
      `render-complete ${fileOf("demo")} MachinePool/${one(baseline.get("demo")!, "MachinePool").metadata.name}`,
    ]);
    const renamed = rendered("demo", (objs) => void (capiCluster(objs).metadata.name = "other"));
    expect(rows(renderCompleteness(renamed, s))).toEqual([`render-complete ${fileOf("demo")} Cluster/demo`]);
  });

  it(`profile prod with one control-plane machine: on cluster.yaml when the spec says so, \
on the layer when a patch does`, () => {
    const s = spec("payments-prod");
    const one1 = rendered(s.name, (objs) => void (kcp(objs).spec.replicas = 1));
    expect(rows(controlPlaneHaRule(one1, s))).toEqual([
      `prod-control-plane-ha clusters/payments-prod/kustomization.yaml ` +
        `KubeadmControlPlane/${kcp(one1.objects).metadata.name}:spec.replicas`,
    ]);
    expect(rows(controlPlaneHaRule(one1, { ...s, controlPlane: { ...s.controlPlane, replicas: 1 } }))).toEqual([
      "prod-control-plane-ha clusters/payments-prod/cluster.yaml controlPlane.replicas",
    ]);
    expect(controlPlaneHaRule(one1, { ...s, profile: "dev" })).toEqual([]);
  });
});

describe("the VPC CIDR fleet rule compares the clusters of one AWS account (identity)", () => {
  /** demo on payments-prod's VPC CIDR and region, in `account` (undefined: the controller's). */
  const fleet = (accounts: [string | undefined, string | undefined], region?: string) => {
    const inAccount = (account: string | undefined) => (o: Objs) => {
      const a = awsCluster(o);
      if (account) a.metadata.annotations = { ...a.metadata.annotations, "capi-gitops.io/aws-account": account };
    };
    const prod = rendered("payments-prod", inAccount(accounts[0]));
    const region0 = String(awsCluster(prod.objects).spec.region);
    const cidr = String(awsCluster(prod.objects).spec.network.vpc.cidrBlock);
    return [
      prod,
      rendered("demo", (o) => {
        inAccount(accounts[1])(o);
        awsCluster(o).spec.region = region ?? region0;
        awsCluster(o).spec.network.vpc.cidrBlock = cidr;
      }),
    ];
  };
  const clashes = (f: RenderedCluster[]) =>
    fleetRules(f)
      .filter((x) => x.rule === "fleet-unique-vpc-cidr")
      .map((x) => `${x.cluster} ${x.message}`);
  it.each([
    ["both in the controller's account", [undefined, undefined], 1],
    ["both in one identity's account", ["111122223333", "111122223333"], 1],
    ["in two accounts", ["111122223333", "444455556666"], 0],
    ["one in the controller's account, one in an identity's", [undefined, "444455556666"], 0],
  ] as const)("%s", (_, accounts, n) => {
    const found = clashes(fleet([accounts[0], accounts[1]]));
    expect(found, found.join("\n")).toHaveLength(n);
    if (n) expect(found[0]).toMatch(/^demo .*in the same AWS account/);
  });
  it("one account, two regions: still a clash (inter-region peering and transit gateways join them)", () => {
    expect(clashes(fleet(["111122223333", "111122223333"], "eu-west-1"))).toHaveLength(1);
  });
});
