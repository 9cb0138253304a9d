/**
 * `npm run validate [cluster...]`: the selection (named, --changed-since, --shard), then the stages of
 * validate/pipeline.ts. Each stage returns findings; the CLI decides the exit code. Speed: see BENCHMARKS.md.
 */
import path from "node:path";
import { createContext } from "../render/context.js";
import { validateSelection as runStages, type ValidateOptions, type ValidateResult } from "../validate/pipeline.js";
import { checkShard, select, type Selection } from "../validate/selection.js";

export { parseShard, shardOf, type Shard } from "../validate/selection.js";
export type { ValidateOptions, ValidateResult } from "../validate/pipeline.js";

export async function validateCommand(opts: ValidateOptions): Promise<ValidateResult> {
  if (opts.shard) checkShard(opts.shard);
  const root = path.resolve(opts.cwd);
  const selection = await select(root, opts);
  if (!selection) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
  return validateSelection(opts, root, selection);
}

async function validateSelection(opts: ValidateOptions, root: string, sel: Selection): Promise<ValidateResult> {
  return runStages(opts, root, sel, createContext(process.env));
}
