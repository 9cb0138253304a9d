/** Rendering findings: text grouped by cluster, JSON, or GitHub workflow annotations. */
import type { Finding } from "../core/findings.js";

export const FORMATS = ["text", "json", "github"] as const;
export type Format = (typeof FORMATS)[number];

export interface Summary {
  clusters: number;
  errors: number;
  warnings: number;
}

const sortKey = (f: Finding) => [f.cluster ?? "", f.file ?? "", f.path ?? "", f.rule, f.message].join("\0");
export const sortFindings = (fs: Finding[]): Finding[] =>
  [...fs].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));

/** GitHub annotation escaping (workflow-commands: %, \r, \n in data; also , and : in properties). */
const escData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escProp = (s: string) => escData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export function formatFindings(findings: Finding[], format: Format, summary: Summary): string {
  const sorted = sortFindings(findings);
  if (format === "json") return JSON.stringify({ summary, findings: sorted }, null, 2);
  if (format === "github") {
    const lines = sorted.map((f) => {
      const props = [
        f.file ? `file=${escProp(f.file)}` : undefined,
        f.file && f.line ? `line=${f.line}` : undefined,
        `title=${escProp(`${f.rule}${f.cluster ? ` [${f.cluster}]` : ""}`)}`,
      ]
        .filter(Boolean)
        .join(",");
      return (
        `::${f.severity === "error" ? "error" : f.severity === "info" ? "notice" : "warning"} ` +
        `${props}::${escData(`${f.path ? `${f.path}: ` : ""}${f.message}`)}`
      );
    });
    lines.push(`${summary.clusters} cluster(s): ${summary.errors} error(s), ${summary.warnings} warning(s)`);
    return lines.join("\n");
  }
  const out: string[] = [];
  let current: string | undefined = "\0";
  for (const f of sorted) {
    if (f.cluster !== current) {
      current = f.cluster;
      out.push(current ? `cluster ${current}:` : "repository:");
    }
    const where = [f.file && f.line ? `${f.file}:${f.line}` : f.file, f.path].filter(Boolean).join(" ");
    out.push(`  ${f.severity}: ${where}${f.file || f.path ? ": " : ""}${f.message} (${f.rule})`);
  }
  out.push(`${summary.clusters} cluster(s): ${summary.errors} error(s), ${summary.warnings} warning(s)`);
  return out.join("\n");
}
