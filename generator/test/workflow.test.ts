/** The CI workflow: actionlint-clean, least privilege, pinned actions, and the steps the README promises. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { actionlint } from "../src/tools/actionlint.js";
import { ROOT } from "./helpers.js";

const dir = path.join(ROOT, ".github", "workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(".github/workflows", f));

describe("workflows", () => {
  it("pass actionlint", async () => {
    expect(await actionlint(ROOT, files)).toEqual([]);
  });
  it.each(files)("%s: read-only permissions, actions pinned by commit SHA, no pull_request_target", (f) => {
    const wf = parse(readFileSync(path.join(ROOT, f), "utf8")) as { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, { permissions?: Record<string, string>; steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }> };
    expect(wf.permissions).toBeDefined();
    expect(Object.values(wf.permissions!).every((p) => p === "read" || p === "none")).toBe(true);
    expect(Object.keys(wf.on)).not.toContain("pull_request_target");
    for (const job of Object.values(wf.jobs)) if (job.permissions) expect(Object.values(job.permissions).every((p) => p === "read" || p === "none")).toBe(true);
    // Checked-out credentials are not left in .git/config for later steps.
    for (const job of Object.values(wf.jobs)) for (const step of job.steps) if (step.uses?.startsWith("actions/checkout@")) expect(step.with?.["persist-credentials"]).toBe(false);
    for (const job of Object.values(wf.jobs))
      for (const step of job.steps) {
        if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        // No secret is echoed, and no expression is spliced into a shell script (script injection): values go
        // through env: and are quoted.
        if (step.run) {
          expect(step.run).not.toMatch(/\$\{\{\s*secrets\./);
          expect(step.run).not.toMatch(/\$\{\{/);
        }
      }
  });
  it("validate.yml runs the README's setup and test commands, validate with annotations, and a drift check", () => {
    const runs = (parse(readFileSync(path.join(dir, "validate.yml"), "utf8")) as { jobs: Record<string, { steps: { run?: string }[] }> }).jobs.validate!.steps.map((s) => s.run ?? "").join("\n");
    for (const cmd of ["npm run setup", "npm test", "npm run validate -- --format github", "npm run generate", "git diff --exit-code"]) expect(runs).toContain(cmd);
  });
});
