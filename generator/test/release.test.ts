/**
 * Releases through the rings (README "Releasing base/ ring by ring"): with two rings or more every cluster builds
 * from its ring's release, releases/<ring>/; a change of base/ reaches no cluster's render until `release` moves it,
 * one ring at a time and in order; a bad ring is refused by name.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { contentHash, type OutputFile } from "../src/plan/files.js";
import {
  candidateFiles,
  currentBase,
  type LoadedRelease,
  planReleaseFiles,
  planReleaseStep,
  releaseDigest,
  releasedBase,
  releaseFindings,
  type RingRelease,
} from "../src/plan/release.js";
import { planClusterTree, planRepo, planRingRelease } from "../src/plan/repo.js";
import { upgradeRingSelection } from "../src/plan/upgrade.js";
import { clusterRing } from "../src/cluster-spec/rollout.js";
import { versions } from "../src/pins/versions.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { clusterSpec, runCli, tempDir } from "./helpers.js";
import { commitAll, initRepo } from "./helpers/repo.js";

const CFG = "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/x.git\n";
const RINGS = "rollout:\n  rings:\n  - name: canary\n  - name: early\n  - name: main\n";
const RINGS_ORDER = ["canary", "early", "main"];

function config(text: string): RepoConfig {
  const r = parseRepoConfig(text);
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
}

/**
 * A release of an older base: what the repository held before the generator changed base/ — the control plane's
 * machine template with another root volume size, the MachinePool's kubelet with one more argument.
 */
function olderBase(): Record<string, string> {
  const files = candidateFiles();
  const edit = (p: string, from: string, to: string) => {
    const text = files[p];
    if (text === undefined || !text.includes(from)) throw new Error(`${p} has no ${from}`);
    files[p] = text.replace(from, to);
  };
  edit("base/cluster/awsmachinetemplate.yaml", "size: ", "size: 1");
  edit(
    "base/machinepool/kubeadmconfig.yaml",
    "value: external",
    "value: external\n        - name: v\n          value: '2'",
  );
  return files;
}

/** releases/<ring>/ as Git would hold it for `release`, read back as repo/load.ts does. */
function loaded(release: RingRelease): LoadedRelease {
  const files = planReleaseFiles("x", release);
  const record = files.find((f) => f.path.endsWith("/release.json"))?.content;
  return { record, files: release.files };
}

const byPath = (files: readonly OutputFile[]) => Object.fromEntries(files.map((f) => [f.path, f.content]));
const clusterFilesOf = (files: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith(`clusters/${name}/generated/`)));

describe("releases through the rings (pure)", () => {
  const three = config(CFG + RINGS);
  const specs: ClusterSpec[] = [
    clusterSpec({ name: "c1", rollout: { ring: "canary" } }),
    clusterSpec({ name: "e1", rollout: { ring: "early" } }),
    clusterSpec({ name: "m1" }),
  ];
  const old: RingRelease = { number: 1, files: olderBase() };
  const allOld = Object.fromEntries(RINGS_ORDER.map((r) => [r, loaded(old)]));

  it("a release of the current base names every template as base/ does (the move to releases renames nothing)", () => {
    const now = currentBase().inputs;
    const released = releasedBase("canary", { number: 1, files: candidateFiles() }).inputs;
    for (const k of Object.keys(now) as (keyof typeof now)[])
      expect(contentHash(released[k])).toBe(contentHash(now[k]));
  });

  it("a base/ change not yet released changes no cluster's files: each builds from its ring's release", () => {
    const files = byPath(planRepo({ specs, config: three, releases: allOld }, versions()).files);
    for (const s of specs) {
      const ring = clusterRing(s, three);
      const own = files[`clusters/${s.name}/generated/kustomization.yaml`] ?? "";
      expect(own).toContain(`../../../releases/${ring}/base/cluster`);
      expect(own).not.toMatch(/\.\.\/base\//);
      // Exactly what the cluster's plan makes from its ring's release: the candidate's change is in none of them.
      expect(clusterFilesOf(files, s.name)).toEqual(
        clusterFilesOf(byPath(planClusterTree(s, versions(), releasedBase(ring, old)).files), s.name),
      );
      const withCandidate = byPath(
        planRepo({ specs, config: three, releases: {} }, versions()).files.filter((f) =>
          f.path.startsWith(`clusters/${s.name}/generated/`),
        ),
      );
      // The control plane's template name follows the released object, not base/'s.
      expect(clusterFilesOf(files, s.name)).not.toEqual(withCandidate);
    }
    expect(files["releases/main/base/cluster/awsmachinetemplate.yaml"]).toBe(
      old.files["base/cluster/awsmachinetemplate.yaml"],
    );
    expect(releaseFindings(RINGS_ORDER, allOld)).toEqual([
      expect.objectContaining({ rule: "release-pending", severity: "info", file: "base/" }),
    ]);
  });

  it("releases in order: the first ring first, each later ring only what the ring before it holds", () => {
    const held = { canary: old, early: old, main: old };
    const early = planReleaseStep(RINGS_ORDER, held, "early");
    expect(early.kind).toBe("refused");
    expect(JSON.stringify(early)).toContain("release to canary first (npm run release -- --ring canary)");
    const canary = planReleaseStep(RINGS_ORDER, held, "canary");
    if (canary.kind !== "release") throw new Error(JSON.stringify(canary));
    expect(canary.release.number).toBe(2);
    expect(canary.release.files).toEqual(candidateFiles());
    const after = { ...held, canary: canary.release };
    expect(planReleaseStep(RINGS_ORDER, after, "main").kind).toBe("refused");
    const next = planReleaseStep(RINGS_ORDER, after, "early");
    if (next.kind !== "release") throw new Error(JSON.stringify(next));
    expect(next.release).toEqual(canary.release);
    expect(planReleaseStep(RINGS_ORDER, after, "canary").kind).toBe("nothing");
  });

  it("`release` rewrites only the ring's release and its clusters' generated files", () => {
    const r = planRingRelease({ specs, config: three, releases: allOld }, versions(), "canary");
    expect(r.clusters).toEqual(["c1"]);
    const paths = (r.plan?.files ?? []).filter((f) => f.mode === "owned").map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith("releases/canary/") && !p.startsWith("clusters/c1/generated/"))).toEqual(
      [],
    );
    expect(r.plan?.roots).toEqual(["clusters/c1/generated", "releases/canary"]);
  });

  it("refuses a ring that is not declared, naming it and the rings", () => {
    const r = planRingRelease({ specs, config: three, releases: allOld }, versions(), "canery");
    expect(r.step).toEqual({
      kind: "refused",
      findings: [
        expect.objectContaining({ path: "--ring", message: expect.stringContaining('"canery" is not a ring') }),
      ],
    });
    expect(JSON.stringify(r.step)).toContain("canary, early, main");
    const u = upgradeRingSelection(specs, "canery", RINGS_ORDER, (s) => clusterRing(s, three));
    expect(u.findings).toEqual([expect.objectContaining({ path: "--ring", rule: "flag" })]);
    expect(
      upgradeRingSelection(specs, "early", RINGS_ORDER, (s) => clusterRing(s, three)).specs.map((s) => s.name),
    ).toEqual(["e1"]);
  });

  it("a hand-edited release and a ring ahead of the ring before it are errors", () => {
    const edited = { ...loaded(old), files: { ...old.files, "base/cluster/cluster.yaml": "x: 1\n" } };
    expect(releaseFindings(RINGS_ORDER, { ...allOld, early: edited })).toContainEqual(
      expect.objectContaining({ rule: "release-integrity", file: "releases/early/" }),
    );
    const ahead = loaded({ number: 2, files: candidateFiles() });
    expect(releaseFindings(RINGS_ORDER, { ...allOld, early: ahead })).toContainEqual(
      expect.objectContaining({ rule: "release-order", severity: "error", file: "releases/early/release.json" }),
    );
    // generate keeps the record as Git holds it: it never makes the edit look released.
    const planned = byPath(
      planRepo({ specs, config: three, releases: { ...allOld, early: edited } }, versions()).files,
    );
    expect(planned["releases/early/release.json"]).toBe(edited.record);
    expect(JSON.parse(edited.record ?? "{}")).toMatchObject({ digest: releaseDigest(old.files) });
  });

  it("with one ring (the default) there are no releases: clusters build from base/ as before", () => {
    const files = byPath(planRepo({ specs: [clusterSpec({ name: "d" })], config: config(CFG) }, versions()).files);
    expect(Object.keys(files).some((p) => p.startsWith("releases/"))).toBe(false);
    expect(files["clusters/d/generated/kustomization.yaml"]).toContain("../../../base/cluster");
  });
});

describe("releases through the rings (a repository, the real kustomize)", () => {
  let repo = "";
  let cleanup = async () => {};
  const spec = (name: string, ring?: string) =>
    "apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\n" +
    `name: ${name}\nregion: us-east-2\n${ring ? `rollout:\n  ring: ${ring}\n` : ""}`;
  const render = async (name: string) => kustomizeBuild(repo, `clusters/${name}`);
  /** The root volume size of the (first) AWSMachineTemplate in a YAML stream: the control plane's. */
  const volume = (yaml: string) =>
    yaml
      .split(/^---$/m)
      .map((d) => (/^kind: AWSMachineTemplate$/m.test(d) ? /^\s+size: (\d+)$/m.exec(d)?.[1] : undefined))
      .find((x) => x !== undefined);

  beforeAll(async () => {
    const t = await tempDir("capi-gitops-release-");
    cleanup = t.cleanup;
    repo = path.join(t.dir, "repo");
    await initRepo(repo);
    await writeFile(path.join(repo, "capi-gitops.yaml"), CFG + RINGS);
    for (const [name, ring] of [
      ["c1", "canary"],
      ["m1", undefined],
    ] as const) {
      await mkdir(path.join(repo, "clusters", name), { recursive: true });
      await writeFile(path.join(repo, "clusters", name, "cluster.yaml"), spec(name, ring));
    }
    expect((await runCli(["generate", "--repo", repo])).exitCode).toBe(0);
    // The repository as it was before the generator changed base/: every ring holds the older release.
    for (const ring of RINGS_ORDER)
      for (const f of planReleaseFiles(ring, { number: 1, files: olderBase() })) {
        await mkdir(path.dirname(path.join(repo, f.path)), { recursive: true });
        await writeFile(path.join(repo, f.path), f.content);
      }
    expect((await runCli(["generate", "--repo", repo])).exitCode).toBe(0);
    await commitAll(repo, "fleet on release 1");
  });
  afterAll(() => cleanup());

  it("base/ as generated now reaches no cluster's render; release moves it ring by ring, in order", async () => {
    const now = volume(await readFile(path.join(repo, "base/cluster/awsmachinetemplate.yaml"), "utf8"));
    const older = `1${now}`;
    expect(volume(await render("c1"))).toBe(older);
    expect(volume(await render("m1"))).toBe(older);
    const v = await runCli(["validate", "--repo", repo]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    // validate says where the change stands: released to no ring yet, and how to release it.
    expect(v.stdout).toContain("the change reaches no cluster until released — npm run release -- --ring canary");

    const early = await runCli(["release", "--repo", repo, "--ring", "early"]);
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain("release to canary first");

    const bad = await runCli(["release", "--repo", repo, "--ring", "canery"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/--ring.*"canery" is not a ring; the rings are canary, early, main/);

    const canary = await runCli(["release", "--repo", repo, "--ring", "canary"]);
    expect(canary.exitCode, canary.stderr).toBe(0);
    expect(canary.stdout).toContain("Released release 2 to ring canary");
    expect(volume(await render("c1"))).toBe(now);
    expect(volume(await render("m1"))).toBe(older);
    expect((await runCli(["release", "--repo", repo, "--ring", "main"])).exitCode).toBe(1);

    expect((await runCli(["release", "--repo", repo, "--ring", "early"])).exitCode).toBe(0);
    expect((await runCli(["release", "--repo", repo, "--ring", "main"])).exitCode).toBe(0);
    expect(volume(await render("m1"))).toBe(now);
    const after = await runCli(["generate", "--repo", repo]);
    expect(after.stdout).toMatch(/0 written, 0 deleted/);
  });

  it("upgrade --all --ring acts on that ring's clusters only, and refuses an undeclared ring by name", async () => {
    const one = await runCli(["upgrade", "--repo", repo, "--all", "--ring", "canary", "--dry-run"]);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^c1 /m);
    expect(one.stdout).not.toMatch(/^m1 /m);
    const all = await runCli(["upgrade", "--repo", repo, "--all", "--dry-run"]);
    expect(all.stdout).toMatch(/^m1 /m);
    const bad = await runCli(["upgrade", "--repo", repo, "--all", "--ring", "canery", "--dry-run"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--ring: "canery" is not a ring; the rings are canary, early, main');
  });
});
