/** The kubeconform binary: many files per process, its own worker pool, JSON output parsed into types here. */
import { checkedTool, installHint } from "./resolve.js";
import { run, type Env } from "./run.js";
import { ToolError } from "../core/errors.js";
import { get, isRecord } from "../k8s/object.js";

/** kubeconform's own per-resource record (`-output json`), as printed. */
export interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  msg: string;
  validationErrors?: { path: string; msg: string }[];
}

/**
 * A resource kubeconform did not accept: `invalid` (the schema rejected it; `errors` say where, with the JSON
 * pointer turned into a dotted field path) or `no-schema` (no schema for its kind and API version), or `error`
 * (anything else kubeconform could not do with it, e.g. a document that is not an object).
 */
export interface KubeconformVerdict {
  filename: string;
  kind: string;
  name: string;
  /** The resource's apiVersion. */
  apiVersion: string;
  verdict: "invalid" | "no-schema" | "error";
  /** kubeconform's message (for `invalid`, the errors are in `errors`). */
  message: string;
  errors: { field: string; message: string }[];
}

const isKubeconformResource = (r: unknown): r is KubeconformResource =>
  isRecord(r) &&
  ["filename", "kind", "name", "version", "status", "msg"].every((k) => typeof r[k] === "string") &&
  (r.validationErrors === undefined ||
    (Array.isArray(r.validationErrors) &&
      r.validationErrors.every((e) => typeof get(e, "path") === "string" && typeof get(e, "msg") === "string")));

/** A verdict as the cache keeps it (without its file name). */
export const isStoredVerdict = (v: unknown): v is Omit<KubeconformVerdict, "filename"> =>
  isRecord(v) &&
  typeof v.kind === "string" &&
  typeof v.name === "string" &&
  typeof v.apiVersion === "string" &&
  typeof v.verdict === "string" &&
  typeof v.message === "string" &&
  Array.isArray(v.errors);

/** `/spec/network/subnets/0` → `spec.network.subnets.0` (the field paths of findings). */
const dotted = (pointer: string): string => pointer.replace(/^\//, "").replace(/\//g, ".");

/**
 * kubeconform's `-output json` → the resources it did not accept. Older messages without `validationErrors` are
 * split at their ` - at '<pointer>': ` parts. Anything that is not its JSON is a ToolError.
 */
export function parseKubeconformOutput(stdout: string): KubeconformVerdict[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new ToolError(`kubeconform printed something that is not JSON: ${stdout.slice(0, 200)}`, "kubeconform");
  }
  const resources = get(parsed, "resources") ?? [];
  if (!Array.isArray(resources) || !resources.every(isKubeconformResource))
    throw new ToolError(`kubeconform printed JSON that is not its report: ${stdout.slice(0, 200)}`, "kubeconform");
  const out: KubeconformVerdict[] = [];
  for (const r of resources) {
    if (r.status === "statusValid" || r.status === "statusSkipped" || r.status === "statusEmpty") continue;
    const base = { filename: r.filename, kind: r.kind, name: r.name, apiVersion: r.version };
    if (r.status === "statusError" && /could not find schema/.test(r.msg)) {
      out.push({ ...base, verdict: "no-schema", message: r.msg, errors: [] });
      continue;
    }
    const errors = r.validationErrors?.length
      ? r.validationErrors.map((e) => ({ field: dotted(e.path), message: e.msg.trim() }))
      : r.msg
          .split(/\s+- at /)
          .slice(1)
          .flatMap((d) => {
            const [, field, message] = /^'([^']*)':\s*(.*)$/.exec(d.trim()) ?? [];
            return field === undefined || message === undefined
              ? []
              : [{ field: dotted(field), message: message.trim() }];
          });
    out.push({
      ...base,
      verdict: r.status === "statusInvalid" ? "invalid" : "error",
      message: r.msg,
      errors: errors.filter((e) => e.message !== "validation failed"),
    });
  }
  return out;
}

export interface KubeconformOptions {
  cwd: string;
  schemaLocation: string;
  workers: number;
  /** The environment the binary is found in (tools/resolve.ts). */
  env?: Env;
}

/** Validates `files` with -strict against one schema-location template; returns the resources that are not valid. */
export async function kubeconform(files: readonly string[], opts: KubeconformOptions): Promise<KubeconformVerdict[]> {
  if (files.length === 0) return [];
  const args = [
    "-strict",
    "-output",
    "json",
    "-schema-location",
    opts.schemaLocation,
    "-n",
    String(opts.workers),
    ...files,
  ];
  const { stdout } = await run(await checkedTool("kubeconform", opts.env), args, {
    cwd: opts.cwd,
    timeoutMs: 600_000,
    okExitCodes: [1],
    installHint: installHint("kubeconform"),
  });
  return parseKubeconformOutput(stdout);
}
