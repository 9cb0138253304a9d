/** The kustomize binary (pinned in versions.json, built by `npm run setup`). */
import { checkedTool, installHint } from "./resolve.js";
import { run } from "./run.js";

/** `kustomize build <dir>` with kustomize's default load restrictions; returns the YAML stream. */
export async function kustomizeBuild(repoRoot: string, dir: string): Promise<string> {
  const { stdout } = await run(await checkedTool("kustomize"), ["build", dir], { cwd: repoRoot, timeoutMs: 300_000, installHint: installHint("kustomize") });
  return stdout;
}
