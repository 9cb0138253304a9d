/**
 * Validating clusters of a repository: the selection (named, --changed-since, --shard), then the stages of
 * validate/pipeline.ts. `npm run validate` runs it, and every command that validates what it is about to land.
 * A run whose inputs are all as a kept verdict found them prints that verdict (render/verdict.ts).
 */
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { isRecord } from "../k8s/object.js";
import { TOOL_ROOT } from "../pins/versions.js";
import { binaryIdentity, cacheEnabled, cacheRoot, SpecMemo, treeDigest } from "../render/cache.js";
import { createContext, type Context } from "../render/context.js";
import { Verdicts, type Listing } from "../render/verdict.js";
import { healthBinary } from "../tools/health.js";
import { inheritedEnv } from "../tools/run.js";
import { admissionEnabled } from "../validate/admission.js";
import { generatorIdentity } from "../validate/drift.js";
import type { Summary } from "../validate/format.js";
import type { ValidateOptions, ValidateResult } from "../validate/pipeline.js";
import { checkShard } from "../validate/selection.js";

/** A program that is missing has no identity (the run then reports it, and keeps no verdict). */
function identityOf(f: () => string): string | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/**
 * Whether a run keeps a verdict: only a run of the pinned programs with the cache on, and not --changed-since (its
 * result depends on another commit).
 */
const keepsVerdict = (opts: ValidateOptions, ctx: Context): boolean =>
  opts.runners === undefined && opts.changedSince === undefined && (opts.cache ?? cacheEnabled(ctx.env));

/**
 * What a verdict depends on besides the repository's files: the options, and the identity of every program and
 * of our own code and data.
 */
function verdictKey(opts: ValidateOptions, ctx: Context): string {
  const withAdmission = !opts.skipAdmission && admissionEnabled(ctx.env);
  const id = ctx.runners.identity;
  return JSON.stringify([
    opts.clusters ? [...opts.clusters].sort() : null,
    opts.shard ?? null,
    opts.skipCel === true,
    withAdmission,
    identityOf(id.render),
    identityOf(id.kubeconform),
    opts.skipCel ? null : identityOf(id.cel),
    withAdmission ? identityOf(id.admission) : null,
    identityOf(() => binaryIdentity(healthBinary(ctx.env), ctx.env)),
    generatorIdentity(),
    treeDigest(path.join(TOOL_ROOT, "schemas"), ctx.env),
  ]);
}

const isVerdict = (v: unknown): v is { findings: Finding[]; summary: Summary } =>
  isRecord(v) && Array.isArray(v.findings) && isRecord(v.summary);

/** Validates the selected clusters in the run's context (a caller without one: this process's environment). */
export async function validateClusters(
  opts: ValidateOptions,
  ctx: Context = createContext(inheritedEnv()),
): Promise<ValidateResult> {
  if (opts.shard) checkShard(opts.shard);
  const root = path.resolve(opts.cwd);
  const verdicts = keepsVerdict(opts, ctx) ? new Verdicts(root, ctx.env, cacheRoot(ctx.env)) : undefined;
  const looked = await verdicts?.lookup(() => verdictKey(opts, ctx));
  const key = looked?.key;
  const before: Listing | undefined = looked?.now;
  if (isVerdict(looked?.value)) return { findings: looked.value.findings, summary: looked.value.summary };
  // Loaded only now: a run that prints its verdict needs none of the stages.
  const [{ select }, { validateSelection }] = await Promise.all([
    import("../validate/selection.js"),
    import("../validate/pipeline.js"),
  ]);
  const selection = await select(
    root,
    opts,
    (opts.cache ?? cacheEnabled(ctx.env)) ? new SpecMemo(root, ctx.env) : undefined,
  );
  if (!selection) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
  const result = await validateSelection(opts, root, selection, ctx);
  if (key !== undefined && verdicts && before && result.inputs?.walked)
    verdicts.keep(key, before, result.inputs.reads, { findings: result.findings, summary: result.summary });
  return result;
}
