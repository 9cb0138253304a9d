/**
 * How a command declares itself: `defineCommand({ name, summary, usage, description, flags, run })`. The flag table
 * is the one source of the parser options, the help text and the TypeScript type of the options `run` receives
 * (`--dry-run` → `opts.dryRun`, a boolean; `--pool` → `opts.pool`, a string list; `--format` with choices → their
 * union). Shared flags (`--repo`, `--branch`/`--push`, `--format`) are declared once here.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.js";
import { truncate } from "../core/findings.js";
import type { Versions } from "../pins/versions.js";
import type { Context } from "../render/context.js";

interface FlagBase<N extends string> {
  /** The flag without its dashes. */
  readonly flag: N;
  readonly short?: string;
  /** The placeholder shown in the help (none for a boolean). */
  readonly value?: string;
  readonly help: string;
}

/** A boolean switch. */
export interface BooleanFlag<N extends string = string> extends FlagBase<N> {
  readonly type: "boolean";
  /**
   * Given, it takes no other flag of its command but `--repo`: why (`runs nothing` → "--x runs nothing, so --y cannot
   * go with it", a usage error).
   */
  readonly alone?: string;
}

/** One value; with `choices`, one of them (`default` when not given). */
export interface StringFlag<N extends string = string, C extends string = string> extends FlagBase<N> {
  readonly type: "string";
  readonly choices?: readonly C[];
  readonly default?: C;
  /** The usage error for a value outside `choices`. */
  readonly invalid?: string;
}

/** A repeatable value. */
export interface StringsFlag<N extends string = string> extends FlagBase<N> {
  readonly type: "strings";
}

/** A value that may be left out (`--push [remote]`): then `default`. */
export interface OptionalFlag<N extends string = string> extends FlagBase<N> {
  readonly type: "optional";
  readonly default: string;
}

export type FlagDef = BooleanFlag | StringFlag | StringsFlag | OptionalFlag;

/** `dry-run` → `dryRun`. */
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

type ValueOf<F extends FlagDef> = F extends BooleanFlag
  ? boolean
  : F extends StringsFlag
    ? string[] | undefined
    : F extends { readonly choices: readonly (infer C extends string)[] }
      ? C
      : string | undefined;

/** The options `run` receives: one property per flag (camel case), plus the positional arguments. */
export type OptionsOf<F extends readonly FlagDef[]> = {
  [D in F[number] as Camel<D["flag"]>]: ValueOf<D>;
} & { readonly positionals: string[] };

/** What a command writes to and knows of its caller. */
export interface RunIo {
  out: (line: string) => void;
  /** stderr, line by line (progress, failures). */
  err: (line: string) => void;
  /** stderr as a stream (progress that rewrites its line). */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** The repository the command works on: --repo, or the caller's folder. */
  repo: string;
  /** The caller's folder (relative file arguments are resolved against it). */
  cwd: string;
  /** Whether a person is at the terminal (stdin and stdout are terminals): prompts are allowed. */
  interactive: boolean;
}

/** Texts that name pinned versions are built when shown, from the pins of the run. */
export type Text = string | ((pins: () => Versions) => string);

export interface CommandDef<F extends readonly FlagDef[] = readonly FlagDef[]> {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: Text;
  readonly usage: string;
  /** Text between the usage line and the flags. */
  readonly description?: Text;
  readonly flags: F;
  /** Text after the flags. */
  readonly footer?: string;
  /** The name of its positional arguments, when it takes any. */
  readonly positionals?: string;
  /** Runs the command; returns its exit code (errors are thrown, cli.ts maps them). */
  readonly run: (opts: OptionsOf<F>, ctx: Context, io: RunIo) => Promise<number>;
}

/** A command of the table, whatever its flags: `execute` turns parsed values into its typed options and runs it. */
export interface Command {
  readonly name: string;
  readonly summary: Text;
  readonly usage: string;
  readonly description?: Text;
  readonly flags: readonly FlagDef[];
  readonly footer?: string;
  readonly positionals?: string;
  readonly execute: (values: ParsedValues, positionals: string[], ctx: Context, io: RunIo) => Promise<number>;
}

/** A command with its typed options (the `const` parameter keeps every flag name and kind literal). */
export function defineCommand<const F extends readonly FlagDef[]>(def: CommandDef<F>): Command {
  return { ...def, execute: (values, positionals, ctx, io) => def.run(optionsOf(def, values, positionals), ctx, io) };
}

/** What the parser read: a flag's value (a list for a repeatable one), true for a switch. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

// --- shared flags -------------------------------------------------------------------------------------------------

export const REPO_FLAG = {
  flag: "repo",
  type: "string",
  value: "<dir>",
  help: "repository root (default: current directory)",
} as const satisfies StringFlag;

export const HELP_FLAG = {
  flag: "help",
  short: "h",
  type: "boolean",
  help: "this text",
} as const satisfies BooleanFlag;

export const INIT_FLAG = {
  flag: "init",
  type: "boolean",
  help:
    "start a new repository here (no capi-gitops.yaml yet); without it, a folder\n" +
    "without capi-gitops.yaml is refused (exit 2)",
} as const satisfies BooleanFlag;

/** `--branch` (its help says which branch) and `--push [remote]`, which implies it. */
export const branchFlags = (help: string) =>
  [
    { flag: "branch", type: "boolean", help },
    {
      flag: "push",
      type: "optional",
      value: "[remote]",
      default: "origin",
      help: "push that branch (default remote: origin); implies --branch",
    },
  ] as const satisfies readonly FlagDef[];

/** What `--branch` and `--push` ask for: a branch when either is given, pushed to the remote of --push. */
export const branchOf = (opts: { branch: boolean; push: string | undefined }) => ({
  branch: opts.branch || opts.push !== undefined,
  push: opts.push,
});

/** `--format`, one of `choices` (the first is the default). */
export const formatFlag = <const C extends string>(
  choices: readonly [C, ...C[]],
  help: string,
  invalid = `--format must be one of ${choices.join(", ")}`,
) =>
  ({
    flag: "format",
    type: "string",
    value: choices.join("|"),
    help,
    choices,
    default: choices[0],
    invalid,
  }) as const;

// --- parsing ------------------------------------------------------------------------------------------------------

/** Every command's flags, with --help. */
export const flagsOf = (c: Command): readonly FlagDef[] => [...c.flags, HELP_FLAG];

type ParserOptions = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs options derived from a command's flag table (an `optional` flag is a string, see withOptionalValues). */
function parserOptions(c: Command): ParserOptions {
  const options: ParserOptions = {};
  for (const f of flagsOf(c))
    options[f.flag] = {
      type: f.type === "boolean" ? "boolean" : "string",
      ...(f.type === "strings" ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
    };
  return options;
}

/**
 * An `optional` flag (`--push [remote]`) given without a value (end of line or another flag next) takes its default.
 */
function withOptionalValues(c: Command, args: string[]): string[] {
  const optional = new Map(c.flags.flatMap((f) => (f.type === "optional" ? [[`--${f.flag}`, f.default]] : [])));
  return args.flatMap((a, i) => {
    const fallback = optional.get(a);
    return fallback !== undefined && (args[i + 1]?.startsWith("-") ?? true) ? [a, fallback] : [a];
  });
}

/** One command's arguments against its flag table; a usage error names what is wrong. */
export function parseCommandLine(def: Command, raw: string[]): { values: ParsedValues; positionals: string[] } {
  const see = `\n\nSee: npm run ${def.name} -- --help`;
  const options = parserOptions(def);
  let parsed;
  try {
    parsed = parseArgs({
      args: withOptionalValues(def, raw),
      options,
      strict: true,
      allowPositionals: def.positionals !== undefined,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}${see}`);
  }
  // A single-value flag given twice would silently take the last value: refuse, naming the flag.
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== "option" || options[t.name]?.type !== "string" || options[t.name]?.multiple) continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? ""]);
  }
  for (const [name, given] of seen)
    if (given.length > 1) {
      const values = given.map((v) => JSON.stringify(truncate(v))).join(", ");
      throw new UsageError(`--${name} is given ${given.length} times (${values}); it takes one value — keep one${see}`);
    }
  for (const f of def.flags) {
    if (f.type !== "boolean" || !f.alone || parsed.values[f.flag] === undefined) continue;
    const other = def.flags.find((g) => g !== f && g.flag !== REPO_FLAG.flag && parsed.values[g.flag] !== undefined);
    if (other) throw new UsageError(`--${f.flag} ${f.alone}, so --${other.flag} cannot go with it${see}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** The option name of a flag: `dry-run` → `dryRun`. */
export const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The typed options of a parsed command line: booleans default to false, a flag with choices to its default, and a
 * value outside its choices is a usage error.
 */
export function optionsOf<F extends readonly FlagDef[]>(
  def: CommandDef<F>,
  values: ParsedValues,
  positionals: string[],
): OptionsOf<F> {
  const opts: Record<string, unknown> = { positionals };
  for (const f of def.flags) {
    const given = values[f.flag];
    if (f.type === "boolean") opts[camel(f.flag)] = given === true;
    else if (f.type === "string" && f.choices) {
      const value = typeof given === "string" ? given : f.default;
      if (!f.choices.some((c) => c === value)) throw new UsageError(f.invalid ?? `--${f.flag} is not valid`);
      opts[camel(f.flag)] = value;
    } else if (f.type === "strings")
      opts[camel(f.flag)] = Array.isArray(given) ? given.filter((v) => typeof v === "string") : undefined;
    else opts[camel(f.flag)] = typeof given === "string" ? given : undefined;
  }
  // The one place the flag table's types meet the parser's values: every key was set from that table above.
  return opts as OptionsOf<F>;
}
