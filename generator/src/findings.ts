/** Every validation layer (spec schema, kubeconform, our rules) reports findings of this one shape. */
export type Severity = "error" | "warning";

export interface Finding {
  /** Cluster name, or undefined for repository-wide findings. */
  cluster?: string;
  /** Repository-relative file the finding is about. */
  file?: string;
  /** Field path inside the file or object, e.g. `spec.controlPlane.replicas` or `KubeadmControlPlane/demo-control-plane:spec.replicas`. */
  path?: string;
  /** Short id of the rule or layer that produced it, e.g. `spec-schema`, `kubeconform`, `kcp-replicas-odd`. */
  rule: string;
  severity: Severity;
  message: string;
}

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === "error");

export function formatFinding(f: Finding): string {
  const where = [f.file, f.path].filter(Boolean).join(" ");
  return `${f.severity}${f.cluster ? ` [${f.cluster}]` : ""}${where ? ` ${where}` : ""}: ${f.message} (${f.rule})`;
}
