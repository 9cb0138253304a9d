/**
 * Finds a pinned Go tool: env override (CAPI_GITOPS_<NAME>) → the project's .tools/bin → PATH.
 * "Not found" becomes a ToolError that says how to install it.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { messageOf, ToolUnavailableError } from "../core/errors.js";
import { pinnedVersions, TOOL_ROOT } from "../pins/versions.js";
import { inheritedEnv, run, type Env } from "./run.js";

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
  const pin = pinnedVersions().tools[name];
  const what = pin ? `${pin.module}@${pin.version}` : name;
  return `run \`npm run setup\` (it builds ${what} into .tools/bin), or point ${envVarFor(name)} at a binary`;
}

export function resolveTool(name: string, env: Env = inheritedEnv()): string {
  const override = env[envVarFor(name)];
  if (override) {
    if (!isExecutable(override))
      throw new ToolUnavailableError(`${envVarFor(name)}=${override} is not an executable file — ${installHint(name)}`);
    return override;
  }
  const local = path.join(TOOLS_BIN, name);
  if (isExecutable(local)) return local;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  throw new ToolUnavailableError(`${name} is not installed — ${installHint(name)}`);
}

/** How each tool reports its version (kubectl-validate v0.0.4 has no version flag: not probed). */
const VERSION_PROBE: Record<string, string[]> = {
  kustomize: ["version"],
  kubeconform: ["-v"],
  actionlint: ["-version"],
};

const checked = new Map<string, Promise<string>>();

/**
 * resolveTool, and the binary is the pinned version: a binary in .tools/bin must carry the stamp `npm run setup`
 * wrote for the pin in versions.json; an override or PATH binary must report the pinned version. Checked once
 * per process and binary: the binary is resolved in `env` at every call, so a run whose environment points
 * elsewhere (another context, an override set or removed) never gets the one an earlier run checked.
 */
export function checkedTool(name: string, env: Env = inheritedEnv()): Promise<string> {
  let bin: string;
  try {
    bin = resolveTool(name, env);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  const key = `${name}\0${bin}`;
  let p = checked.get(key);
  if (!p) {
    p = verify(name, env);
    checked.set(key, p);
    p.catch(() => checked.delete(key));
  }
  return p;
}

async function verify(name: string, env: Env): Promise<string> {
  const bin = resolveTool(name, env);
  const pin = pinnedVersions().tools[name];
  if (!pin) return bin;
  if (bin === path.join(TOOLS_BIN, name)) {
    const stamp = readStamp(name);
    if (stamp !== `${pin.module}@${pin.version}`)
      throw new ToolUnavailableError(
        `.tools/bin/${name} was built for ${stamp ?? "an unknown version"}, ` +
          `but versions.json pins ${pin.module}@${pin.version} — run \`npm run setup\``,
      );
    return bin;
  }
  const args = VERSION_PROBE[name];
  if (!args) return bin;
  let out: string;
  try {
    const r = await run(bin, args, { cwd: TOOL_ROOT, timeoutMs: 30_000, installHint: installHint(name), env });
    out = `${r.stdout}\n${r.stderr}`;
  } catch (e) {
    throw new ToolUnavailableError(
      `${bin} does not answer \`${[name, ...args].join(" ")}\` like ${name} ` +
        `${pin.version}: ${messageOf(e).split("\n")[0]} — ${installHint(name)}`,
    );
  }
  const found = /v?\d+\.\d+\.\d+/.exec(out)?.[0];
  if (!found || found.replace(/^v?/, "v") !== pin.version)
    throw new ToolUnavailableError(
      `${bin} is ${name} ${found ?? "of an unknown version"}, but versions.json ` +
        `pins ${pin.version} — ${installHint(name)}`,
    );
  return bin;
}

/** What the stamp beside a built program says it is (`<name>.version` in `bin`: module@version or a source hash). */
export function readStamp(name: string, bin = TOOLS_BIN): string | undefined {
  try {
    return readFileSync(path.join(bin, `${name}.version`), "utf8").trim();
  } catch {
    return undefined;
  }
}
