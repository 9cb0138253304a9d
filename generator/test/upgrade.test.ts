/**
 * `npm run upgrade` and `npm run inventory` end to end, on a real temporary git repository: a v1.33 cluster goes to
 * v1.34 in two runs (control plane, then pools), each state rendered with the real kustomize and checked with the
 * real `validate`; `diff` explains each step; a two-minor target exits 1 with the tree unchanged; the inventory lists
 * every cluster (JSON, Markdown).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { runCli, treeHash } from "./helpers.js";
import { commitAll, configuredRepo, git } from "./helpers/repo.js";

let repo: string;
let cleanup: () => Promise<void>;
const g = (...args: string[]) => git(repo, ...args);
const cli = (...args: string[]) => runCli([...args, "--repo", repo]);
const spec = () => readFile(path.join(repo, "clusters/ohio/cluster.yaml"), "utf8");

/** The versions the management cluster would get: the rendered KubeadmControlPlane, pools, CCM and autoscaler. */
async function rendered(cluster: string) {
  const objs = parseYamlStream(await kustomizeBuild(repo, `clusters/${cluster}`)) as any[];
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  return {
    controlPlane: of("KubeadmControlPlane")[0]?.spec.version,
    // One version per pool (a MachineDeployment pool is one MachineDeployment per zone).
    pools: Object.values(
      Object.fromEntries(
        [...of("MachinePool"), ...of("MachineDeployment")].map((o) => [
          o.spec.template.metadata.labels["capi-gitops.io/node-pool"],
          o.spec.template.spec.version,
        ]),
      ),
    ),
    ccm: of("Cluster")[0]?.metadata.labels["addons.capi-gitops.io/ccm"],
    autoscaler: of("Deployment").find((o) => o.metadata.name.endsWith("cluster-autoscaler"))?.spec.template.spec
      .containers[0].image,
  };
}

beforeAll(async () => {
  ({ repo, cleanup } = await configuredRepo("capi-gitops-upgrade-"));
  // ohio: us-east-2 on CAPA's public images (published there: v1.33.4 and v1.34.3); seoul: no image (made without
  // validation; validate reports it).
  await newClusterCommand({
    cwd: repo,
    flags: {
      name: "ohio",
      region: "us-east-2",
      kubernetesVersion: "v1.33.4",
      pool: ["name=web", "name=batch,min-size=0,max-size=4"],
    },
    log: () => {},
    render: false,
  });
  await newClusterCommand({
    cwd: repo,
    flags: { name: "seoul", region: "ap-northeast-2" },
    log: () => {},
    render: false,
  });
  await commitAll(repo, "two clusters");
});
afterAll(async () => cleanup?.());

describe("upgrade, one step per run", () => {
  it("refuses a two-minor target with exit 1, the single steps, and an unchanged tree", async () => {
    const before = await treeHash(repo);
    const r = await cli("upgrade", "--name", "ohio", "--to", "v1.35.0");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("clusters/ohio/cluster.yaml --to");
    expect(r.stderr).toContain("v1.33.4 → v1.34.8 → v1.35.0");
    expect(r.stderr).toContain("nothing was written");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`step 1 (--branch) moves the control plane; the pools, the CCM and the autoscaler stay; it validates; \
diff explains it`, async () => {
    const r = await cli("upgrade", "--name", "ohio", "--to", "v1.34.3", "--branch");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("ohio: control plane v1.33.4 → v1.34.3; pools stay at v1.33.4");
    expect(await g("rev-parse", "--abbrev-ref", "HEAD")).toBe("upgrade/ohio-v1.34.3-control-plane");
    const files = (await g("show", "--name-only", "--format=", "HEAD")).split("\n");
    expect(files).toContain("clusters/ohio/cluster.yaml");
    expect(files.every((f) => f.startsWith("clusters/ohio/"))).toBe(true);
    expect(await g("status", "--porcelain")).toBe("");
    const text = await spec();
    expect(text).toContain("kubernetesVersion: v1.34.3\n");
    expect(text.match(/    kubernetesVersion: v1\.33\.4\n/g)).toHaveLength(2);
    // Issue 19 item 6: the CCM and the autoscaler stay at 1.33 while the API servers roll (CRS Reconcile applies at
    // once).
    expect(await rendered("ohio")).toEqual({
      controlPlane: "v1.34.3",
      pools: ["v1.33.4", "v1.33.4"],
      ccm: "aws-ccm-v1.33.4",
      autoscaler: "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.5",
    });

    const v = await validateCommand({ cwd: repo, clusters: ["ohio"] });
    expect(
      v.findings.filter((f) => f.severity === "error"),
      JSON.stringify(v.findings, null, 1),
    ).toEqual([]);
    expect(v.findings).toContainEqual(
      expect.objectContaining({ cluster: "ohio", rule: "upgrade-state", severity: "info" }),
    );

    const d = await cli("diff", "--base", "main");
    expect(d.exitCode, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toContain("upgrade step 1 of 2: the control plane moves v1.33.4 → v1.34.3");
    expect(d.stdout).not.toContain("pool-upgraded-with-control-plane");
    await g("checkout", "-q", "main");
    await g("merge", "-q", "--ff-only", "upgrade/ohio-v1.34.3-control-plane");
  });

  it(`the inventory lists every cluster with region and versions (JSON, stable shape) and the upgrade state; \
Markdown is a table`, async () => {
    const j = await cli("inventory", "--format", "json");
    expect(j.exitCode, j.stderr).toBe(0);
    const inv = JSON.parse(j.stdout);
    expect(Object.keys(inv)).toEqual(["schema", "clusters", "unreadable"]);
    expect(inv.schema).toBe("capi-gitops.io/inventory/v1");
    expect(
      inv.clusters.map((c: any) => [c.name, c.region, c.controlPlane.version, c.pools.map((p: any) => p.version)]),
    ).toEqual([
      ["ohio", "us-east-2", "v1.34.3", ["v1.33.4", "v1.33.4"]],
      ["seoul", "ap-northeast-2", "v1.34.8", ["v1.34.8"]],
    ]);
    const ohio = inv.clusters[0];
    expect(Object.keys(ohio)).toEqual([
      "name",
      "namespace",
      "region",
      "availabilityZones",
      "profile",
      "ring",
      "workers",
      "controlPlane",
      "pools",
      "vpcCidr",
      "identity",
      "access",
      "addons",
      "upgrade",
      "render",
      "validation",
    ]);
    expect(Object.keys(ohio.pools[1])).toEqual([
      "name",
      "instanceType",
      "availabilityZones",
      "autoscaling",
      "minSize",
      "maxSize",
      "replicas",
      "version",
      "capacityType",
      "instanceTypes",
      "taints",
    ]);
    expect(ohio.pools[1]).toMatchObject({ name: "batch", minSize: 0, maxSize: 4, autoscaling: true, replicas: null });
    expect(ohio.addons).toEqual({
      cni: "cilium v1.20.2",
      ccm: "aws-ccm v1.33.4",
      csi: "aws-ebs-csi v2.13.0",
      clusterAutoscaler: "v1.33.5",
      gpu: null,
    });
    expect(ohio.upgrade.stage).toBe("pools-behind");
    // Between the steps every MachineDeployment pool a minor behind gets no new machine from CAPI: warned, per pool.
    expect(ohio.validation).toMatchObject({ errors: 0, warnings: ohio.validation.findings.length });
    expect(ohio.validation.findings.map((f: { rule: string; path: string }) => `${f.rule} ${f.path}`)).toEqual(
      ["batch-a", "batch-b", "batch-c", "web-a", "web-b", "web-c"].map(
        (p) => `kubeadm-join-skew MachineDeployment/ohio-${p}:spec.template.spec.version`,
      ),
    );
    // seoul relies on CAPA's public images where none is published: validate's error is in its entry.
    expect(inv.clusters[1].upgrade.stage).toBe("current");
    expect(inv.clusters[1].validation.findings).toContainEqual(
      expect.objectContaining({ severity: "error", rule: "image-published" }),
    );

    const m = await cli("inventory", "--format", "markdown", "--no-validate");
    expect(m.exitCode).toBe(0);
    const lines = m.stdout.split("\n");
    const cells = (l: string) => l.replace(/\\\|/g, "").split("|").length;
    expect(lines[0]).toMatch(/^\| cluster \| namespace \| region \|.*\| upgrade \| validate \|$/);
    expect(lines[1]).toMatch(/^\|( --- \|)+$/);
    expect(lines.slice(2, 4).map((l) => l.slice(0, 10))).toEqual(["| `ohio` |", "| `seoul` "]);
    for (const l of lines.slice(0, 4)) expect(cells(l)).toBe(cells(lines[0]!));
    expect(lines[4]).toBe("");

    // Only the named clusters (the workflow's PR summary lists the touched ones); an unknown name is a usage error.
    const one = await cli("inventory", "seoul", "--format", "json");
    expect(one.exitCode, one.stderr).toBe(0);
    const only = JSON.parse(one.stdout);
    expect(only.clusters.map((c: any) => c.name)).toEqual(["seoul"]);
    expect(only.clusters[0].validation.findings).toContainEqual(expect.objectContaining({ rule: "image-published" }));
    const unknown = await cli("inventory", "nosuch", "--no-validate");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("no cluster nosuch");
  });

  it(`step 2 (the same command) moves the pools and removes their pins; it validates; diff explains it; \
a third run does nothing`, async () => {
    const r = await cli("upgrade", "--name", "ohio", "--to", "v1.34.3", "--branch");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("pools web, batch v1.33.4 → v1.34.3");
    expect(await g("rev-parse", "--abbrev-ref", "HEAD")).toBe("upgrade/ohio-v1.34.3-pools");
    const text = await spec();
    expect(text).not.toContain("v1.33.4");
    expect(text.match(/kubernetesVersion/g)).toHaveLength(1);
    // The CCM and the autoscaler follow in this step (issue 19 item 6).
    expect(await rendered("ohio")).toEqual({
      controlPlane: "v1.34.3",
      pools: ["v1.34.3", "v1.34.3"],
      ccm: "aws-ccm-v1.34.3",
      autoscaler: "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.4",
    });
    const v = await validateCommand({ cwd: repo, clusters: ["ohio"] });
    expect(
      v.findings.filter((f) => f.severity !== "info"),
      JSON.stringify(v.findings, null, 1),
    ).toEqual([]);
    const d = await cli("diff", "--base", "main");
    expect(d.stdout).toContain(
      "upgrade step 2 of 2: MachineDeployment ohio-batch-a v1.33.4 → v1.34.3, MachineDeployment " +
        "ohio-batch-b v1.33.4 → v1.34.3",
    );
    expect(d.stdout).toContain("every pool at the control plane's v1.34.3");

    const before = await treeHash(repo);
    const again = await cli("upgrade", "--name", "ohio", "--to", "v1.34.3");
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`--all plans the fleet and prints a table; a refused cluster writes nothing for any; \
--dry-run prints the diff`, async () => {
    const before = await treeHash(repo);
    const all = await cli("upgrade", "--all", "--to", "v1.35.0");
    expect(all.exitCode).toBe(1);
    expect(all.stdout).toMatch(/^cluster\s+now\s+step\s+what it does$/m);
    expect(all.stdout).toMatch(/^ohio\s+control plane v1\.34\.3, pools v1\.34\.3\s+refused\s+upgrade-image/m);
    expect(all.stdout).toMatch(/^seoul\s+control plane v1\.34\.8, pools v1\.34\.8\s+refused\s+upgrade-image/m);
    // Without --to nothing is pending anywhere: a table of "none", exit 0, nothing written.
    const idle = await cli("upgrade", "--all");
    expect(idle.exitCode, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(/^ohio\s+control plane v1\.34\.3, pools v1\.34\.3\s+none\s+nothing to do/m);
    expect(idle.stdout).toMatch(/^seoul\s+control plane v1\.34\.8, pools v1\.34\.8\s+none/m);
    const dry = await cli("upgrade", "--name", "ohio", "--to", "v1.34.8", "--dry-run");
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("--- a/clusters/ohio/cluster.yaml\n+++ b/clusters/ohio/cluster.yaml");
    expect(dry.stdout).toContain("-kubernetesVersion: v1.34.3\n+kubernetesVersion: v1.34.8");
    expect(dry.stdout).toContain("+    kubernetesVersion: v1.34.3");
    expect(dry.stdout).toContain("# dry run: nothing was written");
    expect(await treeHash(repo)).toBe(before);
  });

  it("has --help, and usage errors exit 2", async () => {
    for (const c of ["upgrade", "inventory"]) {
      const h = await cli(c, "--help");
      expect(h.exitCode).toBe(0);
      expect(h.stdout).toContain(`Usage: npm run ${c}`);
    }
    expect((await cli("upgrade", "--to", "v1.34.3")).exitCode).toBe(2);
    expect((await cli("upgrade", "--name", "ohio", "--all")).exitCode).toBe(2);
    expect((await cli("inventory", "--format", "yaml")).exitCode).toBe(2);
  });
});
