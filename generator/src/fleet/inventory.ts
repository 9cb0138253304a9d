/**
 * The fleet at a glance (`npm run inventory`), pure: the specs, the pins and (optionally) validate's findings in, one
 * entry per cluster out, rendered as text, Markdown (a table for a PR comment or a wiki) or JSON. The JSON shape is
 * `Inventory` below, documented in README ("Fleet inventory") and kept stable: fields are only ever added.
 */
import { addonKubernetesVersion } from "../plan/addon-version.js";
import type { Finding } from "../findings.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { clusterAddons, minorOf } from "../plan/addons.js";
import { autoscales } from "../plan/autoscaler.js";
import { describeUpgradeState, specVersions, upgradeState } from "../plan/upgrade.js";
import type { Pins } from "../versions.js";

export const INVENTORY_FORMATS = ["text", "markdown", "json"] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];
/** The JSON document's `schema`: bumped only if a field changes meaning or goes away. */
export const INVENTORY_SCHEMA = "capi-gitops.io/inventory/v1";

export interface InventoryPool {
  name: string;
  instanceType: string;
  availabilityZones: string[];
  autoscaling: boolean;
  minSize: number;
  maxSize: number;
  /** Fixed size (autoscaling off), else null. */
  replicas: number | null;
  /** The kubelet version the pool runs. */
  version: string;
}

export interface InventoryFinding {
  severity: Finding["severity"];
  rule: string;
  file: string | null;
  path: string | null;
  message: string;
}

export interface InventoryCluster {
  name: string;
  namespace: string;
  region: string;
  availabilityZones: string[];
  profile: string;
  workers: string;
  controlPlane: { version: string; replicas: number; instanceType: string };
  pools: InventoryPool[];
  vpcCidr: string;
  /** Add-on versions (`null`: not installed from Git): CNI, cloud-controller-manager, EBS CSI driver, cluster-autoscaler image tag. */
  addons: { cni: string | null; ccm: string | null; csi: string | null; clusterAutoscaler: string | null };
  upgrade: { stage: "current" | "pools-behind"; summary: string };
  /** validate's findings on this cluster (errors and warnings), or null when validate did not run (--no-validate). */
  validation: { errors: number; warnings: number; findings: InventoryFinding[] } | null;
}

export interface Inventory {
  schema: typeof INVENTORY_SCHEMA;
  clusters: InventoryCluster[];
  /** Cluster directories whose cluster.yaml does not load, with the reasons. */
  unreadable: { name: string; findings: InventoryFinding[] }[];
}

const toItem = (f: Finding): InventoryFinding => ({ severity: f.severity, rule: f.rule, file: f.file ?? null, path: f.path ?? null, message: f.message });

/** The inventory of `specs`; `findings` (validate's, or undefined when it did not run) are sorted onto their clusters. */
export function buildInventory(specs: readonly ClusterSpec[], pins: Pick<Pins, "addons" | "clusterAutoscaler">, findings: readonly Finding[] | undefined, unreadable: readonly { name: string; findings: Finding[] }[] = []): Inventory {
  const clusters = [...specs]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s): InventoryCluster => {
      const v = specVersions(s);
      const addons = clusterAddons(s, pins.addons);
      const addon = (role: string) => {
        const a = addons.find((x) => x.role === role);
        return a ? `${a.name} ${a.version}` : null;
      };
      const mine = findings?.filter((f) => f.cluster === s.name && f.severity !== "info");
      return {
        name: s.name,
        namespace: s.namespace,
        region: s.region,
        availabilityZones: [...s.availabilityZones],
        profile: s.profile,
        workers: s.workers,
        controlPlane: { version: s.kubernetesVersion, replicas: s.controlPlane.replicas, instanceType: s.controlPlane.instanceType },
        pools: s.nodePools.map((p, i) => ({
          name: p.name,
          instanceType: p.instanceType,
          availabilityZones: [...p.availabilityZones],
          autoscaling: Boolean(p.autoscaling),
          minSize: p.minSize,
          maxSize: p.maxSize,
          replicas: p.autoscaling ? null : (p.replicas ?? p.minSize),
          version: v.pools[i]!.version,
        })),
        vpcCidr: s.network.vpcCidr,
        addons: { cni: addon("cni"), ccm: addon("ccm"), csi: addon("csi"), clusterAutoscaler: autoscales(s) ? (pins.clusterAutoscaler.byMinor[minorOf(addonKubernetesVersion(s))] ?? null) : null },
        upgrade: { stage: upgradeState(s).stage, summary: describeUpgradeState(s) },
        validation: mine
          ? { errors: mine.filter((f) => f.severity === "error").length, warnings: mine.filter((f) => f.severity === "warning").length, findings: mine.map(toItem) }
          : null,
      };
    });
  return { schema: INVENTORY_SCHEMA, clusters, unreadable: unreadable.map((u) => ({ name: u.name, findings: u.findings.map(toItem) })) };
}

const zoneLetters = (zones: readonly string[], region: string) => zones.map((z) => (z.startsWith(region) ? z.slice(region.length) : z)).join(",");
const size = (p: InventoryPool) => (p.autoscaling ? `${p.minSize}..${p.maxSize} (autoscaled)` : `${p.replicas} replicas`);
const addonsLine = (c: InventoryCluster) =>
  [c.addons.cni, c.addons.ccm, c.addons.csi, c.addons.clusterAutoscaler ? `cluster-autoscaler ${c.addons.clusterAutoscaler}` : null].filter(Boolean).join(", ") || "none";
const validationLine = (c: InventoryCluster) => (c.validation ? `${c.validation.errors} error(s), ${c.validation.warnings} warning(s)` : "not checked (--no-validate)");

export function formatInventory(inv: Inventory, format: InventoryFormat): string {
  if (format === "json") return JSON.stringify(inv, null, 2);
  if (format === "markdown") return markdown(inv);
  const out: string[] = [];
  for (const c of inv.clusters) {
    out.push(`${c.name}  namespace ${c.namespace}, ${c.region} (${zoneLetters(c.availabilityZones, c.region)}), profile ${c.profile}, ${c.workers}, VPC ${c.vpcCidr}`);
    out.push(`  control plane   ${c.controlPlane.version}  ${c.controlPlane.replicas} × ${c.controlPlane.instanceType}`);
    for (const p of c.pools) out.push(`  pool ${p.name.padEnd(10)} ${p.version}  ${p.instanceType}, zones ${zoneLetters(p.availabilityZones, c.region)}, ${size(p)}`);
    out.push(`  add-ons         ${addonsLine(c)}`);
    out.push(`  upgrade         ${c.upgrade.summary}`);
    out.push(`  validate        ${validationLine(c)}`);
    for (const f of c.validation?.findings ?? []) out.push(`    ${f.severity}: ${[f.file, f.path].filter(Boolean).join(" ")}${f.file || f.path ? ": " : ""}${f.message} (${f.rule})`);
    out.push("");
  }
  for (const u of inv.unreadable) {
    out.push(`${u.name}  cluster.yaml does not load:`);
    for (const f of u.findings) out.push(`    ${f.severity}: ${[f.file, f.path].filter(Boolean).join(" ")}: ${f.message} (${f.rule})`);
    out.push("");
  }
  out.push(`${inv.clusters.length} cluster(s)${inv.unreadable.length ? `, ${inv.unreadable.length} unreadable` : ""}`);
  return out.join("\n");
}

/** A Markdown table cell: pipes escaped, line breaks as <br>. */
const cell = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, "<br>");

function markdown(inv: Inventory): string {
  const head = ["cluster", "namespace", "region", "zones", "profile", "control plane", "pools", "workers", "VPC CIDR", "add-ons", "upgrade", "validate"];
  const rows = inv.clusters.map((c) => [
    `\`${c.name}\``,
    c.namespace,
    c.region,
    zoneLetters(c.availabilityZones, c.region),
    c.profile,
    `${c.controlPlane.version}, ${c.controlPlane.replicas} × ${c.controlPlane.instanceType}`,
    c.pools.map((p) => `${p.name}: ${p.version}, ${p.instanceType}, ${zoneLetters(p.availabilityZones, c.region)}, ${size(p)}`).join("\n"),
    c.workers,
    c.vpcCidr,
    addonsLine(c),
    c.upgrade.stage === "current" ? "current" : c.upgrade.summary,
    validationLine(c),
  ]);
  const out = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
  const noted = inv.clusters.filter((c) => c.validation?.findings.length);
  if (noted.length) {
    out.push("", "**validate**", "");
    for (const c of noted) for (const f of c.validation!.findings) out.push(`- \`${c.name}\` **${f.severity}** \`${f.rule}\`${f.path ? ` \`${f.path}\`` : ""}: ${f.message.replace(/\n/g, " ")}`);
  }
  if (inv.unreadable.length) {
    out.push("", "**cluster.yaml does not load**", "");
    for (const u of inv.unreadable) for (const f of u.findings) out.push(`- \`${u.name}\` \`${f.rule}\`${f.path ? ` \`${f.path}\`` : ""}: ${f.message.replace(/\n/g, " ")}`);
  }
  out.push("", `${inv.clusters.length} cluster(s)${inv.unreadable.length ? `, ${inv.unreadable.length} unreadable` : ""}.`);
  return out.join("\n");
}
