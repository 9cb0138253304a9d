/** Golden output: fixtures/specs/*.yaml → the whole generated tree, one snapshot file per generated file. */
import { describe, expect, it } from "vitest";
import { planRepo } from "../src/plan/repo.js";
import { specFile } from "../src/plan/cluster.js";
import { fixtureSpecs } from "./helpers.js";

describe("golden tree", () => {
  const specs = fixtureSpecs();
  const files = [...planRepo({ specs }), ...specs.map(specFile)].sort((a, b) => (a.path < b.path ? -1 : 1));
  it("lists the same files", () => {
    expect(files.map((f) => `${f.mode} ${f.path}`)).toMatchSnapshot();
  });
  it.each(files.map((f) => [f.path, f.content]))("%s", async (p, content) => {
    await expect(content).toMatchFileSnapshot(`./__golden__/${p}`);
  });
});
