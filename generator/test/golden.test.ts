/**
 * Golden output: fixtures/specs/*.yaml (+ fixtures/capi-gitops.yaml) → the whole generated tree, one snapshot file per
 * file.
 */
import { versions } from "../src/pins/versions.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planRepo } from "../src/plan/repo.js";
import { specFile } from "../src/plan/cluster.js";
import { planSync } from "../src/plan/sync.js";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import { FIXTURES, fixtureSpecs, YAML11_FIXTURES } from "./helpers.js";
import { MANAGEMENT_CHART_DIRS } from "../src/core/layout.js";

describe("golden tree", () => {
  const specs = fixtureSpecs();
  const argocd = parseRepoConfig(readFileSync(path.join(FIXTURES, "..", "capi-gitops.yaml"), "utf8")).config!;
  const flux = { ...argocd, gitops: "flux" as const };
  const files = [
    // The hydrated management charts are upstream's render at the pins (2.6 MB), checked by management.test.ts.
    ...planRepo({ specs, config: argocd }, versions()).files.filter(
      (f) => !MANAGEMENT_CHART_DIRS.some((d) => f.path.startsWith(`${d}/`)),
    ),
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

describe("golden tree of clusters and pools named like YAML 1.1 booleans (issue 9, item 14)", () => {
  const specs = fixtureSpecs(YAML11_FIXTURES);
  const argocd = parseRepoConfig(readFileSync(path.join(FIXTURES, "..", "capi-gitops.yaml"), "utf8")).config!;
  const flux = { ...argocd, gitops: "flux" as const };
  const files = [
    ...planRepo({ specs, config: argocd }, versions()).files.filter(
      (f) => f.path.startsWith("clusters/") || f.path.startsWith("management/sync/"),
    ),
    ...specs.map(specFile),
    ...planSync(flux, specs).map((f) => ({ ...f, path: `flux/${f.path}` })),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  it("14: no name is written as a plain YAML 1.1 boolean", () => {
    // A plain scalar that is nothing but one of the words: a mapping value (`key: off`) or a list item (`- off`).
    const plain = /(:|^\s*-)\s+(on|off|yes|no|y|n)$/i;
    const offenders = files.flatMap((f) =>
      f.content
        .split("\n")
        .filter((l) => plain.test(l.trimEnd()))
        .map((l) => `${f.path}: ${l}`),
    );
    expect(offenders).toEqual([]);
    expect(files.find((f) => f.path === "clusters/off/cluster.yaml")?.content).toContain('name: "off"');
  });
  it.each(files.map((f) => [f.path, f.content]))("14: %s", async (p, content) => {
    await expect(content).toMatchFileSnapshot(`./__golden__/yaml11/${p}`);
  });
});

describe("golden sync manifests with rings: canary, early, main (README 'Rolling a change through the fleet')", () => {
  const text = readFileSync(path.join(FIXTURES, "..", "capi-gitops.yaml"), "utf8");
  const rings =
    "rollout:\n  rings:\n  - name: canary\n    maxUpdate: 1\n  - name: early\n    maxUpdate: 10%\n  - name: main\n";
  const argocd = parseRepoConfig(text + rings).config!;
  const flux = { ...argocd, gitops: "flux" as const };
  const ringOf: Record<string, string> = { "edge-md": "canary", "payments-prod": "early" };
  const specs = fixtureSpecs().map((s) => ({ ...s, rollout: ringOf[s.name] ? { ring: ringOf[s.name] } : undefined }));
  const files = [
    ...planSync(argocd, specs),
    ...planSync(flux, specs).map((f) => ({ ...f, path: `flux/${f.path}` })),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  it.each(files.map((f) => [f.path, f.content]))("rings: %s", async (p, content) => {
    await expect(content).toMatchFileSnapshot(`./__golden__/rings/${p}`);
  });
});
