/**
 * The rule registry (core/rules.ts) is the one list of rule ids a finding can carry: README's rule table is made from
 * it, every registered rule is reported somewhere (or was replaced by the upstream admission layer), and every rule id
 * generator/src reports is registered (`Finding.rule` is a `RuleId`: the compiler checks each emitter, this test the
 * literals it can see).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Finding } from "../src/core/findings.js";
import { ADMISSION_STAGES } from "../src/tools/admission.js";
import { isRuleId, RULES, type RuleSpec } from "../src/core/rules.js";
import { ruleInputs, rulesReadme } from "../src/validate/registry.js";
import { severityOf } from "../src/validate/rule.js";
import { UPSTREAM_REPLACED } from "../src/validate/upstream-replaced.js";
import { ROOT } from "./helpers.js";

const SRC = path.join(ROOT, "generator", "src");
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
const read = (f: string) => readFileSync(f, "utf8");

/** Rule ids written as literals where a finding is made: finding("id", …), clusterRule("id", …), push(o, at, "id"…). */
function reportedIds(text: string): string[] {
  const patterns = [
    /\bfinding\(\s*"([^"]+)"/g,
    /\bclusterRule\(\s*"([^"]+)"/g,
    /\brule: "([^"]+)"/g,
    /\bpush\(\s*[\w.]+,\s*[^,]+?,\s*"([a-z0-9]+(?:-[a-z0-9]+)*)",/g,
    /\bpush\(\s*[\w.]+,\s*[^,]+?,\s*[^,]+?,\s*"([a-z0-9-]+)",?\s*\)/g,
    /: "(addons-[a-z]+)"/g,
    /RuleId = "([^"]+)"/g,
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1] ?? ""));
}

describe("the rule registry", () => {
  it("is README's rule table, between the rules:begin and rules:end markers", () => {
    const readme = read(path.join(ROOT, "README.md"));
    const block = /<!-- rules:begin -->\n([\s\S]*?)\n<!-- rules:end -->/.exec(readme)?.[1];
    expect(block, "README's rule table differs from rulesReadme(): run npm run docs").toBe(rulesReadme());
    const validation = readme.slice(readme.indexOf("\n## Validation\n"));
    expect(validation.slice(0, validation.indexOf("\n## ", 5))).toContain("<!-- rules:begin -->");
    for (const id of Object.keys(RULES)) expect(rulesReadme()).toContain(`| \`${id}\` |`);
  });

  it("documents every rule in one line", () => {
    for (const [id, r] of Object.entries(RULES)) {
      expect(r.docs.trim(), id).not.toBe("");
      expect(r.docs, id).not.toContain("\n");
    }
  });

  it("registers every rule id generator/src reports", () => {
    const ids = sourceFiles(SRC).flatMap((f) => reportedIds(read(f)));
    expect(ids.length).toBeGreaterThan(150);
    expect(ids.filter((id) => !isRuleId(id))).toEqual([]);
  });

  it("makes an unregistered rule id a type error", () => {
    // @ts-expect-error a misspelt rule id does not compile (`npx tsc -p . --noEmit` checks this line)
    const typo: Finding = { rule: "kubelet-skwe", severity: "error", message: "m" };
    const ok: Finding = { rule: "kubelet-skew", severity: "error", message: "m" };
    expect([isRuleId(typo.rule), isRuleId(ok.rule)]).toEqual([false, true]);
  });

  it("has each rule reported somewhere, or replaced by the upstream admission layer", () => {
    const text = sourceFiles(SRC)
      .filter((f) => !f.endsWith(path.join("core", "rules.ts")))
      .map(read)
      .join("\n");
    const replaced = new Set<string>(UPSTREAM_REPLACED.map((r) => r.rule));
    // validate/admission.ts reports `admission/${stage}` for the stage that denied an object.
    expect(text).toContain("rule: `admission/${r.stage}`");
    const admission = new Set<string>(ADMISSION_STAGES.map((s) => `admission/${s}`));
    const silent = Object.keys(RULES).filter(
      (id) => !text.includes(`"${id}"`) && !replaced.has(id) && !admission.has(id),
    );
    expect(silent).toEqual([]);
    for (const r of UPSTREAM_REPLACED) expect(isRuleId(r.rule)).toBe(true);
  });

  it("flags `upstream` exactly the rules with a check in the upstream-replaced table", () => {
    const flagged = Object.entries(RULES).flatMap(([id, r]: [string, RuleSpec]) => (r.upstream ? [id] : []));
    const replaced = [...new Set<string>(UPSTREAM_REPLACED.map((r) => r.rule))];
    expect(flagged.sort()).toEqual(replaced.sort());
  });

  it("names the other objects' fields a rule reads, for attribution", () => {
    expect(ruleInputs("az-in-region")).toEqual([{ kind: "AWSCluster", field: "spec.region" }]);
    expect(ruleInputs("kubeconform")).toEqual([]);
  });

  it("keeps a finding at its rule's severity", () => {
    expect(severityOf(RULES["kubelet-skew"])).toBe("error");
    expect(() => severityOf(RULES["kubelet-skew"], "warning")).toThrow();
    expect(severityOf(RULES["workers-drain"], "warning")).toBe("warning");
    expect(() => severityOf(RULES["workers-drain"])).toThrow();
  });
});
