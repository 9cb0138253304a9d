/**
 * Measuring one command: wall time, CPU time of the whole process tree (GNU time, when installed) and peak memory
 * as the largest sum of the resident set sizes of the process and all its descendants, sampled every 50 ms from
 * /proc (Linux; a short-lived spike between two samples can be missed).
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

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
