/**
 * core/yaml.ts parseProgramYaml (kustomize's output): the objects it returns do not keep the text they were read
 * from alive. V8 makes a substring of 13 or more characters a slice of its parent string, so one short field held
 * kept a cluster's whole build output (≈ 0.5 MB) in memory for as long as the objects lived (validate holds every
 * cluster's objects until the fleet rules: 2.2 GB at 1000 clusters).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { parseProgramYaml } from "../src/core/yaml.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe("parseProgramYaml", () => {
  it("returns fields that do not keep the parsed text alive", () => {
    const MB = 1024 * 1024;
    const before = heap();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      // 8 MB of comment (read past, in no field), then one object whose name is long enough to be a slice.
      const object = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept-name-${i}-of-the-build\n`;
      const text = `# ${"x".repeat(8 * MB)}\n${object}`;
      const [doc] = parseProgramYaml(text) as { metadata: { name: string } }[];
      names.push(doc!.metadata.name);
    }
    const held = heap() - before;
    expect(names).toEqual([0, 1, 2, 3].map((i) => `kept-name-${i}-of-the-build`));
    // The four names are a few hundred bytes; the four texts kept by slices are 32 MB (42 MB measured). One text may
    // stay referenced by the process after a parse (the last regular expression subject: 8.5 MB measured), not four.
    expect(held).toBeLessThan(16 * MB);
  });
});
