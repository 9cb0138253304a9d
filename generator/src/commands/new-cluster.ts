/**
 * `npm run new-cluster`: flags (or prompts on a terminal) → the cluster added by workflows/new-cluster.ts, built and
 * validated before it lands. Bad input writes nothing.
 */
import type { NewClusterFlags } from "../cluster-spec/flags.js";
import { addCluster, type AddClusterOptions, type NewClusterResult } from "../workflows/new-cluster.js";
import type { Context } from "../render/context.js";
import { validateClusters } from "../workflows/validate.js";

export interface NewClusterOptions extends Omit<AddClusterOptions, "check"> {
  flags: NewClusterFlags;
  /** Ask for missing values (only on a terminal and without --yes). */
  interactive?: boolean;
  /** Build and validate the staged cluster before it lands (default true). */
  render?: boolean;
  /** The run's context (cli.ts); without one, validation uses this process's environment. */
  ctx?: Context;
}

export async function newClusterCommand(opts: NewClusterOptions): Promise<NewClusterResult> {
  const { interactive, render, ctx, ...rest } = opts;
  const flags = interactive ? await (await import("./prompts.js")).promptForMissing(opts.flags) : opts.flags;
  const check =
    render !== false
      ? (cwd: string, cluster: string) => validateClusters({ cwd, clusters: [cluster] }, ctx)
      : undefined;
  return addCluster({ ...rest, flags, check });
}
