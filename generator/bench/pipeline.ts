/**
 * `npm run bench:pipeline [-- --clusters 500 --markdown --keep]`: the steps of .github/workflows/validate.yml's
 * fleet job, run on this machine as a runner would run them, timed one by one.
 *
 * In a temporary directory: a bare "origin" holding this repository's HEAD plus a synthetic fleet of N clusters
 * (bench/fleet.ts, generated and committed on main), a pull request that edits one cluster's spec (and its generated
 * files), and GitHub's merge commit of it. Then three jobs, each in a fresh clone at the same workspace path (as on
 * a runner, so the validate cache's per-repository folder is the same):
 * - main: the push to main — checkout, .tools/ restored, `npm run setup`, the full validate with an empty validate
 *   cache, the drift check; then the validate cache is saved (tar + zstd, as actions/cache stores it);
 * - pr warm: the pull request with the validate cache of main restored;
 * - pr cold: the pull request with no validate cache;
 * - pr tool warm: a pull request that changes generator/ (so every cluster is validated), main's cache restored.
 * The caches are tar + zstd archives made and unpacked locally (actions/cache downloads them first: not simulated),
 * .tools/ from this checkout's .tools/ (its binaries at their pins: setup skips them; the first build of the Go
 * tools is measured with --cold-tools). npm's cache is this machine's (`npm ci` with prefer-offline, as setup-node
 * restores it). Runner start-up and the download of the actions are not simulated.
 * --cold-tools: also `npm run setup` with an empty .tools/ and an empty Go build cache (the module cache stays:
 * GOMODCACHE is this machine's) — minutes, all cores.
 */
import { execa } from "execa";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeFleetSpecs } from "./fleet.js";
import { TOOL_ROOT } from "../src/pins/versions.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "500" },
    markdown: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "cold-tools": { type: "boolean", default: false },
  },
});
const N = Number(values.clusters);
if (!Number.isInteger(N) || N < 2) throw new Error("--clusters must be an integer ≥ 2");

interface Step {
  step: string;
  ms: number;
  /** user + system CPU of every command the step ran (GNU time), ms: what the step costs without other load. */
  cpuMs: number;
  note?: string;
}

const W = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-pipeline-"));
const origin = path.join(W, "origin.git");
const ws = path.join(W, "ws", "repo"); // the runner's workspace: the same path in every job
const store = path.join(W, "cache-store"); // what actions/cache keeps
const validateCache = path.join(W, "home", ".cache", "capi-gitops");
const env = {
  ...process.env,
  CAPI_GITOPS_CACHE_DIR: validateCache,
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};
const log = (line: string) => process.stderr.write(`${line}\n`);

/** CPU of the commands of the current step, ms. */
let stepCpu = 0;
let timeFiles = 0;

/** Runs a command under GNU time (its user + system CPU, children included, is added to the step's). */
async function sh(
  cwd: string,
  cmd: string,
  args: string[],
  opts: { reject?: boolean; extraEnv?: Record<string, string> } = {},
) {
  const timeFile = path.join(W, `time-${timeFiles++}`);
  try {
    return await execa("/usr/bin/time", ["-o", timeFile, "-f", "%U %S", cmd, ...args], {
      cwd,
      env: { ...env, ...opts.extraEnv },
      reject: opts.reject ?? true,
      all: true,
      maxBuffer: 512 * 1024 * 1024,
    });
  } finally {
    const [user, sys] = (await readFile(timeFile, "utf8").catch(() => "0 0"))
      .trim()
      .split("\n")
      .at(-1)!
      .split(" ")
      .map(Number);
    stepCpu += ((user ?? 0) + (sys ?? 0)) * 1000;
    await rm(timeFile, { force: true });
  }
}

async function timed(steps: Step[], step: string, fn: () => Promise<string | undefined | void>): Promise<void> {
  log(`· ${step} …`);
  stepCpu = 0;
  const t = performance.now();
  const note = await fn();
  const ms = performance.now() - t;
  steps.push({ step, ms, cpuMs: stepCpu, note: note || undefined });
  log(`  ${(ms / 1000).toFixed(1)} s, CPU ${(stepCpu / 1000).toFixed(1)} s${note ? ` (${note})` : ""}`);
}

/** The validate summary line ("N cluster(s): e error(s), w warning(s)"). */
const summaryOf = (out: string) => /\d+ cluster\(s\): \d+ error\(s\), \d+ warning\(s\)/.exec(out)?.[0];

async function prepare(): Promise<{ changed: string }> {
  const seed = path.join(W, "seed");
  log(`preparing: ${N} clusters in ${W}`);
  await execa("git", ["clone", "-q", "--no-local", TOOL_ROOT, seed]);
  const g = (...a: string[]) => execa("git", a, { cwd: seed });
  await g("config", "user.name", "bench");
  await g("config", "user.email", "bench@example.com");
  await g("config", "commit.gpgsign", "false");
  const names = await writeFleetSpecs(seed, N);
  await execa("ln", ["-s", path.join(TOOL_ROOT, "node_modules"), path.join(seed, "node_modules")]);
  await execa(path.join(TOOL_ROOT, "node_modules", ".bin", "tsx"), ["generator/src/cli.ts", "generate"], {
    cwd: seed,
    env,
  });
  await rm(path.join(seed, "node_modules"));
  await g("add", "-A");
  await g("commit", "-qm", `fleet of ${N} clusters`);
  await g("branch", "-M", "main");
  await execa("git", ["init", "-q", "--bare", "-b", "main", origin]);
  await g("push", "-q", origin, "main");
  // The pull request: one cluster's control-plane instance type, regenerated.
  const changed = names[Math.floor(names.length / 2)]!;
  await g("checkout", "-qb", "pr");
  const spec = path.join(seed, "clusters", changed, "cluster.yaml");
  const text = await readFile(spec, "utf8");
  const edited = text.replace(/(controlPlane:\n(?: {2}.*\n)*? {2}instanceType: )\S+/, "$1m6i.2xlarge");
  if (edited === text) throw new Error(`could not edit ${spec}`);
  await writeFile(spec, edited);
  await execa("ln", ["-s", path.join(TOOL_ROOT, "node_modules"), path.join(seed, "node_modules")]);
  await execa(path.join(TOOL_ROOT, "node_modules", ".bin", "tsx"), ["generator/src/cli.ts", "generate"], {
    cwd: seed,
    env,
  });
  await rm(path.join(seed, "node_modules"));
  await g("commit", "-qam", `${changed}: control plane m6i.2xlarge`);
  // GitHub's refs/pull/1/merge: the pull request merged into main.
  await g("checkout", "-q", "main");
  await g("merge", "-q", "--no-ff", "-m", "Merge pull request #1", "pr");
  await g("push", "-q", origin, "HEAD:refs/pull/1/merge", "pr");
  // A tool pull request (#2): a change under generator/ (a comment in the rules), merged the same way.
  await g("checkout", "-q", "-b", "pr-tool", "main");
  await g("reset", "-q", "--hard", "HEAD~1");
  const rules = path.join(seed, "generator", "src", "validate", "rules.ts");
  await writeFile(rules, `${await readFile(rules, "utf8")}// reviewed\n`);
  await g("commit", "-qam", "rules: a comment");
  await g("checkout", "-q", "--detach", "pr-tool~1");
  await g("merge", "-q", "--no-ff", "-m", "Merge pull request #2", "pr-tool");
  await g("push", "-q", origin, "HEAD:refs/pull/2/merge", "pr-tool");
  await rm(seed, { recursive: true, force: true });
  // The cache of .tools/ (as the setup action saves it on a miss).
  await mkdir(store, { recursive: true });
  await execa("tar", [
    "--zstd",
    "-C",
    path.dirname(path.join(TOOL_ROOT, ".tools", "bin")),
    "-cf",
    path.join(store, "tools.tar.zst"),
    "--dereference",
    ".",
  ]);
  return { changed };
}

/** One job of the workflow; returns its steps. */
async function job(kind: "main" | "pr-warm" | "pr-cold" | "pr-tool-warm"): Promise<Step[]> {
  const steps: Step[] = [];
  await rm(path.dirname(ws), { recursive: true, force: true });
  await rm(validateCache, { recursive: true, force: true });
  await mkdir(path.dirname(ws), { recursive: true });
  const pr = kind !== "main";
  await timed(steps, "checkout (full history)", async () => {
    await sh(W, "git", ["clone", "-q", "--no-local", origin, ws]);
    if (pr) {
      await sh(ws, "git", [
        "fetch",
        "-q",
        "origin",
        kind === "pr-tool-warm" ? "refs/pull/2/merge" : "refs/pull/1/merge",
      ]);
      await sh(ws, "git", ["checkout", "-q", "--detach", "FETCH_HEAD"]);
    }
  });
  await timed(steps, "restore .tools/ (tar+zstd)", async () => {
    await mkdir(path.join(ws, ".tools"), { recursive: true });
    await sh(ws, "tar", ["--zstd", "-C", path.join(ws, ".tools"), "-xf", path.join(store, "tools.tar.zst")]);
  });
  await timed(steps, "npm run setup (npm ci; tools at their pin skipped)", async () => {
    const r = await sh(ws, "npm", ["run", "setup"]);
    const built = r.all.split("\n").filter((l) => /go install|go build/.test(l));
    return built.length ? `built: ${built.join("; ")}` : undefined;
  });
  let base = "";
  let diffBase = "";
  await timed(steps, "ci:scope", async () => {
    const args = pr ? ["--base", (await sh(ws, "git", ["merge-base", "origin/main", "HEAD"])).stdout.trim()] : [];
    const r = await sh(ws, "npm", ["run", "-s", "ci:scope", "--", ...args]);
    // The workflow validates --changed-since the base only when the tool did not change.
    base = /tool=false/.test(r.stdout) ? (/base=(\S*)/.exec(r.stdout)?.[1] ?? "") : "";
    diffBase = /base=(\S*)/.exec(r.stdout)?.[1] ?? "";
    return r.stdout
      .replace(/\n/g, " ")
      .replace(/base=\S+/, "base=<merge base>")
      .trim();
  });
  const full = base === "";
  if (kind === "pr-warm" || kind === "pr-tool-warm")
    await timed(steps, "restore the validate cache (tar+zstd)", async () => {
      await mkdir(validateCache, { recursive: true });
      await sh(ws, "tar", ["--zstd", "-C", validateCache, "-xf", path.join(store, "validate.tar.zst")]);
    });
  let findings = "";
  await timed(steps, full ? "validate (every cluster)" : "validate --changed-since <merge base>", async () => {
    const r = await sh(
      ws,
      "npm",
      ["run", "-s", "validate", "--", "--format", "github", ...(full ? [] : ["--changed-since", base])],
      { reject: false },
    );
    findings = r.stdout;
    if (r.exitCode === 2) throw new Error(`validate failed:\n${r.all}`);
    return summaryOf(r.stdout);
  });
  if (pr)
    await timed(steps, "PR summary (diff --format markdown + findings)", async () => {
      const r = await sh(ws, "npm", ["run", "-s", "diff", "--", "--base", diffBase, "--format", "markdown"], {
        reject: false,
      });
      if (r.exitCode === 2) throw new Error(`diff failed:\n${r.all}`);
      await writeFile(path.join(W, "summary.md"), `${r.stdout}\n\n### Findings\n\n\`\`\`\n${findings}\n\`\`\`\n`);
      return `${r.stdout.split("\n").length} lines`;
    });
  await timed(steps, "drift check (generate + git status)", async () => {
    await sh(ws, "npm", ["run", "-s", "generate"]);
    const st = (await sh(ws, "git", ["status", "--porcelain"])).stdout;
    if (st.trim()) throw new Error(`drift:\n${st}`);
  });
  if (kind === "main")
    await timed(steps, "save the validate cache (tar+zstd)", async () => {
      await sh(W, "tar", ["--zstd", "-C", validateCache, "-cf", path.join(store, "validate.tar.zst"), "."]);
      const { stdout } = await sh(W, "du", ["-h", path.join(store, "validate.tar.zst")]);
      return stdout.split("\t")[0];
    });
  return steps;
}

async function coldTools(): Promise<Step[]> {
  const steps: Step[] = [];
  await rm(path.join(ws, ".tools"), { recursive: true, force: true });
  const gocache = path.join(W, "gocache");
  await timed(steps, "npm run setup, empty .tools/ and Go build cache (module cache warm)", async () => {
    const r = await sh(ws, "npm", ["run", "setup"], { extraEnv: { GOCACHE: gocache } });
    return r.all.split("\n").filter((l) => /installed|built/.test(l)).length + " tools built";
  });
  return steps;
}

const total = (steps: Step[]) => steps.reduce((s, x) => s + x.ms, 0);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");

try {
  const loadBefore = load();
  const { changed } = await prepare();
  const jobs: [string, Step[]][] = [];
  for (const kind of ["main", "pr-warm", "pr-cold", "pr-tool-warm"] as const) jobs.push([kind, await job(kind)]);
  if (values["cold-tools"]) jobs.push(["tools-cold", await coldTools()]);
  const loadAfter = load();
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const out: string[] = [];
  out.push(
    `Pipeline benchmark (${new Date().toISOString().slice(0, 10)}): ${N} clusters, a pull request changing ` +
      `clusters/${changed}/cluster.yaml (+ its generated files).`,
  );
  out.push(
    `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}; load average ` +
      `(1/5/15 min) before ${loadBefore}, after ${loadAfter}.`,
  );
  out.push("");
  for (const [kind, steps] of jobs) {
    out.push(`| ${kind} | wall | CPU (user+sys) | result |`, "|---|---:|---:|---|");
    for (const x of steps) out.push(`| ${x.step} | ${s(x.ms)} | ${s(x.cpuMs)} | ${x.note ?? ""} |`);
    out.push(`| **total** | **${s(total(steps))}** | **${s(steps.reduce((a, x) => a + x.cpuMs, 0))}** | |`, "");
  }
  const text = out.join("\n");
  process.stdout.write(values.markdown ? `${text}\n` : `${text.replace(/\*\*/g, "")}\n`);
} finally {
  if (values.keep) log(`kept ${W}`);
  else await rm(W, { recursive: true, force: true });
}
