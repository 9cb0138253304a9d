/**
 * Finds a pinned Go tool: env override (CAPI_GITOPS_<NAME>) → the project's .tools/bin → PATH.
 * "Not found" becomes a ToolError that says how to install it.
 */
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { ToolError } from "../errors.js";
import { TOOL_ROOT, versions } from "../versions.js";

export const TOOLS_BIN = path.join(TOOL_ROOT, ".tools", "bin");
/** The pinned CRDs, one folder per versions.json "crds" entry (written by `npm run setup`). */
export const CRDS_DIR = path.join(TOOL_ROOT, ".tools", "crds");

export function envVarFor(name: string): string {
  return `CAPI_GITOPS_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

const isExecutable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function installHint(name: string): string {
  const pin = versions().tools[name];
  const what = pin ? `${pin.module}@${pin.version}` : name;
  return `run \`npm run setup\` (it builds ${what} into .tools/bin), or point ${envVarFor(name)} at a binary`;
}

export function resolveTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[envVarFor(name)];
  if (override) {
    if (!isExecutable(override)) throw new ToolError(`${envVarFor(name)}=${override} is not an executable file — ${installHint(name)}`);
    return override;
  }
  const local = path.join(TOOLS_BIN, name);
  if (isExecutable(local)) return local;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  throw new ToolError(`${name} is not installed — ${installHint(name)}`);
}
