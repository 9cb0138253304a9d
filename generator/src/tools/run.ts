/**
 * The one place that spawns processes (used by the per-program modules go.ts, kustomize.ts, kubeconform.ts):
 * arguments as an array, an explicit cwd, a timeout, and failures turned into ToolError with command and stderr.
 */
import { ToolError, ToolUnavailableError } from "../core/errors.js";

/** An environment: names → values (the run's, from the Context; a child process gets it over the inherited one). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment this process inherited: the default of the tool functions for callers that do not pass the
 * Context's (tests, and commands not yet given one). Nothing else below cli.ts reads it.
 */
export const inheritedEnv = (): Env => process.env;

export interface RunOptions {
  cwd: string;
  timeoutMs?: number;
  input?: string;
  /** Set over the inherited environment (execa's extendEnv). */
  env?: Env;
  /** Exit codes that are not failures (kubeconform exits 1 when documents are invalid). */
  okExitCodes?: number[];
  /** Said when the binary is missing. */
  installHint: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const shown = [file, ...args].join(" ");
  // Loaded on the first run of a program: a command that starts none (a kept verdict, --help) does not pay for it.
  const { execa } = await import("execa");
  const result = await execa(file, args, {
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 600_000,
    input: opts.input,
    env: opts.env,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
  });
  const code = "code" in result ? result.code : undefined;
  if (code === "ENOENT") throw new ToolUnavailableError(`${file} was not found — ${opts.installHint}`, shown);
  if (result.timedOut)
    throw new ToolError(`${shown} timed out after ${opts.timeoutMs ?? 600_000} ms`, shown, String(result.stderr));
  const exitCode = result.exitCode ?? -1;
  const ok = [0, ...(opts.okExitCodes ?? [])];
  if (!ok.includes(exitCode)) {
    const stderr = String(result.stderr).trim();
    throw new ToolError(
      `${shown} failed (exit ${exitCode}${result.signal ? `, signal ${result.signal}` : ""})` +
        `${stderr ? `:\n${stderr}` : ""}`,
      shown,
      stderr,
    );
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode };
}
