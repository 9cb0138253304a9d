/** The CI workflow: actionlint-clean, least privilege, pinned actions, and the steps the README promises. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { actionlint } from "../src/tools/actionlint.js";
import { OWN_MODULE_GOFLAGS } from "../src/tools/go.js";
import { ROOT } from "./helpers.js";

const dir = path.join(ROOT, ".github", "workflows");
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => path.join(".github/workflows", f));
const actionsDir = path.join(ROOT, ".github", "actions");
/** The local composite actions (.github/actions/<name>/action.yml). */
const actionFiles = readdirSync(actionsDir).map((a) => path.join(".github/actions", a, "action.yml"));

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
const load = <T>(f: string): T => parse(readFileSync(path.join(ROOT, f), "utf8")) as T;
const workflow = load<{ on: Record<string, unknown>; jobs: Record<string, Job> }>(".github/workflows/validate.yml");
const setupAction = load<{ runs: { steps: Step[] } }>(".github/actions/setup/action.yml");
const runs = (steps: Step[]) => steps.map((s) => s.run ?? "").join("\n");
const indexOf = (steps: Step[], pred: (s: Step) => boolean) => steps.findIndex(pred);

/** Actions pinned by commit SHA (owner/repo[/path]@sha), or local actions of this repository. */
function checkSteps(steps: Step[]): void {
  for (const step of steps) {
    if (step.uses?.startsWith("actions/checkout@")) expect(step.with?.["persist-credentials"]).toBe(false);
    if (step.uses && !step.uses.startsWith("./.github/actions/"))
      expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*@[0-9a-f]{40}$/);
    // No secret is echoed, and no expression is spliced into a shell script (script injection): values go
    // through env: and are quoted.
    if (step.run) {
      expect(step.run).not.toMatch(/\$\{\{\s*secrets\./);
      expect(step.run).not.toMatch(/\$\{\{/);
    }
  }
}

describe("workflows", () => {
  it("pass actionlint", async () => {
    expect(await actionlint(ROOT, files)).toEqual([]);
  });
  it.each(files)("%s: read-only permissions, actions pinned by commit SHA, no pull_request_target, no secrets", (f) => {
    const wf = load<{ on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> }>(
      f,
    );
    expect(wf.permissions).toBeDefined();
    expect(Object.values(wf.permissions!).every((p) => p === "read" || p === "none")).toBe(true);
    expect(Object.keys(wf.on)).not.toContain("pull_request_target");
    expect(readFileSync(path.join(ROOT, f), "utf8")).not.toMatch(/secrets\./);
    for (const job of Object.values(wf.jobs))
      if (job.permissions) expect(Object.values(job.permissions).every((p) => p === "read" || p === "none")).toBe(true);
    for (const job of Object.values(wf.jobs)) checkSteps(job.steps);
  });
  it.each(actionFiles)("%s: actions pinned by commit SHA, no expression in a script, no secrets", (f) => {
    expect(readFileSync(path.join(ROOT, f), "utf8")).not.toMatch(/secrets\./);
    checkSteps(load<{ runs: { steps: Step[] } }>(f).runs.steps);
  });
});

describe("validate.yml: caches and the split by what changed", () => {
  const jobs = workflow.jobs;
  it("runs on pull requests, pushes to main and a schedule", () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(["pull_request", "push", "schedule"]));
  });
  it(`setup restores .tools/ (keyed on versions.json, every go.mod/go.sum, the Go version and the OS) \
before \`npm run setup\`, then saves it`, () => {
    const steps = setupAction.runs.steps;
    const restore = indexOf(steps, (s) => !!s.uses?.startsWith("actions/cache/restore@") && s.with?.path === ".tools");
    const setup = indexOf(steps, (s) => s.run === "npm run setup");
    const save = indexOf(steps, (s) => !!s.uses?.startsWith("actions/cache/save@") && s.with?.path === ".tools");
    expect(restore).toBeGreaterThanOrEqual(0);
    expect(setup).toBeGreaterThan(restore);
    expect(save).toBeGreaterThan(setup);
    const keys = steps.find((s) => s.id === "keys")!;
    const keyText = JSON.stringify(keys.env);
    for (const part of [
      "versions.json",
      "**/go.mod",
      "**/go.sum",
      "admission/**/*.go",
      "runner.os",
      "steps.go.outputs.go-version",
    ])
      expect(keyText).toContain(part);
    const go = steps.find((s) => s.id === "gocache")!;
    expect(String(go.with?.path)).toContain("~/go/pkg/mod");
    expect(String(go.with?.path)).toContain("~/.cache/go-build");
    expect(indexOf(steps, (s) => s.id === "gocache")).toBeLessThan(setup);
    expect(steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.cache).toBe("npm");
  });
  it("every job that runs the tool sets it up through the shared action", () => {
    for (const name of ["fleet", "tool-tests", "e2e", "bench"])
      expect(
        jobs[name]!.steps.some((s) => s.uses === "./.github/actions/setup"),
        name,
      ).toBe(true);
  });
  it(`tool tests, e2e and the benchmark run only when the tool changed (always on main and the schedule: \
ci:scope without --base)`, () => {
    for (const name of ["tool-tests", "e2e", "bench"]) {
      expect(jobs[name]!.needs).toBe("scope");
      expect(jobs[name]!.if).toContain("needs.scope.outputs.tool == 'true'");
    }
    expect(jobs.e2e!.if).toContain("needs.scope.outputs.e2e == 'true'");
    expect(runs(jobs.e2e!.steps)).toContain("npm run e2e");
    expect(runs(jobs["tool-tests"]!.steps)).toContain("npm test");
    expect(runs(jobs["tool-tests"]!.steps)).toContain("go test ./...");
    expect(runs(jobs.fleet!.steps)).not.toContain("npm test");
    for (const name of ["scope", "fleet"]) {
      const script = runs(jobs[name]!.steps);
      expect(script).toContain('npm run -s ci:scope -- --base "$(git merge-base "origin/${BASE_REF}" HEAD)"');
      expect(script).toMatch(/else\s+npm run -s ci:scope\n/);
    }
  });
  it(`\`go test\` in the Go modules gets the GOFLAGS of the tool's own compiles (tools/go.ts), in the workflow and \
.ci/run: the packages setup and the e2e suite compiled are reused`, () => {
    const steps = Object.values(jobs).flatMap((j) => j.steps.filter((s) => /\bgo test\b/.test(s.run ?? "")));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const s of steps) expect(s.env?.GOFLAGS, s.name).toBe(OWN_MODULE_GOFLAGS);
    const lines = readFileSync(path.join(ROOT, ".ci", "run"), "utf8")
      .split("\n")
      .filter((l) => /\bgo test\b/.test(l) && !l.trimStart().startsWith("#"));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toContain(`GOFLAGS="${OWN_MODULE_GOFLAGS}" go test`);
  });
  it(`the fleet job validates --changed-since the merge base on a fleet-only change, every cluster otherwise; drift; \
the PR summary`, () => {
    const steps = jobs.fleet!.steps;
    const script = runs(steps);
    expect(script).toContain('if [ "$TOOL" = true ]; then set --; else set -- --changed-since "$BASE"; fi');
    expect(script).toContain('npm run -s validate -- --format github "$@"');
    expect(script).toContain('npm run -s diff -- --base "$BASE" --format markdown >> "$GITHUB_STEP_SUMMARY"');
    expect(script).toContain("Findings");
    for (const cmd of ["npm run generate", "git diff --exit-code"]) expect(script).toContain(cmd);
  });
  it(`the validate cache: restored before validate (the base commit's key, else the newest), \
saved only on main`, () => {
    const steps = jobs.fleet!.steps;
    const restore = indexOf(
      steps,
      (s) => !!s.uses?.startsWith("actions/cache/restore@") && s.with?.path === "~/.cache/capi-gitops",
    );
    const validate = indexOf(steps, (s) => !!s.run?.includes("npm run -s validate"));
    const save = steps.find(
      (s) => !!s.uses?.startsWith("actions/cache/save@") && s.with?.path === "~/.cache/capi-gitops",
    )!;
    expect(restore).toBeGreaterThanOrEqual(0);
    expect(validate).toBeGreaterThan(restore);
    expect(String(steps[restore]!.with?.key)).toContain("github.event.pull_request.base.sha");
    expect(save.if).toContain("github.event_name != 'pull_request'");
    expect(save.if).toContain("github.ref == 'refs/heads/main'");
  });
});
