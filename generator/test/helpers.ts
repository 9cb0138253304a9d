import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, lstat } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSpecObject, parseSpecText } from "../src/cluster-spec/parse.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import type { Context } from "../src/render/context.js";
import { parseYamlStream } from "../src/core/yaml.js";
import type { K8sObject } from "../src/k8s/object.js";
import { versions } from "../src/pins/versions.js";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The program `npm run <command>` runs (the CLI bundled, generator/bin/capi-gitops.js): `node BIN <command> …`. */
export const BIN = path.join(ROOT, "generator", "bin", "capi-gitops.js");
export const FIXTURES = path.join(ROOT, "generator", "test", "fixtures", "specs");
/** Specs whose cluster, namespace and pool names are YAML 1.1 booleans (on, off, yes, no, y, n). */
export const YAML11_FIXTURES = path.join(ROOT, "generator", "test", "fixtures", "specs-yaml11");

/** Every fixture spec, parsed (throws if a fixture is invalid: fixtures must be valid). */
export function fixtureSpecs(dir = FIXTURES): ClusterSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => {
      const r = parseSpecText(readFileSync(path.join(dir, f), "utf8"), f);
      if (!r.spec || r.findings.length) throw new Error(`fixture ${f} is invalid: ${JSON.stringify(r.findings)}`);
      return r.spec;
    });
}

/** A ClusterSpec from its fields (region ap-northeast-2 unless given); throws when they make no spec. */
export function clusterSpec(fields: Record<string, unknown>): ClusterSpec {
  const r = parseSpecObject({
    apiVersion: "capi-gitops.io/v1alpha1",
    kind: "ClusterSpec",
    region: "ap-northeast-2",
    ...fields,
  });
  if (!r.spec) throw new Error(JSON.stringify(r.findings));
  return r.spec;
}

/** A temporary directory removed after the test; `guard` refuses paths outside it. */
export async function tempDir(
  prefix = "capi-gitops-",
): Promise<{ dir: string; guard: (p: string) => string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    dir,
    guard: (p: string) => {
      const abs = path.resolve(dir, p);
      if (!abs.startsWith(dir + path.sep)) throw new Error(`test tried to touch ${abs} outside ${dir}`);
      return abs;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A temporary repository generated from `specs` and each cluster's real `kustomize build` (what the sync engine
 * applies), for files that read one shared render in beforeAll.
 */
export async function renderedRepo<T extends K8sObject = K8sObject>(
  specs: readonly ClusterSpec[],
): Promise<{ dir: string; rendered: Map<string, T[]>; cleanup: () => Promise<void> }> {
  const t = await tempDir();
  await writeTree(t.dir, planRepo({ specs: [...specs] }, versions()));
  const rendered = new Map<string, T[]>();
  for (const s of specs)
    rendered.set(s.name, parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as T[]);
  return { dir: t.dir, rendered, cleanup: t.cleanup };
}

/** Every file under dir (relative path → content), sorted; ignores .git. */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === ".git") continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[path.relative(dir, p).split(path.sep).join("/")] = (await lstat(p)).isSymbolicLink()
          ? "<symlink>"
          : await readFile(p, "utf8");
    }
  }
  await walk(dir);
  return out;
}

export async function treeHash(dir: string): Promise<string> {
  return createHash("sha256")
    .update(JSON.stringify(await readTree(dir)))
    .digest("hex");
}

/**
 * The CLI in-process: `run(argv, io)` with buffers for stdout and stderr (no terminal), as execa would report it;
 * `ctx` replaces the run's context (e.g. helpers/runners.ts standInContext).
 */
export async function runCli(
  args: string[],
  opts: { cwd?: string; ctx?: Context } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { run } = await import("../src/cli.js");
  let stdout = "";
  let stderr = "";
  const exitCode = await run(
    args,
    {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      cwd: opts.cwd,
    },
    opts.ctx,
  );
  // execa strips the final newline; so do we, so that assertions read the same either way.
  return { exitCode, stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
}
