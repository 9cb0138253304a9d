/**
 * The CI pipeline's pieces (.github/workflows/validate.yml): what counts as a tool change (repo/scope.ts) and the
 * `ci:scope` script the workflow runs on real git; the validate cache carried between runs — the binaries'
 * identity is their content, so binaries and cache restored elsewhere (new inodes and change times, as actions/cache
 * restores them) still hit, and a hit is really used.
 */
import { copyFile, cp, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { writeFleetSpecs } from "../bench/fleet.js";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import { changeScope, pathKind, type PathKind } from "../src/repo/scope.js";
import { envVarFor, resolveTool } from "../src/tools/resolve.js";
import { binaryIdentity, cacheRoot, repoCacheDir } from "../src/render/cache.js";
import { ROOT, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
const temp = async () => {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
};
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("changeScope", () => {
  const rows: [string, PathKind][] = [
    ["clusters/a/cluster.yaml", "fleet"],
    ["clusters/a/generated/kustomization.yaml", "fleet"],
    ["base/cluster/cluster.yaml", "fleet"],
    ["overlays/profiles/prod/kustomization.yaml", "fleet"],
    ["management/sync/kustomization.yaml", "fleet"],
    // fix-a (review of issue 20, item 3b): the hydrated add-ons and their lock are the tool's (re-hydration test).
    ["addons/cilium/v1.20.2/cilium.yaml", "tool"],
    ["addons.lock.json", "tool"],
    ["capi-gitops.yaml", "fleet"],
    ["README.md", "docs"],
    ["BENCHMARKS.md", "docs"],
    ["generator/src/commands/validate.ts", "tool"],
    ["generator/README.md", "tool"],
    ["package.json", "tool"],
    ["package-lock.json", "tool"],
    ["versions.json", "tool"],
    [".github/workflows/validate.yml", "tool"],
    [".github/actions/setup/action.yml", "tool"],
    [".ci/run", "tool"],
    ["admission/go.sum", "tool"],
    ["admission/webhooks.go", "tool"],
    ["e2e/kind.test.ts", "tool"],
    ["schemas/kubeconform/cluster-cluster-v1beta2.json", "tool"],
    ["another-go-module/go.mod", "tool"],
    ["tsconfig.json", "tool"],
    ["clusters", "tool"],
  ];
  it.each(rows)("%s is %s", (p, kind) => expect(pathKind(p)).toBe(kind));
  it("a change is a tool change when any path is the tool's", () => {
    expect(changeScope(["clusters/a/cluster.yaml", "base/cluster/cluster.yaml", "README.md"])).toEqual({
      tool: false,
      toolPaths: [],
    });
    expect(changeScope(["clusters/a/cluster.yaml", "versions.json", "generator/src/x.ts"])).toEqual({
      tool: true,
      toolPaths: ["generator/src/x.ts", "versions.json"],
    });
  });
});

describe("npm run ci:scope (real git)", () => {
  const scope = async (repo: string, args: string[], env: Record<string, string> = {}) => {
    const r = await execa(
      path.join(ROOT, "node_modules", ".bin", "tsx"),
      [path.join(ROOT, "generator", "ci", "scope.ts"), "--repo", repo, ...args],
      { env, reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    return Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("=") as [string, string]),
    );
  };
  it(`a fleet-only change is not a tool change; generator/ is; no base runs everything; \
e2e follows package.json`, async () => {
    const repo = await temp();
    const g = (...a: string[]) => execa("git", a, { cwd: repo });
    await g("init", "-q", "-b", "main");
    await g("config", "user.name", "T");
    await g("config", "user.email", "t@example.com");
    await mkdir(path.join(repo, "clusters", "a"), { recursive: true });
    await mkdir(path.join(repo, "generator"), { recursive: true });
    await writeFile(path.join(repo, "package.json"), JSON.stringify({ scripts: { test: "vitest" } }));
    await writeFile(path.join(repo, "clusters/a/cluster.yaml"), "name: a\n");
    await writeFile(path.join(repo, "generator/x.ts"), "export {};\n");
    await g("add", ".");
    await g("commit", "-qm", "base");
    const base = (await g("rev-parse", "HEAD")).stdout.trim();

    await writeFile(path.join(repo, "clusters/a/cluster.yaml"), "name: a\nregion: eu-west-1\n");
    await writeFile(path.join(repo, "README.md"), "docs\n");
    await g("commit", "-qam", "fleet");
    const out = path.join(await temp(), "github-output");
    expect(await scope(repo, ["--base", "HEAD~1"], { GITHUB_OUTPUT: out })).toEqual({
      tool: "false",
      e2e: "false",
      base,
    });
    expect(await readFile(out, "utf8")).toBe(`tool=false\ne2e=false\nbase=${base}\n`);

    await writeFile(path.join(repo, "generator/x.ts"), "export const x = 1;\n");
    await writeFile(
      path.join(repo, "package.json"),
      JSON.stringify({ scripts: { test: "vitest", e2e: "vitest e2e" } }),
    );
    await g("commit", "-qam", "tool");
    expect(await scope(repo, ["--base", base])).toEqual({ tool: "true", e2e: "true", base });
    await g("reset", "-q", "--hard", "HEAD~1");
    expect(await scope(repo, [])).toEqual({ tool: "true", e2e: "false", base: "" });
  });
});

describe("binaryIdentity", () => {
  it("is the content: a copy elsewhere (new inode and change time) keeps it, other bytes change it", async () => {
    const dir = await temp();
    const env = { CAPI_GITOPS_CACHE_DIR: await temp() };
    await writeFile(path.join(dir, "tool"), "#!/bin/sh\necho v1\n");
    await copyFile(path.join(dir, "tool"), path.join(dir, "restored"));
    const id = binaryIdentity(path.join(dir, "tool"), env);
    expect(binaryIdentity(path.join(dir, "restored"), env)).toBe(id);
    await writeFile(path.join(dir, "restored"), "#!/bin/sh\necho v2\n");
    expect(binaryIdentity(path.join(dir, "restored"), env)).not.toBe(id);
  });
  it(`a remembered digest is used only for an unchanged stat, \
never for a file changed in the same moment`, async () => {
    const dir = await temp();
    const env = { CAPI_GITOPS_CACHE_DIR: await temp() };
    const bin = path.join(dir, "tool");
    await writeFile(bin, "#!/bin/sh\necho v1\n");
    const id = binaryIdentity(bin, env);
    const memoFile = path.join(cacheRoot(env), "binaries.json");
    const memo = JSON.parse(await readFile(memoFile, "utf8")) as Record<
      string,
      { stat: string; sha: string; at: number }
    >;
    const entry = Object.values(memo)[0]!;
    expect(entry.sha).toBe(id);
    // A forged digest under the same stat, recorded right after the file changed: not trusted.
    await writeFile(
      memoFile,
      JSON.stringify(Object.fromEntries(Object.keys(memo).map((k) => [k, { ...entry, sha: "forged" }]))),
    );
    expect(binaryIdentity(bin, env)).toBe(id);
    // Recorded well after the file's last change: used (that is the point: the binaries are not hashed again on every
    // run; BENCHMARKS.md) — until the file changes.
    const { ctimeMs } = await stat(bin);
    await writeFile(
      memoFile,
      JSON.stringify(
        Object.fromEntries(Object.keys(memo).map((k) => [k, { ...entry, sha: "remembered", at: ctimeMs + 10_000 }])),
      ),
    );
    expect(binaryIdentity(bin, env)).toBe("remembered");
    await writeFile(bin, "#!/bin/sh\necho v1\n");
    expect(binaryIdentity(bin, env)).toBe(id);
    // A damaged memo is a miss.
    await writeFile(memoFile, "{not json");
    expect(binaryIdentity(bin, env)).toBe(id);
  });
});

describe("the validate cache carried to a fresh job", () => {
  it(`binaries and cache restored elsewhere still hit, and the hit is used \
(a poisoned entry shows through)`, async () => {
    const repo = await temp();
    const [cluster] = await writeFleetSpecs(repo, 2);
    await generateCommand({ cwd: repo, log: () => {} });
    // the render layer; kubeconform built by `go install` reports no version to probe
    const tools = ["kustomize"] as const;
    const real = Object.fromEntries(tools.map((t) => [t, resolveTool(t, { PATH: process.env.PATH })]));
    const install = async (dir: string) => {
      for (const t of tools) {
        await copyFile(real[t]!, path.join(dir, t));
        process.env[envVarFor(t)] = path.join(dir, t);
      }
    };
    const saved = process.env.CAPI_GITOPS_CACHE_DIR;
    try {
      process.env.CAPI_GITOPS_CACHE_DIR = await temp();
      await install(await temp());
      const opts = { cwd: repo, skipCel: true, skipAdmission: true };
      expect((await validateCommand(opts)).findings).toEqual([]);
      // Poison the render: a hit shows as a kubeconform finding on a field no real render has.
      const entryFile = path.join(repoCacheDir(repo), `${cluster}.json`);
      const entry = JSON.parse(await readFile(entryFile, "utf8"));
      entry.render.value.find((o: { kind: string }) => o.kind === "Cluster").spec.poisonField = 1;
      await writeFile(entryFile, JSON.stringify(entry));
      // The next job: the tools and the cache restored to new files (new inodes, new change times).
      const restoredCache = await temp();
      await cp(process.env.CAPI_GITOPS_CACHE_DIR, restoredCache, { recursive: true });
      process.env.CAPI_GITOPS_CACHE_DIR = restoredCache;
      await install(await temp());
      const r = await validateCommand(opts);
      expect(
        r.findings.filter((f) => /poisonField/.test(`${f.path} ${f.message}`)).map((f) => `${f.cluster} ${f.rule}`),
      ).toContain(`${cluster} kubeconform`);
      expect((await validateCommand({ ...opts, cache: false })).findings).toEqual([]);
    } finally {
      for (const t of tools) delete process.env[envVarFor(t)];
      process.env.CAPI_GITOPS_CACHE_DIR = saved;
    }
  });
});
