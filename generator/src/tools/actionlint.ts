/** actionlint (pinned in versions.json): lints GitHub Actions workflows. */
import { checkedTool, installHint } from "./resolve.js";
import { run } from "./run.js";

/** Returns actionlint's messages (empty when the workflows are clean). */
export async function actionlint(cwd: string, files: readonly string[]): Promise<string[]> {
  const { stdout, exitCode } = await run(await checkedTool("actionlint"), ["-color=false", "-oneline", ...files], {
    cwd,
    timeoutMs: 120_000,
    okExitCodes: [1],
    installHint: installHint("actionlint"),
  });
  return exitCode === 0 ? [] : stdout.split("\n").filter(Boolean);
}
