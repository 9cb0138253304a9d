/**
 * `npm run bench [-- --sizes 300,1000 --runs 3 --profile --no-write --keep]`: measures `validate` against the loop
 * GitOps repositories ship, on fleets of the shape users have (bench/fleet.ts: specs written, `generate` run once,
 * committed), each command as `npm run` runs it (node generator/bin/capi-gitops.js …), the compared commands
 * alternated run by run, medians of --runs (wall, CPU of the process tree, sampled peak memory: bench/measure.ts).
 * Per size N:
 *   (a) the loop, per cluster `kustomize build <dir> | kubeconform -strict -schema-location <our schemas> -`,
 *       alternated with (b) `validate` cold (empty cache), (b') warm (nothing changed) and (e) `kustomize build`
 *       alone, one process per cluster (the floor of a per-process render);
 *   (c) `validate --changed-since HEAD` with one cluster's own kustomization changed and an empty cache,
 *       alternated with the same on a 1-cluster repository; (c') both again with the cache of the previous full
 *       run (what CI restores).
 * --profile: per size, one more in-process cold and warm run under the CPU profiler: the stage timers and the top
 * self-time functions and files, written beside the table.
 * The load average is sampled before every measured run and at the end, after waiting (up to 90 s) for the bench's
 * own finished runs to decay out of the 1-minute average; each sample also records the CPU other processes used since
 * the previous one (/proc/stat minus the bench's tree). The table goes into BENCHMARKS.md between the bench markers
 * (the profile between its own) only when the settled 1-minute load average never exceeded the cores
 * (os.availableParallelism()); otherwise the bench says why and exits 1. --no-write prints only, whatever the load.
 * CAPI_GITOPS_BENCH_LOADAVG (bench/measure.ts) fakes the load average, to test that refusal.
 * A benchmark, not a test: nothing asserts a time.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { schemaLocation } from "../src/schemas/layout.js";
import { resolveTool } from "../src/tools/resolve.js";
import { TOOL_ROOT } from "../src/pins/versions.js";
import { validateCommand } from "../src/commands/validate.js";
import { clearCache, repoCacheDir, sharedResultsDir } from "../src/render/cache.js";
import { changeOneCluster, commitFleet, writeFleetSpecs } from "./fleet.js";
import {
  alternate,
  loadSampler,
  measure,
  otherCpuMeter,
  settledLoad,
  type Contender,
  type LoadSample,
  type Measured,
} from "./measure.js";
import { profiled, summarise } from "./profile.js";
import {
  loadLine,
  replaceBlock,
  resultsTable,
  whereTheTimeGoes,
  type RowKey,
  type SizeResult,
  type StageRun,
} from "./report.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "300,1000" },
    runs: { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const RUNS = Number(values.runs);
if (SIZES.some((n) => !Number.isInteger(n) || n < 2) || !Number.isInteger(RUNS) || RUNS < 1 || RUNS > 9) {
  process.stderr.write("usage: npm run bench -- [--sizes n,n,… (each ≥ 2)] [--runs 1–9] [--profile] [--no-write]\n");
  process.exit(2);
}
const WRITE = !values["no-write"];
const CORES = os.availableParallelism();

/** What `npm run <command>` runs: node and the bundled CLI (generator/bin/capi-gitops.js). */
const BIN = path.join(TOOL_ROOT, "generator", "bin", "capi-gitops.js");
const log = (line: string) => void process.stderr.write(`${line}\n`);

const loads: LoadSample[] = [];
const loadAverage = loadSampler();
const otherCpu = otherCpuMeter();
/** How long a sample waits for the bench's own finished runs to leave the 1-minute average (measure.ts settledLoad). */
const SETTLE = { limitMs: loadAverage.fake ? 0 : 90_000, pollMs: 2_000 };
const sampleLoad = async (label: string) => {
  const { avg, waitedMs } = await settledLoad(loadAverage.sample, CORES, SETTLE);
  loads.push({ label, avg, waitedMs, otherCores: otherCpu() });
};

await sampleLoad("the start");
const firstLoad = loads[0]?.avg[0] ?? 0;
if (WRITE && firstLoad > CORES) {
  log(
    `refusing to start: the 1-minute load average is ${firstLoad.toFixed(2)}, above the ${CORES} cores — the ` +
      "figures would measure the other work. Run on a quiet machine, or pass --no-write to measure anyway.",
  );
  process.exit(1);
}

const work = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-bench-"));

// One cache folder for the bench (the user's is never touched): the binaries' digests, shared by every repository,
// stay in it; "empty cache" removes one repository's folder and the programs' results every repository shares
// (render/cache.ts clearCache), "the previous full run's cache" puts a copy of both back.
const env: NodeJS.ProcessEnv = { ...process.env, CAPI_GITOPS_CACHE_DIR: path.join(work, "cache") };
process.env.CAPI_GITOPS_CACHE_DIR = env.CAPI_GITOPS_CACHE_DIR;

interface Repo {
  dir: string;
  /** A copy of the repository's cache folder after a full run of the committed fleet. */
  fullCache: string;
}

const emptyCache = (r: Repo) => clearCache(r.dir, env);

async function keepFullCache(r: Repo): Promise<void> {
  await cp(repoCacheDir(r.dir, env), path.join(r.fullCache, "repo"), { recursive: true });
  await cp(sharedResultsDir(env), path.join(r.fullCache, "results"), { recursive: true });
}

async function restoreFullCache(r: Repo): Promise<void> {
  clearCache(r.dir, env);
  await cp(path.join(r.fullCache, "repo"), repoCacheDir(r.dir, env), { recursive: true });
  await cp(path.join(r.fullCache, "results"), sharedResultsDir(env), { recursive: true });
}

const cli = (r: Repo, ...args: string[]) =>
  measure(process.execPath, [BIN, ...args, "--repo", r.dir], { cwd: TOOL_ROOT, env });

const mustPass = (what: string, m: Measured): Measured => {
  if (m.exitCode !== 0) throw new Error(`${what} exited ${m.exitCode}:\n${m.stdout.slice(-2000)}\n${m.stderr}`);
  return m;
};

/** A fleet of n clusters: specs, one `generate`, one commit; its cache folders beside it. */
async function fleet(n: number): Promise<{ repo: Repo; generateMs: number }> {
  const dir = path.join(work, `fleet-${n}`);
  const repo: Repo = { dir, fullCache: path.join(work, `cache-${n}-full`) };
  await writeFleetSpecs(dir, n);
  const g = mustPass(`generate (N=${n})`, await cli(repo, "generate"));
  commitFleet(dir);
  return { repo, generateMs: g.wallMs };
}

/**
 * A per-cluster shell loop over clusters/*: the validate scripts GitOps repositories ship (e.g. the Flux example
 * repositories' scripts/validate.sh) when `check` is set, and kustomize alone otherwise. The one place outside
 * generator/src/tools that starts kustomize and kubeconform itself: it reproduces the external practice.
 */
function loop(r: Repo, check: boolean): Promise<Measured> {
  const step = check
    ? '"$KUSTOMIZE" build "$d" | "$KUBECONFORM" -strict -schema-location "$SCHEMAS" - || rc=1'
    : '"$KUSTOMIZE" build "$d" > /dev/null || rc=1';
  return measure("bash", ["-c", `rc=0; for d in clusters/*/; do ${step}; done; exit $rc`], {
    cwd: r.dir,
    env: {
      ...env,
      KUSTOMIZE: resolveTool("kustomize"),
      KUBECONFORM: resolveTool("kubeconform"),
      SCHEMAS: schemaLocation(TOOL_ROOT),
    },
  });
}

/** One in-process validate under the profiler. */
async function profiledRun(r: Repo): Promise<StageRun> {
  const t = performance.now();
  const { value, profile } = await profiled(() => validateCommand({ cwd: r.dir }));
  return { wallMs: performance.now() - t, timings: value.timings ?? {}, profile: summarise(profile, TOOL_ROOT) };
}

const results: SizeResult[] = [];
const started = Date.now();
try {
  // The 1-cluster repository (c) and (c') compare against: committed, its full-run cache kept, then changed.
  log("1-cluster repository");
  const single = await fleet(1).then((f) => f.repo);
  mustPass("validate (1 cluster)", await cli(single, "validate"));
  await keepFullCache(single);
  await changeOneCluster(single.dir);

  for (const n of SIZES) {
    const t0 = Date.now();
    log(`N=${n}: writing the fleet and running generate`);
    const { repo, generateMs } = await fleet(n);
    const runs = new Map<RowKey, Measured[]>();
    const measureAll = async (contenders: Contender<RowKey>[]) => {
      for (const [k, v] of await alternate(contenders, RUNS, (l) => sampleLoad(`${l} N=${n}`), log)) runs.set(k, v);
    };

    // (a), (b), (b'), (e) on the committed fleet; the last warm run leaves the full run's cache for (c').
    await measureAll([
      { name: "loop", run: () => loop(repo, true) },
      { name: "cold", run: () => cli(repo, "validate"), before: () => emptyCache(repo) },
      { name: "warm", run: () => cli(repo, "validate") },
      { name: "floor", run: () => loop(repo, false) },
    ]);
    await keepFullCache(repo);

    let profile: SizeResult["profile"];
    if (values.profile) {
      log(`  profiling an in-process cold and warm run`);
      await sampleLoad(`the profile N=${n}`);
      emptyCache(repo);
      const cold = await profiledRun(repo);
      const warm = await profiledRun(repo);
      profile = { cold, warm };
    }

    await changeOneCluster(repo.dir);
    const changedSince = (r: Repo) => cli(r, "validate", "--changed-since", "HEAD");
    await measureAll([
      { name: "changed", run: () => changedSince(repo), before: () => emptyCache(repo) },
      { name: "changed1", run: () => changedSince(single), before: () => emptyCache(single) },
    ]);
    await measureAll([
      { name: "cached", run: () => changedSince(repo), before: () => restoreFullCache(repo) },
      { name: "cached1", run: () => changedSince(single), before: () => restoreFullCache(single) },
    ]);
    results.push({ n, runs, generateMs, profile });
    log(`N=${n} took ${((Date.now() - t0) / 60000).toFixed(1)} min`);
    if (values.keep) log(`  kept ${repo.dir}`);
    else await rm(repo.dir, { recursive: true, force: true });
  }
} finally {
  if (!values.keep) await rm(work, { recursive: true, force: true });
}
await sampleLoad("the end");

// ---- report ----
const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "?";
  }
};
const cpuModel =
  /model name\s*:\s*(.*)/.exec(existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "")?.[1] ??
  os.cpus()[0]?.model ??
  "?";
const stamp = (tool: string) => {
  try {
    return readFileSync(`${resolveTool(tool)}.version`, "utf8").trim();
  } catch {
    return sh(resolveTool(tool), tool === "kubeconform" ? ["-v"] : ["version"]);
  }
};
const commit = sh("git", ["-C", TOOL_ROOT, "rev-parse", "--short", "HEAD"]);
const dirty = sh("git", ["-C", TOOL_ROOT, "status", "--porcelain", "--untracked-files=no"])
  ? " with local changes"
  : "";
const quiet = loads.every((l) => l.avg[0] <= CORES);
const date = new Date().toISOString().slice(0, 10);
const header = [
  `Measured ${date} at ${commit}${dirty}:`,
  "",
  `- CPU: ${cpuModel}, ${CORES} cores (os.availableParallelism); memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
    `${os.type()} ${os.release()}`,
  `- Node ${process.version}; ${stamp("kustomize")}; ${stamp("kubeconform")}; ${stamp("kubectl-validate")}`,
  loadLine(loads, CORES),
  `- runs: median of ${RUNS}, the compared commands alternated run by run; fleets of ${SIZES.join(" and ")} ` +
    `clusters (bench/fleet.ts), \`generate\` once: ` +
    results.map((r) => `${(r.generateMs / 1000).toFixed(1)} s at N=${r.n}`).join(", ") +
    `; total bench time ${((Date.now() - started) / 60000).toFixed(1)} min`,
];
const table = [
  "<!-- bench:start (written by `npm run bench`; edit the text outside the markers) -->",
  ...header,
  "",
  ...resultsTable(results),
  "<!-- bench:end -->",
].join("\n");
const where = whereTheTimeGoes(results);
const profileBlock = where.length
  ? [
      "<!-- bench-profile:start (written by `npm run bench -- --profile`) -->",
      `Where the time goes, measured ${date} at ${commit}${dirty} (the run of the table above):`,
      "",
      ...where,
      "<!-- bench-profile:end -->",
    ].join("\n")
  : undefined;

process.stdout.write(`${table}\n${profileBlock ? `\n${profileBlock}\n` : ""}`);
if (!WRITE) {
  if (!quiet) log(`(not quiet: the 1-minute load average exceeded ${CORES} cores; these figures would be refused)`);
} else if (!quiet) {
  const worst = loads.filter((l) => l.avg[0] > CORES).map((l) => `${l.avg[0].toFixed(2)} before ${l.label}`);
  log(
    `not writing BENCHMARKS.md: the 1-minute load average exceeded the ${CORES} cores at ${worst.length} of ` +
      `${loads.length} samples (${worst.slice(0, 5).join("; ")}${worst.length > 5 ? "; …" : ""}) — other work ` +
      "ran beside the bench, so its figures are not the machine's. Run again on a quiet machine.",
  );
  process.exitCode = 1;
} else {
  const file = path.join(TOOL_ROOT, "BENCHMARKS.md");
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  text = replaceBlock(text, "bench", table);
  if (profileBlock) text = replaceBlock(text, "bench-profile", profileBlock, "bench");
  writeFileSync(file, text);
  log(`wrote ${file}`);
}
