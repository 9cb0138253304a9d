/**
 * Issue 20 item 10, the smaller truths that are not bad-input cases (those are in corpus.test.ts, block "h-smalls"):
 * upgrade keeps CRLF line ends, `upgrade --all` lists every cluster when one spec is broken, the 64 KiB limit of
 * cluster.yaml is documented where the parser enforces it.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIMITS } from "../src/cluster-spec/types.js";
import { parseSpecText } from "../src/cluster-spec/parse.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { upgradeCommand } from "../src/commands/upgrade.js";
import { inventoryCommand } from "../src/commands/inventory.js";
import { generateCommand } from "../src/commands/generate.js";
import { execFileSync } from "node:child_process";
import { InvalidInputError } from "../src/core/errors.js";
import { fleetFindings } from "../src/repo/load.js";
import { lstat } from "node:fs/promises";
import { ROOT, runCli, tempDir } from "./helpers.js";
import { initRepoWithOrigin, newClusterArgs } from "./helpers/repo.js";

const CONFIG =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/p/c.git\n" +
  "branch: main\ngitops: argocd\n";
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/**
 * A repository with the named clusters (ap-northeast-2, the default version, their own image lookup, which follows the
 * version).
 */
async function repoWith(...names: string[]): Promise<string> {
  const t = await tempDir("capi-gitops-smalls-");
  cleanups.push(t.cleanup);
  await writeFile(path.join(t.dir, "capi-gitops.yaml"), CONFIG);
  for (const name of names)
    await newClusterCommand({
      cwd: t.dir,
      flags: { name, region: "ap-northeast-2", imageLookupOrg: "123456789012" },
      log: () => {},
      render: false,
    });
  return t.dir;
}

describe("20.10: upgrade", () => {
  it("keeps a CRLF cluster.yaml CRLF (every line, comments kept)", async () => {
    const repo = await repoWith("demo");
    const spec = path.join(repo, "clusters/demo/cluster.yaml");
    await writeFile(spec, `# ours\n${await readFile(spec, "utf8")}`.replace(/\n/g, "\r\n"));
    await upgradeCommand({ cwd: repo, name: "demo", to: "v1.35.0", log: () => {} });
    const text = await readFile(spec, "utf8");
    expect(text).toContain("kubernetesVersion: v1.35.0\r\n");
    expect(text.startsWith("# ours\r\n")).toBe(true);
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
  });
  it("--all with one unreadable spec lists every cluster, and refuses", async () => {
    const repo = await repoWith("alpha", "broken", "gamma");
    const spec = path.join(repo, "clusters/broken/cluster.yaml");
    await writeFile(spec, (await readFile(spec, "utf8")).replace("region: ap-northeast-2", "region: mars-1"));
    const lines: string[] = [];
    const run = upgradeCommand({ cwd: repo, all: true, to: "v1.35.0", log: (l) => lines.push(l) });
    await expect(run).rejects.toBeInstanceOf(InvalidInputError);
    const rows = lines.slice(1).map((l) => l.split(/\s+/)[0]);
    expect(rows).toEqual(["alpha", "broken", "gamma"]);
    expect(lines.find((l) => l.startsWith("broken"))).toContain("refused");
    expect(lines.find((l) => l.startsWith("alpha"))).toContain("control-plane");
  });
});

describe("20.10: the 64 KiB limit of cluster.yaml is documented", () => {
  it("README states the limit the parser enforces, and the refusal names it", async () => {
    expect(LIMITS.specBytes).toBe(64 * 1024);
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(`at most 64 KiB (${LIMITS.specBytes.toLocaleString("en-US")} bytes, \`LIMITS.specBytes\``);
    const r = parseSpecText("#".repeat(LIMITS.specBytes + 1), "clusters/x/cluster.yaml");
    expect(r.findings[0]?.message).toContain("64 KiB");
  });
});

describe("20.10: a namespace clash is reported on the cluster that moved into the namespace", () => {
  const spec = (name: string, namespace: string) =>
    parseSpecText(
      `apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: ${name}\nnamespace: ${namespace}\n` +
        `region: eu-west-1\n`,
    ).spec!;
  it.each([
    ["the edited cluster sorts first", [spec("alpha", "beta"), spec("beta", "beta")], "alpha"],
    ["the edited cluster sorts last", [spec("beta", "beta"), spec("gamma", "beta")], "gamma"],
    [
      "neither holds its own name: the later (validate --changed-since puts the changed last)",
      [spec("a", "team"), spec("b", "team")],
      "b",
    ],
  ])("%s", (_, specs, blamed) => {
    const f = fleetFindings(specs).filter((x) => x.rule === "fleet-unique-namespace");
    expect(f.map((x) => `${x.cluster} ${x.file}`)).toEqual([`${blamed} clusters/${blamed}/cluster.yaml`]);
  });
});

describe("20.10: new-cluster --init starts a repository that later writers accept", () => {
  const newClusterInit = (dir: string) =>
    runCli([...newClusterArgs("demo", "eu-west-1"), "--init", "--yes", "--no-render", "--repo", dir]);
  it(`writes capi-gitops.yaml (repoURL from git remote origin) with the cluster and its sync manifests; \
generate then runs`, async () => {
    const t = await tempDir("capi-gitops-init-");
    cleanups.push(t.cleanup);
    await initRepoWithOrigin(t.dir, "https://git.example.com/platform/fleet.git");
    const r = await newClusterInit(t.dir);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain(
      "wrote capi-gitops.yaml (repoURL https://git.example.com/platform/fleet.git from git remote origin",
    );
    expect(await readFile(path.join(t.dir, "capi-gitops.yaml"), "utf8")).toContain(
      "repoURL: https://git.example.com/platform/fleet.git",
    );
    expect((await lstat(path.join(t.dir, "management/sync"))).isDirectory()).toBe(true);
    const g = await runCli(["generate", "--repo", t.dir]);
    expect(g.exitCode, String(g.stderr)).toBe(0);
  });
  it(`without a git remote to take repoURL from: the cluster is written, \
and the run says nothing syncs it yet`, async () => {
    const t = await tempDir("capi-gitops-init-");
    cleanups.push(t.cleanup);
    const r = await newClusterInit(t.dir);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain("nothing syncs this repository yet: write capi-gitops.yaml");
    expect(String(r.stdout)).not.toContain("Argo CD / Flux syncs it after the merge");
  });
});

describe("20.10: inventory on a read-only checkout", () => {
  // SAFETY: the bind mount is of a folder this test made with mkdtemp, and is undone in `finally`.
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    try {
      execFileSync("mount", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(canMount)(
    "builds outside the repository: lists the clusters with validate's verdict, writes nothing",
    async () => {
      // Enough clusters that validate builds several per kustomize process (a batch folder), as on a real fleet.
      const names = ["alpha", "beta", "gamma", "delta", "omega"].sort();
      const repo = await repoWith(...names);
      await generateCommand({ cwd: repo, log: () => {} });
      execFileSync("mount", ["--bind", repo, repo]);
      try {
        execFileSync("mount", ["-o", "remount,bind,ro", repo]);
        const r = await inventoryCommand({ cwd: repo, format: "json" });
        expect(r.inventory.clusters.map((c) => [c.name, c.validation?.errors, c.render?.missing])).toEqual(
          names.map((n) => [n, 0, []]),
        );
      } finally {
        execFileSync("umount", [repo]);
      }
    },
    120_000,
  );
});
