/**
 * `npm run validate [cluster...]`: the stages of validate/, composed. Each returns findings; the CLI decides the
 * exit code. Stages (ARCHITECTURE.md, README "Validation layers"):
 *   selection (named, --changed-since, --shard) → drift → render (kustomize, cached) → schema layers (kubeconform;
 *   kubectl-validate for the management CRDs' CEL) → upstream admission (the real CAPI/CAPA decode, CRD schema +
 *   CEL, conversion and webhooks) → our rules (what no webhook does) → attribution (findings on a field the
 *   cluster's own patch set name that patch).
 * The external programs come from `runners` (default: the pinned tools), so the stages are tested without them.
 * Speed: see BENCHMARKS.md.
 */
import os from "node:os";
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { clusterSpecPath, SPEC_FILE, SYNC_DIR } from "../core/layout.js";
import { fileAt } from "../tools/git.js";
import { parseSpecText } from "../cluster-spec/parse.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { readUnserved } from "../schemas/unserved.js";
import { TOOL_ROOT } from "../pins/versions.js";
import {
  admissionEnabled,
  admissionFindings,
  admissionResults,
  denied,
  previousRender,
} from "../validate/admission.js";
import { attributeFinding } from "../validate/attribution.js";
import { cacheEnabled, RepoFiles, ValidateCache } from "../render/cache.js";
import { driftStage, generatorIdentity } from "../validate/drift.js";
import type { Summary } from "../validate/format.js";
import { readImageInventory } from "../validate/images.js";
import { fleetFindings } from "../repo/load.js";
import { upgradeStateFindings } from "../plan/upgrade.js";
import { clusterRuleFindings, fleetOf, strayCandidates, strayFindings, syncFindings } from "../validate/rule-stage.js";
import { fleetRules, managementRules } from "../validate/rules.js";
import { toolRunners, type Runners } from "../render/runners.js";
import { celFindings, kubeconformFindings, schemaRejected, schemaResults } from "../validate/schema-layers.js";
import { checkShard, scopeOf, select, type Selection, type Shard } from "../validate/selection.js";
import {
  addonUnits,
  addOrigins,
  clusterUnit,
  renderCached,
  renderManagement,
  type RenderContext,
  type Unit,
} from "../render/units.js";

export { parseShard, shardOf, type Shard } from "../validate/selection.js";

export interface ValidateOptions {
  cwd: string;
  clusters?: string[];
  /** Validate only the clusters affected since this git ref (same affected-set logic as `diff`). */
  changedSince?: string;
  /** Validate only this shard of the (selected) clusters (validate/selection.ts). */
  shard?: Shard;
  workers?: number;
  /** Skip the kubectl-validate (CEL) layer. CI always runs it. */
  skipCel?: boolean;
  /** Reuse and update the content-keyed cache (default: on, unless CAPI_GITOPS_CACHE=off). */
  cache?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
  /**
   * Skip the upstream admission layer; also CAPI_GITOPS_ADMISSION=off. A debugging switch: the webhook checks it
   * replaced are then not made at all (README, "Validation layers"). CI always runs it.
   */
  skipAdmission?: boolean;
  /** The external programs (tests pass stand-ins); default the pinned tools (render/runners.ts). */
  runners?: Partial<Runners>;
}

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
  /** Milliseconds spent per stage (for the benchmark's "where the time goes"). */
  timings?: Record<string, number>;
}

export async function validateCommand(opts: ValidateOptions): Promise<ValidateResult> {
  if (opts.shard) checkShard(opts.shard);
  const root = path.resolve(opts.cwd);
  const selection = await select(root, opts);
  if (!selection) return { findings: [], summary: { clusters: 0, errors: 0, warnings: 0 } };
  return validateSelection(opts, root, selection);
}

async function validateSelection(opts: ValidateOptions, root: string, sel: Selection): Promise<ValidateResult> {
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (timings[stage] ?? 0) + (now - t0);
    t0 = now;
  };
  const runners: Runners = { ...toolRunners(), ...opts.runners };
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const { shard } = opts;
  const scope = scopeOf(sel, shard);
  const { shared, keep, inScope } = scope;
  const files = new RepoFiles(root);
  const cache =
    (opts.cache ?? cacheEnabled())
      ? new ValidateCache(files, { ...runners.identity, plan: generatorIdentity })
      : undefined;
  const ctx: RenderContext = { root, workers, runners, files, cache, onProgress: opts.onProgress };
  const withAdmission = !opts.skipAdmission && admissionEnabled();

  // Every cluster directory, even one whose spec is broken (the directory is what syncs).
  const allNames = await sel.reading.names;
  const selection = allNames.filter(scope.inSelection);
  const names = selection.filter(inScope);
  const mine = new Set(names);
  // kustomize starts now and runs on the other cores while the specs are checked and the plan is compared;
  // with --changed-since the previous render (UPDATE admission) too.
  const rendering = renderCached(ctx, names, "kustomize");
  rendering.catch(() => undefined);
  const previous =
    withAdmission && opts.changedSince !== undefined
      ? previousRender(root, opts.changedSince, names, workers, runners.renderClusters)
      : undefined;
  previous?.catch(() => undefined);

  const repo = await sel.reading.repo;
  // --changed-since loads every spec; its fleet-wide spec checks are made again with the changed clusters last, so
  // that a clash between a changed and an unchanged cluster is reported on the changed one (in scope).
  const changedOnly = sel.only && opts.changedSince !== undefined;
  const loaded = changedOnly
    ? new Set(fleetFindings(repo.specs, repo.config).map((f) => JSON.stringify(f)))
    : new Set<string>();
  const findings: Finding[] = [
    ...repo.findings.filter((f) => !loaded.has(JSON.stringify(f))),
    ...(changedOnly
      ? fleetFindings(
          changedLast(repo.specs, (s) => scope.inSelection(s.name)),
          repo.config,
        )
      : []),
  ].filter(keep);
  findings.push(...(await sel.reading.symlinks).filter(keep));
  const specOf = new Map(repo.specs.map((s) => [s.name, s]));
  // Where each cluster is in a staged upgrade (an info line while pools are behind the control plane).
  findings.push(...repo.specs.flatMap(upgradeStateFindings).filter(keep));
  lap("load");

  const drift = driftStage(root, { repo, names: allNames, mine, full: shared && !sel.only, shard, files, cache });
  findings.push(...drift.findings);
  lap("drift");

  const { rendered, findings: renderFindings } = await rendering;
  findings.push(...renderFindings);
  const management = sel.withManagement && shared ? await renderManagement(ctx) : { units: [], findings: [] };
  const addons = shared ? await addonUnits(root) : { units: [], findings: [] };
  findings.push(...management.findings, ...addons.findings);
  const unitOf = new Map(rendered.map((rc) => [rc.cluster, clusterUnit(rc, !withAdmission)]));
  const units: Unit[] = [...unitOf.values(), ...management.units, ...addons.units];
  lap("render");

  // The admission program starts beside kubeconform (its start-up, loading the CRDs and webhooks, overlaps).
  const admitting = withAdmission
    ? (async () =>
        admissionResults([...unitOf.values()], {
          cwd: root,
          admit: runners.admit,
          cache,
          workers,
          old: await previous,
          onProgress: opts.onProgress,
        }))()
    : Promise.resolve(new Map<Unit, never>());
  admitting.catch(() => undefined);
  const schemas = await schemaResults(root, units, {
    workers,
    skipCel: opts.skipCel,
    cache,
    runners,
    onProgress: opts.onProgress,
  });
  lap("schemas");
  const admitted = await admitting;
  lap("admission");

  // Our rules, first without origins; the clusters with any finding get their origins (one more build each).
  const namespaces = new Set(repo.specs.map((s) => s.namespace));
  const images = readImageInventory(TOOL_ROOT);
  const failed = new Set(renderFindings.filter((f) => f.severity === "error").map((f) => f.cluster));
  const ruleFindings = new Map(
    rendered.map((rc) => [
      rc.cluster,
      clusterRuleFindings(rc, specOf.get(rc.cluster), images, !failed.has(rc.cluster)),
    ]),
  );
  const flagged = rendered.filter((rc) => {
    const u = unitOf.get(rc.cluster)!;
    return (
      schemaRejected(schemas.get(u)) ||
      denied(admitted.get(u)) ||
      ruleFindings.get(rc.cluster)!.length > 0 ||
      (specOf.has(rc.cluster) && strayCandidates(rc, namespaces).length > 0)
    );
  });
  await addOrigins(ctx, flagged, unitOf);
  for (const rc of flagged)
    ruleFindings.set(rc.cluster, clusterRuleFindings(rc, specOf.get(rc.cluster), images, !failed.has(rc.cluster)));
  lap("origins");

  const unserved = readUnserved(TOOL_ROOT);
  const invalid = new Set<string>();
  for (const u of units) findings.push(...kubeconformFindings(u, schemas.get(u)?.kubeconform ?? [], unserved, invalid));
  for (const u of units) findings.push(...celFindings(u, schemas.get(u)?.cel ?? [], invalid));
  for (const u of units) findings.push(...admissionFindings(u, admitted.get(u) ?? [], invalid));
  // A cluster whose spec did not load has no known namespace: its spec's error is the finding, not its objects.
  for (const rc of rendered)
    findings.push(...(specOf.has(rc.cluster) ? strayFindings(rc, namespaces) : []), ...ruleFindings.get(rc.cluster)!);
  // A finding on a field that the cluster's own patch set belongs to that patch, not to the base file.
  const byCluster = new Map(flagged.map((rc) => [rc.cluster, rc]));
  for (const [i, f] of findings.entries())
    if (f.cluster !== undefined) findings[i] = attributeFinding(f, byCluster.get(f.cluster), (rel) => files.read(rel));

  // --changed-since: the selection against every cluster of the fleet, the changed ones last (as above).
  const others = changedOnly ? allNames.filter((n) => !scope.inSelection(n)) : [];
  const fleet = await fleetOf(rendered, {
    shard,
    selection,
    others,
    mine,
    specs: repo.specs,
    read: (rel) => files.read(rel),
    render: async (list) => (await renderCached(ctx, list, "fleet")).rendered,
  });
  findings.push(
    ...fleetRules(
      fleet,
      changedOnly ? await newVpcSince(root, opts.changedSince!, selection, specOf) : undefined,
    ).filter(keep),
  );
  for (const u of management.units) findings.push(...managementRules(u.objects, u.fallbackFile));
  if (repo.config) {
    // What the sync engine would do: the sync manifests' own render (the management run's, else one of its own).
    const syncLabel = SYNC_DIR.replace(/\//g, "-");
    const syncUnit =
      management.units.find((u) => u.label === syncLabel) ?? (await renderManagement(ctx, [SYNC_DIR])).units[0];
    if (syncUnit) {
      const specFiles = new Map<string, string>();
      for (const n of allNames) {
        const text = files.read(`clusters/${n}/${SPEC_FILE}`);
        if (text !== undefined) specFiles.set(`clusters/${n}/${SPEC_FILE}`, text);
      }
      findings.push(
        ...syncFindings(
          syncUnit.objects,
          specFiles,
          repo.specs,
          new Map(rendered.map((rc) => [rc.cluster, rc])),
          scope,
        ),
      );
    }
  }
  lap("rules");

  // A full unsharded run knows every entry that is still needed: the others (removed clusters) go.
  cache?.save(!shard && !sel.only ? [drift.planId, ...units.map((u) => u.cacheId)] : undefined);
  lap("cache");

  const summary: Summary = {
    clusters: names.length,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
  return { findings, summary, timings };
}

/** The items outside the selection first, then those in it, each in their order. */
function changedLast<T>(items: readonly T[], selected: (item: T) => boolean): T[] {
  return [...items.filter((x) => !selected(x)), ...items.filter(selected)];
}

/**
 * The changed clusters whose VPC CIDR is new since `ref`: added since, or with another network.vpcCidr there. An
 * overlap of theirs is an error (fleetRules): the range is not yet a live VPC and can still be chosen again.
 */
async function newVpcSince(
  root: string,
  ref: string,
  changed: readonly string[],
  specOf: ReadonlyMap<string, ClusterSpec>,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of changed) {
    const now = specOf.get(name);
    if (!now) continue;
    const before = await fileAt(root, ref, clusterSpecPath(name));
    const was = before === undefined ? undefined : parseSpecText(before).spec;
    if (was?.network.vpcCidr !== now.network.vpcCidr) out.add(name);
  }
  return out;
}
