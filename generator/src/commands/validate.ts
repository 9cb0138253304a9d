/**
 * `npm run validate [cluster...]`: the selection (named, --changed-since, --shard), then the stages of
 * validate/pipeline.ts (workflows/validate.ts). Each stage returns findings; the CLI decides the exit code.
 * Speed: see BENCHMARKS.md.
 */
import type { Context } from "../render/context.js";
import type { ValidateOptions, ValidateResult } from "../validate/pipeline.js";
import { validateClusters } from "../workflows/validate.js";

export async function validateCommand(opts: ValidateOptions, ctx?: Context): Promise<ValidateResult> {
  return validateClusters(opts, ctx);
}
