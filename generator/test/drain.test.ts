/**
 * Issue 19 items 3, 4, 8 and part of 11: every path that removes a worker drains it first, only health checks that
 * act are generated, least-privilege IAM, cross-zone NLB. Each claim is shown on real kustomize output (and the
 * upstream admission program / the real clusterawsadm where they apply), each with a negative control.
 *
 * The upstream lines the design relies on (CAPI v1.13.4, CAPA v2.13.0 module sources):
 * - CAPI internal/controllers/machine/machine_controller.go:465 reconcileDelete → :511 `if r.isNodeDrainAllowed(m)` →
 *   :539 `r.drainNode(ctx, s)`: every deleted Machine is cordoned and drained before its infrastructure goes;
 *   :674 isNodeDrainAllowed returns false only for the exclude-node-draining annotation (:681) or a drain timeout.
 * - CAPI internal/controllers/machineset/machineset_deletion_order.go:55 — a Machine marked
 *   `cluster.x-k8s.io/delete-machine` (what the cluster-autoscaler's clusterapi provider sets before lowering
 *   replicas) is deleted first on scale-down, so the node the autoscaler drained is the one that goes.
 * - CAPI internal/webhooks/machinedeployment.go:110–114 — RollingUpdate defaults maxSurge 1, maxUnavailable 0
 *   (launch before terminate); the base writes it out.
 * - CAPA exp/controllers/awsmachinepool_machines.go:117 deleteOrphanedAWSMachines, :136 — a MachinePool Machine is
 *   deleted only once its instance is no longer in the auto scaling group: after termination, never drained.
 * - CAPA pkg/cloud/services/autoscaling/autoscalinggroup.go:352 StartASGInstanceRefresh, :363/:366 — the refresh
 *   uses refreshPreferences' min/max healthy percentages (AWS default min 90: terminate first).
 * - CAPI internal/controllers/machinehealthcheck/machinehealthcheck_controller.go:538–550 — the MHC only sets
 *   OwnerRemediated=False; machineset_controller.go:1513 reconcileUnhealthyMachines or KCP remediates;
 *   docs/book/src/tasks/automated-machine-management/healthchecking.md:11 "only support Machines that are owned by a
 *   MachineSet or a KubeadmControlPlane"; controlplane/kubeadm/internal/controllers/remediation.go:222
 *   `if controlPlane.Machines.Len() <= 1` — no remediation.
 * - CAPA pkg/cloud/services/elb/loadbalancer.go:435–437 — crossZoneLoadBalancing → load_balancing.cross_zone.enabled.
 * - CAPA cmd/clusterawsadm/cloudformation/bootstrap/cluster_api_controller.go:45 — the controllers' policy is attached
 *   to the control-plane role unless disableClusterAPIControllerPolicyAttachment.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import type { ClusterSpec, Profile } from "../src/cluster-spec/types.js";
import { iamConfiguration, planIam } from "../src/plan/iam.js";
import { writeTree } from "../src/repo/write.js";
import { admit } from "../src/tools/admission.js";
import { printCloudFormationTemplate } from "../src/tools/clusterawsadm.js";
import { drainRules, EXCLUDE_NODE_DRAINING } from "../src/validate/drain-rules.js";
import type { RenderedCluster } from "../src/render/render.js";
import { parseYamlStream, toYaml } from "../src/core/yaml.js";
import { renderedRepo, tempDir } from "./helpers.js";

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: any;
};

function spec(input: Record<string, unknown>): ClusterSpec {
  const r = parseSpecObject({ apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec", ...input });
  if (!r.spec || r.findings.some((f) => f.severity === "error")) throw new Error(JSON.stringify(r.findings));
  return r.spec;
}
// An own AMI names its kubelet version (parse.ts image-version); the clusters pin the same version.
const K8S = "v1.34.8";
const own = { id: "ami-0123456789abcdef0", kubernetesVersion: K8S };
const SPECS = {
  dev: spec({ name: "dev", region: "eu-west-1", kubernetesVersion: K8S, image: own }),
  prod: spec({
    name: "prod",
    region: "eu-west-1",
    kubernetesVersion: K8S,
    profile: "prod",
    image: own,
    nodePools: [{ name: "auto" }, { name: "fixed", autoscaling: false, replicas: 3 }],
  }),
  mpDev: spec({ name: "mp-dev", region: "eu-west-1", kubernetesVersion: K8S, workers: "MachinePool", image: own }),
  mpProd: spec({
    name: "mp-prod",
    region: "eu-west-1",
    kubernetesVersion: K8S,
    workers: "MachinePool",
    profile: "prod",
    image: own,
  }),
  ha: spec({ name: "ha", region: "eu-west-1", kubernetesVersion: K8S, controlPlane: { replicas: 3 }, image: own }),
};
const PROFILE: Record<string, Profile> = { dev: "dev", prod: "prod", "mp-dev": "dev", "mp-prod": "prod", ha: "dev" };
let rendered = new Map<string, Obj[]>();
let cleanup: () => Promise<void>;
let repo: string;

beforeAll(async () => {
  ({ dir: repo, rendered, cleanup } = await renderedRepo<Obj>(Object.values(SPECS)));
});
afterAll(() => cleanup?.());

const of = (name: string, kind: string) => rendered.get(name)!.filter((o) => o.kind === kind);
const rc = (objects: Obj[], cluster = "x"): RenderedCluster => ({
  cluster,
  objects: objects,
  origins: objects.map(() => undefined),
});
const rules = (name: string, objects = rendered.get(name)!) =>
  drainRules(rc(objects, name), PROFILE[name], "x").map((f) => `${f.rule}:${f.severity}:${f.path}`);
const clone = <T>(v: T): T => structuredClone(v);

describe("workers: MachineDeployments by default, spread over the zones", () => {
  it("a default cluster's pool is one MachineDeployment per zone with failureDomain (the spread one ASG gave)", () => {
    expect(SPECS.dev.workers).toBe("MachineDeployment");
    const mds = of("dev", "MachineDeployment");
    expect(mds.map((m) => m.spec.template.spec.failureDomain)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    expect(of("dev", "MachinePool")).toEqual([]);
  });
  it("every MachineDeployment rolls out launch-first (maxSurge 1, maxUnavailable 0)", () => {
    for (const name of ["dev", "prod"])
      for (const md of of(name, "MachineDeployment"))
        expect(md.spec.rollout).toEqual({
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        });
  });
  it("the autoscaler balances a pool's zone MachineDeployments and ignores the per-zone node labels", () => {
    const args: string[] = of("dev", "Deployment")[0]!.spec.template.spec.containers[0].args;
    expect(args).toContain("--balance-similar-node-groups");
    expect(args).toContain("--balancing-ignore-label=topology.ebs.csi.aws.com/zone");
    expect(args).toContain("--balancing-ignore-label=topology.k8s.aws/zone-id");
  });
});

describe("drain on every worker-removal path (validate/drain-rules.ts)", () => {
  it(`the generated MachineDeployment clusters have no finding but an autoscaled pool's zone that may stay \
empty`, () => {
    expect(rules("prod")).toEqual([]);
    // dev's default pool is 1..3 over three zones (1, 0, 0 minimum): empty zones by design, not reported for dev.
    for (const name of ["dev", "ha"]) expect(rules(name)).toEqual([]);
  });
  it("pool-zone-empty: the balancing holds only while every zone has a node; names the minSize to set", () => {
    // The same pool under profile prod: a warning.
    const [finding] = drainRules(rc(rendered.get("dev")!, "dev"), "prod", "x").filter(
      (f) => f.rule === "pool-zone-empty",
    );
    expect(finding!.severity).toBe("warning");
    expect(finding!.message).toMatch(
      /pool default has a minimum of 1 over 3 zones, so dev-default-b, dev-default-c may be at 0/,
    );
    expect(finding!.message).toContain("set nodePools[].minSize to at least 3 in clusters/dev/cluster.yaml");
    // A fixed pool (no autoscaler annotations) is not concerned.
    const fixed = clone(rendered.get("dev")!).map((o) =>
      o.kind === "MachineDeployment" ? { ...o, metadata: { ...o.metadata, annotations: {} } } : o,
    );
    expect(drainRules(rc(fixed, "dev"), "prod", "x").filter((f) => f.rule === "pool-zone-empty")).toEqual([]);
  });
  it("MachinePool workers: reported — a warning for dev, an error for prod", () => {
    expect(rules("mp-dev")).toEqual(["workers-drain:warning:MachinePool/mp-dev-default:kind"]);
    expect(rules("mp-prod")).toEqual(["workers-drain:error:MachinePool/mp-prod-default:kind"]);
  });
  it("every AWSMachinePool refreshes launch-first with a warm-up (a 1-node dev pool is never empty)", () => {
    for (const name of ["mp-dev", "mp-prod"])
      expect(of(name, "AWSMachinePool")[0]!.spec.refreshPreferences).toEqual({
        strategy: "Rolling",
        instanceWarmup: 300,
        minHealthyPercentage: 100,
        maxHealthyPercentage: 200,
      });
  });
  it("negative controls: a terminate-first refresh, no warm-up, a drain exclusion, maxSurge 0", () => {
    const mp = clone(rendered.get("mp-dev")!);
    const amp = mp.find((o) => o.kind === "AWSMachinePool")!;
    amp.spec.refreshPreferences = { minHealthyPercentage: 90 }; // the prod profile's value before this change
    expect(rules("mp-dev", mp)).toEqual([
      "workers-drain:warning:MachinePool/mp-dev-default:kind",
      "refresh-launch-first:warning:AWSMachinePool/mp-dev-default:spec.refreshPreferences",
      "refresh-launch-first:warning:AWSMachinePool/mp-dev-default:spec.refreshPreferences.instanceWarmup",
    ]);
    // prod: errors, like workers-drain.
    const prodPool = clone(rendered.get("mp-prod")!);
    prodPool.find((o) => o.kind === "AWSMachinePool")!.spec.refreshPreferences = {
      minHealthyPercentage: 90,
      instanceWarmup: 300,
    };
    expect(rules("mp-prod", prodPool)).toEqual([
      "workers-drain:error:MachinePool/mp-prod-default:kind",
      "refresh-launch-first:error:AWSMachinePool/mp-prod-default:spec.refreshPreferences",
    ]);
    delete amp.spec.refreshPreferences; // no preferences at all: AWS's 90 %
    expect(rules("mp-dev", mp).filter((r) => r.startsWith("refresh-launch-first"))).toHaveLength(2);
    amp.spec.refreshPreferences = { disable: true };
    expect(rules("mp-dev", mp).filter((r) => r.startsWith("refresh-launch-first"))).toEqual([]);

    const md = clone(rendered.get("dev")!);
    const first = md.find((o) => o.kind === "MachineDeployment")!;
    first.spec.template.metadata.annotations = { [EXCLUDE_NODE_DRAINING]: "" };
    first.spec.rollout.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: 1 };
    expect(rules("dev", md).filter((r) => !r.startsWith("pool-zone-empty"))).toEqual([
      `drain-excluded:error:MachineDeployment/${first.metadata.name}:spec.template.metadata.annotations.` +
        `${EXCLUDE_NODE_DRAINING}`,
      `rollout-launch-first:warning:MachineDeployment/${first.metadata.name}:spec.rollout.strategy.rollingU` +
        `pdate.maxSurge`,
    ]);
  });
});

describe("drain-excluded: a drain timeout too short to drain, a MachineDrainRule that skips", () => {
  it("a nodeDrainTimeoutSeconds under 60 s and a Skip rule are errors; 0 (no timeout), 60 s and Drain are not", () => {
    const md = clone(rendered.get("prod")!);
    const [first, second] = md.filter((o) => o.kind === "MachineDeployment");
    first!.spec.template.spec.deletion = { nodeDrainTimeoutSeconds: 5 };
    second!.spec.template.spec.deletion = { nodeDrainTimeoutSeconds: 60 };
    const rule = (name: string, behavior: string) => ({
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "MachineDrainRule",
      metadata: { name, namespace: "prod" },
      spec: { drain: { behavior }, pods: [{ selector: {} }] },
    });
    const found = rules("prod", [...md, rule("skip", "Skip"), rule("drain", "Drain")]);
    expect(found).toEqual([
      `drain-excluded:error:MachineDeployment/${first!.metadata.name}:spec.template.spec.deletion.nodeDrain` +
        `TimeoutSeconds`,
      "drain-excluded:error:MachineDrainRule/skip:spec.drain.behavior",
    ]);
    first!.spec.template.spec.deletion = { nodeDrainTimeoutSeconds: 0 };
    expect(rules("prod", md)).toEqual([]);
  });
});

describe("health checks that act", () => {
  it("one check per MachineDeployment pool; the control plane's only with more than one replica", () => {
    expect(of("dev", "MachineHealthCheck").map((m) => m.metadata.name)).toEqual(["dev-default"]);
    expect(
      of("ha", "MachineHealthCheck")
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual(["ha-control-plane", "ha-default"]);
    expect(
      of("prod", "MachineHealthCheck")
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual(["prod-auto", "prod-control-plane", "prod-fixed"]);
    // The profile's strictness reaches the control plane's check too (the component is listed before the profile).
    expect(
      of("prod", "MachineHealthCheck").find((m) => m.metadata.name === "prod-control-plane")!.spec.remediation.triggerIf
        .unhealthyLessThanOrEqualTo,
    ).toBe("40%");
  });
  it(`MachinePool clusters get no check (nothing would remediate; \
the ASG's EC2 health checks replace instances)`, () => {
    expect(of("mp-dev", "MachineHealthCheck")).toEqual([]);
    expect(of("mp-prod", "MachineHealthCheck").map((m) => m.metadata.name)).toEqual(["mp-prod-control-plane"]);
  });
  it("negative controls: the checks this change removed are reported as unable to act", () => {
    // The pool check the MachinePool base carried, and the control-plane check of a 1-replica dev cluster.
    const mp = clone(rendered.get("mp-dev")!);
    const poolCheck = clone(of("dev", "MachineHealthCheck")[0]!);
    poolCheck.metadata.name = "mp-dev-default";
    poolCheck.spec.clusterName = "mp-dev";
    const cpCheck = clone(of("ha", "MachineHealthCheck").find((m) => m.metadata.name === "ha-control-plane")!);
    cpCheck.metadata.name = "mp-dev-control-plane";
    cpCheck.spec.clusterName = "mp-dev";
    const found = rules("mp-dev", [...mp, poolCheck, cpCheck]).filter((r) => r.startsWith("mhc-can-act"));
    expect(found).toEqual([
      "mhc-can-act:error:MachineHealthCheck/mp-dev-default:spec.selector",
      "mhc-can-act:warning:MachineHealthCheck/mp-dev-control-plane:spec.selector",
    ]);
  });
  it(`a check on a one-replica control plane is a warning: KCP remediates it only before initialization \
(remediation.go)`, () => {
    const dev = clone(rendered.get("dev")!);
    const cpCheck = clone(of("ha", "MachineHealthCheck").find((m) => m.metadata.name === "ha-control-plane")!);
    cpCheck.metadata.name = "dev-control-plane";
    cpCheck.spec.clusterName = "dev";
    const found = drainRules(rc([...dev, cpCheck], "dev"), "dev", "x").filter((f) => f.rule === "mhc-can-act");
    expect(found.map((f) => `${f.severity}:${f.path}`)).toEqual([
      "warning:MachineHealthCheck/dev-control-plane:spec.selector",
    ]);
    expect(found[0]!.message).toContain("only on a failed first boot");
  });
});

describe("cross-zone load balancing on the control-plane NLB", () => {
  it("is set on every cluster's AWSCluster", () => {
    for (const name of Object.keys(PROFILE))
      expect(of(name, "AWSCluster")[0]!.spec.controlPlaneLoadBalancer).toMatchObject({
        loadBalancerType: "nlb",
        crossZoneLoadBalancing: true,
      });
  });
});

describe("the upstream admission program admits what is generated", () => {
  it("every CAPI/CAPA object of the five clusters is allowed", async () => {
    const input = [...rendered.values()]
      .flat()
      .map((o) => toYaml(o))
      .join("---\n");
    const results = await admit(input, { cwd: repo });
    const denied = results.filter((r) => !r.allowed).map((r) => `${r.kind}/${r.name}: ${JSON.stringify(r.messages)}`);
    expect(denied).toEqual([]);
    expect(
      results.filter((r) => r.kind === "MachineDeployment" && r.stage === "webhook").length,
    ).toBeGreaterThanOrEqual(6);
  });
});

describe("least-privilege IAM, checked on the real clusterawsadm's CloudFormation template", () => {
  type Cfn = { Resources: Record<string, { Type: string; Properties: any }> };
  const print = async (config: object): Promise<Cfn> => {
    const t = await tempDir();
    try {
      await writeTree(t.dir, { files: planIam(), roots: [] });
      writeFileSync(path.join(t.dir, "iam.yaml"), toYaml(config));
      return parseYamlStream(await printCloudFormationTemplate(t.dir, "iam.yaml"))[0] as Cfn;
    } finally {
      await t.cleanup();
    }
  };
  const rolesOf = (cfn: Cfn, policy: string) =>
    (cfn.Resources[policy]?.Properties.Roles ?? []).map((r: { Ref: string }) => r.Ref);
  const controlPlaneActions = (cfn: Cfn) =>
    (cfn.Resources.AWSIAMRoleControlPlane?.Properties.Policies ?? []).flatMap((p: any) =>
      p.PolicyDocument.Statement.flatMap((s: any) => s.Action),
    );

  it(`management/iam/bootstrap.yaml: controllers' policy only on the controllers role, no EKS, \
the CCM's actions`, async () => {
    const cfn = await print(iamConfiguration());
    expect(rolesOf(cfn, "AWSIAMManagedPolicyControllers")).toEqual(["AWSIAMRoleControllers"]);
    expect(Object.keys(cfn.Resources).filter((k) => /EKS/.test(k))).toEqual([]);
    expect(controlPlaneActions(cfn)).toEqual(
      expect.arrayContaining(["ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTopology"]),
    );
    expect(cfn.Resources.AWSEBSCSIPolicyController).toBeDefined();
  });
  it(`negative control: clusterawsadm's defaults attach the controllers' policy to the control plane and add \
EKS`, async () => {
    const cfg = clone(iamConfiguration()) as any;
    delete cfg.spec.controlPlane.disableClusterAPIControllerPolicyAttachment;
    delete cfg.spec.controlPlane.extraStatements;
    delete cfg.spec.eks;
    const cfn = await print(cfg);
    expect(rolesOf(cfn, "AWSIAMManagedPolicyControllers")).toContain("AWSIAMRoleControlPlane");
    expect(Object.keys(cfn.Resources).filter((k) => /EKS/.test(k)).length).toBeGreaterThan(0);
    expect(controlPlaneActions(cfn)).not.toContain("ec2:DescribeInstanceTopology");
  });
});
