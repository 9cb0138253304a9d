/**
 * The command-line entry point: finds the command in the one CLI definition (cli/definition.ts), parses its flags
 * into typed options, runs it with the run's context, renders errors, and is the only place that decides the exit
 * code (0 ok, 1 invalid input or repository, 2 the tool failed). `run(argv, io)` does all of it and returns the exit
 * code (tests call it in-process); the bin (generator/bin/capi-gitops.js, which npm's scripts run: this file bundled)
 * and `tsx generator/src/cli.ts` call it and set process.exitCode.
 */
import { constants, realpathSync } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CapiGitopsError, InvalidInputError, UsageError } from "./core/errors.js";
import { formatFinding } from "./core/findings.js";
import { type Context, createContext } from "./render/context.js";
import { parseCommandLine, type RunIo } from "./cli/command.js";
import { COMMANDS, commandHelp, topHelp } from "./cli/definition.js";

export { parseCommandLine } from "./cli/command.js";

/** Where a run writes and what it knows of its terminal (the process's own by default; tests pass buffers). */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin?: { isTTY?: boolean };
  /** The folder --repo defaults to and file-system errors are shown relative to (default: process.cwd()). */
  cwd?: string;
}

/** A file-system error (read-only or full disk, permissions), as Node reports it. */
type FsError = NodeJS.ErrnoException & { code: string; syscall: string; dest?: string };

const isFsError = (e: unknown): e is FsError =>
  typeof e === "object" &&
  e !== null &&
  "code" in e &&
  typeof e.code === "string" &&
  "syscall" in e &&
  typeof e.syscall === "string";

const FS_WORDS: Record<string, string> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOSPC: "disk full",
  EISDIR: "is a folder",
  ENOTDIR: "not a folder",
};

/** Why a file-system call failed, in words: a missing folder on a read-only mount reports ENOENT, so look closer. */
async function describeFsError(x: FsError): Promise<string> {
  const word = FS_WORDS[x.code];
  if (word) return `${word} (${x.code})`;
  for (let dir = path.dirname(x.path ?? "."); ; dir = path.dirname(dir)) {
    const ok = await access(dir, constants.F_OK).then(
      () => true,
      () => false,
    );
    if (ok) {
      const writable = await access(dir, constants.W_OK).then(
        () => true,
        (e: unknown) => (isFsError(e) ? e.code : String(e)),
      );
      return writable === true
        ? x.code
        : `${dir} is not writable (${writable === "EROFS" ? "read-only file system" : writable}); ${x.code}`;
    }
    if (dir === path.dirname(dir)) return x.code;
  }
}

/** Runs one command line; returns its exit code. Never sets process.exitCode nor exits. */
export async function run(argv: string[], io: CliIo, ctx: Context = createContext(process.env)): Promise<number> {
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  const cwd = io.cwd ?? process.cwd();
  try {
    return await main(argv, io, ctx, cwd);
  } catch (e: unknown) {
    if (e instanceof InvalidInputError) {
      for (const f of e.findings) err(formatFinding(f));
      err(e.message);
      return e.exitCode;
    }
    if (e instanceof CapiGitopsError) {
      err(`error: ${e.message}`);
      return e.exitCode;
    }
    if (isFsError(e)) {
      // Say what and where, no stack trace.
      const rel = path.relative(cwd, e.path ?? "");
      const where = rel && !rel.startsWith("..") ? rel : (e.path ?? "");
      const why = await describeFsError(e);
      err(
        `error: cannot ${e.syscall} ${where}${e.dest ? ` → ${e.dest}` : ""}: ${why}; ` +
          "nothing was half-written (writes go through a temporary copy and a rename)",
      );
      return 2;
    }
    if (e instanceof Error && e.name === "ExitPromptError") {
      err("cancelled; nothing was written");
      return 2;
    }
    err(`internal error: ${e instanceof Error ? (e.stack ?? String(e)) : String(e)}`);
    return 2;
  }
}

async function main(argv: string[], io: CliIo, ctx: Context, processCwd: string): Promise<number> {
  const out = (line: string): void => void io.stdout.write(`${line}\n`);
  // No command is a usage error (a script that forgot it must not see success): the help goes to stderr.
  const [command, ...raw] = argv;
  if (command === undefined) throw new UsageError(`no command given\n\n${topHelp(ctx.pins)}`);
  if (command === "help" || command === "--help" || command === "-h") return (out(topHelp(ctx.pins)), 0);
  const def = COMMANDS.find((c) => c.name === command);
  if (!def) throw new UsageError(`unknown command "${command}"\n\n${topHelp(ctx.pins)}`);
  const { values, positionals } = parseCommandLine(def, raw);
  if (values.help) return (out(commandHelp(def, ctx.pins)), 0);
  // --repo as given (relative to the process's folder), or resolved against io.cwd when the caller names one.
  const repo =
    typeof values.repo === "string"
      ? io.cwd === undefined
        ? values.repo
        : path.resolve(io.cwd, values.repo)
      : processCwd;
  const runIo: RunIo = {
    out,
    err: (line) => void io.stderr.write(`${line}\n`),
    stderr: io.stderr,
    repo,
    cwd: io.cwd ?? processCwd,
    interactive: Boolean(io.stdin?.isTTY) && Boolean(io.stdout.isTTY),
  };
  return def.execute(values, positionals, ctx, runIo);
}

/** The process's own streams, for the bin and `tsx generator/src/cli.ts`. */
export function processIo(): CliIo {
  // A closed pipe (`… | head`) is not an error of ours.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Whether this file is the program (`tsx generator/src/cli.ts`), not imported by the bin or a test. */
const isMain = (): boolean => {
  const script = process.argv[1];
  try {
    return !!script && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};
if (isMain()) process.exitCode = await run(process.argv.slice(2), processIo());
