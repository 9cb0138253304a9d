/**
 * `npm run bench [-- --sizes 100,500,1000 --runs 3 --ref-runs 1 --stages 500 --gogc 400 --no-write --keep]`: builds
 * synthetic fleets with the project's own generator in temporary repositories and measures, on the same fleet and
 * the same pinned binaries, side by side:
 *   (a) the reference loop of GitOps repositories' validate scripts: per cluster,
 *       `kustomize build <dir> | kubeconform -strict -schema-location <our schemas> -`;
 *   (b) `npm run validate` on the whole fleet (every layer: kubeconform, the upstream admission, kubectl-validate for
 *       the management CRDs, our rules) with an empty cache (cold) and with the cache of the previous run (warm,
 *       nothing changed);
 *   (c) `validate --changed-since HEAD` with one cluster changed (empty cache), at each N and on a 1-cluster
 *       repository;
 *   (d) `npm run generate` for the whole fleet (a fresh tree of specs), and again with nothing to change.
 * With --gogc <v>: one more cold (b) run per N with GOGC=<v> in the environment (the Go tools' garbage collector
 * runs less often: less CPU, more memory) — a knob CI can set.
 * Each command runs as `npm run` runs it (tsx generator/src/cli.ts …; npm's own launcher is left out of every
 * figure alike); wall time is the median of --runs runs ((a) at N > 100: --ref-runs, default 1, it is slow), peak
 * memory the largest sampled resident set of the whole process tree. Stage timings of (b) come from one extra
 * in-process run (cold and warm) at each size of --stages (default: every size). Writes the tables into BENCHMARKS.md
 * between the bench markers (the prose around them stays).
 * A benchmark, not a test: nothing here asserts a time.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { schemaLocation } from "../src/schemas/layout.js";
import { resolveTool } from "../src/tools/resolve.js";
import { TOOL_ROOT } from "../src/pins/versions.js";
import { toYaml } from "../src/core/yaml.js";
import { clearCache } from "../src/render/cache.js";
import { validateCommand } from "../src/commands/validate.js";
import { clusterName, writeFleetSpecs } from "./fleet.js";
import { measure, median, type Measured } from "./measure.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,500,1000" },
    runs: { type: "string", default: "3" },
    "ref-runs": { type: "string", default: "1" },
    stages: { type: "string" },
    gogc: { type: "string" },
    "no-write": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const RUNS = Number(values.runs);
const REF_RUNS = Number(values["ref-runs"]);
/** The sizes at which the in-process stage timings are taken (each is one more cold and warm run); default all. */
const STAGE_SIZES = values.stages ? values.stages.split(",").map(Number) : SIZES;
if (SIZES.some((n) => !Number.isInteger(n) || n < 1) || !(RUNS >= 1) || !(REF_RUNS >= 1))
  throw new Error("--sizes n,n,… and --runs/--ref-runs ≥ 1");

const TSX = path.join(TOOL_ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(TOOL_ROOT, "generator", "src", "cli.ts");
const log = (s: string) => void process.stderr.write(`${s}\n`);

const work = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-bench-"));
// The bench's own cache folder: the user's cache is never touched, and a cold run empties it first.
const env = { ...process.env, CAPI_GITOPS_CACHE_DIR: path.join(work, "cache") };
process.env.CAPI_GITOPS_CACHE_DIR = env.CAPI_GITOPS_CACHE_DIR;

const cli = (repo: string, ...args: string[]) => measure(TSX, [CLI, ...args, "--repo", repo], { cwd: TOOL_ROOT, env });
const git = (repo: string, ...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "pipe" });

interface Row {
  item: string;
  n: number;
  runs: Measured[];
}
const rows: Row[] = [];
const stages: { n: number; label: string; timings: Record<string, number>; wallMs: number }[] = [];

async function series(
  item: string,
  n: number,
  count: number,
  run: () => Promise<Measured>,
  before?: () => Promise<void> | void,
): Promise<Row> {
  const row: Row = { item, n, runs: [] };
  for (let i = 0; i < count; i++) {
    await before?.();
    const m = await run();
    if (m.exitCode !== 0)
      throw new Error(`${item} at N=${n} exited ${m.exitCode}:\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-2000)}`);
    row.runs.push(m);
    log(
      `  ${item.padEnd(34)} N=${String(n).padStart(5)}  ${(m.wallMs / 1000).toFixed(2)} s  ` +
        `${m.peakRssMiB.toFixed(0)} MiB`,
    );
  }
  rows.push(row);
  return row;
}

/** The fleet at `repo` committed to a new repository: the base (c) compares against. */
function commitFleet(repo: string): void {
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "fleet");
}

/** (c): one cluster changed since HEAD (changeOneCluster), validated with --changed-since from a cold cache. */
async function changedSince(repo: string, n: number): Promise<void> {
  await changeOneCluster(repo);
  await series(
    "(c) changed-since, 1 changed",
    n,
    RUNS,
    () => cli(repo, "validate", "--changed-since", "HEAD"),
    () => clearCache(repo),
  );
}

/** A cluster's own layer with one patch: the one-cluster change of (c). */
async function changeOneCluster(repo: string): Promise<void> {
  const k = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["generated"],
    patches: [
      {
        target: { kind: "Cluster" },
        patch: toYaml([{ op: "add", path: "/metadata/labels/bench-change", value: "one" }]),
      },
    ],
  };
  await writeFile(path.join(repo, "clusters", clusterName(0), "kustomization.yaml"), toYaml(k));
}

async function fleet(n: number): Promise<string> {
  const dir = await mkdtemp(path.join(work, `fleet-${n}-`));
  await writeFleetSpecs(dir, n);
  return dir;
}

/**
 * The reference: the loop of the validate scripts GitOps repositories ship (e.g. the Flux example repositories'
 * scripts/validate.sh), one shell running, per cluster, `kustomize build | kubeconform`. This is the one place
 * outside generator/src/tools that starts kustomize and kubeconform itself: it reproduces the external practice.
 */
function referenceLoop(repo: string): Promise<Measured> {
  const script =
    'rc=0; for d in clusters/*/; do "$KUSTOMIZE" build "$d" | "$KUBECONFORM" -strict -schema-location ' +
    '"$SCHEMAS" - || rc=1; done; exit $rc';
  return measure("bash", ["-c", script], {
    cwd: repo,
    env: {
      ...env,
      KUSTOMIZE: resolveTool("kustomize"),
      KUBECONFORM: resolveTool("kubeconform"),
      SCHEMAS: schemaLocation(TOOL_ROOT),
    },
  });
}

const loadAvg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const loadBefore = loadAvg();
const started = Date.now();
try {
  // (c) baseline: a repository of one cluster, the same change.
  log("1-cluster repository");
  {
    const repo = await fleet(1);
    const g = await cli(repo, "generate");
    if (g.exitCode !== 0) throw new Error(`generate failed:\n${g.stderr}`);
    commitFleet(repo);
    await changedSince(repo, 1);
  }

  for (const n of SIZES) {
    log(`N=${n}`);
    // (d) generate on a fresh tree of specs, each run its own copy; the last one is the fleet for (a)–(c).
    let repo = "";
    await series(
      "(d) generate, fresh tree",
      n,
      RUNS,
      () => cli(repo, "generate"),
      async () => {
        if (repo) await rm(repo, { recursive: true, force: true });
        repo = await fleet(n);
      },
    );
    await series("(d) generate, nothing changed", n, RUNS, () => cli(repo, "generate"));
    commitFleet(repo);

    await series("(a) kustomize | kubeconform loop", n, n <= 100 ? Math.max(RUNS, REF_RUNS) : REF_RUNS, () =>
      referenceLoop(repo),
    );

    await series(
      "(b) validate, cold",
      n,
      RUNS,
      () => cli(repo, "validate"),
      () => clearCache(repo),
    );
    await series("(b) validate, warm", n, RUNS, () => cli(repo, "validate"));
    if (values.gogc) {
      const gogc = { ...env, GOGC: values.gogc };
      await series(
        `(b) validate, cold, GOGC=${values.gogc}`,
        n,
        1,
        () => measure(TSX, [CLI, "validate", "--repo", repo], { cwd: TOOL_ROOT, env: gogc }),
        () => clearCache(repo),
      );
    }

    // Where the time goes: one in-process run each, cold and warm (stage timings; no tsx start-up).
    for (const warm of STAGE_SIZES.includes(n) ? [false, true] : []) {
      if (!warm) clearCache(repo);
      const t = performance.now();
      const r = await validateCommand({ cwd: repo });
      stages.push({ n, label: warm ? "warm" : "cold", timings: r.timings ?? {}, wallMs: performance.now() - t });
    }

    await changedSince(repo, n);
    if (!values.keep) await rm(repo, { recursive: true, force: true });
    else log(`  kept ${repo}`);
  }
} finally {
  if (!values.keep) await rm(work, { recursive: true, force: true });
}
const loadAfter = loadAvg();

// ---- report ----
const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim();
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
const memLine =
  sh("free", ["-h"])
    .split("\n")
    .find((l) => l.startsWith("Mem:"))
    ?.split(/\s+/)[1] ?? `${(os.totalmem() / 2 ** 30).toFixed(1)}Gi`;
const machine = [
  `- CPU: ${cpuModel}, ${sh("nproc", [])} cores (nproc); memory ${memLine} (free -h); ${os.type()} ${os.release()}`,
  `- Node ${process.version}; ${stamp("kustomize")}; ${stamp("kubeconform")}; ` +
    `${stamp("kubectl-validate")}; capi-gitops-admission (admission/, CAPI v1.13.4, CAPA v2.13.0)`,
  `- load average before/after: ${loadBefore} / ${loadAfter} (a shared machine: other work ran at the same time)`,
  `- runs: median of ${RUNS} (the (a) loop: ${Math.max(RUNS, REF_RUNS)} at N ≤ 100, ${REF_RUNS} above); ` +
    `total bench time ${((Date.now() - started) / 60000).toFixed(1)} min`,
];

const ref = new Map(
  rows.filter((r) => r.item.startsWith("(a)")).map((r) => [r.n, median(r.runs.map((m) => m.wallMs))]),
);
const s = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const table = [
  "| item | N | wall (median) | speed-up vs (a) | CPU (user+sys) | peak memory | per cluster |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) => {
    const wall = median(r.runs.map((m) => m.wallMs));
    const cpu = r.runs.every((m) => m.cpuMs !== undefined) ? median(r.runs.map((m) => m.cpuMs!)) : undefined;
    const peak = Math.max(...r.runs.map((m) => m.peakRssMiB));
    const a = ref.get(r.n);
    const ratio = a && /^\((b|c)\)/.test(r.item) ? `${(a / wall).toFixed(1)}×` : "";
    return (
      `| ${r.item.replace(/\|/g, "\\|")} | ${r.n} | ${s(wall)} s | ${ratio} | ` +
      `${cpu === undefined ? "" : `${s(cpu)} s`} | ${peak.toFixed(0)} MiB | ` +
      `${((wall / r.n) | 0).toString()} ms |`
    );
  }),
];
const wallOf = (item: string, n: number) => {
  const r = rows.find((x) => x.item === item && x.n === n);
  return r ? median(r.runs.map((m) => m.wallMs)) : undefined;
};
const peakOf = (prefix: string, n: number, gogc: boolean) =>
  Math.max(
    0,
    ...rows
      .filter((x) => x.item.startsWith(prefix) && x.n === n && x.item.includes("GOGC") === gogc)
      .flatMap((x) => x.runs.map((m) => m.peakRssMiB)),
  );
const nMid = SIZES.includes(500) ? 500 : SIZES[Math.floor(SIZES.length / 2)]!;
const nMax = Math.max(...SIZES);
const speedup = (item: string, n: number) => {
  const a = ref.get(n);
  const w = wallOf(item, n);
  return a && w ? `${(a / w).toFixed(1)}×` : "?";
};
const c1 = wallOf("(c) changed-since, 1 changed", 1);
const cMax = wallOf("(c) changed-since, 1 changed", nMax);
const perCluster = (item: string) =>
  SIZES.map((n) => `${((wallOf(item, n) ?? 0) / n).toFixed(1)} ms (N=${n})`).join(", ");
const targets = [
  `- (b) at N=${nMid} vs (a): cold ${speedup("(b) validate, cold", nMid)} (target ≥ 2×), warm ` +
    `${speedup("(b) validate, warm", nMid)} (target ≥ 15×).`,
  `- (c) at N=${nMax} / (c) on a 1-cluster repository: ${c1 && cMax ? (cMax / c1).toFixed(2) : "?"}× ` +
    `(${s(cMax ?? 0)} s / ${s(c1 ?? 0)} s; target ≤ 2×).`,
  `- peak memory of (b) at N=${nMax}: ${peakOf("(b) validate", nMax, false).toFixed(0)} MiB, the largest ` +
    `of its runs (target < 1024 MiB)` +
    `${values.gogc ? `; with GOGC=${values.gogc} ${peakOf("(b) validate", nMax, true).toFixed(0)} MiB` : ""}.`,
  `- (d) wall per cluster: fresh tree ${perCluster("(d) generate, fresh tree")}; nothing changed ` +
    `${perCluster("(d) generate, nothing changed")}.`,
];
const stageNames = [...new Set(stages.flatMap((x) => Object.keys(x.timings)))];
const stageTable = [
  `| N | cache | in-process total | ${stageNames.join(" | ")} |`,
  `|---:|---|---:|${stageNames.map(() => "---:").join("|")}|`,
  ...stages.map(
    (x) =>
      `| ${x.n} | ${x.label} | ${s(x.wallMs)} s | ${stageNames.map((k) => `${s(x.timings[k] ?? 0)} s`).join(" | ")} |`,
  ),
];
const generated = [
  "<!-- bench:start (written by `npm run bench`; edit the text outside the markers) -->",
  `Measured ${new Date().toISOString().slice(0, 10)}:`,
  "",
  ...machine,
  "",
  ...table,
  "",
  "Against the targets:",
  "",
  ...targets,
  "",
  "Stages of (b) (one in-process run each, so no CLI start-up; kustomize starts before `load` and runs during",
  "`load` and `drift`, `render` is what is left of it; `schemas` = kubeconform, and kubectl-validate for the",
  "management folders; `admission` = what is left of capi-gitops-admission (over every cluster object; it starts",
  "beside kubeconform); `origins` = our rules, and",
  "re-rendering the clusters with findings with origin annotations; `rules` = fleet, management and sync rules):",
  "",
  ...stageTable,
  "<!-- bench:end -->",
].join("\n");

process.stdout.write(`${generated}\n`);
if (!values["no-write"]) {
  const file = path.join(TOOL_ROOT, "BENCHMARKS.md");
  const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const re = /<!-- bench:start[\s\S]*?<!-- bench:end -->/;
  writeFileSync(file, re.test(old) ? old.replace(re, () => generated) : `${old.trimEnd()}\n\n${generated}\n`);
  log(`wrote ${path.relative(process.cwd(), file) || file}`);
}
