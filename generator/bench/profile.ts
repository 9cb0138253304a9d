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

/** A source URL as a short label: relative to `root`, a dependency as its package, Node's own as `node:…`. */
function fileLabel(url: string, root: string): string {
  if (!url) return "";
  if (!url.startsWith("file:")) return url.replace(/^node:internal\/.*/, "node:internal");
  const rel = path.relative(root, fileURLToPath(url));
  const dep = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel);
  return dep ? `node_modules/${dep[1] ?? ""}` : rel;
}

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
    const label = fileLabel(url, root);
    const name = label
      ? `${functionName || "(anonymous)"} (${label}:${lineNumber + 1})`
      : functionName || "(anonymous)";
    fn.set(name, (fn.get(name) ?? 0) + us);
    const f = label || name;
    file.set(f, (file.get(f) ?? 0) + us);
  }
  const topOf = (m: Map<string, number>): Hot[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000 }));
  return { totalMs: totalUs / 1000, functions: topOf(fn), files: topOf(file) };
}
