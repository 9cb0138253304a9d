/**
 * The one explicit context of a run: built once by cli.ts (`createContext`) and passed down, so that nothing below
 * reads `process.env`, the clock or the pins on its own and every test can run a command in-process with its own.
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
  /** The clock (timestamps in reports, lock ages). */
  readonly now: () => Date;
}

/** The context of a real run. */
export function createContext(env: Env): Context {
  let pins: Versions | undefined;
  return {
    env,
    toolRoot: TOOL_ROOT,
    pins: () => (pins ??= versions()),
    runners: toolRunners(env),
    now: () => new Date(),
  };
}
