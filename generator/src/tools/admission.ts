/**
 * capi-gitops-admission (admission/, built by `npm run setup`): the upstream CAPI/CAPA admission run offline —
 * strict decode, CRD schema + defaults + CEL, v1beta1 → v1beta2 conversion, the upstream webhooks. One process per
 * call; objects on stdin (JSON documents), one JSON line per object out, parsed into types here. Exit 1 means some
 * object was denied (a result, not a failure); exit 2 is a ToolError.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ToolUnavailableError } from "../core/errors.js";
import { isRecord } from "../k8s/object.js";
import { TOOL_ROOT } from "../pins/versions.js";
import { CRDS_DIR, envVarFor, resolveTool, TOOLS_BIN } from "./resolve.js";
import { parseJsonLines } from "./json-lines.js";
import { inheritedEnv, run, type Env } from "./run.js";

export const ADMISSION = "capi-gitops-admission";
/** The Go module of the program, in this repository. */
export const ADMISSION_DIR = path.join(TOOL_ROOT, "admission");
/** The CRD folders (of .tools/crds) the program admits against: the ones its Go types belong to. */
export const ADMISSION_CRDS = ["cluster-api", "cluster-api-provider-aws"] as const;

export type AdmissionStage = "decode" | "schema" | "cel" | "conversion" | "webhook" | "skipped";
export const ADMISSION_STAGES = ["decode", "schema", "cel", "conversion", "webhook"] as const;

export interface AdmissionResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  cluster: string;
  file: string;
  operation: "CREATE" | "UPDATE";
  allowed: boolean;
  /** Where it was denied; "webhook" when every stage passed, "skipped" for kinds outside CAPI/CAPA. */
  stage: AdmissionStage;
  messages: { field: string; message: string }[];
  warnings?: string[];
}

/** A result as the program prints it (and the cache keeps it). */
export const isAdmissionResult = (v: unknown): v is AdmissionResult =>
  isRecord(v) &&
  typeof v.kind === "string" &&
  typeof v.allowed === "boolean" &&
  typeof v.stage === "string" &&
  Array.isArray(v.messages);

/**
 * sha256 of what the binary is built from (admission/*.go and its packages' *.go, go.mod, go.sum; not tests, not
 * testdata): the stamp `npm run setup` writes.
 */
export function admissionSourceHash(dir: string = ADMISSION_DIR): string {
  const h = createHash("sha256");
  const names = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => f.split(path.sep).join("/"))
    .filter(
      (f) =>
        !f.startsWith("testdata/") &&
        ((f.endsWith(".go") && !f.endsWith("_test.go")) || f === "go.mod" || f === "go.sum"),
    )
    .sort();
  for (const f of names)
    h.update(
      `${f}\0${createHash("sha256")
        .update(readFileSync(path.join(dir, f)))
        .digest("hex")}\0`,
    );
  return h.digest("hex");
}

const hint =
  `run \`npm run setup\` (it builds admission/ into .tools/bin/${ADMISSION}), ` +
  `or point ${envVarFor(ADMISSION)} at a binary`;

/**
 * The binary: the env override, else .tools/bin (which must be built from the current admission/ sources), else PATH.
 */
export function admissionBinary(env: Env = inheritedEnv()): string {
  const bin = resolveTool(ADMISSION, env);
  if (bin === path.join(TOOLS_BIN, ADMISSION) && !env[envVarFor(ADMISSION)]) {
    let stamp = "";
    try {
      stamp = readFileSync(`${bin}.version`, "utf8").trim();
    } catch {
      // no stamp: treated as stale
    }
    if (stamp !== admissionSourceHash())
      throw new ToolUnavailableError(
        `.tools/bin/${ADMISSION} was not built from the current admission/ sources — ${hint}`,
      );
  }
  return bin;
}

/** The program, passed in (`admit` below, or a stand-in in tests). */
export type Admit = (input: string, opts: AdmitOptions) => Promise<AdmissionResult[]>;

export interface AdmitOptions {
  cwd: string;
  /** The previous render (a file of YAML/JSON documents): objects found in it are admitted as UPDATE. */
  oldFile?: string;
  /** Stages switched off (tests only: to show what each stage catches). */
  disableStages?: readonly (typeof ADMISSION_STAGES)[number][];
  workers?: number;
  timeoutMs?: number;
  env?: Env;
}

/** The program's arguments (CRDs from .tools/crds, as the other CRD layers use). */
export function admissionArgs(opts: Omit<AdmitOptions, "cwd" | "env" | "timeoutMs">): string[] {
  const args = ADMISSION_CRDS.flatMap((d) => ["--crds", path.join(CRDS_DIR, d)]);
  if (opts.oldFile) args.push("--old", opts.oldFile);
  if (opts.disableStages?.length) args.push("--disable-stages", opts.disableStages.join(","));
  if (opts.workers) args.push("--workers", String(opts.workers));
  return args;
}

/** Parses the program's JSON lines; anything else is a ToolError. */
export function parseAdmissionOutput(stdout: string): AdmissionResult[] {
  return parseJsonLines(stdout, ADMISSION, isAdmissionResult, (r) => {
    if (isRecord(r)) r.messages ??= [];
  });
}

/**
 * Admits `input` (a YAML stream, or JSON objects one per line) in one process; one result per document, in input order.
 */
export async function admit(input: string, opts: AdmitOptions): Promise<AdmissionResult[]> {
  const env = opts.env ?? inheritedEnv();
  const { stdout } = await run(admissionBinary(env), admissionArgs(opts), {
    cwd: opts.cwd,
    input,
    env: { ...env },
    timeoutMs: opts.timeoutMs ?? 600_000,
    okExitCodes: [1],
    installHint: hint,
  });
  return parseAdmissionOutput(stdout);
}
