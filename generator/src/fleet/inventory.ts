/**
 * The fleet at a glance (`npm run inventory`), pure: the specs, the pins and (optionally) validate's findings in, one
 * entry per cluster out, rendered as text, Markdown (a table for a PR comment or a wiki) or JSON. The JSON shape is
 * `Inventory` below, documented in README ("Fleet inventory") and kept stable: fields are only ever added.
 */
import { clusterKustomizationPath } from "../core/layout.js";
import { addonKubernetesVersion } from "../plan/addon-version.js";
import type { Finding } from "../core/findings.js";
import { capacityOf, type ClusterSpec } from "../cluster-spec/types.js";
import type { RepoConfig } from "../cluster-spec/config.js";
import { clusterRing } from "../cluster-spec/rollout.js";
import { clusterAddons, minorOf } from "../plan/addons.js";
import { autoscales } from "../plan/autoscaler.js";
import { identityAccount } from "../plan/identity.js";
import { describeUpgradeState, specVersions, upgradeState } from "../plan/upgrade.js";
import type { Pins } from "../pins/versions.js";
import type { K8sObject } from "../k8s/object.js";
import { type AppliedPool, appliedOf } from "./applied.js";

export const INVENTORY_FORMATS = ["text", "markdown", "json"] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];
/** The JSON document's `schema`: bumped only if a field changes meaning or goes away. */
export const INVENTORY_SCHEMA = "capi-gitops.io/inventory/v1";

/** A pool as the render applies it (fleet/applied.ts), under its spec name. */
export interface InventoryPool extends AppliedPool {
  name: string;
}

/**
 * A field whose applied value (the render's) differs from cluster.yaml's: a patch in the cluster's own layer set it.
 */
export interface InventoryPatched {
  field: string;
  spec: unknown;
  applied: unknown;
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
  /** The ring a change reaches this cluster in (cluster.yaml `rollout.ring`, default the last ring). */
  ring: string;
  workers: string;
  /** As the render applies it (null: the render has no KubeadmControlPlane); from cluster.yaml with --no-validate. */
  controlPlane: { version: string | null; replicas: number | null; instanceType: string | null } | null;
  /** As the render applies them (a pool the render lacks is left out and listed in render.missing). */
  pools: InventoryPool[];
  vpcCidr: string;
  /**
   * The AWS account CAPA acts in for the cluster: its own credentials (`controller`, account null: the management
   * cluster's), a role it assumes (`role`, ref: the role ARN) or static credentials (`static`, ref: the Secret).
   */
  identity: { kind: "controller" | "role" | "static"; account: string | null; ref: string | null };
  /** How operators reach the machines, and how the management cluster reaches an internal API. */
  access: { mode: string; apiScheme: string; managementConnection: string | null };
  /**
   * Add-on versions (`null`: not installed from Git): CNI, cloud-controller-manager, EBS CSI driver,
   * cluster-autoscaler image tag.
   */
  addons: {
    cni: string | null;
    ccm: string | null;
    csi: string | null;
    clusterAutoscaler: string | null;
    /** The NVIDIA device plugin (clusters with a GPU pool). */
    gpu: string | null;
  };
  upgrade: { stage: "current" | "pools-behind"; summary: string };
  /**
   * The render (`kustomize build clusters/<name>`) the values above come from: its object count, what it lacks of
   * the cluster (Cluster, AWSCluster, KubeadmControlPlane, `pool <name>`), and the fields a patch changed from
   * cluster.yaml. null with --no-validate (nothing rendered: the values are cluster.yaml's).
   */
  render: { objects: number; missing: string[]; patched: InventoryPatched[] } | null;
  /** validate's findings on this cluster (errors and warnings), or null when validate did not run (--no-validate). */
  validation: { errors: number; warnings: number; findings: InventoryFinding[] } | null;
}

export interface Inventory {
  schema: typeof INVENTORY_SCHEMA;
  clusters: InventoryCluster[];
  /** Cluster directories whose cluster.yaml does not load, with the reasons. */
  unreadable: { name: string; findings: InventoryFinding[] }[];
}

const toItem = (f: Finding): InventoryFinding => ({
  severity: f.severity,
  rule: f.rule,
  file: f.file ?? null,
  path: f.path ?? null,
  message: f.message,
});

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The inventory of `specs`; `findings` (validate's, or undefined when it did not run) are sorted onto their clusters.
 * `rendered` (each cluster's render; undefined: not rendered) gives the applied control plane and pools; `config`
 * (capi-gitops.yaml) the rings.
 */
export function buildInventory(
  specs: readonly ClusterSpec[],
  pins: Pick<Pins, "addons" | "clusterAutoscaler">,
  findings: readonly Finding[] | undefined,
  unreadable: readonly { name: string; findings: Finding[] }[] = [],
  rendered?: ReadonlyMap<string, readonly K8sObject[]>,
  config?: RepoConfig,
): Inventory {
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
      const specPools = s.nodePools.map((p, i): InventoryPool => ({
        name: p.name,
        instanceType: p.instanceType,
        availabilityZones: [...p.availabilityZones],
        autoscaling: Boolean(p.autoscaling),
        minSize: p.minSize,
        maxSize: p.maxSize,
        replicas: p.autoscaling ? null : (p.replicas ?? p.minSize),
        version: v.pools[i]?.version ?? null,
        capacityType: capacityOf(p),
        instanceTypes: [...(p.instanceTypes ?? [])],
        taints: (p.taints ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`),
      }));
      const specCp = {
        version: s.kubernetesVersion,
        replicas: s.controlPlane.replicas,
        instanceType: s.controlPlane.instanceType,
      };
      let controlPlane: InventoryCluster["controlPlane"] = specCp;
      let pools = specPools;
      let vpcCidr = s.network.vpcCidr;
      let render: InventoryCluster["render"] = null;
      const objects = rendered?.get(s.name);
      if (objects) {
        const a = appliedOf(s, objects);
        const patched: InventoryPatched[] = [];
        const compare = (field: string, spec: unknown, applied: unknown) => {
          if (applied !== null && applied !== undefined && !same(spec, applied)) patched.push({ field, spec, applied });
        };
        controlPlane = a.controlPlane;
        if (a.controlPlane)
          for (const k of ["version", "replicas", "instanceType"] as const)
            compare(`controlPlane.${k}`, specCp[k], a.controlPlane[k]);
        const fromRender = (name: string) => a.pools.get(name);
        pools = [
          ...specPools.map((p) => p.name),
          ...[...a.pools.keys()].filter((n) => !s.nodePools.some((p) => p.name === n)).sort(),
        ].flatMap((name) => {
          const got = fromRender(name);
          if (!got) return [];
          const want = specPools.find((p) => p.name === name);
          if (want)
            for (const k of [
              "instanceType",
              "availabilityZones",
              "autoscaling",
              "minSize",
              "maxSize",
              "replicas",
              "version",
              "capacityType",
              "instanceTypes",
              "taints",
            ] as const)
              compare(`nodePools[${name}].${k}`, want[k], got[k]);
          else patched.push({ field: `nodePools[${name}]`, spec: null, applied: "a pool cluster.yaml does not have" });
          return [{ name, ...got }];
        });
        compare("network.vpcCidr", vpcCidr, a.vpcCidr);
        if (a.vpcCidr !== null) vpcCidr = a.vpcCidr;
        render = { objects: a.objects, missing: a.missing, patched };
      }
      return {
        name: s.name,
        namespace: s.namespace,
        region: s.region,
        availabilityZones: [...s.availabilityZones],
        profile: s.profile,
        ring: clusterRing(s, config),
        workers: s.workers,
        controlPlane,
        pools,
        vpcCidr,
        identity: {
          kind:
            s.identity?.roleArn !== undefined ? "role" : s.identity?.secretRef !== undefined ? "static" : "controller",
          account: identityAccount(s.identity) ?? null,
          ref: s.identity?.roleArn ?? s.identity?.secretRef ?? null,
        },
        access: {
          mode: s.access,
          apiScheme: s.apiServer.scheme,
          managementConnection:
            s.apiServer.managementConnection ?? (s.apiServer.managementReachAcknowledged ? "acknowledged" : null),
        },
        addons: {
          cni: addon("cni"),
          ccm: addon("ccm"),
          csi: addon("csi"),
          clusterAutoscaler: autoscales(s)
            ? (pins.clusterAutoscaler.byMinor[minorOf(addonKubernetesVersion(s))] ?? null)
            : null,
          gpu: addon("gpu"),
        },
        upgrade: { stage: upgradeState(s).stage, summary: describeUpgradeState(s) },
        render,
        validation: mine
          ? {
              errors: mine.filter((f) => f.severity === "error").length,
              warnings: mine.filter((f) => f.severity === "warning").length,
              findings: mine.map(toItem),
            }
          : null,
      };
    });
  return {
    schema: INVENTORY_SCHEMA,
    clusters,
    unreadable: unreadable.map((u) => ({ name: u.name, findings: u.findings.map(toItem) })),
  };
}

const zoneLetters = (zones: readonly string[], region: string) =>
  zones.map((z) => (z.startsWith(region) ? z.slice(region.length) : z)).join(",");
const show = (v: unknown): string => {
  if (v === null || v === undefined) return "?";
  if (Array.isArray(v)) return v.join(",");
  const scalar = typeof v === "string" || typeof v === "number" || typeof v === "boolean" || typeof v === "bigint";
  return scalar ? String(v) : Object.prototype.toString.call(v);
};
const size = (p: InventoryPool) =>
  p.autoscaling ? `${show(p.minSize)}..${show(p.maxSize)} (autoscaled)` : `${show(p.replicas)} replicas`;
/** How a pool's instances are bought and what repels pods from it, when not plain on-demand and untainted. */
const capacityText = (p: InventoryPool) =>
  [
    p.capacityType !== "on-demand" ? `, ${show(p.capacityType)}` : "",
    p.instanceTypes.length ? ` (+${p.instanceTypes.join(",")})` : "",
    p.taints.length ? `, taints ${p.taints.join(",")}` : "",
  ].join("");
const controlPlaneText = (c: InventoryCluster, sep: string) =>
  c.controlPlane
    ? `${show(c.controlPlane.version)}${sep}${show(c.controlPlane.replicas)} × ${show(c.controlPlane.instanceType)}`
    : "not rendered";
/** What the render lacks and which fields a patch changed (empty when the render is the spec's). */
const renderNotes = (c: InventoryCluster): string[] => [
  ...(c.render?.missing.length
    ? [
        `the render (${c.render.objects} objects) lacks ${c.render.missing.join(", ")}: ` +
          "Argo CD / Flux would not apply them",
      ]
    : []),
  ...(c.render?.patched ?? []).map(
    (p) =>
      `${p.field} ${show(p.applied)} (cluster.yaml: ${show(p.spec)}), ` +
      `set by a patch in ${clusterKustomizationPath(c.name)}`,
  ),
];
/** `*` after a value a patch changed. */
const mark = (c: InventoryCluster, field: string) =>
  c.render?.patched.some((p) => p.field === field || p.field.startsWith(`${field}.`)) ? "*" : "";
const addonsLine = (c: InventoryCluster) =>
  [
    c.addons.cni,
    c.addons.ccm,
    c.addons.csi,
    c.addons.clusterAutoscaler ? `cluster-autoscaler ${c.addons.clusterAutoscaler}` : null,
    c.addons.gpu,
  ]
    .filter(Boolean)
    .join(", ") || "none";
const identityLine = (c: InventoryCluster) =>
  c.identity.kind === "controller"
    ? "the controller's own"
    : `${c.identity.kind} ${show(c.identity.ref)} (account ${show(c.identity.account)})`;
const accessLine = (c: InventoryCluster) =>
  `${c.access.mode}, API ${c.access.apiScheme}` +
  (c.access.managementConnection ? ` (management via ${c.access.managementConnection})` : "");
const validationLine = (c: InventoryCluster) =>
  c.validation ? `${c.validation.errors} error(s), ${c.validation.warnings} warning(s)` : "not checked (--no-validate)";

export function formatInventory(inv: Inventory, format: InventoryFormat): string {
  if (format === "json") return JSON.stringify(inv, null, 2);
  if (format === "markdown") return markdown(inv);
  const out: string[] = [];
  for (const c of inv.clusters) {
    out.push(
      `${c.name}  namespace ${c.namespace}, ${c.region} (${zoneLetters(c.availabilityZones, c.region)}), ` +
        `profile ${c.profile}, ring ${c.ring}, ${c.workers}, VPC ${c.vpcCidr}`,
    );
    out.push(`  control plane   ${controlPlaneText(c, "  ")}${mark(c, "controlPlane")}`);
    for (const p of c.pools)
      out.push(
        `  pool ${p.name.padEnd(10)} ${show(p.version)}  ${show(p.instanceType)}, ` +
          `zones ${zoneLetters(p.availabilityZones, c.region)}, ${size(p)}${capacityText(p)}` +
          mark(c, `nodePools[${p.name}]`),
      );
    if (!c.render) out.push("  render          not built (--no-validate): the values are cluster.yaml's");
    for (const n of renderNotes(c)) out.push(`  render          ${n}`);
    out.push(`  identity        ${identityLine(c)}`);
    out.push(`  access          ${accessLine(c)}`);
    out.push(`  add-ons         ${addonsLine(c)}`);
    out.push(`  upgrade         ${c.upgrade.summary}`);
    out.push(`  validate        ${validationLine(c)}`);
    for (const f of c.validation?.findings ?? [])
      out.push(
        `    ${f.severity}: ${[f.file, f.path].filter(Boolean).join(" ")}` +
          `${f.file || f.path ? ": " : ""}${f.message} (${f.rule})`,
      );
    out.push("");
  }
  for (const u of inv.unreadable) {
    out.push(`${u.name}  cluster.yaml does not load:`);
    for (const f of u.findings)
      out.push(`    ${f.severity}: ${[f.file, f.path].filter(Boolean).join(" ")}: ${f.message} (${f.rule})`);
    out.push("");
  }
  out.push(`${inv.clusters.length} cluster(s)${inv.unreadable.length ? `, ${inv.unreadable.length} unreadable` : ""}`);
  return out.join("\n");
}

/** A Markdown table cell: pipes escaped, line breaks as <br>. */
const cell = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, "<br>");

function markdown(inv: Inventory): string {
  const head = [
    "cluster",
    "namespace",
    "region",
    "zones",
    "profile",
    "ring",
    "control plane",
    "pools",
    "workers",
    "VPC CIDR",
    "identity",
    "access",
    "add-ons",
    "upgrade",
    "validate",
  ];
  const rows = inv.clusters.map((c) => [
    `\`${c.name}\``,
    c.namespace,
    c.region,
    zoneLetters(c.availabilityZones, c.region),
    c.profile,
    c.ring,
    `${controlPlaneText(c, ", ")}${mark(c, "controlPlane")}`,
    c.pools
      .map(
        (p) =>
          `${p.name}: ${show(p.version)}, ${show(p.instanceType)}, ` +
          `${zoneLetters(p.availabilityZones, c.region)}, ${size(p)}${capacityText(p)}` +
          mark(c, `nodePools[${p.name}]`),
      )
      .join("\n"),
    c.workers,
    c.vpcCidr,
    identityLine(c),
    accessLine(c),
    addonsLine(c),
    c.upgrade.stage === "current" ? "current" : c.upgrade.summary,
    validationLine(c),
  ]);
  const out = [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => " --- ").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
  const rendered = inv.clusters.filter((c) => renderNotes(c).length);
  if (rendered.length) {
    out.push("", "**render** (`*`: set by a patch, not by cluster.yaml)", "");
    for (const c of rendered) for (const n of renderNotes(c)) out.push(`- \`${c.name}\` ${n}`);
  }
  const noted = inv.clusters.filter((c) => c.validation?.findings.length);
  if (noted.length) {
    out.push("", "**validate**", "");
    for (const c of noted)
      for (const f of c.validation?.findings ?? [])
        out.push(
          `- \`${c.name}\` **${f.severity}** \`${f.rule}\`${f.path ? ` \`${f.path}\`` : ""}: ` +
            f.message.replace(/\n/g, " "),
        );
  }
  if (inv.unreadable.length) {
    out.push("", "**cluster.yaml does not load**", "");
    for (const u of inv.unreadable)
      for (const f of u.findings)
        out.push(`- \`${u.name}\` \`${f.rule}\`${f.path ? ` \`${f.path}\`` : ""}: ${f.message.replace(/\n/g, " ")}`);
  }
  out.push(
    "",
    `${inv.clusters.length} cluster(s)${inv.unreadable.length ? `, ${inv.unreadable.length} unreadable` : ""}.`,
  );
  return out.join("\n");
}
