/** validate --changed-since: only the affected clusters, with the same affected-set logic as diff (real git). */
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { runCli, tempDir } from "./helpers.js";
import { standInContext, standInRunners } from "./helpers/runners.js";

let repo: string;
let cleanup: () => Promise<void>;
/**
 * What is tested is the selection and our own rules' findings on it: the admission program and kubectl-validate are
 * stand-ins (their verdicts on these shapes: admission-parity, e2e-shapes; their UPDATE admission: admission-update).
 */
const runners = standInRunners();
const g = (...args: string[]) => execa("git", args, { cwd: repo });
beforeAll(async () => {
  const t = await tempDir();
  repo = t.dir;
  cleanup = t.cleanup;
  await g("init", "-q", "-b", "main");
  await g("config", "user.name", "T");
  await g("config", "user.email", "t@example.com");
  const log = () => {};
  await newClusterCommand({
    cwd: repo,
    log,
    flags: { name: "mp-a", region: "eu-west-1", workers: "MachinePool", imageLookupOrg: "123456789012" },
    render: false,
  });
  await newClusterCommand({
    cwd: repo,
    log,
    flags: { name: "mp-b", region: "eu-west-1", workers: "MachinePool", imageLookupOrg: "123456789012" },
    render: false,
  });
  await newClusterCommand({
    cwd: repo,
    log,
    flags: {
      name: "md-c",
      region: "eu-west-1",
      workers: "MachineDeployment",
      profile: "prod",
      imageLookupOrg: "123456789012",
    },
    render: false,
  });
  await g("add", ".");
  await g("commit", "-q", "-m", "fleet");
});
afterAll(() => cleanup?.());

const validateChanged = () => validateCommand({ cwd: repo, changedSince: "HEAD", runners });
const clustersChecked = async () => (await validateChanged()).summary;

describe("validate --changed-since", () => {
  it("nothing changed → no cluster validated", async () => {
    expect(await clustersChecked()).toEqual({ clusters: 0, errors: 0, warnings: 0 });
  });
  it("a spec change → only that cluster; its errors are reported", async () => {
    const spec = path.join(repo, "clusters/mp-a/cluster.yaml");
    const original = await readFile(spec, "utf8");
    await writeFile(spec, original.replace("instanceType: t3.large\nnodePools", "instanceType: m6i.large\nnodePools"));
    await generateCommand({ cwd: repo, log: () => {} });
    // The expected warning: a dev MachinePool's nodes are removed undrained (validate/drain-rules.ts).
    const changed = await validateChanged();
    expect(changed.summary).toEqual({ clusters: 1, errors: 0, warnings: 1 });
    expect(changed.findings.map((f) => `${f.severity} ${f.cluster} ${f.rule}`).sort()).toEqual([
      "warning mp-a workers-drain",
    ]);
    await writeFile(spec, original.replace("replicas: 1", "replicas: 2"));
    const r = await validateChanged();
    expect(r.summary.clusters).toBe(1);
    expect(r.findings.map((f) => `${f.cluster} ${f.rule}`)).toContain("mp-a kcp-replicas-odd");
    await g("checkout", "-q", "--", ".");
  });
  it("a change under base/machinepool → every MachinePool cluster, not the MachineDeployment one", async () => {
    const f = path.join(repo, "base/machinepool/awsmachinepool.yaml");
    await writeFile(f, (await readFile(f, "utf8")) + "# reviewed\n");
    const r = await validateChanged();
    expect(r.summary.clusters).toBe(2);
    // The edited base file differs from what the generator writes: drift is reported for it by a full validate.
    await g("checkout", "-q", "--", ".");
  });
  it("a change under overlays/ → every cluster whose build reads it (the affected-cluster walk)", async () => {
    const prod = path.join(repo, "overlays/profiles/prod/kustomization.yaml");
    await writeFile(prod, (await readFile(prod, "utf8")) + "# reviewed\n");
    expect((await validateChanged()).summary.clusters).toBe(1); // md-c, the prod one
    await g("checkout", "-q", "--", ".");
    const refs = path.join(repo, "overlays/components/cluster-references/kustomizeconfig.yaml");
    await writeFile(refs, (await readFile(refs, "utf8")) + "# reviewed\n");
    expect((await validateChanged()).summary.clusters).toBe(3);
    await g("checkout", "-q", "--", ".");
  });
  it(`fleet-wide rules compare the changed clusters with the unchanged ones, \
and report a clash on the changed one`, async () => {
    try {
      // A new cluster with the VPC CIDR of an unchanged one (an error: new since HEAD, issue 20 item 10), named to sort
      // before it.
      const cidr = /vpcCidr: (\S+)/.exec(await readFile(path.join(repo, "clusters/mp-b/cluster.yaml"), "utf8"))![1]!;
      await newClusterCommand({
        cwd: repo,
        log: () => {},
        flags: { name: "aa-vpc", region: "eu-west-1", vpcCidr: cidr, imageLookupOrg: "123456789012" },
      });
      const r = await validateChanged();
      expect(r.summary.clusters).toBe(1);
      expect(
        r.findings.filter((f) => f.rule.startsWith("fleet-")).map((f) => `${f.cluster} ${f.rule} ${f.severity}`),
      ).toEqual(["aa-vpc fleet-unique-vpc-cidr error"]);
      // A copied cluster directory that keeps the namespace of the unchanged cluster (an error).
      await g("clean", "-fdq", "--", "clusters", "management");
      await g("checkout", "-q", "--", ".");
      await cp(path.join(repo, "clusters/mp-b"), path.join(repo, "clusters/aa-copy"), { recursive: true });
      const spec = path.join(repo, "clusters/aa-copy/cluster.yaml");
      const text = await readFile(spec, "utf8");
      expect(text).toContain("namespace: mp-b\n");
      await writeFile(spec, text.replace("name: mp-b\n", "name: aa-copy\n"));
      const c = await validateChanged();
      expect(c.findings.map((f) => `${f.cluster} ${f.rule}`)).toContain("aa-copy fleet-unique-namespace");
    } finally {
      await g("clean", "-fdq", "--", "clusters", "management");
      await g("checkout", "-q", "--", ".");
    }
  });
  it("the CLI accepts --changed-since", async () => {
    const r = await runCli(["validate", "--repo", repo, "--changed-since", "HEAD"], { ctx: standInContext() });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("0 cluster(s)");
  });
});
