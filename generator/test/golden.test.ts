/** Golden output: fixtures/specs/*.yaml (+ fixtures/capi-gitops.yaml) → the whole generated tree, one snapshot file per file. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planRepo } from "../src/plan/repo.js";
import { specFile } from "../src/plan/cluster.js";
import { planSync } from "../src/plan/sync.js";
import { parseRepoConfig } from "../src/spec/config.js";
import { FIXTURES, fixtureSpecs } from "./helpers.js";

describe("golden tree", () => {
  const specs = fixtureSpecs();
  const argocd = parseRepoConfig(readFileSync(path.join(FIXTURES, "..", "capi-gitops.yaml"), "utf8")).config!;
  const flux = { ...argocd, gitops: "flux" as const };
  const files = [
    ...planRepo({ specs, config: argocd }),
    ...specs.map(specFile),
    ...planSync(flux, specs).map((f) => ({ ...f, path: `flux/${f.path}` })),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  it("lists the same files", () => {
    expect(files.map((f) => `${f.mode} ${f.path}`)).toMatchSnapshot();
  });
  it.each(files.map((f) => [f.path, f.content]))("%s", async (p, content) => {
    await expect(content).toMatchFileSnapshot(`./__golden__/${p}`);
  });
});
