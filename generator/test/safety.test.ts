/**
 * Crash and concurrency safety with real child processes: a generate killed with SIGKILL at any moment leaves each
 * cluster's generated folder either old or complete-new; two new-cluster runs at once behave.
 */
import { versions } from "../src/pins/versions.js";
import { execFileSync } from "node:child_process";
import { watch } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { resolveNewSpec } from "../src/workflows/new-cluster.js";
import { pickVpcCidr } from "../src/cluster-spec/cidr.js";
import { DEFAULTS } from "../src/cluster-spec/types.js";
import { specFile } from "../src/plan/cluster.js";
import { LOCK_FILE, withRepoLock } from "../src/repo/lock.js";
import { planRepo } from "../src/plan/repo.js";
import { recoverTree, writeTree } from "../src/repo/write.js";
import { loadRepo } from "../src/repo/load.js";
import { BIN, ROOT, readTree, tempDir } from "./helpers.js";
import { initRepoWithOrigin, newClusterArgs, OWN_IMAGES } from "./helpers/repo.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
const spec = (name: string, instanceType: string) =>
  `apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: ${name}\nregion: eu-west-1\n` +
  `workers: ${name.endsWith("0") ? "MachineDeployment" : "MachinePool"}\nprofile: prod\ncontrolPlane:\n` +
  `  instanceType: ${instanceType}\nnodePools:\n  - name: a\n    instanceType: ${instanceType}\n` +
  `  - name: b\n  - name: c\n`;
/** The files under prefix, in path order (so two trees compare equal whatever order they were read or planned in). */
const subtree = (tree: Record<string, string>, prefix: string) =>
  Object.fromEntries(
    Object.entries(tree)
      .filter(([p]) => p.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

describe("SIGKILL in the middle of generate", () => {
  it("leaves every cluster old or complete-new (a killed swap is finished by the next command)", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const names = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    const writeSpecs = async (instanceType: string) => {
      for (const n of names)
        await writeTree(t.dir, {
          files: [{ path: `clusters/${n}/cluster.yaml`, content: spec(n, instanceType), mode: "owned" }],
          roots: [],
        });
    };
    await writeSpecs("m6i.large");
    await generateCommand({ cwd: t.dir, log: () => {} });
    const oldTree = await readTree(t.dir);
    await writeSpecs("m6i.xlarge");
    const newTree = Object.fromEntries(
      planRepo({ specs: (await loadRepo(t.dir)).specs }, versions()).files.map((f) => [f.path, f.content]),
    );

    let killedMidway = 0;
    // Kill when the swaps begin (every folder is staged first, then the completion markers are written beside the
    // staged folders, then the renames run), plus a varying extra delay: the kills land inside the renaming phase
    // however loaded the machine is. The last cluster's marker is the last one written, right before the first rename,
    // so only its folder is polled (one readdir per round keeps the reaction fast).
    const lastDir = path.join(t.dir, "clusters", names.at(-1)!);
    // 12 kills, and up to 12 more while none has landed mid-swap yet (a loaded machine can shift the timing).
    const delays = [0, 0, 0, 1, 1, 2, 2, 3, 4, 6, 10, 20, 0, 1, 2, 3, 5, 0, 1, 2, 3, 5, 8, 0];
    let kills = 0;
    let stopWatching = () => {};
    for (const extraMs of delays) {
      if (kills >= 12 && killedMidway > 0) break;
      kills++;
      // back to the old generated state, new specs in place
      await writeTree(t.dir, {
        files: Object.entries(oldTree)
          .filter(([p]) => p.includes("/generated/"))
          .map(([p, content]) => ({ path: p, content, mode: "owned" as const })),
        roots: names.map((n) => `clusters/${n}/generated`),
      });
      // The marker's appearance is watched (inotify), not polled: a busy poll took a core from the child it waits on.
      const marked = new Promise<void>((resolve) => {
        const w = watch(lastDir, (_event, name) => {
          if (name?.startsWith(".generated.complete-")) {
            w.close();
            resolve();
          }
        });
        stopWatching = () => {
          w.close();
          resolve();
        };
      });
      const child = execa("node", [BIN, "generate", "--init", "--repo", t.dir], {
        cwd: ROOT,
        reject: false,
      });
      await Promise.race([marked, child, new Promise((r) => setTimeout(r, 30_000))]);
      stopWatching();
      if (extraMs) await new Promise((r) => setTimeout(r, extraMs));
      child.kill("SIGKILL");
      await child;
      const tree = await readTree(t.dir);
      let sawOld = false;
      let sawNew = false;
      for (const n of names) {
        const prefix = `clusters/${n}/generated/`;
        const now = subtree(tree, prefix);
        const isOld = JSON.stringify(now) === JSON.stringify(subtree(oldTree, prefix));
        const isNew = JSON.stringify(now) === JSON.stringify(subtree(newTree, prefix));
        if (!isOld && !isNew) {
          // Only possible between the two renames of a swap: the complete new folder waits beside its place.
          expect(Object.keys(now)).toEqual([]);
          // 21: its marker is beside it, never inside a folder that lands.
          expect(Object.keys(tree).some((p) => p.startsWith(`clusters/${n}/.generated.new-`))).toBe(true);
          expect(
            Object.keys(tree).some(
              (p) => /^clusters\/[^/]+\/\.generated\.complete-[0-9a-f]{8}$/.test(p) && p.startsWith(`clusters/${n}/`),
            ),
          ).toBe(true);
        }
        sawOld ||= isOld;
        sawNew ||= isNew;
      }
      if (sawOld && sawNew) killedMidway++;
      // The next command finishes whatever was interrupted; then the tree is exactly the new state.
      await recoverTree(t.dir);
      await generateCommand({ cwd: t.dir, log: () => {} });
      const done = await readTree(t.dir);
      for (const n of names)
        expect(subtree(done, `clusters/${n}/generated/`)).toEqual(subtree(newTree, `clusters/${n}/generated/`));
      expect(Object.keys(done).some((p) => /\.(new|old)-[0-9a-f]{8}\//.test(p) || p.endsWith(".tmp"))).toBe(false);
    }
    // The delays must really have hit generate while it was writing (some clusters old, some new), not only before or
    // after.
    console.log(
      `SIGKILL during generate: ${killedMidway} of ${kills} kills landed while some clusters were old and others new`,
    );
    expect(killedMidway).toBeGreaterThan(0);
  });
});

describe("SIGKILL in the middle of new-cluster", () => {
  it("leaves clusters/<name> absent or complete, never partial", async () => {
    const solo = await tempDir();
    cleanups.push(solo.cleanup);
    const args = (repo: string) => [
      BIN,
      ...newClusterArgs("kill", "eu-west-1"),
      ...OWN_IMAGES,
      "--yes",
      "--init",
      "--repo",
      repo,
    ];
    expect((await execa("node", args(solo.dir), { cwd: ROOT, reject: false })).exitCode).toBe(0);
    const complete = subtree(await readTree(solo.dir), "clusters/kill/");
    const outcomes = new Set<string>();
    for (const delay of [200, 350, 500, 650, 800, 1000, 1300]) {
      const t = await tempDir();
      cleanups.push(t.cleanup);
      const child = execa("node", args(t.dir), { cwd: ROOT, reject: false });
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await child;
      const now = subtree(await readTree(t.dir), "clusters/kill/");
      if (Object.keys(now).length === 0) outcomes.add("absent");
      else {
        expect(now).toEqual(complete);
        outcomes.add("complete");
      }
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});

describe("two new-cluster runs at once", () => {
  const config =
    "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
    "repoURL: https://git.example.com/capi.git\ngitops: flux\n";
  const run = (repo: string, name: string) =>
    execa("node", [BIN, ...newClusterArgs(name, "eu-west-1"), ...OWN_IMAGES, "--yes", "--repo", repo], {
      cwd: ROOT,
      reject: false,
      stdin: "ignore",
    });

  it("different names: both succeed and the sync manifests list both", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), config);
    const [a, b] = await Promise.all([run(t.dir, "left"), run(t.dir, "right")]);
    expect([a.exitCode, b.exitCode], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    const sync = await readFile(path.join(t.dir, "management/sync/kustomization.yaml"), "utf8");
    expect(sync).toContain("clusters/left.yaml");
    expect(sync).toContain("clusters/right.yaml");
    const tree = Object.keys(await readTree(t.dir));
    expect(tree.filter((p) => p.startsWith("clusters/") && p.endsWith("/cluster.yaml")).sort()).toEqual([
      "clusters/left/cluster.yaml",
      "clusters/right/cluster.yaml",
    ]);
    expect(tree.some((p) => p.includes(".new-") || p.endsWith(".lock"))).toBe(false);
  });

  it("the same name: exactly one succeeds, the other fails clearly and changes nothing", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), config);
    const results = await Promise.all([run(t.dir, "twin"), run(t.dir, "twin")]);
    expect(results.map((r) => r.exitCode).sort()).toEqual([0, 1]);
    const loser = results.find((r) => r.exitCode === 1)!;
    expect(loser.stderr).toMatch(/--name: clusters\/twin (already exists|was created by another run meanwhile)/);
    const tree = await readTree(t.dir);
    // The tree is what one run alone makes.
    const solo = await tempDir();
    cleanups.push(solo.cleanup);
    await writeFile(path.join(solo.dir, "capi-gitops.yaml"), config);
    expect((await run(solo.dir, "twin")).exitCode).toBe(0);
    expect(tree).toEqual(await readTree(solo.dir));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// issue 9: writes, lock, failure paths

const FLUX =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/capi.git\n" +
  "gitops: flux\n";
const cliIn = (repo: string, args: string[], opts: { prefix?: string[] } = {}) =>
  execa(
    opts.prefix?.[0] ?? "node",
    [...(opts.prefix?.slice(1) ?? []), ...(opts.prefix ? ["node"] : []), BIN, ...args, "--repo", repo],
    { cwd: ROOT, reject: false, stdin: "ignore", env: { ...process.env, FORCE_COLOR: "0" } },
  );

describe("21: the completion marker", () => {
  it(`21: lives beside the staged folder, so a landed folder never holds it, \
and recoverTree lands a complete staged folder`, async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeTree(t.dir, { files: [{ path: "own/a.yaml", content: "a: 1\n", mode: "owned" }], roots: ["own"] });
    expect(await readdir(path.join(t.dir, "own"))).toEqual(["a.yaml"]);
    // A run killed between its two renames: the old folder moved away, the complete new one beside its place.
    const { mkdir, rename } = await import("node:fs/promises");
    await mkdir(path.join(t.dir, ".own.new-0123abcd"));
    await writeFile(path.join(t.dir, ".own.new-0123abcd", "a.yaml"), "a: 2\n");
    await writeFile(path.join(t.dir, ".own.complete-0123abcd"), "");
    await rename(path.join(t.dir, "own"), path.join(t.dir, ".own.old-0123abcd"));
    await recoverTree(t.dir);
    expect(await readTree(t.dir)).toEqual({ "own/a.yaml": "a: 2\n" });
    // A staged folder without its marker was not complete: removed, the old state stays.
    await mkdir(path.join(t.dir, ".own.new-89abcdef"));
    await writeFile(path.join(t.dir, ".own.new-89abcdef", "a.yaml"), "half");
    await recoverTree(t.dir);
    expect(await readTree(t.dir)).toEqual({ "own/a.yaml": "a: 2\n" });
    // A user's own file named .complete is theirs, never removed as a marker.
    await writeFile(path.join(t.dir, "own", ".complete"), "mine");
    await recoverTree(t.dir);
    expect((await readTree(t.dir))["own/.complete"]).toBe("mine");
  });
});

describe("the one writer (issue 10 item 3)", () => {
  it("lands a plan, runs the landed check, and rolls everything back when the check fails", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeTree(t.dir, {
      files: [
        { path: "own/a.yaml", content: "a: 1\n", mode: "owned" },
        { path: "user.yaml", content: "mine\n", mode: "scaffold" },
      ],
      roots: ["own", "gone"],
    });
    const before = await readTree(t.dir);
    // While the check runs, the old copies and markers are still beside their places (for a rollback).
    const visible = (tree: Record<string, string>) =>
      Object.fromEntries(Object.entries(tree).filter(([p]) => !p.split("/").some((s) => s.startsWith("."))));
    const plan = {
      files: [
        { path: "own/b.yaml", content: "b: 1\n", mode: "owned" as const },
        { path: "user.yaml", content: "theirs\n", mode: "scaffold" as const },
        { path: "new/c.yaml", content: "c\n", mode: "scaffold" as const },
      ],
      roots: ["own", "new"],
    };
    let seen: Awaited<ReturnType<typeof writeTree>> | undefined;
    await expect(
      writeTree(t.dir, plan, {
        landed: async (r) => {
          seen = r;
          expect(visible(await readTree(t.dir))).toEqual({
            "own/b.yaml": "b: 1\n",
            "user.yaml": "mine\n",
            "new/c.yaml": "c\n",
          });
          throw new Error("check failed");
        },
      }),
    ).rejects.toThrow("check failed");
    expect(seen).toMatchObject({ written: ["new/c.yaml", "own/b.yaml"], deleted: ["own/a.yaml"], kept: ["user.yaml"] });
    expect(await readTree(t.dir)).toEqual(before);
    expect(await readdir(t.dir)).toEqual(expect.not.arrayContaining(["new"]));
    // An owned root the plan has no file for is removed, even an empty folder.
    const { mkdir } = await import("node:fs/promises");
    await mkdir(path.join(t.dir, "empty"));
    const r = await writeTree(t.dir, { files: [], roots: ["own", "empty"] });
    expect(r.deleted).toEqual(["own/a.yaml"]);
    expect((await readdir(t.dir)).sort()).toEqual(["user.yaml"]);
  });
});

describe("18: the repository lock", () => {
  const { hostname } = os;
  it.each([
    ["an empty lock file", "", /empty/],
    [
      "a lock from another host",
      `4242 some-other-host ${Date.now() - 600_000}\n`,
      /pid 4242 on some-other-host, taken \d+ min ago/,
    ],
    ["a lock this tool did not write", "hello\n", /not a lock this tool wrote/],
  ])("18: %s is refused at once, saying who holds it and how to clear it", async (_label, content, says) => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, LOCK_FILE), content);
    const started = Date.now();
    const e = await withRepoLock(t.dir, () => Promise.resolve("ran"), { timeoutMs: 60_000 }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((e as Error).message).toMatch(says);
    expect((e as Error).message).toContain(`rm ${path.join(t.dir, LOCK_FILE)}`);
  });

  it("18: a live holder is named at once while waiting, and in the time-out message", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, LOCK_FILE), `${process.ppid} ${hostname()} ${Date.now()} abcd\n`);
    const lines: string[] = [];
    const e = await withRepoLock(t.dir, () => Promise.resolve("ran"), {
      timeoutMs: 300,
      log: (l) => lines.push(l),
    }).catch((x: Error) => x);
    expect(lines[0]).toMatch(
      new RegExp(
        `waiting for .*pid ${process.ppid} on ${hostname()}, taken \\d+s ago; if no capi-gitops command is ` +
          `running, remove it: rm `,
      ),
    );
    expect((e as Error).message).toMatch(new RegExp(`held by pid ${process.ppid} on ${hostname()}`));
  });

  it("18: a dead pid's lock is taken over by exactly one waiter at a time", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const dead = await execa("node", ["-e", "process.stdout.write(String(process.pid))"]);
    for (let round = 0; round < 5; round++) {
      await writeFile(path.join(t.dir, LOCK_FILE), `${dead.stdout} ${hostname()} ${Date.now()} dead\n`);
      let inside = 0;
      let most = 0;
      const runs = Array.from({ length: 8 }, () =>
        withRepoLock(t.dir, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 15));
          inside--;
        }),
      );
      await Promise.all(runs);
      expect(most).toBe(1);
    }
    expect((await readdir(t.dir)).filter((n) => n.startsWith(LOCK_FILE))).toEqual([]);
  });
});

describe("15: the VPC CIDR is chosen under the lock", () => {
  it("15: a cluster added while new-cluster waits for the lock does not get the same VPC CIDR", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), FLUX);
    // Another writer holds the lock (a live pid of this host) while new-cluster reads the fleet and waits.
    await writeFile(path.join(t.dir, LOCK_FILE), `${process.pid} ${os.hostname()} ${Date.now()} test\n`);
    const child = cliIn(t.dir, [...newClusterArgs("late", "eu-west-1"), "--yes", "--no-render"]);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const started = Date.now();
    while (!out.includes("waiting for") && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    // Meanwhile the holder adds a cluster with the VPC CIDR late's name hashes to, then releases the lock.
    const taken = pickVpcCidr("late", [], [DEFAULTS.podCidr, DEFAULTS.serviceCidr])!;
    const early = resolveNewSpec({ name: "early", region: "eu-west-1", vpcCidr: taken }).spec!;
    await writeTree(t.dir, { files: [specFile(early)], roots: [] });
    await rm(path.join(t.dir, LOCK_FILE));
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    const cidr = async (n: string) =>
      /vpcCidr: (\S+)/.exec(await readFile(path.join(t.dir, "clusters", n, "cluster.yaml"), "utf8"))?.[1];
    expect(await cidr("early")).toBe(taken);
    expect(await cidr("late")).toBe(pickVpcCidr("late", [taken], [DEFAULTS.podCidr, DEFAULTS.serviceCidr]));
    expect(await cidr("late")).not.toBe(taken);
  });
});

describe("16: a run lands completely or not at all", () => {
  // SAFETY: chown/chmod/mount only touch folders this test made with mkdtemp (never their parent, the shared /tmp);
  // modes are restored and mounts undone in `finally`.
  const NOBODY = 65534; // an unprivileged uid that exists on every Linux (root ignores chmod)
  const asNobody = (home: string) =>
    process.getuid?.() === 0
      ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "env", `HOME=${home}`, `TMPDIR=${home}`]
      : undefined;

  /**
   * A temporary repository (the mkdtemp folder itself) with cluster one, a changed spec and a new spec: generate must
   * rewrite clusters/one/generated and management/sync.
   */
  const repoWith = async (): Promise<string> => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "capi-gitops.yaml"), FLUX);
    const one = await cliIn(t.dir, [...newClusterArgs("one", "eu-west-1"), "--yes", "--no-render"]);
    expect(one.exitCode, one.stderr).toBe(0);
    const specPath = path.join(t.dir, "clusters/one/cluster.yaml");
    const text = await readFile(specPath, "utf8");
    expect(text).toContain("profile: dev");
    await writeFile(specPath, text.replace("profile: dev", "profile: prod"));
    await writeTree(t.dir, {
      files: [specFile(resolveNewSpec({ name: "extra", region: "eu-west-1", vpcCidr: "10.9.0.0/16" }).spec!)],
      roots: [],
    });
    return t.dir;
  };
  const snapshotOf = async (dir: string) =>
    JSON.stringify([
      await readTree(dir),
      execFileSync("find", [dir, "-printf", "%P %y %m\\n"]).toString().split("\n").sort(),
    ]);

  it.each(["non-root user, chmod 555", "read-only bind mount"])(
    "16: management/ not writable (%s): new-cluster and generate change nothing, and a retry works",
    async (how) => {
      const repo = await repoWith();
      const management = path.join(repo, "management");
      let prefix: string[] | undefined;
      const undo: (() => void)[] = [];
      try {
        if (how.startsWith("non-root")) {
          const home = await tempDir();
          cleanups.push(home.cleanup);
          prefix = asNobody(home.dir);
          if (prefix) {
            // The unprivileged user must reach its own repository: open and hand over the two mkdtemp folders only.
            execFileSync("chmod", ["0755", repo, home.dir]);
            execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, repo, home.dir]);
          }
          execFileSync("chmod", ["0555", management]);
          undo.push(() => execFileSync("chmod", ["0755", management]));
        } else {
          try {
            execFileSync("mount", ["--bind", management, management], { stdio: "ignore" });
          } catch {
            return void console.log(`16 skipped (${how}): no privilege to mount`);
          }
          undo.push(() => execFileSync("umount", [management]));
          execFileSync("mount", ["-o", "remount,bind,ro", management]);
        }
        const before = await snapshotOf(repo);
        const a = await cliIn(repo, [...newClusterArgs("two", "eu-west-1"), "--yes", "--no-render"], {
          prefix,
        });
        expect(a.exitCode, a.stderr).toBe(2);
        expect(a.stderr).toMatch(
          /cannot write management\/: (read-only file system|permission denied).*make it writable.*nothing was written/,
        );
        expect(await snapshotOf(repo)).toBe(before);
        const b = await cliIn(repo, ["generate"], { prefix });
        expect(b.exitCode, b.stderr).toBe(2);
        expect(b.stderr).toMatch(
          /cannot write management\/: (read-only file system|permission denied).*make it writable.*nothing was written/,
        );
        expect(await snapshotOf(repo)).toBe(before);
      } finally {
        for (const u of undo.reverse()) u();
      }
      // Writable again: the retries work (nothing was left behind that says "already exists").
      const again = await cliIn(repo, [...newClusterArgs("two", "eu-west-1"), "--yes", "--no-render"], { prefix });
      expect(again.exitCode, again.stderr).toBe(0);
      const gen = await cliIn(repo, ["generate"], { prefix });
      expect(gen.exitCode, gen.stderr).toBe(0);
      expect(Object.keys(await readTree(repo))).toEqual(
        expect.arrayContaining([
          "clusters/extra/generated/kustomization.yaml",
          "management/sync/clusters/extra.yaml",
          "management/sync/clusters/two.yaml",
        ]),
      );
    },
    120_000,
  );
});

describe("20: writers stop on what they cannot read, and outside a repository", () => {
  it.each(["chmod 000 (unprivileged user)", "a symbolic link loop"])(
    "20: an unreadable clusters/ (%s) stops generate and new-cluster; nothing changes",
    async (how) => {
      const t = await tempDir();
      cleanups.push(t.cleanup);
      const repo = t.dir;
      await writeFile(path.join(repo, "capi-gitops.yaml"), FLUX);
      expect((await cliIn(repo, [...newClusterArgs("one", "eu-west-1"), "--yes", "--no-render"])).exitCode).toBe(0);
      const clusters = path.join(repo, "clusters");
      let prefix: string[] | undefined;
      const undo: (() => Promise<void> | void)[] = [];
      try {
        if (how.startsWith("chmod")) {
          // SAFETY: only the test's own mkdtemp folders are opened and handed over (never /tmp itself).
          const home = await tempDir();
          cleanups.push(home.cleanup);
          if (process.getuid?.() === 0) {
            prefix = [
              "setpriv",
              "--reuid=65534",
              "--regid=65534",
              "--clear-groups",
              "env",
              `HOME=${home.dir}`,
              `TMPDIR=${home.dir}`,
            ];
            execFileSync("chmod", ["0755", repo, home.dir]);
            execFileSync("chown", ["-R", "65534:65534", repo, home.dir]);
          }
          execFileSync("chmod", ["0000", clusters]);
          undo.push(() => void execFileSync("chmod", ["0755", clusters]));
        } else {
          const { rename, symlink } = await import("node:fs/promises");
          await rename(clusters, path.join(repo, "clusters.away"));
          await symlink("clusters", clusters);
          undo.push(async () => {
            await rm(clusters);
            await rename(path.join(repo, "clusters.away"), clusters);
          });
        }
        const before = JSON.stringify([
          execFileSync("find", [repo, "-printf", "%P %y %m %s\\n"]).toString().split("\n").sort(),
        ]);
        for (const args of [["generate"], [...newClusterArgs("two", "eu-west-1"), "--yes", "--no-render"]]) {
          const r = await cliIn(repo, args, { prefix });
          expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(2);
          expect(r.stderr).toMatch(/cannot read .*clusters: (EACCES|ELOOP); fix its permissions and run again/);
          expect(
            JSON.stringify([execFileSync("find", [repo, "-printf", "%P %y %m %s\\n"]).toString().split("\n").sort()]),
          ).toBe(before);
        }
      } finally {
        for (const u of undo.reverse()) await u();
      }
      expect(Object.keys(await readTree(repo))).toContain("management/sync/clusters/one.yaml");
    },
    60_000,
  );

  it("20: generate and new-cluster refuse a folder without capi-gitops.yaml unless --init", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(path.join(t.dir, "notes.txt"), "not a capi-gitops repository\n");
    for (const args of [["generate"], [...newClusterArgs("one", "eu-west-1"), "--yes", "--no-render"]]) {
      const r = await cliIn(t.dir, args);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${t.dir} is not a capi-gitops repository (no capi-gitops.yaml at its root)`);
      expect(r.stderr).toMatch(/--repo <dir>.*--init/);
      expect(await readTree(t.dir)).toEqual({ "notes.txt": "not a capi-gitops repository\n" });
    }
    // --init takes capi-gitops.yaml's repoURL from git's remote origin: without one the tree is written, and the run
    // says that capi-gitops.yaml was not (nothing syncs the repository; later writers refuse the folder).
    const bare = await cliIn(t.dir, ["generate", "--init"]);
    expect(bare.exitCode, bare.stderr).toBe(0);
    expect(bare.stdout).toContain("capi-gitops.yaml was not written");
    expect(bare.stdout).toContain("git remote add origin");
    expect(Object.keys(await readTree(t.dir))).not.toContain("capi-gitops.yaml");
    await initRepoWithOrigin(t.dir, "https://git.example.com/platform/fleet.git");
    const init = await cliIn(t.dir, ["generate", "--init"]);
    expect(init.exitCode, init.stderr).toBe(0);
    const tree = await readTree(t.dir);
    expect(Object.keys(tree).some((p) => p.startsWith("base/"))).toBe(true);
    expect(tree["capi-gitops.yaml"]).toContain("repoURL: https://git.example.com/platform/fleet.git");
  });
});
