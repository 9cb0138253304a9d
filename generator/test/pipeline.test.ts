/**
 * validate's declared stages (validate/pipeline.ts): what each reads is made by a stage before it, nothing is made
 * twice, and the order is the documented one. The stages' behaviour is tested end to end (validate-stages,
 * validate, shard, changed-since, corpus).
 */
import { describe, expect, it } from "vitest";
import { STAGES } from "../src/validate/pipeline.js";

describe("validate's stages", () => {
  it("read only what an earlier stage made", () => {
    const made = new Set<string>();
    const early: string[] = [];
    for (const stage of STAGES) {
      for (const key of stage.inputs) if (!made.has(key)) early.push(`${stage.name} needs ${key}`);
      for (const key of stage.outputs) made.add(key);
    }
    expect(early).toEqual([]);
  });

  it("make each value once", () => {
    const outputs = STAGES.flatMap((s) => s.outputs);
    expect(outputs.filter((k, i) => outputs.indexOf(k) !== i)).toEqual([]);
  });

  it("run in the documented order: load, drift, render, schemas, admission, origins, findings, health, cache", () => {
    expect(STAGES.map((s) => s.name)).toEqual([
      "load",
      "drift",
      "render",
      "schemas",
      "admission",
      "origins",
      "kubeconform",
      "cel",
      "admission findings",
      "cluster rules",
      "attribution",
      "fleet rules",
      "identity secrets",
      "management rules",
      "sync",
      "health",
      "cache",
    ]);
    expect(STAGES.filter((s) => s.mode === "replace").map((s) => s.name)).toEqual(["attribution"]);
  });
});
