/**
 * validate as a declared list of stages (ARCHITECTURE.md, README "Validation layers"):
 *   load (specs, fleet checks) → drift → render (kustomize, cached) → schema layers (kubeconform; kubectl-validate
 *   for the management CRDs' CEL) → upstream admission (the real CAPI/CAPA decode, CRD schema + CEL, conversion and
 *   webhooks) → origins → the findings of each layer → our rules (what no webhook does) → attribution (findings on
 *   a field the cluster's own patch set name that patch) → fleet, management and sync rules → cache.
 * Each stage names what it reads (`inputs`, made by the stages before it) and returns its findings; one loop runs
 * them in order. The external programs come from `runners` (default: the context's, the pinned tools), so the
 * stages are tested without them.
 */
import os from "node:os";
import type { Finding } from "../core/findings.js";
import { ARGO_HEALTH_DIR, clusterKustomizationPath, clusterSpecPath, SYNC_DIR } from "../core/layout.js";
import { fileAt } from "../tools/git.js";
import type { AdmissionResult } from "../tools/admission.js";
import { parseSpecText } from "../cluster-spec/parse.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { readUnserved } from "../schemas/unserved.js";
import { fleetFindings, type LoadedRepo } from "../repo/load.js";
import { upgradeStateFindings } from "../plan/upgrade.js";
import type { K8sObject } from "../k8s/object.js";
import type { Context } from "../render/context.js";
import { cacheEnabled, RepoFiles, ValidateCache } from "../render/cache.js";
import type { RenderedCluster } from "../render/render.js";
import type { Runners } from "../render/runners.js";
import {
  addonUnits,
  addOrigins,
  clusterUnit,
  isIdentitiesUnit,
  renderCached,
  renderManagement,
  type RenderContext,
  type Unit,
} from "../render/units.js";
import {
  type AdmissionUnit,
  admissionEnabled,
  admissionFindings,
  admissionResults,
  denied,
  previousRender,
} from "./admission.js";
import { attributeFinding } from "./attribution.js";
import { driftStage, generatorIdentity } from "./drift.js";
import type { Summary } from "./format.js";
import { readImageInventory } from "./images.js";
import { clusterRuleFindings, fleetOf, strayCandidates, strayFindings, syncFindings } from "./rule-stage.js";
import { fleetRules, managementRules, staticIdentitySecretRules } from "./rules.js";
import { healthPresenceFindings, healthProblemFindings, renderedHealth } from "./health-rules.js";
import { celFindings, kubeconformFindings, schemaRejected, schemaResults, type SchemaResult } from "./schema-layers.js";
import { scopeOf, type Scope, type Selection, type Shard } from "./selection.js";

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
  /**
   * kubeconform and kubectl-validate wait for the admission program (default: with ONE_PROGRAM_AT_A_TIME clusters or
   * more in the run).
   */
  oneProgramAtATime?: boolean;
}

/**
 * From this many clusters on, one program at a time runs beside this process. The programs' memory grows with the
 * fleet (at 1000 clusters Node ≈ 345, admission ≈ 155, kubectl-validate ≈ 130, kubeconform ≈ 45–80 MiB); a small run
 * keeps them side by side, which saves it ≈ 0.15 s (one cluster: 1.88 → 2.04 s one after the other, alternated 4×,
 * the first pair left out: the new build bundled in it).
 */
export const ONE_PROGRAM_AT_A_TIME = 200;

export interface ValidateResult {
  findings: Finding[];
  summary: Summary;
  /** Milliseconds spent per stage (for the benchmark's "where the time goes"). */
  timings?: Record<string, number>;
  /**
   * What the run read (repository-relative path, digest of the content read), and whether every build's inputs
   * were walked: the inputs of its verdict (render/verdict.ts).
   */
  inputs?: { reads: [string, string | null][]; walked: boolean };
}

/** What the run knows before any stage: the options, the selection, the programs, the cache. */
interface Run {
  readonly opts: ValidateOptions;
  readonly root: string;
  readonly sel: Selection;
  readonly scope: Scope;
  readonly runners: Runners;
  readonly workers: number;
  readonly files: RepoFiles;
  readonly cache: ValidateCache | undefined;
  readonly render: RenderContext;
  readonly withAdmission: boolean;
  readonly toolRoot: string;
  /** --changed-since: only the changed clusters are selected, but every spec is loaded. */
  readonly changedOnly: boolean;
}

type Rendering = Promise<{ rendered: RenderedCluster[]; findings: Finding[] }>;

/** What the stages make for the stages after them. */
interface Made {
  /** Every cluster directory, even one whose spec is broken (the directory is what syncs). */
  allNames: string[];
  /** The selected clusters, and those of them in this shard. */
  selection: string[];
  names: string[];
  mine: Set<string>;
  rendering: Rendering;
  /** With --changed-since and admission: the previous render (UPDATE admission). */
  previous: Promise<K8sObject[] | undefined>;
  repo: LoadedRepo;
  specOf: Map<string, ClusterSpec>;
  rendered: RenderedCluster[];
  renderFailed: Set<string | undefined>;
  management: Unit[];
  unitOf: Map<string, Unit>;
  units: Unit[];
  admitting: Promise<ReadonlyMap<AdmissionUnit, AdmissionResult[]>>;
  schemas: Map<Unit, SchemaResult>;
  admitted: ReadonlyMap<AdmissionUnit, AdmissionResult[]>;
  ruleFindings: Map<string, Finding[]>;
  flagged: RenderedCluster[];
  namespaces: Set<string>;
  /** `label/Kind/name` of the objects kubeconform rejected (not repeated by the later layers). */
  invalid: Set<string>;
  /** The render of management/sync (empty without a repository config or the folder). */
  syncObjects: K8sObject[];
}

type Key = keyof Made;

/** The state a stage sees: the run, what the earlier stages made, the findings so far. */
export interface StageContext {
  readonly run: Run;
  readonly findings: readonly Finding[];
  /** What an earlier stage made (a stage lists it in its `inputs`). */
  need<K extends Key>(key: K): Made[K];
  make<K extends Key>(key: K, value: Made[K]): void;
}

export interface Stage {
  name: string;
  /** The timing bucket (ValidateResult.timings). */
  lap: string;
  inputs: readonly Key[];
  /** What it makes for the stages after it (it must make each, and nothing else). */
  outputs: readonly Key[];
  /** "add": its findings follow the others; "replace": its findings are all the findings from now on. */
  mode?: "add" | "replace";
  run(ctx: StageContext): Finding[] | Promise<Finding[]>;
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

/** The findings of one cluster's rules (before and after its origins are known). */
const rulesOf = (ctx: StageContext, rc: RenderedCluster, images: ReturnType<typeof readImageInventory>): Finding[] =>
  clusterRuleFindings(rc, ctx.need("specOf").get(rc.cluster), images, !ctx.need("renderFailed").has(rc.cluster));

export const STAGES: readonly Stage[] = [
  {
    name: "load",
    lap: "load",
    inputs: [],
    outputs: ["allNames", "selection", "names", "mine", "rendering", "previous", "repo", "specOf", "namespaces"],
    async run(ctx) {
      const { run } = ctx;
      const { sel, scope, opts, root } = run;
      const allNames = await sel.reading.names;
      const selection = allNames.filter(scope.inSelection);
      const names = selection.filter(scope.inScope);
      ctx.make("allNames", allNames);
      ctx.make("selection", selection);
      ctx.make("names", names);
      ctx.make("mine", new Set(names));
      // kustomize starts now and runs on the other cores while the specs are checked and the plan is compared;
      // with --changed-since the previous render (UPDATE admission) too.
      const rendering = renderCached(run.render, names, "kustomize");
      rendering.catch(() => undefined);
      ctx.make("rendering", rendering);
      const previous =
        run.withAdmission && opts.changedSince !== undefined
          ? previousRender(root, opts.changedSince, names, run.workers, run.runners.renderClusters)
          : Promise.resolve(undefined);
      previous.catch(() => undefined);
      ctx.make("previous", previous);

      const repo = await sel.reading.repo;
      if (repo.specTexts) run.files.seed(repo.specTexts);
      ctx.make("repo", repo);
      // --changed-since loads every spec; its fleet-wide spec checks are made again with the changed clusters
      // last, so that a clash between a changed and an unchanged cluster is reported on the changed one.
      const loaded = run.changedOnly
        ? new Set(fleetFindings(repo.specs, repo.config).map((f) => JSON.stringify(f)))
        : new Set<string>();
      const again = run.changedOnly
        ? fleetFindings(
            changedLast(repo.specs, (s) => scope.inSelection(s.name)),
            repo.config,
          )
        : [];
      ctx.make("specOf", new Map(repo.specs.map((s) => [s.name, s])));
      ctx.make("namespaces", new Set(repo.specs.map((s) => s.namespace)));
      return [
        ...[...repo.findings.filter((f) => !loaded.has(JSON.stringify(f))), ...again].filter(scope.keep),
        ...(await sel.reading.symlinks).filter(scope.keep),
        // Where each cluster is in a staged upgrade (an info line while pools are behind the control plane).
        ...repo.specs.flatMap(upgradeStateFindings).filter(scope.keep),
      ];
    },
  },
  {
    name: "drift",
    lap: "drift",
    inputs: ["repo", "allNames", "mine"],
    outputs: [],
    run(ctx) {
      const { run } = ctx;
      const drift = driftStage(run.root, {
        repo: ctx.need("repo"),
        names: ctx.need("allNames"),
        mine: ctx.need("mine"),
        full: run.scope.shared && !run.sel.only,
        shard: run.opts.shard,
        files: run.files,
        cache: run.cache,
      });
      return drift.findings;
    },
  },
  {
    name: "render",
    lap: "render",
    inputs: ["rendering"],
    outputs: ["rendered", "renderFailed", "management", "unitOf", "units"],
    async run(ctx) {
      const { run } = ctx;
      const shared = run.scope.shared;
      const { rendered, findings } = await ctx.need("rendering");
      const management =
        run.sel.withManagement && shared ? await renderManagement(run.render) : { units: [], findings: [] };
      const addons = shared ? await addonUnits(run.root) : { units: [], findings: [] };
      const unitOf = new Map(rendered.map((rc) => [rc.cluster, clusterUnit(rc, !run.withAdmission)]));
      ctx.make("rendered", rendered);
      ctx.make("renderFailed", new Set(findings.filter((f) => f.severity === "error").map((f) => f.cluster)));
      ctx.make("management", management.units);
      ctx.make("unitOf", unitOf);
      ctx.make("units", [...unitOf.values(), ...management.units, ...addons.units]);
      // The builds are made: the files' texts go before the schema and admission layers run beside this process
      // (the few read again later — attribution, the sync check — come from disk).
      run.files.release();
      return [...findings, ...management.findings, ...addons.findings];
    },
  },
  {
    name: "schemas",
    lap: "schemas",
    inputs: ["unitOf", "units", "previous"],
    outputs: ["admitting", "schemas"],
    async run(ctx) {
      const { run } = ctx;
      const { opts } = run;
      const previous = ctx.need("previous");
      // The admission program starts first; this process writes the schema layers' input files while it runs.
      const admitting = run.withAdmission
        ? (async () =>
            // The clusters, and the identities of management/ (CAPA's identity webhooks judge them too).
            admissionResults([...ctx.need("unitOf").values(), ...ctx.need("units").filter(isIdentitiesUnit)], {
              cwd: run.root,
              admit: run.runners.admit,
              cache: run.cache,
              workers: run.workers,
              old: await previous,
              onProgress: opts.onProgress,
            }))()
        : Promise.resolve(new Map<Unit, AdmissionResult[]>());
      admitting.catch(() => undefined);
      ctx.make("admitting", admitting);
      // On a large run kubeconform and kubectl-validate wait for the admission program: beside this process, which
      // holds the fleet's renders, two of them at once were the run's peak (ONE_PROGRAM_AT_A_TIME).
      const oneAtATime = opts.oneProgramAtATime ?? ctx.need("unitOf").size >= ONE_PROGRAM_AT_A_TIME;
      const schemas = await schemaResults(run.root, ctx.need("units"), {
        workers: run.workers,
        skipCel: opts.skipCel,
        cache: run.cache,
        runners: run.runners,
        onProgress: opts.onProgress,
        programsAfter: oneAtATime ? admitting : undefined,
      });
      ctx.make("schemas", schemas);
      return [];
    },
  },
  {
    name: "admission",
    lap: "admission",
    inputs: ["admitting"],
    outputs: ["admitted"],
    async run(ctx) {
      ctx.make("admitted", await ctx.need("admitting"));
      return [];
    },
  },
  {
    // Our rules, first without origins; the clusters with any finding get their origins (one more build each).
    name: "origins",
    lap: "origins",
    inputs: ["rendered", "unitOf", "schemas", "admitted", "specOf", "namespaces", "renderFailed"],
    outputs: ["ruleFindings", "flagged"],
    async run(ctx) {
      const rendered = ctx.need("rendered");
      const unitOf = ctx.need("unitOf");
      const specOf = ctx.need("specOf");
      const schemas = ctx.need("schemas");
      const admitted = ctx.need("admitted");
      const namespaces = ctx.need("namespaces");
      const images = readImageInventory(ctx.run.toolRoot);
      const ruleFindings = new Map(rendered.map((rc) => [rc.cluster, rulesOf(ctx, rc, images)]));
      const flagged = rendered.filter((rc) => {
        const u = unitOf.get(rc.cluster);
        return (
          (u !== undefined && (schemaRejected(schemas.get(u)) || denied(admitted.get(u)))) ||
          (ruleFindings.get(rc.cluster) ?? []).length > 0 ||
          (specOf.has(rc.cluster) && strayCandidates(rc, namespaces).length > 0)
        );
      });
      await addOrigins(ctx.run.render, flagged, unitOf);
      for (const rc of flagged) ruleFindings.set(rc.cluster, rulesOf(ctx, rc, images));
      ctx.make("ruleFindings", ruleFindings);
      ctx.make("flagged", flagged);
      return [];
    },
  },
  {
    name: "kubeconform",
    lap: "rules",
    inputs: ["units", "schemas"],
    // The objects kubeconform rejected: the CEL and admission stages do not report them again.
    outputs: ["invalid"],
    run(ctx) {
      const unserved = readUnserved(ctx.run.toolRoot);
      const schemas = ctx.need("schemas");
      const invalid = new Set<string>();
      const findings = ctx
        .need("units")
        .flatMap((u) => kubeconformFindings(u, schemas.get(u)?.kubeconform ?? [], unserved, invalid));
      ctx.make("invalid", invalid);
      return findings;
    },
  },
  {
    name: "cel",
    lap: "rules",
    inputs: ["units", "schemas", "invalid"],
    outputs: [],
    run(ctx) {
      const schemas = ctx.need("schemas");
      const invalid = ctx.need("invalid");
      return ctx.need("units").flatMap((u) => celFindings(u, schemas.get(u)?.cel ?? [], invalid));
    },
  },
  {
    name: "admission findings",
    lap: "rules",
    inputs: ["units", "admitted", "invalid"],
    outputs: [],
    run(ctx) {
      const admitted = ctx.need("admitted");
      const invalid = ctx.need("invalid");
      return ctx.need("units").flatMap((u) => admissionFindings(u, admitted.get(u) ?? [], invalid));
    },
  },
  {
    // A cluster whose spec did not load has no known namespace: its spec's error is the finding, not its objects.
    name: "cluster rules",
    lap: "rules",
    inputs: ["rendered", "specOf", "namespaces", "ruleFindings"],
    outputs: [],
    run(ctx) {
      const specOf = ctx.need("specOf");
      const namespaces = ctx.need("namespaces");
      const ruleFindings = ctx.need("ruleFindings");
      return ctx
        .need("rendered")
        .flatMap((rc) => [
          ...(specOf.has(rc.cluster) ? strayFindings(rc, namespaces) : []),
          ...(ruleFindings.get(rc.cluster) ?? []),
        ]);
    },
  },
  {
    // A finding on a field that the cluster's own patch set belongs to that patch, not to the base file.
    name: "attribution",
    lap: "rules",
    inputs: ["flagged"],
    outputs: [],
    mode: "replace",
    run(ctx) {
      const byCluster = new Map(ctx.need("flagged").map((rc) => [rc.cluster, rc]));
      const read = (rel: string) => ctx.run.files.read(rel);
      return ctx.findings.map((f) =>
        f.cluster === undefined ? f : attributeFinding(f, byCluster.get(f.cluster), read),
      );
    },
  },
  {
    // --changed-since: the selection against every cluster of the fleet, the changed ones last (as in "load").
    name: "fleet rules",
    lap: "rules",
    inputs: ["rendered", "allNames", "selection", "mine", "repo", "specOf"],
    outputs: [],
    async run(ctx) {
      const { run } = ctx;
      const { scope, opts } = run;
      const selection = ctx.need("selection");
      const others = run.changedOnly ? ctx.need("allNames").filter((n) => !scope.inSelection(n)) : [];
      const fleet = await fleetOf(ctx.need("rendered"), {
        shard: opts.shard,
        selection,
        others,
        mine: ctx.need("mine"),
        specs: ctx.need("repo").specs,
        read: (rel) => run.files.read(rel),
        render: async (list) => (await renderCached(run.render, list, "fleet")).rendered,
      });
      const newVpcs =
        run.changedOnly && opts.changedSince !== undefined
          ? await newVpcSince(run.root, opts.changedSince, selection, ctx.need("specOf"))
          : undefined;
      return fleetRules(fleet, newVpcs).filter(scope.keep);
    },
  },
  {
    // A static identity's Secret holds AWS credentials: it is created in CAPA's namespace by hand, never from Git.
    name: "identity secrets",
    lap: "rules",
    inputs: ["repo", "rendered", "management"],
    outputs: [],
    run: (ctx) =>
      staticIdentitySecretRules(ctx.need("repo").specs, [
        ...ctx.need("rendered").map((rc) => ({ objects: rc.objects, file: clusterKustomizationPath(rc.cluster) })),
        ...ctx.need("management").map((u) => ({ objects: u.objects, file: u.fallbackFile })),
      ]),
  },
  {
    name: "management rules",
    lap: "rules",
    inputs: ["management"],
    outputs: [],
    run: (ctx) => ctx.need("management").flatMap((u) => managementRules(u.objects, u.fallbackFile)),
  },
  {
    // What the sync engine would do: the sync manifests' own render (the management run's, else one of its own).
    name: "sync",
    lap: "rules",
    inputs: ["repo", "management", "allNames", "rendered"],
    outputs: ["syncObjects"],
    async run(ctx) {
      const { run } = ctx;
      const repo = ctx.need("repo");
      ctx.make("syncObjects", []);
      if (!repo.config) return [];
      const syncLabel = SYNC_DIR.replace(/\//g, "-");
      const syncUnit =
        ctx.need("management").find((u) => u.label === syncLabel) ??
        (await renderManagement(run.render, [SYNC_DIR])).units[0];
      if (!syncUnit) return [];
      ctx.make("syncObjects", syncUnit.objects);
      const specFiles = new Map<string, string>();
      for (const n of ctx.need("allNames")) {
        const text = run.files.read(clusterSpecPath(n));
        if (text !== undefined) specFiles.set(clusterSpecPath(n), text);
      }
      const rendered = new Map(ctx.need("rendered").map((rc) => [rc.cluster, rc]));
      return syncFindings(syncUnit.objects, specFiles, repo.specs, rendered, run.scope, repo.config, repo.specData);
    },
  },
  {
    // The health checks the sync engine applies: present for every kind, and loadable by the engine (the health
    // program parses the Lua and compiles the CEL; missing, it is a tool error like the admission layer's).
    name: "health",
    lap: "rules",
    inputs: ["repo", "management", "syncObjects"],
    outputs: [],
    async run(ctx) {
      const { run } = ctx;
      const config = ctx.need("repo").config;
      const syncObjects = ctx.need("syncObjects");
      if (!config || syncObjects.length === 0) return [];
      const engine = config.gitops;
      // Argo CD's checks are repository-wide: judged when the management folders are (not for named clusters).
      const management = ctx.need("management");
      const argoJudged = engine === "argocd" && management.length > 0;
      const healthLabel = ARGO_HEALTH_DIR.replace(/\//g, "-");
      const healthObjects = management.find((u) => u.label === healthLabel)?.objects ?? [];
      const inScope = (cluster: string | undefined) =>
        cluster === undefined ? run.scope.shared && (engine === "flux" || argoJudged) : run.scope.inScope(cluster);
      const findings = healthPresenceFindings({ engine, syncObjects, healthObjects, inScope });
      for (const set of renderedHealth(engine, syncObjects, healthObjects, inScope))
        findings.push(...healthProblemFindings(set, await run.runners.checkHealth(set.checks)));
      return findings;
    },
  },
  {
    // A full unsharded run knows every entry that is still needed: the others (removed clusters) go.
    name: "cache",
    lap: "cache",
    inputs: ["units"],
    outputs: [],
    run(ctx) {
      const { run } = ctx;
      const complete = !run.opts.shard && !run.sel.only;
      run.cache?.save(complete ? ctx.need("units").map((u) => u.cacheId) : undefined);
      return [];
    },
  },
];

/** A stage asked for what no stage before it made, or made what it does not declare: the list is wrong. */
export class StageOrderError extends Error {
  override readonly name = "StageOrderError";
}

/** Runs the stages over a selection, in order; the findings and the time spent in each lap. */
export async function validateSelection(
  opts: ValidateOptions,
  root: string,
  sel: Selection,
  context: Context,
  stages: readonly Stage[] = STAGES,
): Promise<ValidateResult> {
  const runners: Runners = { ...context.runners, ...opts.runners };
  const workers = opts.workers ?? Math.max(1, os.availableParallelism());
  const files = new RepoFiles(root);
  const cache =
    (opts.cache ?? cacheEnabled(context.env))
      ? new ValidateCache(files, { ...runners.identity, plan: generatorIdentity }, context.env)
      : undefined;
  const run: Run = {
    opts,
    root,
    sel,
    scope: scopeOf(sel, opts.shard),
    runners,
    workers,
    files,
    cache,
    render: { root, workers, runners, files, cache, onProgress: opts.onProgress },
    withAdmission: !opts.skipAdmission && admissionEnabled(context.env),
    toolRoot: context.toolRoot,
    changedOnly: sel.only && opts.changedSince !== undefined,
  };
  const made: Partial<Made> = {};
  let findings: Finding[] = [];
  let current = "";
  let declared: ReadonlySet<Key> = new Set();
  let reads: ReadonlySet<Key> = new Set();
  const ctx: StageContext = {
    run,
    get findings() {
      return findings;
    },
    need: <K extends Key>(key: K): Made[K] => {
      if (!reads.has(key))
        throw new StageOrderError(`validate stage "${current}" reads "${key}", which it does not declare`);
      const value = made[key];
      if (value === undefined)
        throw new StageOrderError(`validate stage "${current}" needs "${key}", not made before it`);
      return value;
    },
    make: (key, value) => {
      if (!declared.has(key))
        throw new StageOrderError(`validate stage "${current}" makes "${key}", which it does not declare`);
      made[key] = value;
    },
  };
  const timings: Record<string, number> = {};
  for (const stage of stages) {
    current = stage.name;
    declared = new Set(stage.outputs);
    reads = new Set(stage.inputs);
    const missing = stage.inputs.find((k) => !(k in made));
    if (missing !== undefined)
      throw new StageOrderError(`validate stage "${stage.name}" needs "${missing}", not made before it`);
    const t0 = performance.now();
    const out = await stage.run(ctx);
    const unmade = stage.outputs.find((k) => !(k in made));
    if (unmade !== undefined) throw new StageOrderError(`validate stage "${stage.name}" did not make "${unmade}"`);
    findings = stage.mode === "replace" ? [...out] : [...findings, ...out];
    timings[stage.lap] = (timings[stage.lap] ?? 0) + (performance.now() - t0);
  }
  // The summary after the stages reads what the load stage made, like a stage of its own.
  current = "summary";
  reads = new Set<Key>(["names"]);
  const summary: Summary = {
    clusters: ctx.need("names").length,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
  const read = files.readPaths().map((p): [string, string | null] => [p, files.hash(p)]);
  return { findings, summary, timings, inputs: { reads: read, walked: cache !== undefined && !cache.unwalked } };
}
