/**
 * capi-gitops-health (health/, built by `npm run setup`): the generated health checks for both GitOps engines —
 * Argo CD's Lua run the way Argo CD runs it, Flux's `healthCheckExprs` evaluated by Flux's own CEL library and kstatus.
 * `check` parses/compiles a HealthChecks set (exit 1 with problems is a result); `eval` says what each engine reports
 * for each object. One process per call; exit 2 is a ToolError.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ToolError, ToolUnavailableError } from "../core/errors.js";
import { isRecord, type K8sObject } from "../k8s/object.js";
import type { HealthChecks } from "../plan/health-checks.js";
import { TOOL_ROOT } from "../pins/versions.js";
import { admissionSourceHash } from "./admission.js";
import { envVarFor, resolveTool, TOOLS_BIN } from "./resolve.js";
import { parseJsonLines } from "./json-lines.js";
import { inheritedEnv, run, type Env } from "./run.js";

export const HEALTH = "capi-gitops-health";
/** The Go module of the program, in this repository (its own module: Flux's library needs k8s.io v0.36). */
export const HEALTH_DIR = path.join(TOOL_ROOT, "health");

export type HealthEngine = "argo" | "flux";

/** What `check` refuses: a script that does not compile, an expression Flux would not build, a bad key. */
export interface HealthProblem {
  engine: HealthEngine;
  /** `<group>_<Kind>` for Argo CD, `<apiVersion>/<Kind>` for Flux. */
  key: string;
  message: string;
}

/** Argo CD's health codes; "" when a script returns nil or an empty table (Argo CD shows no status). */
export const ARGO_STATUSES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown", ""] as const;
export type ArgoHealthStatus = (typeof ARGO_STATUSES)[number];
/** kstatus's statuses, as Flux's poller reports them (Unknown: the expression could not be evaluated). */
export const FLUX_STATUSES = ["Current", "InProgress", "Failed", "Terminating", "NotFound", "Unknown"] as const;
export type FluxHealthStatus = (typeof FLUX_STATUSES)[number];

export interface EngineStatus<S extends string> {
  status: S;
  message: string;
}

export interface HealthResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** null when the checks configure no Argo CD script for the kind (and built-ins were not asked for). */
  argo: EngineStatus<ArgoHealthStatus> | null;
  flux: EngineStatus<FluxHealthStatus>;
}

const isOneOf = <T extends string>(values: readonly T[], v: unknown): v is T =>
  typeof v === "string" && values.some((x) => x === v);

export const isHealthProblem = (v: unknown): v is HealthProblem =>
  isRecord(v) && isOneOf(["argo", "flux"], v.engine) && typeof v.key === "string" && typeof v.message === "string";

const isEngineStatus = <S extends string>(values: readonly S[], v: unknown): v is EngineStatus<S> =>
  isRecord(v) && isOneOf(values, v.status) && typeof v.message === "string";

export const isHealthResult = (v: unknown): v is HealthResult =>
  isRecord(v) &&
  typeof v.apiVersion === "string" &&
  typeof v.kind === "string" &&
  typeof v.namespace === "string" &&
  typeof v.name === "string" &&
  (v.argo === null || isEngineStatus(ARGO_STATUSES, v.argo)) &&
  isEngineStatus(FLUX_STATUSES, v.flux);

/** The stamp `npm run setup` writes beside the binary: admission/'s source rule (non-test *.go, go.mod, go.sum). */
export const healthSourceHash = (dir: string = HEALTH_DIR): string => admissionSourceHash(dir);

const hint =
  `run \`npm run setup\` (it builds health/ into .tools/bin/${HEALTH}), ` + `or point ${envVarFor(HEALTH)} at a binary`;

/** The binary: the env override, else .tools/bin (built from the current health/ sources), else PATH. */
export function healthBinary(env: Env = inheritedEnv()): string {
  const bin = resolveTool(HEALTH, env);
  if (bin === path.join(TOOLS_BIN, HEALTH) && !env[envVarFor(HEALTH)]) {
    let stamp = "";
    try {
      stamp = readFileSync(`${bin}.version`, "utf8").trim();
    } catch {
      // no stamp: treated as stale
    }
    if (stamp !== healthSourceHash())
      throw new ToolUnavailableError(`.tools/bin/${HEALTH} was not built from the current health/ sources — ${hint}`);
  }
  return bin;
}

export interface HealthOptions {
  cwd?: string;
  env?: Env;
  timeoutMs?: number;
}

export interface EvalHealthOptions extends HealthOptions {
  /** Kinds the checks have no Argo CD script for get Argo CD's built-in one (a real install's fallback). */
  argoBuiltin?: boolean;
  /** The argo-cd module directory for the built-ins (default: the program runs `go mod download`). */
  argoCdDir?: string;
}

/** `check`: the problems, in the program's order (Argo CD keys sorted, then Flux entries in order). */
export async function checkHealth(checks: HealthChecks, opts: HealthOptions = {}): Promise<HealthProblem[]> {
  const env = opts.env ?? inheritedEnv();
  const { stdout } = await run(healthBinary(env), ["check"], {
    cwd: opts.cwd ?? TOOL_ROOT,
    input: JSON.stringify(checks),
    env: { ...env },
    timeoutMs: opts.timeoutMs ?? 120_000,
    okExitCodes: [1],
    installHint: hint,
  });
  let out: unknown;
  try {
    out = JSON.parse(stdout);
  } catch {
    throw new ToolError(`${HEALTH} check printed no JSON: ${stdout.slice(0, 200)}`, HEALTH);
  }
  const problems = isRecord(out) ? out.problems : undefined;
  if (!Array.isArray(problems) || !problems.every(isHealthProblem))
    throw new ToolError(`${HEALTH} check printed an unexpected result: ${stdout.slice(0, 200)}`, HEALTH);
  return problems;
}

/** Parses `eval`'s JSON lines; anything else is a ToolError. */
export function parseHealthOutput(stdout: string): HealthResult[] {
  return parseJsonLines(stdout, HEALTH, isHealthResult);
}

/** `eval`: what Argo CD and Flux report for each object, one result per object in input order. */
export async function evalHealth(
  checks: HealthChecks,
  objects: readonly K8sObject[],
  opts: EvalHealthOptions = {},
): Promise<HealthResult[]> {
  const env = opts.env ?? inheritedEnv();
  const bin = healthBinary(env);
  const dir = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-health-"));
  try {
    const file = path.join(dir, "checks.json");
    await writeFile(file, JSON.stringify(checks));
    const args = ["eval", "--checks", file];
    if (opts.argoBuiltin) args.push("--argo-builtin");
    if (opts.argoCdDir) args.push("--argo-cd-dir", opts.argoCdDir);
    const { stdout } = await run(bin, args, {
      cwd: opts.cwd ?? TOOL_ROOT,
      input: objects.map((o) => JSON.stringify(o)).join("\n") + "\n",
      env: { ...env },
      timeoutMs: opts.timeoutMs ?? 300_000,
      installHint: hint,
    });
    const results = parseHealthOutput(stdout);
    if (results.length !== objects.length)
      throw new ToolError(`${HEALTH} eval printed ${results.length} results for ${objects.length} objects`, HEALTH);
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
