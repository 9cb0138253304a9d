/**
 * Where the time of an in-process run goes: a CPU profile of this Node process taken with the inspector's Profiler
 * (the same sampler as `node --cpu-prof`, without a second process or a profile file), summarised as self time per
 * function and per file. Only this process is sampled: time its children (kustomize, kubeconform, the admission
 * program) spend shows here as `(idle)` — the process waiting on them or on the disk.
 */
import { Session, type Profiler } from "node:inspector/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Hot {
  /** `function (file:line)`, or the file / package, or a V8 pseudo-node such as `(garbage collector)`. */
  name: string;
  selfMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: Hot[];
  files: Hot[];
}

/** Runs `fn` under the sampling profiler; returns its value and the profile. */
export async function profiled<T>(fn: () => Promise<T>): Promise<{ value: T; profile: Profiler.Profile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    const value = await fn();
    const { profile } = await session.post("Profiler.stop");
    return { value, profile };
  } finally {
    // Disconnecting also stops a profiler a failed run left running.
    session.disconnect();
  }
}

/**
 * Where a frame's code lives: `file` for the function's label (relative to `root`, a dependency from its
 * node_modules/ on), `group` for the per-file table (a dependency as its package, Node's internals as one).
 * Native code (no URL) is grouped as one; V8's pseudo-frames (`(idle)`, `(garbage collector)`, …) stand alone.
 */
function locate(url: string, functionName: string, root: string): { file: string; group: string } {
  if (!url) return { file: "", group: functionName.startsWith("(") ? functionName : "(native code)" };
  if (!url.startsWith("file:")) return { file: url, group: url.startsWith("node:internal/") ? "node:internal" : url };
  const rel = path.relative(root, fileURLToPath(url));
  const at = rel.indexOf("node_modules/");
  if (at < 0) return { file: rel, group: rel };
  const file = rel.slice(at);
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? "";
  return { file, group: `node_modules/${pkg}` };
}

const short = (s: string) => (s.length > 90 ? `${s.slice(0, 87)}…` : s);

/**
 * Self time per function and per file, the `top` largest of each. A sample lasts until the next one (as DevTools
 * counts it); the nodes are keyed by function, file and line, so one function reached by several stacks is summed.
 */
export function summarise(profile: Profiler.Profile, root: string, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  for (const [i, id] of samples.entries()) {
    const us = deltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const { file: at, group } = locate(url, functionName, root);
    // Under tsx a TypeScript file's frames carry no useful line (0): the function and file name it.
    const line = lineNumber > 0 ? `:${lineNumber + 1}` : "";
    const name = short(
      at
        ? `${functionName || "(anonymous)"} (${at}${line})`
        : functionName.startsWith("(")
          ? functionName
          : `${functionName} (native)`,
    );
    fn.set(name, (fn.get(name) ?? 0) + us);
    file.set(group, (file.get(group) ?? 0) + us);
  }
  const topOf = (m: Map<string, number>): Hot[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000 }));
  return { totalMs: totalUs / 1000, functions: topOf(fn), files: topOf(file) };
}
