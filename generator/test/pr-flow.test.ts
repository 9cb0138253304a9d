/** The pull-request flow on real temporary git repositories with a bare remote. */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, readTree, runCli, tempDir, treeHash } from "./helpers.js";
import { commitAll, git, initRepo, newClusterArgs, OWN_IMAGES } from "./helpers/repo.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
const cli = (repo: string, ...args: string[]) => runCli([...args, "--repo", repo]);
const g = git;

const FLUX =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/capi.git\n" +
  "gitops: flux\n";

/** A repository with one commit (the flux config), and a bare remote named origin. */
async function repoWithRemote(): Promise<{ repo: string; remote: string }> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  const repo = path.join(t.dir, "work");
  const remote = path.join(t.dir, "remote.git");
  await initRepo(repo);
  await execa("git", ["init", "-q", "--bare", remote]);
  await writeFile(path.join(repo, "capi-gitops.yaml"), FLUX);
  await commitAll(repo, "init");
  await g(repo, "remote", "add", "origin", remote);
  return { repo, remote };
}

describe("new-cluster --branch / --push", () => {
  it("creates cluster/<name> from HEAD with exactly the new cluster (and its sync entry) and pushes it", async () => {
    const { repo, remote } = await repoWithRemote();
    const r = await cli(repo, ...newClusterArgs("demo", "ap-northeast-2"), ...OWN_IMAGES, "--yes", "--push");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("open a pull request from cluster/demo");
    expect(await g(repo, "rev-parse", "--abbrev-ref", "HEAD")).toBe("cluster/demo");
    expect(await g(repo, "log", "--format=%s", "main..HEAD")).toBe(
      "Add cluster demo (ap-northeast-2, MachineDeployment, profile dev)",
    );
    const files = (await g(repo, "show", "--name-only", "--format=", "HEAD")).split("\n");
    expect(files).toContain("clusters/demo/cluster.yaml");
    expect(files).toContain("management/sync/clusters/demo.yaml");
    expect(files.every((f) => /^(clusters\/demo\/|management\/|base\/|overlays\/|schemas\/|addons\/)/.test(f))).toBe(
      true,
    );
    expect(await g(repo, "status", "--porcelain")).toBe("");
    expect(await g(remote, "branch", "--list", "cluster/demo")).toContain("cluster/demo");
  });

  it("20.10: --branch says that the checkout is now on the new branch, and how to go back", async () => {
    const { repo } = await repoWithRemote();
    const r = await cli(repo, ...newClusterArgs("demo", "ap-northeast-2"), "--yes", "--no-render", "--branch");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await g(repo, "rev-parse", "--abbrev-ref", "HEAD")).toBe("cluster/demo");
    expect(r.stdout).toContain("You are now on branch cluster/demo (it was main); go back with: git checkout main");
  });

  it.each([
    [
      "unrelated staged changes",
      async (repo: string) => {
        await writeFile(path.join(repo, "notes.txt"), "wip\n");
        await g(repo, "add", "notes.txt");
      },
      /unrelated staged changes \(notes.txt\)/,
    ],
    [
      "an existing branch",
      async (repo: string) => void (await g(repo, "branch", "cluster/demo")),
      /branch cluster\/demo already exists/,
    ],
    ["an unknown remote", async () => {}, /no git remote named "upstream"/],
  ])("refuses with %s, changing nothing", async (label, setup, message) => {
    const { repo } = await repoWithRemote();
    await setup(repo);
    const before = await treeHash(repo);
    const branches = await g(repo, "branch", "--list");
    const head = await g(repo, "rev-parse", "HEAD");
    const args = label === "an unknown remote" ? ["--push", "upstream"] : ["--branch"];
    const r = await cli(repo, ...newClusterArgs("demo", "ap-northeast-2"), ...OWN_IMAGES, "--yes", ...args);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(await treeHash(repo)).toBe(before);
    expect(await g(repo, "branch", "--list")).toBe(branches);
    expect(await g(repo, "rev-parse", "HEAD")).toBe(head);
  });

  it("refuses outside a git repository", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), FLUX);
    const r = await cli(t.dir, ...newClusterArgs("demo", "ap-northeast-2"), ...OWN_IMAGES, "--yes", "--branch");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("is not a git repository");
    expect(Object.keys(await readTree(t.dir))).toEqual(["capi-gitops.yaml"]);
  });
});

describe("remove-cluster", () => {
  it("removes the directory and its Flux Kustomization on a branch, and prints the supported deletion", async () => {
    const { repo } = await repoWithRemote();
    expect((await cli(repo, ...newClusterArgs("old", "eu-west-1"), ...OWN_IMAGES, "--yes", "--branch")).exitCode).toBe(
      0,
    );
    const r = await cli(repo, "remove-cluster", "--name", "old", "--branch");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("kubectl delete cluster.cluster.x-k8s.io/old -n old");
    expect(await g(repo, "rev-parse", "--abbrev-ref", "HEAD")).toBe("remove-cluster/old");
    const files = (await g(repo, "show", "--name-only", "--format=", "HEAD")).split("\n");
    expect(files).toEqual(
      expect.arrayContaining([
        "clusters/old/cluster.yaml",
        "management/sync/clusters/old.yaml",
        "management/sync/kustomization.yaml",
      ]),
    );
    const tree = Object.keys(await readTree(repo));
    expect(tree.some((p) => p.startsWith("clusters/old/") || p === "management/sync/clusters/old.yaml")).toBe(false);
    expect(await g(repo, "status", "--porcelain")).toBe("");
    expect((await cli(repo, "remove-cluster", "--name", "old")).exitCode).toBe(1);
    expect((await cli(repo, "remove-cluster", "--name", "../x")).exitCode).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// issue 9: writes

/** Everything git and the file system say about the repository: tree, index, branches, HEAD. */
const gitState = async (repo: string) =>
  JSON.stringify([
    await treeHash(repo),
    await g(repo, "status", "--porcelain", "--untracked-files=all"),
    await g(repo, "ls-files", "--stage"),
    await g(repo, "branch", "--list"),
    await g(repo, "rev-parse", "--abbrev-ref", "HEAD"),
    await g(repo, "rev-parse", "HEAD"),
  ]);

describe("17: git preconditions are checked before anything is written", () => {
  it("17: new-cluster --branch without a git identity refuses at once and changes nothing", async () => {
    const { repo } = await repoWithRemote();
    await g(repo, "config", "--unset", "user.name");
    await g(repo, "config", "--unset", "user.email");
    const home = await tempDir();
    cleanups.push(home.cleanup);
    const before = await gitState(repo);
    const {
      EMAIL: _e,
      GIT_AUTHOR_NAME: _an,
      GIT_AUTHOR_EMAIL: _ae,
      GIT_COMMITTER_NAME: _cn,
      GIT_COMMITTER_EMAIL: _ce,
      ...env
    } = process.env;
    const r = await execa(
      "node",
      [BIN, ...newClusterArgs("demo", "eu-west-1"), "--yes", "--no-render", "--branch", "--repo", repo],
      {
        cwd: ROOT,
        reject: false,
        stdin: "ignore",
        extendEnv: false,
        env: { ...env, HOME: home.dir, XDG_CONFIG_HOME: home.dir, GIT_CONFIG_NOSYSTEM: "1", FORCE_COLOR: "0" },
      },
    );
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/--branch: git cannot commit without an identity .*git config user\.name/);
    expect(r.stderr).toContain("nothing was written");
    expect(await gitState(repo)).toBe(before);
  });

  it(`17: a git commit that fails after the write (a pre-commit hook) rolls the write back: tree, \
index and branches unchanged`, async () => {
    const { repo } = await repoWithRemote();
    expect((await cli(repo, ...newClusterArgs("keep", "eu-west-1"), "--yes", "--no-render", "--branch")).exitCode).toBe(
      0,
    );
    await g(repo, "checkout", "-q", "main");
    await g(repo, "merge", "-q", "--ff-only", "cluster/keep");
    await writeFile(path.join(repo, ".git/hooks/pre-commit"), "#!/bin/sh\necho 'hook says no' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const before = await gitState(repo);
    const a = await cli(repo, ...newClusterArgs("demo", "eu-west-1"), "--yes", "--no-render", "--branch");
    expect(a.exitCode, a.stderr).toBe(2);
    expect(a.stderr).toContain("hook says no");
    expect(await gitState(repo)).toBe(before);
    const b = await cli(repo, "remove-cluster", "--name", "keep", "--branch");
    expect(b.exitCode, b.stderr).toBe(2);
    expect(await gitState(repo)).toBe(before);
  });
});

describe("19: remove-cluster keeps what Git does not hold", () => {
  it("19: refuses a cluster folder with uncommitted edits or untracked files unless --force", async () => {
    const { repo } = await repoWithRemote();
    expect(
      (await cli(repo, ...newClusterArgs("old", "eu-west-1"), ...OWN_IMAGES, "--yes", "--no-render", "--branch"))
        .exitCode,
    ).toBe(0);
    await writeFile(path.join(repo, "clusters/old/notes.txt"), "my notes\n");
    const before = await gitState(repo);
    const r = await cli(repo, "remove-cluster", "--name", "old");
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/clusters\/old.*has changes Git does not hold \(clusters\/old\/notes\.txt\).*--force/);
    expect(r.stderr).toContain("nothing was removed");
    expect(await gitState(repo)).toBe(before);
    // An edit of a tracked file counts too.
    await g(repo, "add", "clusters/old/notes.txt");
    await g(repo, "commit", "-q", "-m", "notes");
    await writeFile(path.join(repo, "clusters/old/kustomization.yaml"), "# edited\n", { flag: "a" });
    expect((await cli(repo, "remove-cluster", "--name", "old")).exitCode).toBe(1);
    expect(Object.keys(await readTree(repo))).toContain("clusters/old/kustomization.yaml");
    const forced = await cli(repo, "remove-cluster", "--name", "old", "--force");
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(Object.keys(await readTree(repo)).some((p) => p.startsWith("clusters/old/"))).toBe(false);
  });
});
