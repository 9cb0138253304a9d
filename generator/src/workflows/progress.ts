/** Long builds say every 30 s that they are still running. */
import pLimit from "p-limit";

/**
 * Go builds run two at a time (`npm run setup`'s tools, `npm run e2e`'s servers): a cold build spends part of its time
 * downloading modules and linking on one core, and a second build fills those gaps. Measured with empty Go caches on
 * two cores: setup 10 min 50 s (≈ 11.5 min one at a time); the e2e servers gained nothing (CPU-bound compiles).
 */
const buildLane = pLimit(2);

/** Runs the builds in the lanes to the end, then fails with the first error (no build is left running). */
export async function buildAll(builds: readonly (() => Promise<unknown>)[]): Promise<void> {
  const settled = await Promise.allSettled(builds.map((b) => buildLane(b)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Runs a long build, saying every 30 s that it is still running; returns its duration in seconds. */
export async function withProgress(
  label: string,
  log: (line: string) => void,
  build: () => Promise<void>,
): Promise<number> {
  const started = Date.now();
  const tick = setInterval(
    () => log(`${label}: still building (${Math.round((Date.now() - started) / 1000)} s) …`),
    30_000,
  );
  try {
    await build();
  } finally {
    clearInterval(tick);
  }
  return Math.round((Date.now() - started) / 1000);
}
