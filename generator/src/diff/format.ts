/**
 * The diff report as plain text (terminal, CI log) or Markdown (a pull-request comment). Pure and deterministic:
 * clusters by name, objects by kind/namespace/name, no paths outside the repository, no times, no commit ids.
 */
import type { Finding } from "../core/findings.js";
import { GROUP } from "../k8s/capi.js";
import { labelOf, type ObjectChange } from "./objects.js";
import { ringsMermaid, type ClusterPicture, type Pictures } from "./picture.js";

export type ClusterStatus = "changed" | "new" | "removed" | "unchanged" | "failed";

export interface ClusterReport {
  cluster: string;
  status: ClusterStatus;
  /** The cluster's ring, when capi-gitops.yaml declares two rings or more (diff/rings.ts). */
  ring?: string;
  changes: ObjectChange[];
  /** Flags and build failures of this cluster. */
  findings: Finding[];
}

export interface DiffReport {
  /** The base revision as the user named it. */
  base: string;
  clusters: ClusterReport[];
  /** The management folders (`cluster` holds the folder, e.g. management/sync), when the change touches them. */
  management?: ClusterReport[];
  /** With two rings or more: the rings the change reaches (in ring order) and the flags on them (diff/rings.ts). */
  rings?: { reached: RingReach[]; findings: Finding[] };
  /** The touched clusters drawn from their render, and their rings (Markdown only; diff/picture.ts). */
  pictures?: Pictures;
}

/** A ring a change reaches and its clusters whose render changes. */
export interface RingReach {
  ring: string;
  clusters: string[];
}

/** `rings: canary (a), main (b, c)`, or undefined without rings. */
const ringsLine = (report: DiffReport, q: (s: string) => string = (s) => s): string | undefined =>
  report.rings
    ? `rings: ${report.rings.reached.map((r) => `${r.ring} (${r.clusters.map(q).join(", ")})`).join(", ") || "none"}`
    : undefined;
const ringNote = (r: ClusterReport) => (r.ring === undefined ? "" : ` (ring ${r.ring})`);

/** The management folders with something to show. */
const managementShown = (report: DiffReport) =>
  (report.management ?? []).filter((m) => m.status !== "unchanged" || m.findings.length);

export const counts = (r: ClusterReport) => ({
  added: r.changes.filter((c) => c.type === "added").length,
  removed: r.changes.filter((c) => c.type === "removed").length,
  changed: r.changes.filter((c) => c.type === "changed").length,
});

const STATUS_NOTE: Record<ClusterStatus, string> = {
  changed: "",
  new: " (new cluster)",
  // Every generated object carries Prune=false,Delete=false (Argo CD) / prune: disabled (Flux), the ApplicationSet
  // preserves resources on deletion and Flux orphans them: removing the directory deletes nothing (README "Deleting a
  // cluster").
  removed:
    " (removed from Git: the sync deletes nothing, every object below stays on the management cluster " +
    "and the cluster keeps running; delete it with `kubectl delete cluster.cluster.x-k8s.io/<name> -n " +
    '<namespace>`, see README "Deleting a cluster")',
  unchanged: "",
  failed: " (not compared: a build failed)",
};

/** The status note, with the removed cluster's own delete command when its Cluster object is known. */
function statusNote(r: ClusterReport): string {
  const note = STATUS_NOTE[r.status];
  if (r.status !== "removed") return note;
  const c = r.changes.find((x) => x.type === "removed" && x.id.kind === "Cluster" && x.id.group === GROUP.core);
  return c ? note.replace("<name>", c.id.name).replace("<namespace>", c.id.namespace) : note;
}

/** Flags: the findings that need a look (an `info` line, e.g. the upgrade step, explains and is not counted). */
const flagged = (r: ClusterReport) => r.findings.filter((f) => f.severity !== "info").length;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The one line for a report without changes, or undefined when there is something to show. */
function nothingLine(report: DiffReport): string | undefined {
  if (managementShown(report).length) return undefined;
  if (report.clusters.length === 0)
    return report.management?.length
      ? "no cluster affected; the management folders render the same"
      : "no cluster affected";
  const shown = report.clusters.filter((c) => c.status !== "unchanged" || c.findings.length);
  if (shown.length) return undefined;
  const names = report.clusters.map((c) => c.cluster);
  return (
    `no cluster affected: the ${plural(names.length, "cluster")} reading the changed files ` +
    `render${names.length === 1 ? "s" : ""} the same (${names.join(", ")})`
  );
}

const replaces = (c: ObjectChange) => (c.pairedWith ? ` (replaces <code>${html(c.pairedWith.name)}</code>)` : "");

function changeLine(c: ObjectChange, q: (s: string) => string = (s) => s): string {
  const label = q(labelOf(c.id));
  if (c.type === "added") return `added ${label}${c.pairedWith ? ` (replaces ${q(c.pairedWith.name)})` : ""}`;
  if (c.type === "removed") return `removed ${label}${c.pairedWith ? ` (replaced by ${q(c.pairedWith.name)})` : ""}`;
  return `changed ${label}`;
}

const findingWhere = (f: Finding) => [f.path, f.file && `(${f.file})`].filter(Boolean).join(" ");

function summaryLine(report: DiffReport): string {
  const changed = report.clusters.filter((c) => c.status !== "unchanged").length;
  const folders = managementShown(report);
  const total =
    [...report.clusters, ...folders].reduce((n, c) => n + flagged(c), 0) +
    (report.rings?.findings.filter((f) => f.severity !== "info").length ?? 0);
  const mgmt = folders.length
    ? `, ${plural(folders.length, "management folder")} (${folders.map((f) => f.cluster).join(", ")})`
    : "";
  return `${plural(changed, "cluster")}${mgmt} changed against ${report.base}, ${total} flagged`;
}

/** A management folder's status note. */
const FOLDER_NOTE: Record<ClusterStatus, string> = {
  changed: "",
  new: " (new)",
  removed: " (removed from Git)",
  unchanged: "",
  failed: " (not compared: a build failed)",
};

export function formatText(report: DiffReport): string {
  const none = nothingLine(report);
  // The rings' notes still show when no cluster changes (a base/ change not yet released reaches none).
  const notes = (report.rings?.findings ?? []).map((f) => `  ${f.severity} ${f.rule} ${findingWhere(f)}: ${f.message}`);
  if (none) return [none, ...notes, ""].join("\n");
  const out: string[] = [summaryLine(report)];
  const rings = ringsLine(report);
  if (rings) out.push(rings);
  out.push(...notes);
  const section = (r: ClusterReport, head: string) => {
    const n = counts(r);
    out.push("", `${head}: ${n.added} added, ${n.removed} removed, ${n.changed} changed, ${flagged(r)} flagged`);
    for (const f of r.findings) out.push(`  ${f.severity} ${f.rule} ${findingWhere(f)}: ${f.message}`);
    for (const c of r.changes) {
      out.push(`  ${changeLine(c)}`);
      // Whole added objects are left to the Markdown report; a paired addition shows what differs from its predecessor.
      if (c.type === "changed" || (c.type === "added" && c.pairedWith))
        out.push(
          ...c.patch
            .trimEnd()
            .split("\n")
            .map((l) => `    ${l}`),
        );
    }
  };
  for (const r of report.clusters)
    if (r.status !== "unchanged" || r.findings.length) section(r, `cluster ${r.cluster}${ringNote(r)}${statusNote(r)}`);
  for (const r of managementShown(report)) section(r, `${r.cluster}${FOLDER_NOTE[r.status]}`);
  const same = report.clusters.filter((c) => c.status === "unchanged" && c.findings.length === 0).map((c) => c.cluster);
  if (same.length) out.push("", `rendered the same: ${same.join(", ")}`);
  return out.join("\n") + "\n";
}

const html = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

/** A fence longer than any backtick run inside the block. */
function fence(body: string): string {
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/** A cluster's picture under its heading, with what differs from the base said in words too. */
function pictureLines(p: ClusterPicture): string[] {
  const out = ["**Picture** (drawn from the render)", "", "```mermaid", p.mermaid, "```", ""];
  if (p.changed.length)
    out.push(`Thick red border: differs from the base render (${p.changed.map(code).join(", ")}).`, "");
  if (p.gone.length) out.push(`Gone from the render: ${p.gone.map(code).join(", ")}.`, "");
  return out;
}

/** At most this many names of the clusters not drawn (a pull request may touch the whole fleet). */
const NAMES_LISTED = 30;

/** The pictures' preamble: the rings picture, and the touched clusters too many to draw. */
function picturesPreamble(report: DiffReport): string[] {
  const out: string[] = [];
  const rings = report.pictures?.rings;
  if (rings?.clusters.length)
    out.push(
      "",
      "### Rings this change reaches",
      "",
      "In rollout order; a thick red border: a ring with a touched cluster.",
      "",
      "```mermaid",
      ringsMermaid(rings),
      "```",
    );
  const left = report.pictures?.notDrawn ?? [];
  const named = left.slice(0, NAMES_LISTED).map(code).join(", ");
  const rest = left.length > NAMES_LISTED ? `, … ${left.length - NAMES_LISTED} more` : "";
  if (left.length)
    out.push(
      "",
      `Pictures: ${plural(report.pictures?.clusters.length ?? 0, "cluster")} drawn; ` +
        `${plural(left.length, "more touched cluster")} not drawn (${named}${rest}).`,
    );
  return out;
}

export function formatMarkdown(report: DiffReport): string {
  const none = nothingLine(report);
  const notes = (report.rings?.findings ?? []).map(
    (f) => `- **${f.severity}** ${code(f.rule)}${f.file ? ` in ${code(f.file)}` : ""}: ${f.message}`,
  );
  if (none) return [none, ...(notes.length ? ["", ...notes] : []), ""].join("\n");
  const clusters = report.clusters.filter((c) => c.status !== "unchanged" || c.findings.length);
  const folders = managementShown(report);
  const shown = [...clusters, ...folders];
  const isFolder = (r: ClusterReport) => folders.includes(r);
  const out: string[] = [`## Cluster changes against ${code(report.base)}`, "", summaryLine(report) + ".", ""];
  const rings = ringsLine(report, code);
  if (rings) {
    out.push(`**Rings** ${rings.slice("rings: ".length)}.`, "");
    out.push(...notes);
    if (notes.length) out.push("");
  }
  out.push("| cluster | added | removed | changed | flagged |", "| --- | ---: | ---: | ---: | ---: |");
  for (const r of shown) {
    const n = counts(r);
    const note = isFolder(r) ? FOLDER_NOTE[r.status] : STATUS_NOTE[r.status];
    out.push(
      `| ${code(r.cluster)}${note ? ` ${r.status}` : ""} | ${n.added} | ${n.removed} | ${n.changed} | ${flagged(r)} |`,
    );
  }
  out.push(...picturesPreamble(report));
  for (const r of shown) {
    out.push("", `### ${code(r.cluster)}${isFolder(r) ? FOLDER_NOTE[r.status] : ringNote(r) + statusNote(r)}`, "");
    const picture = isFolder(r) ? undefined : report.pictures?.clusters.find((p) => p.cluster === r.cluster);
    if (picture) out.push(...pictureLines(picture));
    if (r.findings.length) {
      out.push(flagged(r) ? "**Flagged**" : "**Notes**", "");
      for (const f of r.findings)
        out.push(
          `- **${f.severity}** ` +
            `${code(f.rule)}${f.path ? ` ${code(f.path)}` : ""}${f.file ? ` in ${code(f.file)}` : ""}: ` +
            `${f.message}`,
        );
      out.push("");
    }
    if (r.changes.length) {
      out.push("**Objects**", "");
      for (const c of r.changes) out.push(`- ${changeLine(c, code)}`);
      for (const c of r.changes) {
        if (!c.patch) continue;
        const f = fence(c.patch);
        out.push(
          "",
          `<details><summary>${c.type} <code>${html(labelOf(c.id))}</code>${replaces(c)}</summary>`,
          "",
          `${f}diff`,
          c.patch.trimEnd(),
          f,
          "",
          "</details>",
        );
      }
    }
  }
  const same = report.clusters
    .filter((c) => c.status === "unchanged" && c.findings.length === 0)
    .map((c) => code(c.cluster));
  if (same.length) out.push("", `Rendered the same: ${same.join(", ")}.`);
  return out.join("\n") + "\n";
}
