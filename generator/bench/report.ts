/**
 * The bench's results as Markdown: the table of the rows measured at each size with their ratios and the goals
 * beside them, the machine and its load, and "where the time goes" (stage timers and CPU-profile summaries of the
 * in-process runs). Pure: run.ts gathers the facts and writes the file.
 */
import type { LoadSample, Measured } from "./measure.js";
import { median } from "./measure.js";
import type { ProfileSummary } from "./profile.js";

/** The rows, in table order; the keys name the contenders of run.ts. */
export const ROWS = {
  loop: "(a) `kustomize build | kubeconform -strict` loop, per cluster",
  floor: "(e) `kustomize build` alone, one process per cluster (the floor)",
  cold: "(b) `validate`, cold (empty cache, every layer)",
  warm: "(b') `validate`, warm (nothing changed)",
  changed: "(c) `validate --changed-since HEAD`, one cluster's kustomization changed, empty cache",
  changed1: "(c) the same on the 1-cluster repository",
  cached: "(c') the same with the previous full run's cache",
  cached1: "(c') the same on the 1-cluster repository",
} as const;
export type RowKey = keyof typeof ROWS;
const ROW_KEYS: readonly RowKey[] = ["loop", "floor", "cold", "warm", "changed", "changed1", "cached", "cached1"];

/** One in-process validate run of --profile. */
export interface StageRun {
  wallMs: number;
  timings: Record<string, number>;
  profile: ProfileSummary;
}

export interface SizeResult {
  n: number;
  runs: Map<RowKey, Measured[]>;
  /** The one `generate` that wrote the fleet's tree. */
  generateMs: number;
  profile?: { cold: StageRun; warm: StageRun };
}

const s = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const x = (r: number) => `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
const wallOf = (ms: readonly Measured[]) => median(ms.map((m) => m.wallMs));
const cpuOf = (ms: readonly Measured[]) => {
  const cpu = ms.flatMap((m) => (m.cpuMs === undefined ? [] : [m.cpuMs]));
  return cpu.length === ms.length && cpu.length > 0 ? median(cpu) : undefined;
};
const peakOf = (ms: readonly Measured[]) => Math.max(0, ...ms.map((m) => m.peakRssMiB));

/** A goal beside a figure: its text, and whether the figure meets it (undefined: nothing to judge). */
interface Judged {
  ratio: string;
  goal: string;
  met?: boolean;
}

/** The issue's goals, judged from the medians of one size. */
function judge(key: RowKey, r: SizeResult): Judged {
  const w = (k: RowKey) => {
    const ms = r.runs.get(k);
    return ms?.length ? wallOf(ms) : undefined;
  };
  const c = (k: RowKey) => {
    const ms = r.runs.get(k);
    return ms?.length ? cpuOf(ms) : undefined;
  };
  const loop = w("loop");
  const mine = w(key);
  if (mine === undefined) return { ratio: "", goal: "" };
  switch (key) {
    case "loop":
      return { ratio: "", goal: "the reference" };
    case "floor": {
      const cold = w("cold");
      return {
        ratio: cold ? `cold \`validate\` takes ${x(cold / mine)} this` : "",
        goal: "a batched render goes below it",
      };
    }
    case "cold": {
      if (!loop) return { ratio: "", goal: "≥ 3× the loop" };
      const cl = c("loop");
      const cm = c("cold");
      const cpu = cl && cm ? ` (CPU ${x(cl / cm)})` : "";
      return { ratio: `${x(loop / mine)} the loop${cpu}`, goal: "≥ 3× the loop", met: loop / mine >= 3 };
    }
    case "warm":
      return {
        ratio: loop ? `${x(loop / mine)} the loop` : "",
        goal: "≤ 1.5 s (≥ 20× the loop)",
        met: mine <= 1500 && (loop === undefined || loop / mine >= 20),
      };
    case "changed":
    case "cached": {
      const one = w(key === "changed" ? "changed1" : "cached1");
      const limit = key === "changed" ? 1.5 : 1.1;
      return one
        ? { ratio: `${x(mine / one)} the 1-cluster repository`, goal: `≤ ${limit}×`, met: mine / one <= limit }
        : { ratio: "", goal: `≤ ${limit}×` };
    }
    case "changed1":
    case "cached1":
      return { ratio: "", goal: "" };
  }
}

const verdict = (met: boolean | undefined) => (met === undefined ? "" : met ? "met" : "**not met**");
const MEMORY_GOAL_MIB = 512;

/** The results table: one block of rows per size. */
export function resultsTable(results: readonly SizeResult[]): string[] {
  const lines = [
    "| what | N | wall, median (range) | CPU (user+sys), median | peak memory | ratio | goal | |",
    "|---|---:|---:|---:|---:|---|---|---|",
  ];
  for (const r of results) {
    for (const key of ROW_KEYS) {
      const ms = r.runs.get(key);
      if (!ms?.length) continue;
      const walls = ms.map((m) => m.wallMs);
      const range = ms.length > 1 ? ` (${s(Math.min(...walls))}–${s(Math.max(...walls))})` : "";
      const cpu = cpuOf(ms);
      const j = judge(key, r);
      const n = key === "changed1" || key === "cached1" ? 1 : r.n;
      lines.push(
        `| ${ROWS[key].replace(/\|/g, "\\|")} | ${n} | ${s(wallOf(ms))} s${range} | ` +
          `${cpu === undefined ? "" : `${s(cpu)} s`} | ${peakOf(ms).toFixed(0)} MiB | ${j.ratio} | ${j.goal} | ` +
          `${verdict(j.met)} |`,
      );
    }
    const cold = r.runs.get("cold");
    if (cold?.length) {
      const peak = peakOf(cold);
      lines.push(
        `| peak memory, cold \`validate\` (largest of its runs) | ${r.n} | | | ${peak.toFixed(0)} MiB | | ` +
          `< ${MEMORY_GOAL_MIB} MiB | ${verdict(peak < MEMORY_GOAL_MIB)} |`,
      );
    }
  }
  return lines;
}

/**
 * The load samples in one line: the settled 1-minute averages (whether any exceeded the cores), how long the bench
 * waited for its own runs to leave the average, and the CPU other processes took while it ran.
 */
export function loadLine(samples: readonly LoadSample[], cores: number): string {
  const one = samples.map((l) => l.avg[0]);
  const worst = samples.reduce<LoadSample | undefined>((a, l) => (!a || l.avg[0] > a.avg[0] ? l : a), undefined);
  const fmt = (l: LoadSample | undefined) => (l ? l.avg.map((v) => v.toFixed(2)).join(" ") : "?");
  const quiet = one.every((v) => v <= cores);
  const waited = samples.reduce((a, l) => a + (l.waitedMs ?? 0), 0);
  const others = samples.flatMap((l) => (l.otherCores === undefined ? [] : [l.otherCores]));
  const otherText = others.length
    ? `; other processes used ${(others.reduce((a, v) => a + v, 0) / others.length).toFixed(2)} cores on average ` +
      `between samples (at most ${Math.max(...others).toFixed(2)})`
    : "";
  return (
    `- load average (1/5/15 min) before ${fmt(samples[0])}, after ${fmt(samples.at(-1))}; highest 1-min ` +
    `${worst ? `${worst.avg[0].toFixed(2)} (before ${worst.label})` : "?"} over ${samples.length} samples ` +
    `(before each measured run, once the bench's own earlier runs had decayed out of it: ` +
    `${(waited / 1000).toFixed(0)} s of waiting in all): ` +
    `${quiet ? `quiet (≤ ${cores} cores throughout)` : `**loaded** (> ${cores} cores)`}${otherText}`
  );
}

/** Stage timers and the profile summaries of the in-process runs. */
export function whereTheTimeGoes(results: readonly SizeResult[]): string[] {
  const profiled = results.flatMap((r) => (r.profile ? [{ n: r.n, ...r.profile }] : []));
  if (!profiled.length) return [];
  const stages = [
    ...new Set(profiled.flatMap((p) => [...Object.keys(p.cold.timings), ...Object.keys(p.warm.timings)])),
  ];
  const out = [
    "Stage timers of `validate` (one in-process run each, no CLI start-up; the stages overlap where they run side by",
    "side, so they need not add up to the total):",
    "",
    `| N | cache | in-process total | ${stages.join(" | ")} |`,
    `|---:|---|---:|${stages.map(() => "---:").join("|")}|`,
  ];
  for (const p of profiled)
    for (const [label, run] of [
      ["cold", p.cold],
      ["warm", p.warm],
    ] as const)
      out.push(
        `| ${p.n} | ${label} | ${s(run.wallMs)} s | ${stages.map((k) => `${s(run.timings[k] ?? 0)} s`).join(" | ")} |`,
      );
  for (const p of profiled)
    for (const [label, run] of [
      ["cold", p.cold],
      ["warm", p.warm],
    ] as const) {
      const pct = (ms: number) => `${((100 * ms) / (run.profile.totalMs || 1)).toFixed(1)}%`;
      out.push(
        "",
        `Self time in the Node process, N=${p.n}, ${label} (${s(run.profile.totalMs)} s sampled; \`(idle)\`: waiting ` +
          "on the children or the disk; `(native code)`: built-ins such as spawn, lstat, regular expressions):",
        "",
        "| function | self | share | | file or package | self | share |",
        "|---|---:|---:|---|---|---:|---:|",
      );
      const rows = Math.max(run.profile.functions.length, run.profile.files.length);
      for (let i = 0; i < rows; i++) {
        const f = run.profile.functions[i];
        const g = run.profile.files[i];
        const cell = (h: typeof f) =>
          h ? `${h.name.replace(/\|/g, "\\|")} | ${s(h.selfMs)} s | ${pct(h.selfMs)}` : " | | ";
        out.push(`| ${cell(f)} | | ${cell(g)} |`);
      }
    }
  return out;
}

/** Replaces the block between `<!-- <name>:start … -->` and `<!-- <name>:end -->`, or appends it. */
export function replaceBlock(text: string, name: string, block: string, after?: string): string {
  const re = new RegExp(`<!-- ${name}:start[\\s\\S]*?<!-- ${name}:end -->`);
  if (re.test(text)) return text.replace(re, () => block);
  const anchor = after ? new RegExp(`<!-- ${after}:end -->`) : undefined;
  if (anchor?.test(text)) return text.replace(anchor, (m) => `${m}\n\n${block}`);
  return `${text.trimEnd()}\n\n${block}\n`;
}
