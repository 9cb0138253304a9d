/**
 * The explicit context of a run: built once by cli.ts (`createContext`) and passed to every command, so a test can run
 * a command in-process with its own environment and runners. Not every layer takes it yet: some commands ignore it,
 * and validate and the workflows still read the pins through `versions()` (memoized per tool root).
 */
import { TOOL_ROOT, versions, type Versions } from "../pins/versions.js";
import type { Env } from "../tools/run.js";
import { toolRunners, type Runners } from "./runners.js";

export interface Context {
  /**
   * The environment of the run: cli.ts passes `process.env` here. Below it only tools/run.ts `inheritedEnv` reads
   * it, as the default of tool functions called without an environment.
   */
  readonly env: Env;
  /** The checkout of this tool: versions.json, addons/, management charts, .tools/. */
  readonly toolRoot: string;
  /** The pinned versions and the hydrated payloads, read from disk when first asked (once). */
  readonly pins: () => Versions;
  /** The external programs (render/runners.ts); tests pass stand-ins. */
  readonly runners: Runners;
}

/** The context of a real run. */
export function createContext(env: Env): Context {
  let pins: Versions | undefined;
  return {
    env,
    toolRoot: TOOL_ROOT,
    pins: () => (pins ??= versions()),
    runners: toolRunners(env),
  };
}
