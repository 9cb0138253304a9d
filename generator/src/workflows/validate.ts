/**
 * Validating clusters of a repository: the selection (named, --changed-since, --shard), then the stages of
 * validate/pipeline.ts. `npm run validate` runs it, and every command that validates what it is about to land.
 */
import path from "node:path";
import { createContext, type Context } from "../render/context.js";
import { inheritedEnv } from "../tools/run.js";
import { validateSelection, type ValidateOptions, type ValidateResult } from "../validate/pipeline.js";
import { checkShard, select } from "../validate/selection.js";

/** Validates the selected clusters in the run's context (a caller without one: this process's environment). */
export async function validateClusters(
  opts: ValidateOptions,
  ctx: Context = createContext(inheritedEnv()),
): Promise<ValidateResult> {
  if (opts.shard) checkShard(opts.shard);
  const root = path.resolve(opts.cwd);
  const selection = await select(root, opts);
  if (!selection) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
  return validateSelection(opts, root, selection, ctx);
}
