/**
 * The CLI as a user runs it: `run(argv, io)` in-process in temporary repositories, the real kustomize; the bin shim as
 * a real process.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseYamlStream } from "../src/core/yaml.js";
import { ROOT, readTree, runCli, tempDir, treeHash } from "./helpers.js";
import { newClusterArgs, OWN_IMAGES } from "./helpers/repo.js";

const BIN = path.join(ROOT, "generator", "bin", "capi-gitops.js");
// These repositories have no capi-gitops.yaml: writers are told to start one (--init).
const cli = (repo: string, ...args: string[]) =>
  runCli([...args, ...(args[0] === "new-cluster" || args[0] === "generate" ? ["--init"] : []), "--repo", repo]);
const build = async (repo: string, dir: string) =>
  parseYamlStream(
    (await execa(path.join(ROOT, ".tools", "bin", "kustomize"), ["build", dir], { cwd: repo })).stdout,
  ) as any[];

let repo: string;
let cleanup: () => Promise<void>;
let created: { stdout: string };
beforeAll(async () => {
  const t = await tempDir();
  repo = t.dir;
  cleanup = t.cleanup;
  // Its own images (CAPA publishes none in ap-northeast-2): otherwise refused, see below.
  const r = await cli(repo, ...newClusterArgs("demo", "ap-northeast-2"), ...OWN_IMAGES, "--yes");
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  created = r;
});
afterAll(() => cleanup?.());

describe("new-cluster", () => {
  it(`creates clusters/demo that kustomize builds, workers across ap-northeast-2a/b/c, \
and says what to do next`, async () => {
    const tree = await readTree(repo);
    expect(Object.keys(tree)).toEqual(
      expect.arrayContaining([
        "clusters/demo/cluster.yaml",
        "clusters/demo/kustomization.yaml",
        "clusters/demo/generated/kustomization.yaml",
        "base/cluster/kustomization.yaml",
      ]),
    );
    const objs = await build(repo, "clusters/demo");
    // Workers are MachineDeployments by default, one per zone (every removed node is drained: drain.test.ts).
    expect(objs.filter((o) => o.kind === "MachineDeployment").map((o) => o.spec.template.spec.failureDomain)).toEqual([
      "ap-northeast-2a",
      "ap-northeast-2b",
      "ap-northeast-2c",
    ]);
    expect(objs.filter((o) => o.kind === "Cluster").map((o) => o.metadata.name)).toEqual(["demo"]);
    expect(Object.keys(tree).some((p) => p.includes(".new-"))).toBe(false);
  });

  it(`prints no warning for a cluster with its own images; \
refuses one relying on CAPA's public images where none is published (issue 19)`, async () => {
    expect(created.stdout).not.toMatch(/warning/);
    const r = await cli(repo, ...newClusterArgs("noimage", "ap-northeast-2"), "--yes");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /noimage-default[^:]*:spec\.(awsLaunchTemplate|template\.spec): no machine image: .*\(image-published\)/,
    );
    expect(r.stderr).toContain("nothing was written");
  });

  it.each([
    ["uppercase and underscore", ["--name", "Demo_1", "--region", "ap-northeast-2"], "--name"],
    ["path traversal", ["--name", "../x", "--region", "ap-northeast-2"], "--name"],
    ["absolute path", ["--name", "/tmp/x", "--region", "ap-northeast-2"], "--name"],
    ["unknown region", ["--name", "x", "--region", "mars-1"], "--region"],
    ["AZ of another region", ["--name", "x", "--region", "ap-northeast-2", "--zones", "us-east-1a"], "--zones"],
    ["existing name", ["--name", "demo", "--region", "ap-northeast-2"], "--name"],
    [
      "zero control-plane replicas",
      ["--name", "x", "--region", "ap-northeast-2", "--control-plane-replicas", "0"],
      "--control-plane-replicas",
    ],
    [
      "even control-plane replicas",
      ["--name", "x", "--region", "ap-northeast-2", "--control-plane-replicas", "2"],
      "--control-plane-replicas",
    ],
    [
      "not a number",
      ["--name", "x", "--region", "ap-northeast-2", "--control-plane-replicas", "three"],
      "--control-plane-replicas",
    ],
    ["min > max", ["--name", "x", "--region", "ap-northeast-2", "--pool", "name=a,min-size=4,max-size=2"], "--pool"],
    ["overlapping CIDRs", ["--name", "x", "--region", "ap-northeast-2", "--pod-cidr", "10.0.0.0/8"], "--service-cidr"],
    ["missing region", ["--name", "x"], "--region"],
    [
      "namespace used by another cluster",
      ["--name", "x", "--region", "ap-northeast-2", "--namespace", "demo"],
      "--namespace",
    ],
  ])("%s: exit 1, names the flag, writes nothing", async (_l, args, flag) => {
    const before = await treeHash(repo);
    const r = await cli(repo, "new-cluster", ...args, "--yes");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(flag);
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await treeHash(repo)).toBe(before);
  });

  it("--dry-run prints the files and writes nothing", async () => {
    const before = await treeHash(repo);
    const r = await cli(repo, ...newClusterArgs("preview", "eu-west-1"), ...OWN_IMAGES, "--dry-run", "--yes");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("# --- clusters/preview/cluster.yaml");
    expect(r.stdout).toContain("region: eu-west-1");
    expect(await treeHash(repo)).toBe(before);
  });

  it("usage errors exit 2; --help exits 0", async () => {
    expect((await cli(repo, "new-cluster", "--bogus")).exitCode).toBe(2);
    expect((await cli(repo, "nonsense")).exitCode).toBe(2);
    const help = await cli(repo, "new-cluster", "--help");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("--control-plane-replicas");
  });
});

describe("generate", () => {
  it("is a no-op right after new-cluster and on a second run", async () => {
    const before = await treeHash(repo);
    const r1 = await cli(repo, "generate");
    expect(r1.exitCode).toBe(0);
    expect(r1.stdout).toContain("0 written, 0 deleted");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`an instance-type change renames the template and its reference; the next run changes nothing; \
user files survive`, async () => {
    const specPath = path.join(repo, "clusters/demo/cluster.yaml");
    const userPath = path.join(repo, "clusters/demo/kustomization.yaml");
    const userText = (await readFile(userPath, "utf8")) + "# my own note\n";
    await writeFile(userPath, userText);
    const oldObjs = await build(repo, "clusters/demo");
    const oldName = oldObjs.find((o) => o.kind === "AWSMachineTemplate").metadata.name;
    await writeFile(
      specPath,
      (await readFile(specPath, "utf8")).replace(
        /instanceType: t3\.large\n(\s+)*nodePools/,
        "instanceType: m6i.large\nnodePools",
      ),
    );
    const spec = await readFile(specPath, "utf8");
    expect(spec).toContain("instanceType: m6i.large");
    expect((await cli(repo, "generate")).exitCode).toBe(0);
    const objs = await build(repo, "clusters/demo");
    const tmpl = objs.find((o) => o.kind === "AWSMachineTemplate");
    expect(tmpl.metadata.name).not.toBe(oldName);
    expect(tmpl.spec.template.spec.instanceType).toBe("m6i.large");
    expect(objs.find((o) => o.kind === "KubeadmControlPlane").spec.machineTemplate.spec.infrastructureRef.name).toBe(
      tmpl.metadata.name,
    );
    const after = await treeHash(repo);
    const r = await cli(repo, "generate");
    expect(r.stdout).toContain("0 written, 0 deleted");
    expect(await treeHash(repo)).toBe(after);
    expect(await readFile(userPath, "utf8")).toBe(userText);
  });

  it(`removing a pool from the spec deletes its generated files; \
an invalid spec writes nothing and exits 1`, async () => {
    const specPath = path.join(repo, "clusters/demo/cluster.yaml");
    const original = await readFile(specPath, "utf8");
    await writeFile(specPath, original.replace("nodePools:\n", "nodePools:\n  - name: extra\n"));
    expect((await cli(repo, "generate")).exitCode).toBe(0);
    expect(Object.keys(await readTree(repo))).toContain("clusters/demo/generated/pools/extra/kustomization.yaml");
    await writeFile(specPath, original);
    const r = await cli(repo, "generate");
    expect(r.stdout).toContain("deleted clusters/demo/generated/pools/extra/kustomization.yaml");
    await writeFile(specPath, original.replace("replicas: 1", "replicas: 2"));
    const before = await treeHash(repo);
    const bad = await cli(repo, "generate");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("clusters/demo/cluster.yaml controlPlane.replicas");
    expect(await treeHash(repo)).toBe(before);
    await writeFile(specPath, original);
  });
});

describe("the bin shim, as a real process", () => {
  it("runs the CLI and sets the process's exit code: help 0 on stdout, no command 2 on stderr", async () => {
    const opts = { cwd: ROOT, reject: false, stdin: "ignore", env: { ...process.env, FORCE_COLOR: "0" } } as const;
    const help = await execa(process.execPath, [BIN, "new-cluster", "--help"], opts);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("--control-plane-replicas");
    const none = await execa(process.execPath, [BIN], opts);
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("no command given");
  });
});
