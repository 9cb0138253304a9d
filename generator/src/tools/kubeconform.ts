/** The kubeconform binary: many files per process, its own worker pool, JSON output parsed into types here. */
import { checkedTool, installHint } from "./resolve.js";
import { run } from "./run.js";
import { ToolError } from "../errors.js";

export interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  msg: string;
  validationErrors?: { path: string; msg: string }[];
}

/** Validates `files` with -strict against one schema-location template; returns the resources that are not valid. */
export async function kubeconform(files: readonly string[], opts: { cwd: string; schemaLocation: string; workers: number }): Promise<KubeconformResource[]> {
  if (files.length === 0) return [];
  const args = ["-strict", "-output", "json", "-schema-location", opts.schemaLocation, "-n", String(opts.workers), ...files];
  const { stdout } = await run(await checkedTool("kubeconform"), args, { cwd: opts.cwd, timeoutMs: 600_000, okExitCodes: [1], installHint: installHint("kubeconform") });
  try {
    const parsed = JSON.parse(stdout) as { resources?: KubeconformResource[] };
    return parsed.resources ?? [];
  } catch {
    throw new ToolError(`kubeconform printed something that is not JSON: ${stdout.slice(0, 200)}`, "kubeconform");
  }
}
