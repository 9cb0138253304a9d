/**
 * Measuring: one command's wall time, CPU time of the whole process tree (GNU time's user + system, which counts
 * every descendant the command waited for) and peak memory as the largest sum of the resident set sizes of the
 * process and all its descendants, sampled every 50 ms from /proc (Linux; a short-lived spike between two samples
 * can be missed); several commands alternated run by run (`alternate`), so a drift in the machine's speed reaches
 * each alike; and the load average, sampled between the measurements.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface Measured {
  wallMs: number;
  /** user + system CPU of the tree (undefined without /usr/bin/time). */
  cpuMs?: number;
  peakRssMiB: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const PAGE = 4096;
const TIME = "/usr/bin/time";

/** Resident bytes of `root` and its descendants (pids are handed out in increasing order: only newer ones are read). */
function treeRss(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid < root) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(pid, Number(fields[1]));
      rss.set(pid, Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    let p: number | undefined = pid;
    while (p !== undefined && p !== root && p > root) p = parent.get(p);
    if (p === root) total += bytes;
  }
  return total;
}

export async function measure(
  file: string,
  args: readonly string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Measured> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-measure-"));
  const timeFile = path.join(tmp, "time");
  const useTime = existsSync(TIME);
  try {
    const started = performance.now();
    const child = spawn(useTime ? TIME : file, useTime ? ["-f", "%U %S", "-o", timeFile, file, ...args] : [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
    let peak = 0;
    const sample = () => {
      if (child.pid !== undefined) peak = Math.max(peak, treeRss(child.pid));
    };
    const timer = setInterval(sample, 50);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? -1));
    });
    clearInterval(timer);
    const wallMs = performance.now() - started;
    let cpuMs: number | undefined;
    if (useTime) {
      const m = /([\d.]+)\s+([\d.]+)\s*$/.exec(await readFile(timeFile, "utf8").catch(() => ""));
      if (m) cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
    }
    return { wallMs, cpuMs, peakRssMiB: peak / 2 ** 20, exitCode, stdout, stderr };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** One command of an alternation: `before` prepares each run (e.g. empties a cache) and is not measured. */
export interface Contender<K extends string> {
  name: K;
  run: () => Promise<Measured>;
  before?: () => Promise<void> | void;
}

/**
 * Runs the contenders in turn, `runs` rounds (a1 b1 a2 b2 …), awaiting `between` before every measurement (the
 * load sample). A failing command stops the bench: a figure of a failed run measures something else.
 */
export async function alternate<K extends string>(
  contenders: readonly Contender<K>[],
  runs: number,
  between: (label: string) => Promise<void>,
  log: (line: string) => void,
): Promise<Map<K, Measured[]>> {
  const out = new Map<K, Measured[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < runs; r++)
    for (const c of contenders) {
      await c.before?.();
      await between(c.name);
      const m = await c.run();
      if (m.exitCode !== 0)
        throw new Error(`${c.name} exited ${m.exitCode}:\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-2000)}`);
      out.get(c.name)?.push(m);
      const cpu = m.cpuMs === undefined ? "" : `, CPU ${(m.cpuMs / 1000).toFixed(2)} s`;
      log(`  ${c.name.padEnd(40)} ${(m.wallMs / 1000).toFixed(2)} s${cpu}, ${m.peakRssMiB.toFixed(0)} MiB`);
    }
  return out;
}

type Load = [number, number, number];

/**
 * A load-average sample: the 1-, 5- and 15-minute averages, what the bench was about to do, how long it waited for
 * its own earlier runs to leave the 1-minute average (`settle`), and the CPU other processes used since the previous
 * sample, in cores (`otherCores`: the machine's busy time in /proc/stat minus the bench's own and its children's).
 */
export interface LoadSample {
  label: string;
  avg: Load;
  waitedMs?: number;
  otherCores?: number;
}

/**
 * The environment variable that replaces the machine's load average, read by the bench only: the documented way to
 * test its refusal without loading the machine. One sample is `"1min,5min,15min"` or one number for all three;
 * samples separated by `;` are used in turn, the last one repeating (e.g. `"0.5;0.5;9"`: quiet at the start, loaded
 * from the third sample on). With fake samples the bench does not wait for the load to settle.
 */
export const FAKE_LOAD_ENV = "CAPI_GITOPS_BENCH_LOADAVG";

function parseFakeLoad(text: string): Load[] {
  return text.split(";").map((sample) => {
    const xs = sample.split(",").map((v) => Number(v.trim()));
    if (xs.length > 3 || xs.some((v) => !Number.isFinite(v) || v < 0))
      throw new Error(`${FAKE_LOAD_ENV}: samples of one to three non-negative numbers, e.g. "5.1" or "0.5;5.1,3,2"`);
    const [a = 0, b = a, c = a] = xs;
    return [a, b, c];
  });
}

/** The load-average sampler: the machine's, or the fake samples of FAKE_LOAD_ENV in turn. */
export function loadSampler(env: NodeJS.ProcessEnv = process.env): { sample: () => Load; fake: boolean } {
  const fake = env[FAKE_LOAD_ENV] ? parseFakeLoad(env[FAKE_LOAD_ENV]) : undefined;
  let next = 0;
  return {
    fake: fake !== undefined,
    sample: () => {
      if (fake) {
        const sample = fake[Math.min(next++, fake.length - 1)];
        if (sample) return sample;
      }
      const [a = 0, b = 0, c = 0] = os.loadavg();
      return [a, b, c];
    },
  };
}

/**
 * The 1-minute load average once the bench's own finished runs have left it: the average decays by e^(-t/60 s), so
 * a run that kept 2.5 tasks busy is below 2 cores after ≈ 14 s, while other work that keeps the cores busy never
 * falls below them. Polls every `pollMs` until the average is ≤ `cores` or `limitMs` passed.
 */
export async function settledLoad(
  sample: () => Load,
  cores: number,
  opts: { limitMs: number; pollMs: number },
): Promise<{ avg: Load; waitedMs: number }> {
  const start = performance.now();
  let avg = sample();
  while (avg[0] > cores && performance.now() - start < opts.limitMs) {
    await new Promise((r) => setTimeout(r, opts.pollMs));
    avg = sample();
  }
  return { avg, waitedMs: performance.now() - start };
}

const TICKS_PER_SECOND = 100; // USER_HZ: the unit of /proc/stat and /proc/<pid>/stat on Linux

/**
 * CPU time used by other processes, in cores, between calls: the machine's busy time (/proc/stat: every field but
 * idle and iowait) minus this process's own and its reaped children's (/proc/self/stat utime, stime, cutime,
 * cstime: every command the bench waited for, with the descendants they waited for). Undefined off Linux.
 */
export function otherCpuMeter(): () => number | undefined {
  const read = () => {
    try {
      const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
      const busy = cpu.reduce((a, v, i) => (i === 3 || i === 4 ? a : a + v), 0);
      const self = readFileSync("/proc/self/stat", "utf8");
      const f = self
        .slice(self.lastIndexOf(")") + 2)
        .split(" ")
        .map(Number);
      // Fields 14–17 of stat(5) are at 11–14 here (counting from the state field, 3, as 0).
      const own = (f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0);
      return { busy, own, at: performance.now() };
    } catch {
      return undefined;
    }
  };
  let last = read();
  return () => {
    const now = read();
    const prev = last;
    last = now;
    if (!now || !prev || now.at <= prev.at) return undefined;
    const other = (now.busy - prev.busy - (now.own - prev.own)) / TICKS_PER_SECOND;
    return Math.max(0, other / ((now.at - prev.at) / 1000));
  };
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
