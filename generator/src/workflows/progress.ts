/** Long builds say every 30 s that they are still running. */

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
