/**
 * `npm run inventory -- [--format text|markdown|json] [--no-validate]`: the fleet at a glance. Reads every spec,
 * runs validate's own pipeline (workflows/validate.ts, without the CEL and admission layers, which report only
 * errors) unless told not to, builds each cluster's render (the control plane and pools as applied, patches
 * included: fleet/applied.ts), and renders fleet/inventory.ts. Writes nothing.
 */
import type { Context } from "../render/context.js";
import { loadRepo } from "../repo/load.js";
import { versions } from "../pins/versions.js";
import { UsageError } from "../core/errors.js";
import { renderClusters } from "../render/render.js";
import type { K8sObject } from "../k8s/object.js";
import { buildInventory, formatInventory, type Inventory, type InventoryFormat } from "../fleet/inventory.js";

export interface InventoryOptions {
  cwd: string;
  format: InventoryFormat;
  /** Run validate's pipeline and list its findings per cluster (default true). */
  validate?: boolean;
  /** Only these clusters (default: every cluster); a name that is no cluster is refused. */
  clusters?: string[];
  /** The run's context (cli.ts); without one, validation uses this process's environment. */
  ctx?: Context;
}

export async function inventoryCommand(opts: InventoryOptions): Promise<{ inventory: Inventory; output: string }> {
  const repo = await loadRepo(opts.cwd);
  const loaded = new Set(repo.specs.map((s) => s.name));
  const names = opts.clusters?.length ? opts.clusters : undefined;
  const wanted = (name: string) => !names || names.includes(name);
  const unreadable = [
    ...new Set(
      repo.findings.flatMap((f) =>
        f.severity === "error" && f.cluster !== undefined && !loaded.has(f.cluster) ? [f.cluster] : [],
      ),
    ),
  ]
    .filter(wanted)
    .sort()
    .map((name) => ({ name, findings: repo.findings.filter((f) => f.cluster === name) }));
  const unknown = (names ?? []).filter((n) => !loaded.has(n) && !unreadable.some((u) => u.name === n));
  if (unknown.length)
    throw new UsageError(
      `no cluster ${unknown.join(", ")} (clusters/<name>/cluster.yaml)\n\nSee: npm run inventory -- --help`,
    );
  let findings;
  let rendered: Map<string, K8sObject[]> | undefined;
  const toValidate = names?.filter((n) => loaded.has(n));
  const specs = repo.specs.filter((s) => wanted(s.name));
  if (opts.validate !== false && toValidate?.length !== 0) {
    const { validateClusters } = await import("../workflows/validate.js");
    const only = { cwd: opts.cwd, skipCel: true, skipAdmission: true, clusters: toValidate };
    findings = (await validateClusters(only, opts.ctx)).findings;
    // What Argo CD / Flux apply: each cluster's own plain build (one at a time: nothing is written into the
    // repository); a cluster that does not build shows as an empty render (validate's finding says why).
    const r = await renderClusters(opts.cwd, specs, { workers: 2, origins: false, chunkSize: 1 });
    const failed = new Set(r.findings.map((f) => f.cluster));
    rendered = new Map(r.rendered.map((rc) => [rc.cluster, failed.has(rc.cluster) ? [] : rc.objects]));
  }
  const inventory = buildInventory(specs, versions(), findings, unreadable, rendered, repo.config);
  return { inventory, output: formatInventory(inventory, opts.format) };
}
