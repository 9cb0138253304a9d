/**
 * The command-line entry point: parses argv against the one CLI definition (cli/definition.ts), runs one command,
 * renders findings, and is the only place that decides the exit code (0 ok, 1 invalid input or repository, 2 the
 * tool failed). `run(argv, io)` does all of it and returns the exit code (tests call it in-process); the bin shim
 * and `tsx generator/src/cli.ts` call it and set process.exitCode.
 */
import { constants, realpathSync } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CapiGitopsError, InvalidInputError, ToolError, UsageError } from "./core/errors.js";
import { formatFinding, truncate } from "./core/findings.js";
import { type CommandDef, COMMANDS, commandHelp, flagsOf, topHelp } from "./cli/definition.js";
import { type NewClusterFlags, SPEC_FLAGS } from "./cluster-spec/flags.js";

/** Where a run writes and what it knows of its terminal (the process's own by default; tests pass buffers). */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin?: { isTTY?: boolean };
  /** The folder --repo defaults to and file-system errors are shown relative to (default: process.cwd()). */
  cwd?: string;
}

/** parseArgs options derived from a command's flag table (an `optional` flag is a string, see withOptionalValues). */
function parserOptions(c: CommandDef): NonNullable<ParseArgsConfig["options"]> {
  return Object.fromEntries(
    flagsOf(c).map((f) => [
      f.flag,
      {
        type: f.type === "boolean" ? "boolean" : "string",
        ...(f.type === "strings" ? { multiple: true } : {}),
        ...(f.short ? { short: f.short } : {}),
      },
    ]),
  ) as NonNullable<ParseArgsConfig["options"]>;
}

/** An `optional` flag (`--push [remote]`) given without a value (end of line or another flag next) takes its default. */
function withOptionalValues(c: CommandDef, args: string[]): string[] {
  const optional = new Map(c.flags.filter((f) => f.type === "optional").map((f) => [`--${f.flag}`, f.default ?? ""]));
  return args.flatMap((a, i) =>
    optional.has(a) && (i === args.length - 1 || args[i + 1]!.startsWith("-")) ? [a, optional.get(a)!] : [a],
  );
}

/** Why a file-system call failed, in words: a missing folder on a read-only mount reports ENOENT, so look closer. */
async function describeFsError(x: NodeJS.ErrnoException): Promise<string> {
  const words: Record<string, string> = {
    EROFS: "read-only file system",
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOSPC: "disk full",
    EISDIR: "is a folder",
    ENOTDIR: "not a folder",
  };
  if (words[x.code ?? ""]) return `${words[x.code!]} (${x.code})`;
  for (let dir = path.dirname(x.path ?? "."); ; dir = path.dirname(dir)) {
    const ok = await access(dir, constants.F_OK).then(
      () => true,
      () => false,
    );
    if (ok) {
      const writable = await access(dir, constants.W_OK).then(
        () => true,
        (e: NodeJS.ErrnoException) => e.code,
      );
      return writable === true
        ? `${x.code}`
        : `${dir} is not writable (${writable === "EROFS" ? "read-only file system" : writable}); ${x.code}`;
    }
    if (dir === path.dirname(dir)) return `${x.code}`;
  }
}

/** One command's arguments against its flag table; a usage error names what is wrong. */
export function parseCommandLine(
  def: CommandDef,
  raw: string[],
): { values: Record<string, unknown>; positionals: string[] } {
  const command = def.name;
  const options = parserOptions(def);
  let values: Record<string, unknown>;
  let positionals: string[];
  let tokens: NonNullable<ReturnType<typeof parseArgs>["tokens"]>;
  try {
    ({ values, positionals, tokens } = parseArgs({
      args: withOptionalValues(def, raw),
      options,
      strict: true,
      allowPositionals: def.positionals !== undefined,
      tokens: true,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\nSee: npm run ${command} -- --help`);
  }
  // A single-value flag given twice would silently take the last value: refuse, naming the flag.
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== "option" || options[t.name]?.type !== "string" || options[t.name]?.multiple) continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? ""]);
  }
  for (const [name, given] of seen)
    if (given.length > 1)
      throw new UsageError(
        `--${name} is given ${given.length} times (${given.map((v) => JSON.stringify(truncate(v))).join(", ")}); it takes one value — keep one\n\nSee: npm run ${command} -- --help`,
      );
  return { values, positionals };
}

/** Runs one command line; returns its exit code. Never sets process.exitCode nor exits. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const out = (line: string): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  const cwd = io.cwd ?? process.cwd();
  try {
    return await main(argv, io, out, cwd);
  } catch (e: unknown) {
    if (e instanceof InvalidInputError) {
      for (const f of e.findings) err(formatFinding(f));
      err(e.message);
      return e.exitCode;
    }
    if (e instanceof ToolError || e instanceof UsageError || e instanceof CapiGitopsError) {
      err(`error: ${e.message}`);
      return e.exitCode;
    }
    if (
      e &&
      typeof e === "object" &&
      typeof (e as NodeJS.ErrnoException).code === "string" &&
      typeof (e as NodeJS.ErrnoException).syscall === "string"
    ) {
      // A file-system error (read-only or full disk, permissions): say what and where, no stack trace.
      const x = e as NodeJS.ErrnoException & { dest?: string };
      const rel = path.relative(cwd, x.path ?? "");
      const where = rel && !rel.startsWith("..") ? rel : (x.path ?? "");
      const why = await describeFsError(x);
      err(
        `error: cannot ${x.syscall} ${where}${x.dest ? ` → ${x.dest}` : ""}: ${why}; nothing was half-written (writes go through a temporary copy and a rename)`,
      );
      return 2;
    }
    if (e && typeof e === "object" && "name" in e && (e as Error).name === "ExitPromptError") {
      err("cancelled; nothing was written");
      return 2;
    }
    err(`internal error: ${(e as Error)?.stack ?? String(e)}`);
    return 2;
  }
}

async function main(argv: string[], io: CliIo, out: (line: string) => void, processCwd: string): Promise<number> {
  // No command is a usage error (a script that forgot it must not see success): the help goes to stderr.
  if (argv.length === 0) throw new UsageError(`no command given\n\n${topHelp()}`);
  const [command = "help", ...raw] = argv;
  if (command === "help" || command === "--help" || command === "-h") return (out(topHelp()), 0);
  const def = COMMANDS.find((c) => c.name === command);
  if (!def) throw new UsageError(`unknown command "${command}"\n\n${topHelp()}`);
  const { values, positionals } = parseCommandLine(def, raw);
  if (values.help) return (out(commandHelp(def)), 0);
  // --repo as given (relative to the process's folder), or resolved against io.cwd when the caller names one.
  const cwd =
    typeof values.repo === "string"
      ? io.cwd === undefined
        ? values.repo
        : path.resolve(io.cwd, values.repo)
      : processCwd;
  const s = (k: string) => values[k] as string | undefined;
  // Writers refuse a folder that is not a capi-gitops repository unless told to start one (--init).
  if (
    command === "generate" ||
    ((command === "new-cluster" || command === "upgrade" || command === "import") && !values["dry-run"])
  )
    await (await import("./repo/load.js")).requireRepository(cwd, Boolean(values.init));
  // Usage first: a malformed --shard is a usage error wherever it is run.
  if (command === "validate" && s("shard") !== undefined)
    (await import("./commands/validate.js")).parseShard(s("shard")!);
  // Readers refuse a folder that is visibly not the repository (a subfolder of one, or no clusters/ at all); so do
  // the commands that act on existing clusters when they write nothing yet (upgrade --dry-run) or only remove
  // (remove-cluster) — from a subfolder they would report "no cluster named …" or "nothing to do" instead.
  if (["validate", "diff", "inventory", "upgrade", "remove-cluster", "leftovers"].includes(command))
    await (await import("./repo/load.js")).requireReadableRepository(cwd);

  switch (command) {
    case "setup":
      await (await import("./commands/setup.js")).setupCommand({ log: out, force: Boolean(values.force) });
      return 0;
    case "remove-cluster":
      await (
        await import("./commands/remove-cluster.js")
      ).removeClusterCommand({
        cwd,
        log: out,
        name: s("name"),
        force: Boolean(values.force),
        branch: Boolean(values.branch) || values.push !== undefined,
        push: s("push"),
      });
      return 0;
    case "generate":
      await (await import("./commands/generate.js")).generateCommand({ cwd, log: out, init: Boolean(values.init) });
      return 0;
    case "validate": {
      const { FORMATS, formatFindings } = await import("./validate/format.js");
      const format = (s("format") ?? "text") as (typeof FORMATS)[number];
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const tty = Boolean(io.stderr.isTTY);
      const { parseShard, validateCommand } = await import("./commands/validate.js");
      const shard = s("shard");
      const result = await validateCommand({
        cwd,
        clusters: positionals,
        changedSince: s("changed-since"),
        shard: shard === undefined ? undefined : parseShard(shard),
        skipCel: Boolean(values["skip-cel"]),
        onProgress: tty ? (stage, done, total) => void io.stderr.write(`\r\x1b[K${stage} ${done}/${total}`) : undefined,
      });
      if (tty) io.stderr.write("\r\x1b[K");
      out(formatFindings(result.findings, format, result.summary));
      return result.summary.errors > 0 ? 1 : 0;
    }
    case "diff": {
      const base = s("base");
      if (!base) throw new UsageError("--base <ref> is required, e.g. --base origin/main");
      const format = s("format") ?? "text";
      if (format !== "text" && format !== "markdown") throw new UsageError("--format must be text or markdown");
      const result = await (await import("./commands/diff.js")).diffCommand({ cwd, base, format });
      out(result.output);
      return result.findings.some((f) => f.severity === "error") ? 1 : 0;
    }
    case "addons":
      await (await import("./commands/addons.js")).addonsCommand({ cwd, log: out });
      return 0;
    case "e2e": {
      const result = await (
        await import("./commands/e2e.js")
      ).e2eCommand({ cwd, log: out, fixtures: !values["no-fixtures"] });
      for (const f of result.failures) io.stderr.write(`FAIL ${f.test}\n${f.output.replace(/^/gm, "  ")}\n`);
      out(`${result.passed} passed, ${result.failed} failed`);
      return result.failed > 0 ? 1 : 0;
    }
    case "schemas":
      await (await import("./commands/schemas.js")).schemasCommand({ cwd, log: out });
      return 0;
    // issue 14 (day-2): upgrade and inventory
    case "upgrade":
      await (
        await import("./commands/upgrade.js")
      ).upgradeCommand({
        cwd,
        log: out,
        name: s("name"),
        all: Boolean(values.all),
        to: s("to"),
        dryRun: Boolean(values["dry-run"]),
        branch: Boolean(values.branch) || values.push !== undefined,
        push: s("push"),
        imageId: s("image-id"),
        poolImageIds: values["pool-image-id"] as string[] | undefined,
      });
      return 0;
    case "inventory": {
      const { INVENTORY_FORMATS } = await import("./fleet/inventory.js");
      const format = (s("format") ?? "text") as (typeof INVENTORY_FORMATS)[number];
      if (!INVENTORY_FORMATS.includes(format))
        throw new UsageError(
          `--format must be one of ${INVENTORY_FORMATS.join(", ")}\n\nSee: npm run inventory -- --help`,
        );
      const result = await (
        await import("./commands/inventory.js")
      ).inventoryCommand({ cwd, format, validate: !values["no-validate"], clusters: positionals });
      out(result.output);
      return result.inventory.unreadable.length ? 1 : 0;
    }
    case "management-charts":
      await (await import("./commands/management-charts.js")).managementChartsCommand({ log: out });
      return 0;
    case "leftovers": {
      const { LEFTOVER_FORMATS, formatLeftovers } = await import("./fleet/leftovers.js");
      const format = (s("format") ?? "text") as (typeof LEFTOVER_FORMATS)[number];
      if (!LEFTOVER_FORMATS.includes(format))
        throw new UsageError(`--format must be one of ${LEFTOVER_FORMATS.join(", ")}`);
      const result = await (
        await import("./commands/leftovers.js")
      ).leftoversCommand({ cwd, clusters: positionals, since: s("since"), log: (l) => void io.stderr.write(`${l}\n`) });
      for (const f of result.findings) io.stderr.write(`${f.severity} ${f.cluster ?? ""} ${f.file}: ${f.message}\n`);
      out(formatLeftovers(result.report, format));
      return result.findings.some((f) => f.severity === "error") ? 1 : 0;
    }
    case "import":
      await (
        await import("./commands/import.js")
      ).importCommand({
        cwd,
        base: io.cwd ?? processCwd,
        log: out,
        file: s("file"),
        name: s("name"),
        namespace: s("namespace"),
        kubernetesVersion: s("kubernetes-version"),
        imageId: s("image-id"),
        imageLookupOrg: s("image-lookup-org"),
        vars: values.var as string[] | undefined,
        env: process.env,
        dryRun: Boolean(values["dry-run"]),
        render: !values["no-render"],
      });
      return 0;
    case "new-cluster": {
      const { newClusterCommand } = await import("./commands/new-cluster.js");
      const flags: NewClusterFlags = Object.fromEntries(
        SPEC_FLAGS.flatMap((f) => (values[f.flag] === undefined ? [] : [[f.key, values[f.flag]]])),
      );
      await newClusterCommand({
        cwd,
        log: out,
        dryRun: Boolean(values["dry-run"]),
        render: !values["no-render"],
        branch: Boolean(values.branch) || values.push !== undefined,
        push: s("push"),
        init: Boolean(values.init),
        interactive: !values.yes && Boolean(io.stdin?.isTTY) && Boolean(io.stdout.isTTY),
        flags,
      });
      return 0;
    }
  }
  throw new UsageError(`unknown command "${command}"\n\n${topHelp()}`);
}

/** The process's own streams, for the bin shim and `tsx generator/src/cli.ts`. */
export function processIo(): CliIo {
  // A closed pipe (`… | head`) is not an error of ours.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Whether this file is the program (`tsx generator/src/cli.ts`), not imported by the bin shim or a test. */
const isMain = (): boolean => {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]!) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};
if (isMain()) process.exitCode = await run(process.argv.slice(2), processIo());
