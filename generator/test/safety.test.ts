/**
 * Crash and concurrency safety with real child processes: a generate killed with SIGKILL at any moment leaves each
 * cluster's generated folder either old or complete-new; two new-cluster runs at once behave.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { planRepo } from "../src/plan/repo.js";
import { recoverTree, writeTree } from "../src/repo/write.js";
import { loadRepo } from "../src/repo/load.js";
import { ROOT, readTree, tempDir } from "./helpers.js";

const CLI = path.join(ROOT, "generator/src/cli.ts");
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
const spec = (name: string, instanceType: string) =>
  `apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: ${name}\nregion: eu-west-1\nworkers: ${name.endsWith("0") ? "MachineDeployment" : "MachinePool"}\nprofile: prod\ncontrolPlane:\n  instanceType: ${instanceType}\nnodePools:\n  - name: a\n    instanceType: ${instanceType}\n  - name: b\n  - name: c\n`;
const subtree = (tree: Record<string, string>, prefix: string) => Object.fromEntries(Object.entries(tree).filter(([p]) => p.startsWith(prefix)));

describe("SIGKILL in the middle of generate", () => {
  it("leaves every cluster old or complete-new (a killed swap is finished by the next command)", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const names = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    const writeSpecs = async (instanceType: string) => {
      for (const n of names) await writeTree(t.dir, [{ path: `clusters/${n}/cluster.yaml`, content: spec(n, instanceType), mode: "owned" }], []);
    };
    await writeSpecs("m6i.large");
    await generateCommand({ cwd: t.dir, log: () => {} });
    const oldTree = await readTree(t.dir);
    await writeSpecs("m6i.xlarge");
    const newTree = Object.fromEntries(planRepo({ specs: (await loadRepo(t.dir)).specs }).map((f) => [f.path, f.content]));

    let killedMidway = 0;
    // Kill when the first folder swap is under way (a staging folder appears), plus a varying extra delay: the kills
    // land inside the writing phase however loaded the machine is.
    for (const extraMs of [0, 0, 1, 2, 3, 5, 8, 12, 20, 30, 50, 80]) {
      // back to the old generated state, new specs in place
      await writeTree(t.dir, Object.entries(oldTree).filter(([p]) => p.includes("/generated/")).map(([p, content]) => ({ path: p, content, mode: "owned" as const })), names.map((n) => `clusters/${n}/generated`));
      const child = execa("node", ["--import", "tsx", CLI, "generate", "--repo", t.dir], { cwd: ROOT, reject: false });
      let finished = false;
      void child.finally(() => (finished = true));
      const started = Date.now();
      while (!finished && Date.now() - started < 30_000) {
        const busy = await Promise.all(names.map((n) => readdir(path.join(t.dir, "clusters", n)).catch(() => [] as string[])));
        if (busy.some((entries) => entries.some((e) => e.startsWith(".generated.")))) break;
        await new Promise((r) => setTimeout(r, 2));
      }
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
          const pending = Object.keys(tree).filter((p) => p.startsWith(`clusters/${n}/.generated.new-`));
          expect(pending.some((p) => p.endsWith("/.complete"))).toBe(true);
        }
        sawOld ||= isOld;
        sawNew ||= isNew;
      }
      if (sawOld && sawNew) killedMidway++;
      // The next command finishes whatever was interrupted; then the tree is exactly the new state.
      await recoverTree(t.dir);
      await generateCommand({ cwd: t.dir, log: () => {} });
      const done = await readTree(t.dir);
      for (const n of names) expect(subtree(done, `clusters/${n}/generated/`)).toEqual(subtree(newTree, `clusters/${n}/generated/`));
      expect(Object.keys(done).some((p) => /\.(new|old)-[0-9a-f]{8}\//.test(p) || p.endsWith(".tmp"))).toBe(false);
    }
    // The delays must really have hit generate while it was writing (some clusters old, some new), not only before or after.
    console.log(`SIGKILL during generate: ${killedMidway} of 12 kills landed while some clusters were old and others new`);
    expect(killedMidway).toBeGreaterThan(0);
  }, 120_000);
});

describe("SIGKILL in the middle of new-cluster", () => {
  it("leaves clusters/<name> absent or complete, never partial", async () => {
    const solo = await tempDir();
    cleanups.push(solo.cleanup);
    const args = (repo: string) => ["--import", "tsx", CLI, "new-cluster", "--name", "kill", "--region", "eu-west-1", "--yes", "--repo", repo];
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
  }, 120_000);
});

describe("two new-cluster runs at once", () => {
  const config = "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/capi.git\ngitops: flux\n";
  const run = (repo: string, name: string) => execa("node", ["--import", "tsx", CLI, "new-cluster", "--name", name, "--region", "eu-west-1", "--yes", "--repo", repo], { cwd: ROOT, reject: false, stdin: "ignore" });

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
    expect(tree.filter((p) => p.startsWith("clusters/") && p.endsWith("/cluster.yaml")).sort()).toEqual(["clusters/left/cluster.yaml", "clusters/right/cluster.yaml"]);
    expect(tree.some((p) => p.includes(".new-") || p.endsWith(".lock"))).toBe(false);
  }, 60_000);

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
  }, 60_000);
});
