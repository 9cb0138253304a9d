/**
 * The few typed errors of the tool. Only the CLI entry point turns them into exit codes:
 * 0 ok, 1 the input or repository is invalid, 2 the tool itself failed (usage, missing binary, I/O).
 */
import type { Finding } from "./findings.js";

/** The message of anything thrown (an Error's message, else the value as text). */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The code of a Node.js system error (`ENOENT`, `EACCES`, …), if it is one. */
export const errnoCode = (e: unknown): string | undefined =>
  e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined;

export class CapiGitopsError extends Error {
  readonly exitCode: 1 | 2 = 2;
}

/** The user's input or the repository is invalid; carries findings that say where and what. */
export class InvalidInputError extends CapiGitopsError {
  override readonly exitCode = 1 as const;
  constructor(
    readonly findings: Finding[],
    message = "invalid input",
  ) {
    super(message);
  }
}

/** Bad command-line usage (unknown flag, missing argument). */
export class UsageError extends CapiGitopsError {
  override readonly exitCode = 2 as const;
}

/** An external program is missing or failed. */
export class ToolError extends CapiGitopsError {
  override readonly exitCode = 2 as const;
  constructor(
    message: string,
    readonly command?: string,
    readonly stderr?: string,
  ) {
    super(message);
  }
}

/** A pinned tool is missing or is not the pinned version: nothing can be checked until `npm run setup`. */
export class ToolUnavailableError extends ToolError {}

/**
 * A program exited 0 but printed what it cannot print (kustomize output that is no YAML stream): the program is
 * broken or not the one pinned, not the input; nothing it printed can be checked.
 */
export class ToolOutputError extends ToolError {}

/** Two generators claimed the same output path, or a path escapes the repository. */
export class PlanError extends CapiGitopsError {
  override readonly exitCode = 2 as const;
}
