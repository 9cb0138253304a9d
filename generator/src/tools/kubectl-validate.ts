/**
 * kubectl-validate: evaluates the CRDs' CEL rules (x-kubernetes-validations) offline, which kubeconform ignores.
 * Run with no kubeconfig so it never tries a live cluster; --local-crds points at the pinned CRDs in .tools/crds.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { ToolError } from "../core/errors.js";
import { isRecord } from "../k8s/object.js";
import { CRDS_DIR, checkedTool, installHint } from "./resolve.js";
import { run, type Env } from "./run.js";

/** Native-kind schemas compiled into kubectl-validate v0.0.4 go up to 1.30; CRD (CEL) checks do not depend on it. */
export const NATIVE_SCHEMA_VERSION = "1.30";

export interface KubectlValidateStatus {
  status: "Success" | "Failure";
  message?: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

export const isKubectlValidateStatus = (v: unknown): v is KubectlValidateStatus =>
  isRecord(v) && (v.status === "Success" || v.status === "Failure");

/** The API group a CRD file of .tools/crds defines: `npm run setup` names it after the CRD, `<plural>.<group>.yaml`. */
const groupOfCrdFile = (file: string): string =>
  file
    .replace(/\.ya?ml$/, "")
    .split(".")
    .slice(1)
    .join(".");

/**
 * The folders of .tools/crds, or with `groups` only those defining a CRD of one of these API groups: loading every
 * pinned CRD (Argo CD, Flux, the operator, CAPI, CAPA: ~7 MB) is most of a kubectl-validate run (0.7 s of CPU for
 * one object, 0.1 s with the folders it needs), and an object's CEL rules are those of its own CRD.
 */
export function crdDirs(groups?: ReadonlySet<string>): string[] {
  if (!existsSync(CRDS_DIR)) throw new ToolError(`the pinned CRDs are not in .tools/crds — run \`npm run setup\``);
  return readdirSync(CRDS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(CRDS_DIR, e.name))
    .filter((dir) => !groups || readdirSync(dir).some((f) => groups.has(groupOfCrdFile(f))))
    .sort();
}

/** Returns, per file, one status per YAML document in file order. */
export async function kubectlValidate(
  files: readonly string[],
  opts: { cwd: string; env?: Env; groups?: ReadonlySet<string> },
): Promise<Record<string, KubectlValidateStatus[]>> {
  if (files.length === 0) return {};
  const dirs = crdDirs(opts.groups);
  const crds = dirs.length ? ["--local-crds", dirs.join(",")] : [];
  const args = [...files, ...crds, "--version", NATIVE_SCHEMA_VERSION, "-o", "json"];
  const { stdout } = await run(await checkedTool("kubectl-validate", opts.env), args, {
    cwd: opts.cwd,
    timeoutMs: 600_000,
    okExitCodes: [1],
    env: { KUBECONFIG: "/dev/null" },
    installHint: installHint("kubectl-validate"),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed)) {
    const out: Record<string, KubectlValidateStatus[]> = {};
    let ok = true;
    for (const [file, statuses] of Object.entries(parsed))
      if (Array.isArray(statuses) && statuses.every(isKubectlValidateStatus)) out[file] = statuses;
      else ok = false;
    if (ok) return out;
  }
  throw new ToolError(
    `kubectl-validate printed something that is not JSON: ${stdout.slice(0, 300)}`,
    "kubectl-validate",
  );
}
