/** The pinned upstream versions, read from the one file that holds them: versions.json at the repository root. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export interface GoTool {
  module: string;
  version: string;
}
export interface CrdSource {
  module: string;
  version: string;
  /** Folders inside the module that hold CRD YAML files. */
  dirs?: string[];
  /** Single files inside the module (for modules whose CRDs are not in a folder of their own). */
  files?: string[];
}
export interface Versions {
  tools: Record<string, GoTool>;
  crds: Record<string, CrdSource>;
}

/** Root of this tool's own checkout (where versions.json and .tools/ live). */
export const TOOL_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

let cached: Versions | undefined;
export function versions(): Versions {
  cached ??= JSON.parse(readFileSync(path.join(TOOL_ROOT, "versions.json"), "utf8")) as Versions;
  return cached;
}
