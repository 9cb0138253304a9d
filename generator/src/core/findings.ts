/** Every validation layer (spec schema, kubeconform, our rules) reports findings of this one shape. */
import type { RuleId } from "./rules.js";

/**
 * `info`: a fact worth knowing (e.g. where a cluster is in its upgrade); never fails a run, not counted in the
 * summary.
 */
export type Severity = "error" | "warning" | "info";

export interface Finding {
  /** Cluster name, or undefined for repository-wide findings. */
  cluster?: string;
  /** Repository-relative file the finding is about. */
  file?: string;
  /** 1-based line in `file` where the finding's value is set, when known (GitHub annotations point there). */
  line?: number;
  /**
   * Field path inside the file or object, e.g. `spec.controlPlane.replicas` or
   * `KubeadmControlPlane/demo-control-plane:spec.replicas`.
   */
  path?: string;
  /** The rule or layer that produced it (core/rules.ts), e.g. `spec-schema`, `kubeconform`, `kcp-replicas-odd`. */
  rule: RuleId;
  severity: Severity;
  message: string;
}

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === "error");

export function formatFinding(f: Finding): string {
  const where = [f.file, f.path].filter(Boolean).join(" ");
  return `${f.severity}${f.cluster ? ` [${f.cluster}]` : ""}${where ? ` ${where}` : ""}: ${f.message} (${f.rule})`;
}

/** Longest value a message echoes in full; a longer one is cut to its first TRUNCATE_TO characters. */
export const ECHO_MAX = 200;
export const TRUNCATE_TO = 60;

/** A value as a message echoes it: in full up to ECHO_MAX characters, else its start and its length. */
export function truncate(value: string): string {
  return value.length > ECHO_MAX ? `${value.slice(0, TRUNCATE_TO)}…(${value.length} characters)` : value;
}

/** A value quoted for a message (JSON), cut by `truncate` when long. */
export const quote = (value: unknown): string =>
  typeof value === "string" && value.length > ECHO_MAX
    ? `${JSON.stringify(value.slice(0, TRUNCATE_TO))}…(${value.length} characters)`
    : truncate(JSON.stringify(value) ?? String(value));
