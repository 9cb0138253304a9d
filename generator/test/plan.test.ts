import { describe, expect, it } from "vitest";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { PROFILE_PATCHES, profileTargetsHashedKind } from "../src/plan/base.js";
import { planCluster, spread, spreadOverZones, subnets } from "../src/plan/cluster.js";
import { SHAPE_POOLS, shapeMatrix } from "../src/e2e/plan.js";
import { resolveNewSpec } from "../src/workflows/new-cluster.js";
import { mergeOutputs, mergePlans, owned } from "../src/plan/files.js";
import { planNewCluster, planRemoveCluster, planRepo } from "../src/plan/repo.js";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import { REGION_AZ_LETTERS, zoneSlot } from "../src/cluster-spec/regions.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { PROFILES } from "../src/cluster-spec/types.js";
import { clusterSpec, fixtureSpecs } from "./helpers.js";

const spec = (o: Record<string, unknown> = {}): ClusterSpec => clusterSpec({ name: "demo", ...o });
const fileOf = (files: { path: string; content: string }[], p: string) => {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`no ${p}`);
  return f.content;
};
/** Names set by rename patches in a kustomization, by target kind. */
const renames = (content: string): Record<string, string> => {
  const k = parseYamlStream(content)[0] as { patches: { target: { kind: string }; patch: string }[] };
  const out: Record<string, string> = {};
  for (const p of k.patches) {
    const ops = parseYamlStream(p.patch)[0] as { path: string; value: string }[];
    const r = ops.find((o) => o.path === "/metadata/name");
    if (r) out[p.target.kind] = r.value;
  }
  return out;
};

describe("planRepo", () => {
  it("is deterministic", () => {
    const specs = fixtureSpecs();
    expect(planRepo({ specs }, versions())).toEqual(planRepo({ specs }, versions()));
  });
  it("owns base/, overlays/ and generated/, and scaffolds the user's kustomization", () => {
    const { files } = planRepo({ specs: [spec()] }, versions());
    expect(files.filter((f) => f.mode === "scaffold").map((f) => f.path)).toEqual(["clusters/demo/kustomization.yaml"]);
    expect(files.some((f) => f.path === "base/machinepool/machinepool.yaml")).toBe(true);
    expect(files.some((f) => f.path === "overlays/profiles/prod/kustomization.yaml")).toBe(true);
    expect(files.some((f) => f.path === "overlays/components/machinedeployment/kustomization.yaml")).toBe(true);
  });
  it(`returns the roots it owns: every owned file lies in one (or is one), \
and no root is left without a generator`, () => {
    const { files, roots } = planRepo({ specs: [spec(), spec({ name: "other" })] }, versions());
    const under = (p: string) => roots.find((r) => p === r || p.startsWith(`${r}/`));
    expect(files.filter((f) => f.mode === "owned" && !under(f.path)).map((f) => f.path)).toEqual([]);
    // management/sync is owned without a repository config too: generate removes it when the config goes; so is
    // releases/ with fewer than two rings (nothing releases through one ring: clusters build from base/), and
    // management/identities without a cluster naming an identity.
    expect(roots.filter((r) => !files.some((f) => f.path === r || f.path.startsWith(`${r}/`)))).toEqual([
      "management/identities",
      "management/sync",
      "releases",
    ]);
    expect(roots).toEqual(
      expect.arrayContaining([
        "base",
        "clusters/demo/generated",
        "clusters/other/generated",
        "management/providers",
        "overlays/profiles/prod",
        "schemas/cluster-spec.schema.json",
      ]),
    );
    // The user's files beside generated/ are no root: never rewritten, never removed.
    expect(under("clusters/demo/kustomization.yaml")).toBeUndefined();
    expect(under("clusters/demo/cluster.yaml")).toBeUndefined();
  });
  it(`plans a new cluster as one folder created whole, shared files only where missing, \
and a removal as a root without files`, () => {
    const config = parseRepoConfig(
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
        "repoURL: https://git.example.com/capi.git\ngitops: flux\n",
    ).config!;
    const plan = planNewCluster(spec({ name: "fresh" }), { specs: [spec()], config }, versions());
    // What the management cluster needs of the whole fleet (the IAM bootstrap, the identities and the kustomization
    // listing them) is planned again from every spec, the new one included.
    const FLEET = ["management/iam", "management/identities", "management/kustomization.yaml"];
    expect(plan.roots).toEqual(["clusters/fresh", ...FLEET, "management/sync"]);
    expect(plan.files.filter((f) => f.path.startsWith("clusters/fresh/")).map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "clusters/fresh/cluster.yaml",
        "clusters/fresh/kustomization.yaml",
        "clusters/fresh/generated/kustomization.yaml",
      ]),
    );
    expect(
      plan.files
        .filter((f) => !/^(clusters\/fresh|management\/sync|management\/iam)\//.test(f.path))
        .filter((f) => f.path !== "management/kustomization.yaml")
        .every((f) => f.mode === "scaffold"),
    ).toBe(true);
    expect(
      plan.files.some((f) => f.path === "management/sync/clusters/fresh.yaml") &&
        plan.files.some((f) => f.path === "management/sync/clusters/demo.yaml"),
    ).toBe(true);
    // Without a repository config, management/sync/ is not touched by new-cluster or remove-cluster.
    expect(planNewCluster(spec({ name: "fresh" }), { specs: [] }, versions()).roots).toEqual([
      "clusters/fresh",
      ...FLEET,
    ]);
    const removal = planRemoveCluster("demo", { specs: [spec(), spec({ name: "other" })], config });
    expect(removal.roots).toEqual(["clusters/demo", ...FLEET, "management/sync"]);
    expect(removal.files.map((f) => f.path)).toContain("management/sync/clusters/other.yaml");
    expect(removal.files.some((f) => f.path.includes("demo"))).toBe(false);
    expect(planRemoveCluster("demo", { specs: [spec()] }).roots).toEqual(["clusters/demo", ...FLEET]);
  });
  it("refuses two generators claiming one root", () => {
    expect(() =>
      mergePlans([
        { files: [], roots: ["a"] },
        { files: [], roots: ["a"] },
      ]),
    ).toThrow(/two generators claim the root a/);
  });
  it("refuses two generators claiming one path, and paths leaving the repository", () => {
    expect(() => mergeOutputs([[owned("a/b", "1")], [owned("a/b", "2")]])).toThrow(/two generators/);
    expect(() => mergeOutputs([[owned("../x", "1")]])).toThrow(/inside the repository/);
    expect(() => mergeOutputs([[owned("/etc/x", "1")]])).toThrow(/inside the repository/);
  });
});

describe("hash-named templates", () => {
  const cpName = (s: ClusterSpec) =>
    renames(fileOf(planCluster(s, versions().addons), "clusters/demo/generated/kustomization.yaml")).AWSMachineTemplate;
  const poolNames = (s: ClusterSpec) =>
    renames(fileOf(planCluster(s, versions().addons), "clusters/demo/generated/pools/default/kustomization.yaml"));
  it("control-plane template name follows its instance type, and only that", () => {
    const a = cpName(spec());
    expect(a).toMatch(/^demo-control-plane-[0-9a-f]{8}$/);
    expect(cpName(spec({ controlPlane: { instanceType: "m6i.large" } }))).not.toBe(a);
    expect(cpName(spec({ controlPlane: { replicas: 3 } }))).toBe(a);
    expect(cpName(spec({ sshKeyName: "k" }))).not.toBe(a);
  });
  it("a pool's KubeadmConfig is renamed when its content (node labels) changes", () => {
    const a = poolNames(spec({ workers: "MachinePool" }));
    const b = poolNames(spec({ workers: "MachinePool", nodePools: [{ name: "default", labels: { team: "x" } }] }));
    expect(a.KubeadmConfig).toMatch(/^demo-default-[0-9a-f]{8}$/);
    expect(b.KubeadmConfig).not.toBe(a.KubeadmConfig);
    expect(b.MachinePool).toBe(a.MachinePool);
  });
  it("MachineDeployment pools hash their AWSMachineTemplate and KubeadmConfigTemplate", () => {
    const s1 = spec({ workers: "MachineDeployment", nodePools: [{ name: "default", maxSize: 3 }] });
    const s2 = spec({
      workers: "MachineDeployment",
      nodePools: [{ name: "default", maxSize: 3, instanceType: "m6i.large" }],
    });
    const n1 = poolNames(s1);
    const n2 = poolNames(s2);
    expect(n1.AWSMachineTemplate).not.toBe(n2.AWSMachineTemplate);
    expect(n1.KubeadmConfigTemplate).toBe(n2.KubeadmConfigTemplate);
  });
  it.each(PROFILES)("profile %s never patches a hash-named kind", (p) => {
    expect(PROFILE_PATCHES[p].length).toBeGreaterThan(0);
    expect(profileTargetsHashedKind(p)).toBe(false);
  });
});

describe("placement", () => {
  it("carves one private and one public subnet per zone out of the VPC", () => {
    const s = subnets(spec({ network: { vpcCidr: "10.20.0.0/20" } }));
    expect(s.map((x) => [x.cidrBlock, x.isPublic, x.availabilityZone])).toEqual([
      ["10.20.0.0/24", false, "ap-northeast-2a"],
      ["10.20.8.0/24", true, "ap-northeast-2a"],
      ["10.20.1.0/24", false, "ap-northeast-2b"],
      ["10.20.9.0/24", true, "ap-northeast-2b"],
      ["10.20.2.0/24", false, "ap-northeast-2c"],
      ["10.20.10.0/24", true, "ap-northeast-2c"],
    ]);
  });
  const cidrs = (zones: string[], region = "us-east-1") =>
    Object.fromEntries(
      subnets(spec({ region, availabilityZones: zones, nodePools: [{ name: "p", availabilityZones: zones }] })).map(
        (x) => [x.id, x.cidrBlock],
      ),
    );
  it("9.8: reordering or removing zones keeps every remaining subnet's CIDR", () => {
    const abc = cidrs(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(cidrs(["us-east-1c", "us-east-1b", "us-east-1a"])).toEqual(abc);
    const ac = cidrs(["us-east-1a", "us-east-1c"]);
    expect(ac).toEqual(Object.fromEntries(Object.entries(abc).filter(([id]) => !id.endsWith("1b"))));
    expect(ac["demo-subnet-private-us-east-1c"]).toBe("10.0.32.0/20");
  });
  it(`9.8: the default layout keeps its addresses (private i, public 8+i), \
also where the region skips a letter`, () => {
    expect(cidrs(["us-east-1a", "us-east-1b", "us-east-1c"])).toMatchObject({
      "demo-subnet-private-us-east-1c": "10.0.32.0/20",
      "demo-subnet-public-us-east-1c": "10.0.160.0/20",
    });
    // ap-northeast-1 has zones a, c, d: its default three keep slots 0, 1, 2.
    expect(Object.values(cidrs(["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"], "ap-northeast-1"))).toEqual([
      "10.0.0.0/20",
      "10.0.128.0/20",
      "10.0.16.0/20",
      "10.0.144.0/20",
      "10.0.32.0/20",
      "10.0.160.0/20",
    ]);
    // A zone after a gap keeps its own slot: us-east-1d is slot 3 whatever precedes it.
    expect(cidrs(["us-east-1a", "us-east-1d"])["demo-subnet-private-us-east-1d"]).toBe("10.0.48.0/20");
  });
  it(`9.8: the region table only grows at the end of a region's letters \
(a letter's position is its subnet slot)`, () => {
    // Pinned when subnets moved to zone slots: each region's letters then must stay a prefix of today's.
    const pinned: Record<string, string> = {
      "us-east-1": "abcdef",
      "us-west-2": "abcd",
      "ca-central-1": "abd",
      "ap-northeast-1": "acd",
      "ap-northeast-2": "abcd",
      "eu-west-1": "abc",
    };
    for (const [region, letters] of Object.entries(pinned))
      expect(REGION_AZ_LETTERS[region]?.startsWith(letters), region).toBe(true);
  });
  it("9.8: a zone beyond the carving room is refused (az-subnet-room), and planning it is a PlanError", () => {
    const saved = REGION_AZ_LETTERS["us-east-1"]!;
    (REGION_AZ_LETTERS as Record<string, string>)["us-east-1"] = "abcdefghi";
    try {
      const r = parseSpecObject({
        apiVersion: "capi-gitops.io/v1alpha1",
        kind: "ClusterSpec",
        name: "demo",
        region: "us-east-1",
        availabilityZones: ["us-east-1a", "us-east-1i"],
        nodePools: [{ name: "p", availabilityZones: ["us-east-1a"] }],
      });
      expect(r.findings.map((f) => [f.path, f.rule])).toContainEqual(["availabilityZones.1", "az-subnet-room"]);
      expect(zoneSlot("us-east-1h")).toBe(7);
      expect(() => subnets({ ...spec({ region: "us-east-1" }), availabilityZones: ["us-east-1i"] })).toThrow(
        /no subnet slot/,
      );
    } finally {
      (REGION_AZ_LETTERS as Record<string, string>)["us-east-1"] = saved;
    }
  });
  it("20.9: a pool's per-zone split follows the zones' names, not their order (reordering moves no machine)", () => {
    expect(spreadOverZones(5, ["us-east-2c", "us-east-2a", "us-east-2b"])).toEqual([1, 2, 2]);
    expect(spreadOverZones(1, ["us-east-2b", "us-east-2a"])).toEqual([0, 1]);
    // Every shape e2e applies: each zone's MachineDeployment file is the same whatever the order of the zones.
    for (const flags of shapeMatrix().filter((f) => f.workers === "MachineDeployment")) {
      const zones = flags.zones.split(",");
      const orders = [zones, [...zones].reverse(), [...zones.slice(1), ...zones.slice(0, 1)]];
      const zoneFiles = (order: string[]) => {
        const s = resolveNewSpec({ ...flags, zones: order.join(","), vpcCidr: "10.0.0.0/16" }).spec!;
        return Object.fromEntries(
          planCluster(s, versions().addons)
            .filter((f) => /\/zones\//.test(f.path))
            .map((f) => [f.path, f.content]),
        );
      };
      const first = zoneFiles(orders[0]!);
      expect(Object.keys(first).length).toBe(zones.length * SHAPE_POOLS.length);
      for (const order of orders.slice(1)) expect(zoneFiles(order), `${flags.name} ${order.join(",")}`).toEqual(first);
    }
  });
  it.each([
    [5, 3, [2, 2, 1]],
    [3, 3, [1, 1, 1]],
    [0, 2, [0, 0]],
    [7, 1, [7]],
  ])("spread(%i, %i)", (total, n, expected) => expect(spread(total, n)).toEqual(expected));
});
