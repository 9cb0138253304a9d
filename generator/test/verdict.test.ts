/**
 * The verdict of a whole validate run (render/verdict.ts): a run whose inputs are all unchanged prints the kept
 * findings without running a stage, and an edit anywhere the run reads — every folder the render reads (addons/
 * included), the repository config, a new file, a removed one — runs the stages again. A result without stage
 * timings is a kept verdict. Real kustomize, kubeconform and capi-gitops-admission.
 */
import { execFileSync } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFleetSpecs } from "../bench/fleet.js";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import { tempDir } from "./helpers.js";

let repo: string;
let cluster: string;
let cleanup: () => Promise<void>;
const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "pipe" });
const run = () => validateCommand({ cwd: repo, skipCel: true });
const append = async (rel: string) =>
  writeFile(path.join(repo, rel), `${await readFile(path.join(repo, rel), "utf8")}# x\n`);

beforeAll(async () => {
  const t = await tempDir("capi-gitops-verdict-");
  cleanup = t.cleanup;
  repo = t.dir;
  [cluster = ""] = await writeFleetSpecs(repo, 2);
  await generateCommand({ cwd: repo, log: () => {} });
  git("init", "-q");
  git("add", "-A");
  git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "fleet");
});
afterAll(async () => cleanup?.());

describe("the verdict of a whole run", () => {
  it("nothing changed: the kept findings, no stage runs", async () => {
    const first = await run();
    expect(first.timings).toBeDefined();
    const again = await run();
    expect(again.timings).toBeUndefined();
    expect(again.findings).toEqual(first.findings);
    expect(again.summary).toEqual(first.summary);
  });

  it("an edit anywhere the run reads runs the stages again; the next run keeps that verdict", async () => {
    const addonFile = async () => {
      const [name = ""] = await readdir(path.join(repo, "addons"));
      const [version = ""] = await readdir(path.join(repo, "addons", name));
      const files = await readdir(path.join(repo, "addons", name, version));
      return `addons/${name}/${version}/${files.find((f) => f !== "kustomization.yaml")}`;
    };
    const edits: [string, () => Promise<unknown>][] = [
      ["the repository config", () => append("capi-gitops.yaml")],
      ["a base file", () => append("base/cluster/cluster.yaml")],
      ["an overlay", () => append("overlays/profiles/dev/kustomization.yaml")],
      ["a cluster's own kustomization", () => append(`clusters/${cluster}/kustomization.yaml`)],
      ["a generated file", () => append(`clusters/${cluster}/generated/namespace.yaml`)],
      ["the sync manifests", () => append("management/sync/kustomization.yaml")],
      ["an add-on payload", async () => append(await addonFile())],
      ["a new file", () => writeFile(path.join(repo, `clusters/${cluster}/notes.yaml`), "a: 1\n")],
      ["a removed file", () => rm(path.join(repo, `clusters/${cluster}/generated/namespace.yaml`))],
    ];
    await run();
    for (const [what, edit] of edits) {
      await edit();
      const r = await run();
      expect(r.timings, what).toBeDefined();
      const kept = await run();
      expect(kept.timings, `${what}, then nothing`).toBeUndefined();
      expect(kept.findings, what).toEqual(r.findings);
    }
  }, 600_000);

  it("--changed-since and a run with the cache off never use a verdict", async () => {
    await run();
    expect((await run()).timings).toBeUndefined();
    expect((await validateCommand({ cwd: repo, skipCel: true, cache: false })).timings).toBeDefined();
    await append(`clusters/${cluster}/kustomization.yaml`);
    for (let i = 0; i < 2; i++)
      expect((await validateCommand({ cwd: repo, skipCel: true, changedSince: "HEAD" })).timings).toBeDefined();
  });
});
